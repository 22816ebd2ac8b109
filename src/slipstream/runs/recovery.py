"""Resuming a run from its last complete checkpoint, and undoing what came after it.

A training iteration is recorded in this order: the metrics JSON files, the simtrace CSVs and
``deepracer_checkpoints.json`` first, then the checkpoint: its ``.pt``, then its ``.sha256``
(the commit), then ``.coach_checkpoint``. Each checkpoint carries a `RunPosition` under the key
``"run_position"``: how many metrics entries each worker's file held, the next iteration number
and the checkpoint index, all as they were when it was saved.

`newest_loadable_checkpoint` takes the newest checkpoint whose bytes match their digest (a
damaged or half-written newer one is reported and skipped); `roll_back` then returns the folder
to that checkpoint's position: later metrics entries dropped, simtrace files of later iterations
deleted, the index restored, the skipped checkpoints removed. A run killed at any point therefore
resumes with no missing or duplicated iteration, simtrace row or metrics entry. Log files are
append-only and keep the lines of an undone iteration, followed by a line saying it was undone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slipstream.runs.checkpoints import (
    CheckpointError,
    CheckpointMissingError,
    list_checkpoints,
    load_checkpoint,
    parse_checkpoint_name,
)
from slipstream.runs.layout import RunLayout
from slipstream.runs.metrics import MetricsError
from slipstream.runs.storage import RunStorage

log = logging.getLogger(__name__)

POSITION_KEY = "run_position"


@dataclass(frozen=True)
class RunPosition:
    """What the run folder held when a checkpoint was saved."""

    next_iteration: int
    """Number of the iteration that follows the checkpoint (its simtrace file does not exist)."""
    metrics_entries: tuple[int, ...]
    """Entries in each worker's TrainingMetrics file (worker 0 first)."""
    checkpoint_index: str = ""
    """Text of deepracer_checkpoints.json ("" when there was none)."""

    def to_state(self) -> dict[str, Any]:
        """Plain values that `torch.load(weights_only=True)` reads back."""
        return {
            "next_iteration": int(self.next_iteration),
            "metrics_entries": [int(n) for n in self.metrics_entries],
            "checkpoint_index": str(self.checkpoint_index),
        }

    @classmethod
    def from_state(cls, value: Any) -> RunPosition:
        try:
            position = cls(
                int(value["next_iteration"]),
                tuple(int(n) for n in value["metrics_entries"]),
                str(value.get("checkpoint_index", "")),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"the checkpoint's {POSITION_KEY} is malformed: {err}") from None
        if position.next_iteration < 0 or any(n < 0 for n in position.metrics_entries):
            raise CheckpointError(f"the checkpoint's {POSITION_KEY} has negative counts")
        return position


def with_position(state: Mapping[str, Any], position: RunPosition) -> dict[str, Any]:
    """A checkpoint state holding the learner's `state` and the run's `position`."""
    return {**state, POSITION_KEY: position.to_state()}


@dataclass(frozen=True)
class RecoveredCheckpoint:
    """The checkpoint a run resumes from."""

    name: str
    state: dict[str, Any]
    """The learner's state (without the position)."""
    position: RunPosition | None
    """None for checkpoints written before positions were recorded."""
    skipped: tuple[tuple[str, str], ...] = ()
    """(name, why) of newer checkpoints that could not be used."""

    @property
    def number(self) -> int:
        return parse_checkpoint_name(self.name)[0]

    @property
    def total_steps(self) -> int:
        return parse_checkpoint_name(self.name)[1]


def newest_loadable_checkpoint(storage: RunStorage) -> RecoveredCheckpoint:
    """The newest checkpoint that loads and matches its sha256; newer broken ones are reported.

    Raises `CheckpointMissingError` when the folder has no usable checkpoint at all.
    """
    skipped: list[tuple[str, str]] = []
    for name in reversed(list_checkpoints(storage)):
        try:
            state = load_checkpoint(storage, name)
            position = (
                RunPosition.from_state(state.pop(POSITION_KEY)) if POSITION_KEY in state else None
            )
        except CheckpointError as err:
            log.warning("checkpoint %s cannot be used (%s); trying the one before it", name, err)
            skipped.append((name, str(err)))
            continue
        return RecoveredCheckpoint(name, state, position, tuple(skipped))
    reasons = "; ".join(f"{n}: {why}" for n, why in skipped) or "no checkpoint files"
    raise CheckpointMissingError(
        f"{storage.path(RunLayout(storage).model_dir)} has no usable checkpoint ({reasons})"
    )


def roll_back(
    layout: RunLayout, recovered: RecoveredCheckpoint, workers: Sequence[int] | None = None
) -> list[str]:
    """Return the run folder to `recovered`'s position; returns what was undone, one line each.

    `workers`: the worker numbers whose files to check (default: all of `layout`).
    """
    storage = layout.storage
    done: list[str] = []
    for name, _why in recovered.skipped:
        storage.rm(layout.checkpoint(name))
        storage.rm(layout.checkpoint_digest(name))
        done.append(f"removed unusable checkpoint {name}")
    storage.write_text(layout.coach_checkpoint, recovered.name)
    position = recovered.position
    if position is None:
        return done
    workers = list(range(layout.num_workers)) if workers is None else list(workers)
    for w in workers:
        key = layout.training_metrics(w)
        keep = position.metrics_entries[w] if w < len(position.metrics_entries) else 0
        done += _truncate_metrics(storage, key, keep)
    for key in layout.training_simtrace_files():
        iteration = layout.simtrace_iteration(key)
        if iteration >= position.next_iteration:
            storage.rm(key)
            done.append(f"removed {key} (iteration {iteration} was not completed)")
    index_key = layout.checkpoint_index
    current = storage.read_text(index_key) if storage.exists(index_key) else ""
    if current != position.checkpoint_index:
        if position.checkpoint_index:
            storage.write_text(index_key, position.checkpoint_index)
        else:
            storage.rm(index_key)
        done.append(f"restored {index_key}")
    return done


def _truncate_metrics(storage: RunStorage, key: str, keep: int) -> list[str]:
    if not storage.exists(key):
        if keep:
            raise MetricsError(
                f"{storage.path(key)} is missing but the checkpoint recorded {keep} entries in it"
            )
        return []
    try:
        doc = json.loads(storage.read_text(key))
        entries = doc["metrics"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise MetricsError(f"{storage.path(key)} cannot be read to resume: {err}") from None
    if len(entries) < keep:
        raise MetricsError(
            f"{storage.path(key)} holds {len(entries)} entries but the checkpoint recorded {keep}"
        )
    if len(entries) == keep:
        return []
    doc["metrics"] = entries[:keep]
    storage.write_text(key, json.dumps(doc))
    return [f"dropped {len(entries) - keep} entries of an unfinished iteration from {key}"]


__all__ = [
    "POSITION_KEY",
    "RecoveredCheckpoint",
    "RunPosition",
    "newest_loadable_checkpoint",
    "roll_back",
    "with_position",
]
