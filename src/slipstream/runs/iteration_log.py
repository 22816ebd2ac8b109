"""The per-iteration record of a training run: ``logs/iterations.jsonl`` and TensorBoard.

One JSON object per line and iteration (appended, never rewritten, so readers such as the
dashboard follow it with a file offset). With the ``tensorboard`` package installed and a local
run folder, the same numbers also go to TensorBoard scalars in ``logs/tensorboard`` (step = the
iteration), under these tags::

    training/mean_reward  training/mean_progress  training/completion_rate
    training/worker_<w>/mean_reward  .../mean_progress  .../completion_rate
    evaluation/mean_progress  evaluation/completion_rate  evaluation/best_lap_time_s
    learner/surrogate_loss  learner/kl_divergence  learner/entropy
    speed/rollout_steps_per_second  speed/learner_samples_per_second

Progress and completion rates are percentages; lap times in simulated seconds.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from slipstream.runs.layout import RunLayout

log = logging.getLogger(__name__)

TENSORBOARD_TAGS = {
    "mean_reward": "training/mean_reward",
    "mean_progress": "training/mean_progress",
    "completion_rate": "training/completion_rate",
    "eval_mean_progress": "evaluation/mean_progress",
    "eval_completion_rate": "evaluation/completion_rate",
    "eval_best_lap_time_s": "evaluation/best_lap_time_s",
    "surrogate_loss": "learner/surrogate_loss",
    "kl_divergence": "learner/kl_divergence",
    "entropy": "learner/entropy",
    "rollout_steps_per_second": "speed/rollout_steps_per_second",
    "learner_samples_per_second": "speed/learner_samples_per_second",
}
"""Record key -> TensorBoard tag of the run-wide scalars."""
WORKER_KEYS = ("mean_reward", "mean_progress", "completion_rate")


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _jsonable(value: Any) -> Any:
    """Plain JSON types, non-finite floats as None."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    return _finite(value)


def tensorboard_scalars(record: Mapping[str, Any]) -> dict[str, float]:
    """``{tag: value}`` of one iteration record (missing or non-finite values left out)."""
    out = {}
    for key, tag in TENSORBOARD_TAGS.items():
        value = _finite(record.get(key))
        if value is not None:
            out[tag] = value
    for worker, figures in sorted((record.get("workers") or {}).items()):
        for key in WORKER_KEYS:
            value = _finite(figures.get(key))
            if value is not None:
                out[f"training/worker_{worker}/{key}"] = value
    return out


class TensorBoardScalars:
    """An event file of scalars, written with tensorboard's record writer and protos only
    (``torch.utils.tensorboard`` would import TensorFlow whenever it is installed)."""

    def __init__(self, folder: str) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.record_writer import RecordWriter

        self._event, self._summary = Event, Summary
        os.makedirs(folder, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.0"
        self.path = os.path.join(folder, name)
        self._file = open(self.path, "wb")
        self._records = RecordWriter(self._file)
        self._write(self._event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event) -> None:
        self._records.write(event.SerializeToString())

    def add_scalars(self, scalars: Mapping[str, float], step: int) -> None:
        values = [self._summary.Value(tag=t, simple_value=float(v)) for t, v in scalars.items()]
        summary = self._summary(value=values)
        self._write(self._event(wall_time=time.time(), step=int(step), summary=summary))
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class IterationLog:
    """Appends iteration records to ``logs/iterations.jsonl`` (and TensorBoard if installed)."""

    def __init__(self, layout: RunLayout, tensorboard: bool = True) -> None:
        self.layout = layout
        self.storage = layout.storage
        self._writer = None
        if tensorboard and self.storage.is_local:
            try:
                self._writer = TensorBoardScalars(self.storage.path(layout.tensorboard_dir))
            except ImportError:
                log.debug("tensorboard not installed: no TensorBoard scalars")

    @property
    def writes_tensorboard(self) -> bool:
        return self._writer is not None

    def append(self, record: Mapping[str, Any]) -> None:
        """One iteration: a JSON line (NaN written as null) and its TensorBoard scalars."""
        line = json.dumps(_jsonable(record), allow_nan=False)
        self.storage.append_text(self.layout.iteration_log, line + "\n")
        if self._writer is not None:
            self._writer.add_scalars(tensorboard_scalars(record), int(record["iteration"]))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
