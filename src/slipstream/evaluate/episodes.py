"""Evaluation trials and laps from the steps of one car, counted and timed as DeepRacer does.

Pure functions over the steps of one car's evaluation episode (arrays in step order). They
decide what DeepRacer's evaluation job writes for those steps (docs/deepracer.md 5.3, 7.1, 7.3):

* the simtrace ``episode`` column: the number of trials (or, continuous, laps) completed before
  the step; the row of a completed lap still carries the old count;
* the simtrace ``tstamp``: the simulation clock when the step's camera frame arrived, i.e. the
  clock at the decision plus one control step (1/15 s);
* one metrics entry per trial (non-continuous) or per lap (continuous), with
  ``start_time`` = the clock when the trial was reset (continuous: when the previous lap was
  completed), ``metric_time`` = the clock at the last step, and ``*_count`` = the number of steps
  whose status is crashed / off_track / immobilized / reversed (so a reset counts once, and so
  does the step that ended a trial with no resets left).

Lap time. DeepRacer reports ``elapsed_time_in_milliseconds = metric_time - start_time``: from the
reset to the frame of the last step, penalty pauses included. Each step, prepare and pause rows
included, lasts one control step, so a trial of R simtrace rows lasts R / 15 s, which is
``tstamp(last row) - tstamp(first row) + 1/15``. (deepracer-utils' ``simulation_agg`` sums the
tstamp differences after the prepare row, which is 1/15 s less.) For a continuous lap after the
first one it is ``tstamp(lap row) - tstamp(previous lap row)``.

Continuous laps. DeepRacer's lap rule only ends a continuous episode at the last lap, so the step
that completes an earlier lap has status ``in_progress`` (the simulator reports
``in_progress``, as DeepRacer does) and its metrics entry says "In progress". A continuous
episode that ends before its last lap is finished gets no metrics entry for that lap (DeepRacer
appends entries only when a lap completes); the record is kept with ``recorded=False`` so it can
still be shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from slipstream.sim import episode as ep

COUNTED_STATUSES = {
    ep.CRASHED: "crash_count",
    ep.IMMOBILIZED: "immobilized_count",
    ep.OFF_TRACK: "off_track_count",
    ep.REVERSED: "reversed_count",
}
"""Statuses whose steps DeepRacer counts in the evaluation metrics (and their keys)."""


@dataclass(frozen=True)
class TrialRecord:
    """One evaluation metrics entry: a trial, or one lap of a continuous evaluation.

    Times are simulation-clock seconds; counts are numbers of steps with that status.
    """

    trial: int
    """DeepRacer's trial number (1, 2, ...), as written in the metrics file."""
    progress: float
    """Progress (percent) at the last step."""
    status: str
    """DeepRacer status string of the entry (``lap_complete``, ``off_track``, ``in_progress``...)."""
    start_time: float
    end_time: float
    steps: int
    """Simtrace rows of the trial or lap (prepare and pause rows included)."""
    total_reward: float
    crash_count: int = 0
    immobilized_count: int = 0
    off_track_count: int = 0
    reversed_count: int = 0
    recorded: bool = True
    """False for the unfinished last lap of a continuous episode (no metrics entry)."""

    @property
    def reset_count(self) -> int:
        return (
            self.crash_count + self.immobilized_count + self.off_track_count + self.reversed_count
        )

    @property
    def elapsed(self) -> float:
        """Seconds from start to the last step, penalties included (DeepRacer's lap time)."""
        return self.end_time - self.start_time

    @property
    def completed(self) -> bool:
        """Whether the lap was completed."""
        return self.progress >= 100.0

    def metrics_fields(self) -> dict:
        """Keyword arguments of `EvaluationMetricsWriter.add_trial`."""
        return {
            "trial": self.trial,
            "progress": self.progress,
            "status": self.status,
            "start_time_s": self.start_time,
            "end_time_s": self.end_time,
            "crash_count": self.crash_count,
            "immobilized_count": self.immobilized_count,
            "off_track_count": self.off_track_count,
            "reversed_count": self.reversed_count,
            "reset_count": self.reset_count,
        }


class CarSteps(NamedTuple):
    """The steps of one car's evaluation episode, in order (arrays of shape (R,))."""

    status: np.ndarray
    """int status codes (`slipstream.sim.episode`), as the simulator reports them."""
    progress: np.ndarray
    lap_count: np.ndarray
    """Laps completed in the episode including the step (the simulator's counter)."""
    done: np.ndarray
    """The episode ended at this step (terminated or truncated)."""
    sim_time: np.ndarray
    """Episode clock at the decision (s): 0 at the first (prepare) step."""
    reward: np.ndarray


class EpisodeTrace(NamedTuple):
    """What one car's episode contributes to the simtrace and the metrics."""

    records: list[TrialRecord]
    tstamp: np.ndarray
    episode: np.ndarray
    status: np.ndarray
    """DeepRacer status strings per step (object array)."""
    end_time: float
    """Clock at the last step (s)."""


def next_start_time(end_time: float) -> float:
    """Clock of the next trial's reset: the next whole millisecond after ``end_time``.

    Metrics times are whole milliseconds; starting trials on one keeps DeepRacer's
    ``round((end - start) * 1000)`` equal to the writer's ``round(end*1000) - round(start*1000)``.
    """
    return math.ceil(round(end_time * 1000.0, 6)) / 1000.0


def episode_trace(
    steps: CarSteps,
    *,
    start_time: float,
    first_trial: int,
    continuous: bool,
    dt: float,
) -> EpisodeTrace:
    """Simtrace columns and metrics records of one car's evaluation episode.

    Args:
        steps: the episode's steps, first (prepare) to last.
        start_time: clock (s) when the episode was reset.
        first_trial: trials (laps) completed before this episode; the first record gets
            ``first_trial + 1``.
        continuous: one episode of several laps (IS_CONTINUOUS) instead of one trial.
        dt: control step (s), 1/15.
    """
    status = np.asarray(steps.status)
    n = len(status)
    if n == 0:
        raise ValueError("an evaluation episode has at least its prepare step")
    tstamp = start_time + np.asarray(steps.sim_time, dtype=np.float64) + dt
    names = np.array([ep.STATUS_NAMES[s] for s in status], dtype=object)
    # rows where a lap was completed (the simulator reports intermediate laps of a continuous
    # evaluation as in_progress, as DeepRacer does, and counts them in lap_count)
    lap_count = np.asarray(steps.lap_count)
    lap_rows = np.flatnonzero(np.diff(np.concatenate([[0], lap_count])) > 0)
    if continuous:
        last = n - 1
        # a lap's rows end at its lap row; the rest of the episode is an unfinished lap
        ends = list(lap_rows)
        if not ends or ends[-1] != last:
            ends.append(last)
    else:
        ends = [n - 1]
    records: list[TrialRecord] = []
    episode = np.empty(n, dtype=np.int64)
    begin = 0
    lap_start = start_time
    for number, end in enumerate(ends):
        rows = slice(begin, end + 1)
        episode[rows] = first_trial + number
        finished_lap = end in lap_rows
        counts = {key: int(np.sum(status[rows] == code)) for code, key in COUNTED_STATUSES.items()}
        records.append(
            TrialRecord(
                trial=first_trial + number + 1,
                progress=float(steps.progress[end]),
                status=str(names[end]),
                start_time=lap_start,
                end_time=float(tstamp[end]),
                steps=end + 1 - begin,
                total_reward=float(np.sum(steps.reward[rows])),
                recorded=not continuous or bool(finished_lap),
                **counts,
            )
        )
        lap_start = float(tstamp[end])
        begin = end + 1
    return EpisodeTrace(records, tstamp, episode, names, float(tstamp[-1]))


def sequential_traces(
    episodes: Sequence[CarSteps], *, continuous: bool, dt: float
) -> list[EpisodeTrace]:
    """`episode_trace` of each episode in order, as if they ran one after another: the first
    starts at clock 0, each next one at `next_start_time` of the one before, and (trials)
    episode k's record is trial k + 1."""
    traces = []
    clock = 0.0
    for number, steps in enumerate(episodes):
        trace = episode_trace(
            steps,
            start_time=clock,
            first_trial=0 if continuous else number,
            continuous=continuous,
            dt=dt,
        )
        traces.append(trace)
        clock = next_start_time(trace.end_time)
    return traces
