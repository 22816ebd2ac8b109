"""Training and evaluation metrics JSON files (docs/deepracer.md 7.2, 7.3).

``metrics/TrainingMetrics[_<w>].json``::

    {"metrics": [{"reward_score": 31, "metric_time": 31538, "start_time": 27746,
                  "elapsed_time_in_milliseconds": 3792, "episode": 1, "trial": 1,
                  "phase": "training", "completion_percentage": 29,
                  "episode_status": "Off track"}, ...],
     "version": 2.0, "best_model_metric": "progress"}

``metrics/EvaluationMetrics-<ts>.json``: ``{"metrics": [...]}`` with one entry per trial and the
keys of `EVALUATION_KEYS` (no version key).

Times are **simulation-clock** milliseconds (ints); the writers take seconds. DeepRacer rewrites
the whole file at every episode end; the writers do the same after each ``add_*`` call unless
``auto_flush=False``, in which case `flush()` writes it (e.g. once per batch of episodes).

Field meanings as DeepRacer fills them (the caller supplies the numbers):
``episode`` is the worker's count of training episodes finished so far (1 for the first; an
evaluation episode carries the last value), ``trial`` the training episode's index within the
current iteration (1..N; evaluation episodes carry the last value). deepracer-utils derives
``iteration = floor((episode - 1) / max(trial))``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from slipstream.runs.storage import RunStorage

STATUS_LABELS: dict[str, str] = {
    "lap_complete": "Lap complete",
    "crashed": "Crashed",
    "off_track": "Off track",
    "immobilized": "Immobilized",
    "in_progress": "In progress",
    "pause": "Pause",
    "reversed": "Reversed",
    "park": "Park",
    "time_up": "Time Up",
    "prepare": "Prepare",
}
BEST_MODEL_METRICS = ("progress", "reward", "laptime")
PHASES = ("training", "evaluation")
TRAINING_METRICS_VERSION = 2.0

TRAINING_KEYS = (
    "reward_score",
    "metric_time",
    "start_time",
    "elapsed_time_in_milliseconds",
    "episode",
    "trial",
    "phase",
    "completion_percentage",
    "episode_status",
)
EVALUATION_KEYS = (
    "completion_percentage",
    "metric_time",
    "start_time",
    "elapsed_time_in_milliseconds",
    "episode_status",
    "crash_count",
    "immobilized_count",
    "off_track_count",
    "reversed_count",
    "reset_count",
    "trial",
)


class MetricsError(ValueError):
    """A metrics value or an existing metrics file is not in DeepRacer's form."""


def status_label(status: str) -> str:
    """Metrics label of a DeepRacer status string (``'off_track'`` -> ``'Off track'``).

    A label is returned unchanged.
    """
    status = str(status)
    if status in STATUS_LABELS:
        return STATUS_LABELS[status]
    if status in STATUS_LABELS.values():
        return status
    raise MetricsError(
        f"unknown episode status {status!r}; expected one of {sorted(STATUS_LABELS)}"
    )


def check_best_model_metric(metric: str) -> str:
    """``metric`` if it is a BEST_MODEL_METRIC DeepRacer knows, else `MetricsError`."""
    if metric not in BEST_MODEL_METRICS:
        raise MetricsError(
            f"best_model_metric {metric!r} is not one of {BEST_MODEL_METRICS} "
            "(DeepRacer's BEST_MODEL_METRIC)"
        )
    return metric


def _ms(seconds: float) -> int:
    return round(float(seconds) * 1000.0)


def _load_entries(storage: RunStorage, key: str) -> list[dict[str, Any]]:
    if not storage.exists(key):
        return []
    try:
        doc = json.loads(storage.read_text(key))
    except json.JSONDecodeError as err:
        raise MetricsError(
            f"{storage.path(key)} is not valid JSON ({err}); move it away to start a new file"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), list):
        raise MetricsError(f"{storage.path(key)} has no 'metrics' list")
    return list(doc["metrics"])


def _broadcast(values: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], int]:
    arrays = {k: np.asarray(v) for k, v in values.items()}
    lengths = {k: len(a) for k, a in arrays.items() if a.ndim >= 1}
    n = max(lengths.values()) if lengths else 1
    bad = {k: v for k, v in lengths.items() if v != n}
    if bad:
        raise MetricsError(f"episode arrays must have {n} entries each; these differ: {bad}")
    return {
        k: (np.full(n, a.item(), dtype=a.dtype) if a.ndim == 0 else a) for k, a in arrays.items()
    }, n


class TrainingMetricsWriter:
    """Appends episodes to a ``TrainingMetrics.json`` and rewrites the file.

    Args:
        storage: the run folder.
        key: the file (`RunLayout.training_metrics`).
        best_model_metric: ``progress``, ``reward`` or ``laptime`` (written in the file).
        auto_flush: rewrite the file after every ``add_*`` call.

    Entries already in the file are kept (resume); `last_episode` tells where counting stopped.
    """

    def __init__(
        self,
        storage: RunStorage,
        key: str,
        best_model_metric: str = "progress",
        auto_flush: bool = True,
    ) -> None:
        self.storage = storage
        self.key = key
        self.best_model_metric = check_best_model_metric(best_model_metric)
        self.auto_flush = auto_flush
        self._entries = _load_entries(storage, key)
        self._dirty = False

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Copies of all entries, oldest first."""
        return [dict(e) for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def last_episode(self) -> int:
        """Largest ``episode`` recorded (0 when empty): the count of training episodes so far."""
        return max((int(e.get("episode", 0)) for e in self._entries), default=0)

    def add_episodes(
        self,
        *,
        episode: Any,
        trial: Any,
        total_reward: Any,
        progress: Any,
        status: Any,
        start_time_s: Any,
        end_time_s: Any,
        phase: Any = "training",
        track: Any = None,
    ) -> list[dict[str, Any]]:
        """Record finished episodes given as arrays (or scalars shared by all); returns entries.

        Args:
            episode: worker's training-episode count including this one (1-based).
            trial: index of the episode within the iteration (1-based).
            total_reward: sum of the episode's rewards (written as int(round(x))).
            progress: final progress, percent (written as int(x)).
            status: DeepRacer status string or label of the episode's end.
            start_time_s, end_time_s: simulation clock at the episode's start and end, seconds.
            phase: ``training`` or ``evaluation``.
            track: the track each episode ran on, for runs on several tracks: written as an
                extra ``track`` key (None: left out, DeepRacer's own keys only).
        """
        arrays, n = _broadcast(
            {
                "episode": episode,
                "trial": trial,
                "total_reward": total_reward,
                "progress": progress,
                "status": status,
                "start": start_time_s,
                "end": end_time_s,
                "phase": phase,
                "track": "" if track is None else track,
            }
        )
        new = []
        for i in range(n):
            phase_i = str(arrays["phase"][i])
            if phase_i not in PHASES:
                raise MetricsError(f"phase {phase_i!r} must be one of {PHASES}")
            start, end = _ms(arrays["start"][i]), _ms(arrays["end"][i])
            if end < start:
                raise MetricsError(f"episode ends ({end} ms) before it starts ({start} ms)")
            new.append(
                {
                    "reward_score": round(float(arrays["total_reward"][i])),
                    "metric_time": end,
                    "start_time": start,
                    "elapsed_time_in_milliseconds": end - start,
                    "episode": int(arrays["episode"][i]),
                    "trial": int(arrays["trial"][i]),
                    "phase": phase_i,
                    "completion_percentage": int(float(arrays["progress"][i])),
                    "episode_status": status_label(arrays["status"][i]),
                }
            )
            if track is not None:
                new[-1]["track"] = str(arrays["track"][i])
        self._entries.extend(new)
        self._dirty = True
        if self.auto_flush:
            self.flush()
        return new

    def add_episode(self, **fields: Any) -> dict[str, Any]:
        """Record one finished episode (same keyword arguments as `add_episodes`)."""
        return self.add_episodes(**fields)[0]

    def to_json(self) -> str:
        return json.dumps(
            {
                "metrics": self._entries,
                "version": TRAINING_METRICS_VERSION,
                "best_model_metric": self.best_model_metric,
            }
        )

    def flush(self) -> None:
        """Rewrite the whole file (only if something was added since the last write)."""
        if self._dirty:
            self.storage.write_text(self.key, self.to_json())
            self._dirty = False


class EvaluationMetricsWriter:
    """Appends trials to an ``EvaluationMetrics-<ts>.json`` and rewrites the file."""

    def __init__(self, storage: RunStorage, key: str, auto_flush: bool = True) -> None:
        self.storage = storage
        self.key = key
        self.auto_flush = auto_flush
        self._entries = _load_entries(storage, key)
        self._dirty = False

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [dict(e) for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def add_trial(
        self,
        *,
        trial: int,
        progress: float,
        status: str,
        start_time_s: float,
        end_time_s: float,
        crash_count: int = 0,
        immobilized_count: int = 0,
        off_track_count: int = 0,
        reversed_count: int = 0,
        reset_count: int = 0,
    ) -> dict[str, Any]:
        """Record one evaluation trial (or lap, for continuous evaluation).

        ``*_count`` are numbers of steps with that status (DeepRacer counts steps, which include
        resets); times are the simulation clock in seconds.
        """
        start, end = _ms(start_time_s), _ms(end_time_s)
        if end < start:
            raise MetricsError(f"trial ends ({end} ms) before it starts ({start} ms)")
        entry = {
            "completion_percentage": int(float(progress)),
            "metric_time": end,
            "start_time": start,
            "elapsed_time_in_milliseconds": end - start,
            "episode_status": status_label(status),
            "crash_count": int(crash_count),
            "immobilized_count": int(immobilized_count),
            "off_track_count": int(off_track_count),
            "reversed_count": int(reversed_count),
            "reset_count": int(reset_count),
            "trial": int(trial),
        }
        self._entries.append(entry)
        self._dirty = True
        if self.auto_flush:
            self.flush()
        return entry

    def to_json(self) -> str:
        return json.dumps({"metrics": self._entries})

    def flush(self) -> None:
        if self._dirty:
            self.storage.write_text(self.key, self.to_json())
            self._dirty = False


def read_metrics(storage: RunStorage, key: str) -> list[dict[str, Any]]:
    """Entries of a training or evaluation metrics file ([] if it does not exist)."""
    return _load_entries(storage, key)
