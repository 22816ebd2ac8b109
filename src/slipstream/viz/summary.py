"""Numbers of a run folder for people: episodes, per-iteration summaries, evaluation runs.

Reads ``metrics/TrainingMetrics[_<w>].json``, ``metrics/EvaluationMetrics-<ts>.json``, the latest
table of an evaluation across tracks (``evaluation/tracks-<ts>.json``) and the
training simtraces of a run folder (docs/deepracer.md 7), local or over fsspec.

Iteration of an episode, as deepracer-utils derives it: ``(episode - 1) // E`` where ``E`` is the
largest ``trial`` of worker 0's training episodes (its episodes per iteration), used for every
worker. In-training evaluation episodes carry the last training episode number, so they land in
the iteration whose policy they evaluated.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from slipstream.runs import RunLayout, RunStorage, read_metrics, read_simtrace

if TYPE_CHECKING:
    from slipstream.evaluate.tracks_table import TracksTable

logger = logging.getLogger(__name__)

TRAINING_METRICS = re.compile(r"^TrainingMetrics(?:_(\d+))?\.json$")
EVALUATION_METRICS = re.compile(r"^EvaluationMetrics-(\d{14})\.json$")
SIMTRACE_FILE = re.compile(r"^(?:(\d+)/)?training-simtrace/(\d+)-iteration\.csv$")
LAP_COMPLETE = "Lap complete"


class AnalyzeError(ValueError):
    """The folder is not a run folder, or its metrics files cannot be read."""


@dataclass(frozen=True)
class Episodes:
    """One row per metrics entry (training and in-training evaluation), all workers.

    Arrays of shape (N,): worker, episode, trial, iteration (ints), phase and status (str),
    reward (sum of rewards), completion (% of the lap), time_s (episode length, sim seconds).
    """

    worker: np.ndarray
    episode: np.ndarray
    trial: np.ndarray
    iteration: np.ndarray
    phase: np.ndarray
    status: np.ndarray
    reward: np.ndarray
    completion: np.ndarray
    time_s: np.ndarray

    def __len__(self) -> int:
        return len(self.episode)

    def select(self, mask: np.ndarray) -> Episodes:
        """The rows where ``mask`` is true."""
        return Episodes(**{k: getattr(self, k)[mask] for k in self.__dataclass_fields__})


@dataclass(frozen=True)
class PhaseSummary:
    """Means over one iteration's episodes of one phase (NaN when there are none).

    completion in % of a lap, reward = mean episode reward, laps = fraction of episodes that
    completed the lap, time_s = mean episode length in sim seconds.
    """

    episodes: int
    completion: float
    reward: float
    laps: float
    time_s: float


@dataclass(frozen=True)
class IterationSummary:
    """Training and in-training evaluation numbers of one iteration, all workers together."""

    iteration: int
    training: PhaseSummary
    evaluation: PhaseSummary
    status_counts: dict[str, int] = field(default_factory=dict)
    """Training episodes per metrics status label ('Off track', 'Lap complete', ...)."""


@dataclass(frozen=True)
class EvaluationRun:
    """One ``EvaluationMetrics-<timestamp>.json``: arrays of shape (trials,)."""

    timestamp: str
    trial: np.ndarray
    completion: np.ndarray
    time_s: np.ndarray
    status: np.ndarray

    @property
    def lap_completed(self) -> np.ndarray:
        """Entries that completed a lap: a trial's, or a continuous evaluation's lap (whose
        intermediate laps DeepRacer writes as "In progress" at 100 %)."""
        return (self.status == LAP_COMPLETE) | (self.completion >= 100.0)


@dataclass(frozen=True)
class RunData:
    """Everything the plots and the dashboard show of one run folder."""

    root: str
    num_workers: int
    episodes_per_iteration: int
    world_name: str | None
    reverse: bool
    episodes: Episodes
    iterations: tuple[IterationSummary, ...]
    evaluations: tuple[EvaluationRun, ...]
    simtrace_iteration: int | None
    """Number of the last training simtrace iteration file present (None: no simtrace)."""
    simtrace: dict[str, np.ndarray] | None
    """Columns of that iteration's simtrace, all workers concatenated, plus a ``worker`` column."""
    track_evaluation: TracksTable | None = None
    """The latest evaluation across tracks (`slipstream evaluate RUN --tracks SET`), if any."""


def _storage(run: str | RunStorage) -> RunStorage:
    return run if isinstance(run, RunStorage) else RunStorage(str(run))


def training_metrics_keys(storage: RunStorage) -> dict[int, str]:
    """``{worker: key}`` of the TrainingMetrics files present."""
    found = {}
    for name in storage.ls("metrics"):
        m = TRAINING_METRICS.match(name)
        if m:
            found[int(m.group(1) or 0)] = f"metrics/{name}"
    return dict(sorted(found.items()))


def evaluation_metrics_keys(storage: RunStorage) -> dict[str, str]:
    """``{timestamp: key}`` of the EvaluationMetrics files present, oldest first."""
    found = {}
    for name in storage.ls("metrics"):
        m = EVALUATION_METRICS.match(name)
        if m:
            found[m.group(1)] = f"metrics/{name}"
    return dict(sorted(found.items()))


def latest_track_evaluation(storage: RunStorage) -> TracksTable | None:
    """The newest ``evaluation/tracks-<ts>.json`` of the run (None when there is none)."""
    layout = RunLayout(storage)
    stamps = layout.track_evaluation_timestamps()
    if not stamps:
        return None
    # the evaluate package is imported only for runs that have a table
    from slipstream.evaluate.tracks_table import TracksTable

    key = layout.track_evaluation_json(stamps[-1])
    return TracksTable.from_json(json.loads(storage.read_text(key)))


def simtrace_keys(storage: RunStorage) -> dict[tuple[int, int], str]:
    """``{(iteration, worker): key}`` of the training simtraces present (either layout)."""
    keys = storage.glob("training-simtrace/*-iteration.csv") + storage.glob(
        "*/training-simtrace/*-iteration.csv"
    )
    found = {}
    for key in keys:
        m = SIMTRACE_FILE.match(key)
        if m:
            found[(int(m.group(2)), int(m.group(1) or 0))] = key
    return dict(sorted(found.items()))


def episodes_per_iteration(worker0_entries: Sequence[dict[str, Any]]) -> int:
    """deepracer-utils' episodes per iteration: the largest training ``trial`` of worker 0 (>= 1).

    deepracer-utils takes the maximum over all rows; training rows alone give the same number
    for DeepRacer files (evaluation rows repeat the last trial) and stay right when a writer
    numbers evaluation trials 1..n with n larger than the iteration's episodes.
    """
    trials = [int(e.get("trial", 0)) for e in worker0_entries if e.get("phase") == "training"]
    if not trials:
        trials = [int(e.get("trial", 0)) for e in worker0_entries]
    return max(max(trials, default=1), 1)


def iteration_of(episode: np.ndarray, per_iteration: int) -> np.ndarray:
    """Iteration (0-based) of 1-based cumulative episode numbers: ``(episode - 1) // E``."""
    return (np.asarray(episode, dtype=np.int64) - 1) // int(per_iteration)


def episodes_table(by_worker: dict[int, list[dict[str, Any]]]) -> tuple[Episodes, int]:
    """All workers' metrics entries as one `Episodes` table, and the episodes per iteration."""
    per_iteration = episodes_per_iteration(by_worker.get(0, []))
    rows = [(w, e) for w, entries in sorted(by_worker.items()) for e in entries]

    def column(name: str, dtype: Any, default: Any = 0) -> np.ndarray:
        return np.array([e.get(name, default) for _, e in rows], dtype=dtype)

    episode = column("episode", np.int64)
    table = Episodes(
        worker=np.array([w for w, _ in rows], dtype=np.int64),
        episode=episode,
        trial=column("trial", np.int64),
        iteration=iteration_of(episode, per_iteration),
        phase=column("phase", object, "training").astype(str),
        status=column("episode_status", object, "").astype(str),
        reward=column("reward_score", np.float64),
        completion=column("completion_percentage", np.float64),
        time_s=column("elapsed_time_in_milliseconds", np.float64) / 1000.0,
    )
    return table, per_iteration


def _phase_summary(rows: Episodes) -> PhaseSummary:
    if len(rows) == 0:
        nan = math.nan
        return PhaseSummary(0, nan, nan, nan, nan)
    return PhaseSummary(
        episodes=len(rows),
        completion=float(np.mean(rows.completion)),
        reward=float(np.mean(rows.reward)),
        laps=float(np.mean(rows.status == LAP_COMPLETE)),
        time_s=float(np.mean(rows.time_s)),
    )


def summarize(episodes: Episodes) -> tuple[IterationSummary, ...]:
    """Per-iteration means of training and evaluation episodes, oldest iteration first."""
    out = []
    for it in np.unique(episodes.iteration):
        rows = episodes.select(episodes.iteration == it)
        training = rows.select(rows.phase == "training")
        labels, counts = np.unique(training.status, return_counts=True)
        out.append(
            IterationSummary(
                iteration=int(it),
                training=_phase_summary(training),
                evaluation=_phase_summary(rows.select(rows.phase == "evaluation")),
                status_counts={str(k): int(n) for k, n in zip(labels, counts, strict=True)},
            )
        )
    return tuple(out)


def _evaluation_run(timestamp: str, entries: list[dict[str, Any]]) -> EvaluationRun:
    return EvaluationRun(
        timestamp=timestamp,
        trial=np.array([int(e.get("trial", i + 1)) for i, e in enumerate(entries)], np.int64),
        completion=np.array([e.get("completion_percentage", 0) for e in entries], np.float64),
        time_s=np.array([e.get("elapsed_time_in_milliseconds", 0) for e in entries], np.float64)
        / 1000.0,
        status=np.array([str(e.get("episode_status", "")) for e in entries], dtype=str),
    )


def _world(storage: RunStorage) -> tuple[str | None, bool]:
    if not storage.exists("training_params.yaml"):
        return None, False
    try:
        params = yaml.safe_load(storage.read_text("training_params.yaml")) or {}
    except yaml.YAMLError:
        return None, False
    name = params.get("WORLD_NAME")
    reverse = str(params.get("REVERSE_DIR", "False")).strip().lower() == "true"
    return (str(name) if name else None), reverse


def last_iteration_simtrace(
    storage: RunStorage,
) -> tuple[int | None, dict[str, np.ndarray] | None]:
    """The last simtrace iteration number and its columns (all workers, + ``worker``)."""
    keys = simtrace_keys(storage)
    if not keys:
        return None, None
    last = max(it for it, _ in keys)
    parts = []
    for (it, worker), key in keys.items():
        if it != last:
            continue
        columns = read_simtrace(storage, key)
        n = len(next(iter(columns.values()), []))
        columns["worker"] = np.full(n, worker, dtype=np.int64)
        parts.append(columns)
    common = set.intersection(*(set(p) for p in parts))
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k in common}
    return last, merged


def load_run(
    run: str | RunStorage, *, with_simtrace: bool = True, track: str | None = None
) -> RunData:
    """Read a run folder's metrics (and the last iteration's simtrace) into `RunData`.

    `track`: the track to draw under the paths (default: the run's WORLD_NAME; a DRfC folder
    without training_params.yaml needs it).

    Raises `AnalyzeError` when there is no ``metrics/TrainingMetrics.json``.
    """
    storage = _storage(run)
    keys = training_metrics_keys(storage)
    if 0 not in keys:
        raise AnalyzeError(
            f"{storage.path('metrics', 'TrainingMetrics.json')} does not exist: give a run "
            "folder written by `slipstream train` (or DeepRacer-for-Cloud), after its first episode"
        )
    try:
        by_worker = {w: read_metrics(storage, key) for w, key in keys.items()}
        evaluations = tuple(
            _evaluation_run(ts, read_metrics(storage, key))
            for ts, key in evaluation_metrics_keys(storage).items()
        )
    except (ValueError, json.JSONDecodeError) as err:
        raise AnalyzeError(f"cannot read the metrics of {storage.root}: {err}") from None
    try:
        track_evaluation = latest_track_evaluation(storage)
    except (ValueError, json.JSONDecodeError) as err:
        logger.warning("%s: the latest track evaluation table is unreadable: %s", storage.root, err)
        track_evaluation = None
    episodes, per_iteration = episodes_table(by_worker)
    world, reverse = _world(storage)
    if track is not None:
        world = track
    sim_it, sim = last_iteration_simtrace(storage) if with_simtrace else (None, None)
    return RunData(
        root=storage.root,
        num_workers=max(keys) + 1,
        episodes_per_iteration=per_iteration,
        world_name=world,
        reverse=reverse,
        episodes=episodes,
        iterations=summarize(episodes),
        evaluations=evaluations,
        simtrace_iteration=sim_it,
        simtrace=sim,
        track_evaluation=track_evaluation,
    )


def _cell(value: float, fmt: str) -> str:
    return "-" if math.isnan(value) else format(value, fmt)


def format_table(iterations: Sequence[IterationSummary]) -> str:
    """Plain-text table, one line per iteration: training and evaluation means."""
    header = (
        f"{'iter':>4} {'episodes':>8} {'progress%':>9} {'reward':>9} {'laps':>5} "
        f"{'time s':>7} | {'eval':>4} {'progress%':>9} {'reward':>9} {'laps':>5}"
    )
    lines = [header, "-" * len(header)]
    for s in iterations:
        t, e = s.training, s.evaluation
        lines.append(
            f"{s.iteration:>4} {t.episodes:>8} {_cell(t.completion, '.1f'):>9} "
            f"{_cell(t.reward, '.1f'):>9} {_cell(t.laps, '.2f'):>5} {_cell(t.time_s, '.1f'):>7} | "
            f"{e.episodes:>4} {_cell(e.completion, '.1f'):>9} {_cell(e.reward, '.1f'):>9} "
            f"{_cell(e.laps, '.2f'):>5}"
        )
    return "\n".join(lines)


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 4)


def summary_dict(data: RunData) -> dict[str, Any]:
    """JSON-ready summary of a run (NaN written as null)."""

    def phase(p: PhaseSummary) -> dict[str, Any]:
        return {
            "episodes": p.episodes,
            "completion": _json_number(p.completion),
            "reward": _json_number(p.reward),
            "laps": _json_number(p.laps),
            "time_s": _json_number(p.time_s),
        }

    return {
        "run": data.root,
        "workers": data.num_workers,
        "episodes_per_iteration": data.episodes_per_iteration,
        "world_name": data.world_name,
        "training_episodes": int(np.sum(data.episodes.phase == "training")),
        "iterations": [
            {
                "iteration": s.iteration,
                "training": phase(s.training),
                "evaluation": phase(s.evaluation),
                "status_counts": s.status_counts,
            }
            for s in data.iterations
        ],
        "evaluations": [
            {
                "timestamp": r.timestamp,
                "trials": len(r.trial),
                "completion": [_json_number(v) for v in r.completion],
                "time_s": [_json_number(v) for v in r.time_s],
                "status": [str(s) for s in r.status],
            }
            for r in data.evaluations
        ],
        "track_evaluation": (
            None
            if data.track_evaluation is None
            else {
                "timestamp": data.track_evaluation.timestamp,
                "track_set": data.track_evaluation.track_set,
                "summary": data.track_evaluation.summary().to_json(),
            }
        ),
    }
