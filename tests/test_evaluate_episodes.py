"""DeepRacer's trial/lap accounting on hand-made step sequences (no simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from slipstream.evaluate.episodes import CarSteps, episode_trace, next_start_time
from slipstream.sim import episode as ep

DT = 1.0 / 15.0
P, IN, LAP, OFF, CR, PA = (
    ep.PREPARE,
    ep.IN_PROGRESS,
    ep.LAP_COMPLETE,
    ep.OFF_TRACK,
    ep.CRASHED,
    ep.PAUSE,
)


def steps(status, progress, lap_count=None, done_last=True):
    n = len(status)
    done = np.zeros(n, dtype=bool)
    done[-1] = done_last
    return CarSteps(
        status=np.array(status, dtype=np.int8),
        progress=np.array(progress, dtype=float),
        lap_count=np.array(lap_count if lap_count is not None else [0] * n),
        done=done,
        sim_time=np.arange(n) * DT,
        reward=np.where(np.isin(status, [P, PA]), 0.0, 1.0),
    )


def test_trial_with_a_reset_counts_steps_and_times_from_the_reset() -> None:
    # prepare, 2 steps, off track (reset), 3 pause steps, 1 step, lap complete: 9 rows
    s = steps([P, IN, IN, OFF, PA, PA, PA, IN, LAP], [1, 1, 30, 40, 38, 38, 38, 38, 100])
    trace = episode_trace(s, start_time=0.5, first_trial=2, continuous=False, dt=DT)
    (rec,) = trace.records
    assert rec.trial == 3
    assert rec.status == "lap_complete"
    assert rec.progress == 100.0
    assert rec.off_track_count == 1 and rec.crash_count == 0 and rec.reset_count == 1
    assert rec.steps == 9
    assert rec.start_time == 0.5
    # tstamp = reset clock + decision clock + one step; row 1 is stamped one frame after reset
    assert trace.tstamp == pytest.approx(0.5 + np.arange(1, 10) * DT)
    assert rec.end_time == pytest.approx(0.5 + 9 * DT)
    # DeepRacer's lap time: 9 rows of 1/15 s = last tstamp - first tstamp + 1/15
    assert rec.elapsed == pytest.approx(9 / 15)
    assert rec.elapsed == pytest.approx(trace.tstamp[-1] - trace.tstamp[0] + DT)
    assert rec.total_reward == 5.0  # prepare and pause rows earn nothing
    assert list(trace.episode) == [2] * 9
    assert list(trace.status) == [ep.STATUS_NAMES[c] for c in s.status]
    assert rec.recorded


def test_trial_that_ends_off_track_counts_the_last_step() -> None:
    s = steps([P, IN, IN, OFF], [1, 2, 3, 4])
    (rec,) = episode_trace(s, start_time=0.0, first_trial=0, continuous=False, dt=DT).records
    assert (rec.status, rec.off_track_count, rec.reset_count) == ("off_track", 1, 1)
    assert rec.progress == 4.0 and not rec.completed


def test_continuous_laps_split_at_lap_rows() -> None:
    # as the simulator reports it: the first lap's row is in_progress, lap_count counts it
    status = [P, IN, IN, IN, CR, PA, IN, LAP]
    s = steps(status, [1, 50, 100, 2, 50, 50, 60, 100], lap_count=[0, 0, 1, 1, 1, 1, 1, 2])
    trace = episode_trace(s, start_time=0.0, first_trial=0, continuous=True, dt=DT)
    lap1, lap2 = trace.records
    # the first lap's row is in_progress: DeepRacer's lap rule only ends the last lap
    assert trace.status[2] == "in_progress" and trace.status[7] == "lap_complete"
    assert (lap1.trial, lap1.status, lap1.progress, lap1.steps) == (1, "in_progress", 100.0, 3)
    assert (lap2.trial, lap2.status, lap2.crash_count, lap2.steps) == (2, "lap_complete", 1, 5)
    assert lap1.start_time == 0.0
    assert lap2.start_time == pytest.approx(trace.tstamp[2]) == pytest.approx(3 * DT)
    assert lap2.elapsed == pytest.approx(trace.tstamp[7] - trace.tstamp[2]) == pytest.approx(5 * DT)
    # the lap row carries the laps completed before it
    assert list(trace.episode) == [0, 0, 0, 1, 1, 1, 1, 1]
    assert lap1.recorded and lap2.recorded


def test_unfinished_continuous_lap_gets_no_metrics_entry() -> None:
    s = steps([P, IN, LAP, IN, OFF], [1, 50, 100, 10, 20], lap_count=[0, 0, 1, 1, 1])
    lap1, lap2 = episode_trace(s, start_time=0.0, first_trial=0, continuous=True, dt=DT).records
    assert lap1.recorded and lap1.completed
    assert not lap2.recorded
    assert (lap2.status, lap2.progress, lap2.off_track_count) == ("off_track", 20.0, 1)


@pytest.mark.parametrize(
    ("end", "start"),
    [(11.466666666666667, 11.467), (2.0, 2.0), (1.0000000001, 1.0), (0.0666, 0.067)],
)
def test_next_trial_starts_on_a_whole_millisecond(end, start) -> None:
    assert next_start_time(end) == pytest.approx(start, abs=1e-12)
