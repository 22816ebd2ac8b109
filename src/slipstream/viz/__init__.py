"""Plots of a run folder, and a live web dashboard of training.

`load_run` reads a run folder (local or fsspec URL) into `RunData`; `render_plots` turns it
into PNG bytes; `slipstream.viz.dashboard.serve` shows them live in a browser.
"""

from slipstream.viz.plots import (
    PLOT_NAMES,
    plot_evaluations,
    plot_paths,
    plot_progress,
    plot_status,
    render_plots,
)
from slipstream.viz.summary import (
    AnalyzeError,
    Episodes,
    EvaluationRun,
    IterationSummary,
    PhaseSummary,
    RunData,
    episodes_per_iteration,
    files_signature,
    format_table,
    iteration_of,
    load_run,
    summarize,
    summary_dict,
)

__all__ = [
    "PLOT_NAMES",
    "AnalyzeError",
    "Episodes",
    "EvaluationRun",
    "IterationSummary",
    "PhaseSummary",
    "RunData",
    "episodes_per_iteration",
    "files_signature",
    "format_table",
    "iteration_of",
    "load_run",
    "plot_evaluations",
    "plot_paths",
    "plot_progress",
    "plot_status",
    "render_plots",
    "summarize",
    "summary_dict",
]
