"""Plots of a run folder, and a live web dashboard of training.

`load_run` reads a run folder (local or fsspec URL) into `RunData`; `render_plots` turns it
into PNG bytes; `slipstream.viz.report.build_report` makes one self-contained HTML report;
`slipstream.viz.dashboard` serves live charts and the cars' frames (`slipstream.viz.feed`
reads the run folder incrementally with `slipstream.viz.tail`).
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
