"""The run folder: DRfC layout, checkpoints, metrics JSON, simtrace CSV and logs, over fsspec.

A run folder is a local path or any fsspec URL (``s3://bucket/prefix``, ``memory://run``);
everything goes through `RunStorage`, so the same code writes both.
"""

from slipstream.runs.checkpoints import (
    NUM_MODELS_TO_KEEP,
    CheckpointCorruptError,
    CheckpointError,
    CheckpointIndex,
    CheckpointMissingError,
    CheckpointRecord,
    UnsafeCheckpointError,
    average_eval_metric,
    list_checkpoints,
    load_checkpoint,
    next_checkpoint_number,
    prune_checkpoints,
    save_checkpoint,
)
from slipstream.runs.layout import RunLayout, RunLayoutError, evaluation_timestamp, write_run_inputs
from slipstream.runs.logs import RunLogger
from slipstream.runs.metrics import (
    STATUS_LABELS,
    EvaluationMetricsWriter,
    MetricsError,
    TrainingMetricsWriter,
    read_metrics,
    status_label,
)
from slipstream.runs.simtrace import (
    SIMTRACE_COLUMNS,
    SimtraceError,
    SimtraceWriter,
    append_simtrace,
    format_simtrace_rows,
    read_simtrace,
    sim_trace_log_line,
)
from slipstream.runs.storage import RunStorage, RunStorageError

__all__ = [
    "NUM_MODELS_TO_KEEP",
    "SIMTRACE_COLUMNS",
    "STATUS_LABELS",
    "CheckpointCorruptError",
    "CheckpointError",
    "CheckpointIndex",
    "CheckpointMissingError",
    "CheckpointRecord",
    "EvaluationMetricsWriter",
    "MetricsError",
    "RunLayout",
    "RunLayoutError",
    "RunLogger",
    "RunStorage",
    "RunStorageError",
    "SimtraceError",
    "SimtraceWriter",
    "TrainingMetricsWriter",
    "UnsafeCheckpointError",
    "append_simtrace",
    "average_eval_metric",
    "evaluation_timestamp",
    "format_simtrace_rows",
    "list_checkpoints",
    "load_checkpoint",
    "next_checkpoint_number",
    "prune_checkpoints",
    "read_metrics",
    "read_simtrace",
    "save_checkpoint",
    "sim_trace_log_line",
    "status_label",
    "write_run_inputs",
]
