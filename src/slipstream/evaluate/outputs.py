"""Recording evaluation steps and writing them as DeepRacer does: simtrace, metrics, log lines.

`StepRecorder` keeps, per step, the simtrace quantities of the cars still in their episode.
`write_evaluation` turns each car's steps into the evaluation folder of a run::

    RUN/evaluation-<ts>/evaluation-simtrace/0-iteration.csv     every step, prepare and pause too
    RUN/metrics/EvaluationMetrics-<ts>.json                      one entry per trial (or lap)
    RUN/logs/evaluation/evaluation-<ts>-slipstream-robomaker.log Testing> and SIM_TRACE_LOG lines

Episodes are written in order (trial 1 first), so the file reads as DeepRacer's sequential trials.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from slipstream.evaluate.episodes import CarSteps, EpisodeTrace, TrialRecord
from slipstream.runs import EvaluationMetricsWriter, RunLayout, RunLogger, append_simtrace
from slipstream.runs.logs import (
    action_space_line,
    evaluation_phase_end_line,
    evaluation_phase_start_line,
    sensor_line,
)
from slipstream.runs.simtrace import SIMTRACE_COLUMNS, simtrace_row

_EXTRA_KEYS = ("status", "lap_count", "sim_time")
"""Kept beside each step's simtrace row for `episode_trace`: int status codes, laps, sim clock."""


class StepRecorder:
    """Per-step simtrace rows (`simtrace_row`, without the episode number and tstamp that
    `episode_trace` works out per episode) of selected cars, returned per car in step order."""

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = defaultdict(list)
        self._stacked: dict[str, np.ndarray] | None = None

    def add(self, core, step, actions: np.ndarray, cars: np.ndarray) -> None:
        """Record the step `step` (a `CoreStep` of `core`) of the cars with indices `cars`.

        `actions` (N,) discrete indices or (N, 2) continuous [steering deg, speed m/s].
        """
        cars = np.asarray(cars, dtype=np.int64)
        if len(cars) == 0:
            return
        r = step.result
        values = {
            "car": cars,
            **simtrace_row(core, step, actions, cars),
            "status": r.status[cars],
            "lap_count": r.lap_count[cars],
            "sim_time": r.sim_time[cars],
        }
        for key, value in values.items():
            self._parts[key].append(np.asarray(value))
        self._stacked = None

    def car(self, index: int) -> dict[str, np.ndarray]:
        """All recorded steps of car `index`, oldest first (empty arrays if none)."""
        keys = [k for k in SIMTRACE_COLUMNS if k not in ("episode", "tstamp")] + list(_EXTRA_KEYS)
        if not self._parts:
            return {key: np.zeros(0) for key in keys}
        if self._stacked is None:
            self._stacked = {key: np.concatenate(parts) for key, parts in self._parts.items()}
        rows = np.flatnonzero(self._stacked["car"] == index)
        return {key: self._stacked[key][rows] for key in keys}


def car_steps(rows: Mapping[str, np.ndarray]) -> CarSteps:
    """The quantities `episode_trace` needs, from a `StepRecorder.car` dict."""
    return CarSteps(
        status=rows["status"],
        progress=rows["progress"],
        lap_count=rows["lap_count"],
        done=rows["done"],
        sim_time=rows["sim_time"],
        reward=rows["reward"],
    )


def simtrace_columns(rows: Mapping[str, np.ndarray], trace: EpisodeTrace) -> dict[str, Any]:
    """The 19 simtrace columns of one car's episode: its recorded rows, numbered and timed by
    `episode_trace`."""
    numbered = {"episode": trace.episode, "tstamp": trace.tstamp}
    return {key: numbered[key] if key in numbered else rows[key] for key in SIMTRACE_COLUMNS}


@dataclass(frozen=True)
class WrittenEvaluation:
    """Where an evaluation was written (keys relative to the run folder)."""

    timestamp: str
    simtrace: str
    metrics: str
    log: str


def write_evaluation(
    layout: RunLayout,
    timestamp: str,
    episodes: Sequence[tuple[Mapping[str, np.ndarray], EpisodeTrace]],
    model_metadata_json: Mapping[str, Any],
) -> WrittenEvaluation:
    """Write the simtrace, metrics and log of an evaluation of one model.

    Args:
        layout: the model's run folder.
        timestamp: the evaluation's ``YYYYmmddHHMMSS`` (`RunLayout.new_evaluation_timestamp`).
        episodes: per episode in order, the car's recorded steps (`StepRecorder.car`) and its
            `episode_trace`.
        model_metadata_json: the model's model_metadata.json (for the log's startup lines).
    """
    storage = layout.storage
    keys = WrittenEvaluation(
        timestamp,
        layout.evaluation_simtrace(timestamp),
        layout.evaluation_metrics(timestamp),
        layout.evaluation_log(timestamp),
    )
    metrics = EvaluationMetricsWriter(storage, keys.metrics, auto_flush=False)
    records: list[TrialRecord] = []
    with RunLogger(layout, robomaker_key=keys.log, max_delay_s=3600.0) as log:
        log.write(
            [
                sensor_line(model_metadata_json),
                action_space_line(model_metadata_json.get("action_space", [])),
                evaluation_phase_start_line(),
            ]
        )
        total_steps = 0
        for number, (rows, trace) in enumerate(episodes, start=1):
            columns = simtrace_columns(rows, trace)
            append_simtrace(storage, keys.simtrace, columns)
            log.sim_trace(columns)
            total_steps += len(trace.tstamp)
            reward = float(np.sum(rows["reward"]))
            log.testing_episode(0, number, reward, total_steps, 0)
            for record in trace.records:
                records.append(record)
                if record.recorded:
                    metrics.add_trial(**record.metrics_fields())
        trials = [r for r in records if r.recorded] or records
        success = np.mean([r.completed for r in trials]) if trials else 0.0
        rewards = [float(np.sum(rows["reward"])) for rows, _ in episodes]
        log.write(evaluation_phase_end_line(success, float(np.mean(rewards)) if rewards else 0.0))
    metrics.flush()
    if not storage.exists(keys.metrics):
        storage.write_text(keys.metrics, metrics.to_json())
    return keys
