"""Model checkpoints in ``RUN/model/`` and DeepRacer's ``deepracer_checkpoints.json`` (7.4, 7.6).

A checkpoint ``<N>_Step-<steps>.pt`` is a ``torch.save`` of a dict of tensors (nested dicts,
lists and plain numbers are fine too), with a ``<name>.sha256`` digest beside it
(``sha256sum -c`` format) and ``model/.coach_checkpoint`` naming the newest one. Files are
written in that order, so a reader that sees ``.coach_checkpoint`` finds the checkpoint complete.

Loading checks the digest and unpickles with ``weights_only=True``: a file carrying arbitrary
Python objects is refused, never executed.

``deepracer_checkpoints.json``::

    {"best_checkpoint": {"name": "12_Step-4356.pt", "avg_eval_metric": 37.2,
                         "avg_comp_pct": 37.2, "time_stamp": 812.3},
     "last_checkpoint": {...same keys...}}

``avg_comp_pct`` (the key older DeepRacer and DRfC read) repeats ``avg_eval_metric``.
Best selection follows BEST_MODEL_METRIC: ``progress`` and ``reward`` keep the higher mean
(a tie moves best to the newer checkpoint, ``>=``), ``laptime`` the lower (``<=``), counting an
incomplete lap as 999999 ms.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from slipstream.runs.layout import MODEL_DIR, RunLayout
from slipstream.runs.metrics import check_best_model_metric
from slipstream.runs.storage import RunStorage

NUM_MODELS_TO_KEEP = 4
INCOMPLETE_LAP_TIME_MS = 999999.0
_NAME = re.compile(r"^(\d+)_Step-(\d+)\.pt$")


class CheckpointError(ValueError):
    """Base class of checkpoint problems."""


class CheckpointMissingError(CheckpointError):
    """The checkpoint (or the index naming it) is not in the run folder."""


class CheckpointCorruptError(CheckpointError):
    """The checkpoint's bytes do not match its digest, or torch cannot read them."""


class UnsafeCheckpointError(CheckpointError):
    """The checkpoint holds pickled Python objects other than tensors and plain containers."""


def parse_checkpoint_name(name: str) -> tuple[int, int]:
    """(number, steps) of a ``<N>_Step-<steps>.pt`` name."""
    m = _NAME.match(name)
    if not m:
        raise CheckpointError(f"{name!r} is not a checkpoint name of the form <N>_Step-<steps>.pt")
    return int(m.group(1)), int(m.group(2))


def list_checkpoints(storage: RunStorage) -> list[str]:
    """Names of the checkpoint files in ``model/``, in checkpoint-number order."""
    names = [n for n in storage.ls(MODEL_DIR) if _NAME.match(n)]
    return sorted(names, key=parse_checkpoint_name)


def next_checkpoint_number(storage: RunStorage) -> int:
    """One more than the largest checkpoint number present (0 for a new run)."""
    names = list_checkpoints(storage)
    return parse_checkpoint_name(names[-1])[0] + 1 if names else 0


def _digest_line(digest: str, name: str) -> str:
    return f"{digest}  {name}\n"


def save_checkpoint(storage: RunStorage, state: Mapping[str, Any], number: int, steps: int) -> str:
    """Write checkpoint ``number`` (after ``steps`` env steps); returns its name.

    Writes ``model/<N>_Step-<steps>.pt``, its ``.sha256`` and ``model/.coach_checkpoint``.
    """
    import torch

    if not isinstance(state, Mapping):
        raise CheckpointError(f"state must be a dict of tensors, got {type(state).__name__}")
    layout = RunLayout(storage)
    name = layout.checkpoint_name(number, steps)
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    data = buffer.getvalue()
    storage.write_bytes(layout.checkpoint(name), data)
    storage.write_text(
        layout.checkpoint_digest(name), _digest_line(hashlib.sha256(data).hexdigest(), name)
    )
    storage.write_text(layout.coach_checkpoint, name)
    return name


def load_checkpoint(storage: RunStorage, name: str, verify: bool = True) -> dict[str, Any]:
    """The state dict saved as checkpoint ``name`` (tensors on the CPU).

    Args:
        storage: the run folder.
        name: ``<N>_Step-<steps>.pt`` (see `CheckpointIndex.resolve`).
        verify: check the bytes against ``<name>.sha256`` (required to exist).
    """
    import torch

    layout = RunLayout(storage)
    key = layout.checkpoint(name)
    if not storage.exists(key):
        present = list_checkpoints(storage)
        raise CheckpointMissingError(
            f"checkpoint {storage.path(key)} does not exist; present: {present or 'none'}"
        )
    data = storage.read_bytes(key)
    if verify:
        digest_key = layout.checkpoint_digest(name)
        if not storage.exists(digest_key):
            raise CheckpointCorruptError(
                f"{storage.path(digest_key)} is missing, so {name} cannot be verified; "
                "load with verify=False if you trust the file"
            )
        expected = storage.read_text(digest_key).split()
        actual = hashlib.sha256(data).hexdigest()
        if not expected or expected[0].lower() != actual:
            raise CheckpointCorruptError(
                f"{storage.path(key)} does not match its sha256 digest (file has {actual}, "
                f"digest file says {expected[0] if expected else 'nothing'}): the file is "
                "damaged or was replaced; use another checkpoint"
            )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise CheckpointCorruptError(
            f"torch cannot read {storage.path(key)}: it is not a torch.save zip archive "
            "(truncated or not a checkpoint)"
        )
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f"refused to load {storage.path(key)}: it holds Python objects other than tensors "
            f"and plain containers, which are never unpickled ({str(err).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointCorruptError(f"torch cannot read {storage.path(key)}: {err}") from None
    if not isinstance(state, dict):
        raise CheckpointCorruptError(
            f"{storage.path(key)} holds a {type(state).__name__}, not a state dict"
        )
    return state


def average_eval_metric(
    best_model_metric: str,
    progress: Iterable[float],
    total_reward: Iterable[float] | None = None,
    lap_time_ms: Iterable[float] | None = None,
) -> float:
    """Mean over the in-training evaluation episodes of the BEST_MODEL_METRIC value.

    ``progress``: final progress (percent) per episode; ``total_reward`` needed for
    ``reward``; ``lap_time_ms`` (episode duration, sim-clock ms) for ``laptime``, where an
    episode with progress < 100 counts as 999999 ms.
    """
    metric = check_best_model_metric(best_model_metric)
    progress_arr = np.asarray(list(progress), dtype=np.float64)
    if progress_arr.size == 0:
        raise CheckpointError("no evaluation episodes to average")
    if metric == "progress":
        values = progress_arr
    elif metric == "reward":
        if total_reward is None:
            raise CheckpointError("best_model_metric 'reward' needs total_reward per episode")
        values = np.asarray(list(total_reward), dtype=np.float64)
    else:
        if lap_time_ms is None:
            raise CheckpointError("best_model_metric 'laptime' needs lap_time_ms per episode")
        times = np.asarray(list(lap_time_ms), dtype=np.float64)
        values = np.where(progress_arr >= 100.0, times, INCOMPLETE_LAP_TIME_MS)
    if values.shape != progress_arr.shape:
        raise CheckpointError("progress and the metric values must have one entry per episode")
    return float(values.mean())


@dataclass(frozen=True)
class CheckpointRecord:
    """One entry of deepracer_checkpoints.json."""

    name: str
    avg_eval_metric: float
    time_stamp: float

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "avg_eval_metric": self.avg_eval_metric,
            "avg_comp_pct": self.avg_eval_metric,
            "time_stamp": self.time_stamp,
        }

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> CheckpointRecord:
        metric = entry.get("avg_eval_metric", entry.get("avg_comp_pct"))
        if "name" not in entry or metric is None:
            raise CheckpointError(f"checkpoint entry {dict(entry)} lacks name or avg_eval_metric")
        return cls(str(entry["name"]), float(metric), float(entry.get("time_stamp", 0.0)))


class CheckpointIndex:
    """Reads and updates ``model/deepracer_checkpoints.json`` (best and last checkpoint).

    Args:
        storage: the run folder.
        best_model_metric: ``progress`` / ``reward`` (higher is better) or ``laptime`` (lower).
    """

    def __init__(self, storage: RunStorage, best_model_metric: str = "progress") -> None:
        self.storage = storage
        self.layout = RunLayout(storage)
        self.best_model_metric = check_best_model_metric(best_model_metric)
        self.best: CheckpointRecord | None = None
        self.last: CheckpointRecord | None = None
        key = self.layout.checkpoint_index
        if storage.exists(key):
            try:
                doc = json.loads(storage.read_text(key))
            except json.JSONDecodeError as err:
                raise CheckpointCorruptError(
                    f"{storage.path(key)} is not valid JSON: {err}"
                ) from None
            if doc.get("best_checkpoint"):
                self.best = CheckpointRecord.from_json(doc["best_checkpoint"])
            if doc.get("last_checkpoint"):
                self.last = CheckpointRecord.from_json(doc["last_checkpoint"])

    def is_better(self, avg_eval_metric: float) -> bool:
        """Whether a checkpoint with this metric would become the best one."""
        if self.best is None:
            return True
        if self.best_model_metric == "laptime":
            return avg_eval_metric <= self.best.avg_eval_metric
        return avg_eval_metric >= self.best.avg_eval_metric

    def update(self, name: str, avg_eval_metric: float, time_stamp: float | None = None) -> bool:
        """Make ``name`` the last checkpoint (and the best if it is), write the file.

        Returns whether the best checkpoint changed.
        """
        parse_checkpoint_name(name)
        record = CheckpointRecord(
            name, float(avg_eval_metric), float(time.time() if time_stamp is None else time_stamp)
        )
        improved = self.is_better(record.avg_eval_metric)
        if improved:
            self.best = record
        self.last = record
        self.write()
        return improved

    def to_json(self) -> dict[str, Any]:
        return {
            "best_checkpoint": self.best.to_json() if self.best else None,
            "last_checkpoint": self.last.to_json() if self.last else None,
        }

    def write(self) -> None:
        self.storage.write_text(self.layout.checkpoint_index, json.dumps(self.to_json(), indent=2))

    def resolve(self, which: str = "last") -> str:
        """Name of the ``best`` or ``last`` checkpoint.

        Without an index file, ``last`` falls back to ``model/.coach_checkpoint``.
        """
        if which not in ("best", "last"):
            raise CheckpointError(f"which must be 'best' or 'last', got {which!r}")
        record = self.best if which == "best" else self.last
        if record is not None:
            return record.name
        if which == "last" and self.storage.exists(self.layout.coach_checkpoint):
            name = self.storage.read_text(self.layout.coach_checkpoint).strip()
            if name:
                return name
        raise CheckpointMissingError(
            f"no {which} checkpoint recorded in {self.storage.path(self.layout.checkpoint_index)}"
            f"; checkpoints present: {list_checkpoints(self.storage) or 'none'}"
        )

    def protected(self) -> set[str]:
        """Names retention must not delete (best and last)."""
        return {r.name for r in (self.best, self.last) if r is not None}


def prune_checkpoints(
    storage: RunStorage, protect: Iterable[str] = (), keep_last: int = NUM_MODELS_TO_KEEP
) -> list[str]:
    """Delete all but the newest ``keep_last`` checkpoints and those in ``protect``.

    Returns the names deleted (their ``.sha256`` go too), like DeepRacer's NUM_MODELS_TO_KEEP.
    """
    if keep_last < 1:
        raise CheckpointError(f"keep_last must be >= 1, got {keep_last}")
    layout = RunLayout(storage)
    names = list_checkpoints(storage)
    keep = set(names[-keep_last:]) | set(protect)
    deleted = []
    for name in names:
        if name not in keep:
            storage.rm(layout.checkpoint(name))
            storage.rm(layout.checkpoint_digest(name))
            deleted.append(name)
    return deleted
