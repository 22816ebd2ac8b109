"""Evaluation with a scripted driver on reInvent2019_track: lap times, penalties, continuous laps,
and the output read back by deepracer-utils."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from slipstream.config import ConfigError, parse_model_metadata
from slipstream.evaluate import EvaluationError, LoadedModel, evaluate_model, evaluation_world
from slipstream.runs import RunLayout, RunStorage
from slipstream.sim.car import CarParams, settled_speed
from slipstream.sim.controllers import pure_pursuit_steering
from slipstream.tracks import load_track

TRACK = "reInvent2019_track"
DT = 1.0 / 15.0
SCRIPTED = parse_model_metadata(
    {
        "action_space": {
            "steering_angle": {"low": -30, "high": 30},
            "speed": {"low": 0.5, "high": 4.0},
        },
        "sensor": ["FRONT_FACING_CAMERA"],
        "training_algorithm": "sac",  # continuous actions in env units: [steering deg, m/s]
        "action_space_type": "continuous",
        "version": "5",
    }
)


class PurePursuitDriver:
    """Scripted policy: pure pursuit of the centre line at a fixed speed.

    `swerve_at`: from this progress (percent) until the car's first reset, chase a point far
    outside the outer border instead (drives off the track once). `lane_after_reset`: the lane
    to follow after the first reset (-1 outer), e.g. to pass an obstacle on the inner lane.
    """

    def __init__(self, speed=1.5, swerve_at=None, lane_after_reset=0.0):
        self.speed, self.swerve_at, self.lane_after_reset = speed, swerve_at, lane_after_reset

    def attach(self, core, cars):
        self.core, self.cars = core, cars

    def act(self, obs, deterministic=True):
        assert deterministic
        sim = self.core.sim
        was_reset = sim.reset_count > 0
        lane = np.where(was_reset, self.lane_after_reset, 0.0)
        if self.swerve_at is not None:
            lane = np.where(~was_reset & (sim.prev_progress >= self.swerve_at), -4.0, lane)
        steer = pure_pursuit_steering(sim.track, sim.state, sim.reverse, lookahead=0.6, lane=lane)
        return np.column_stack([steer[self.cars], np.full(len(self.cars), self.speed)])


def run_folder(path: Path) -> RunLayout:
    """A run folder as training leaves it (deepracer-utils recognises DRfC by its
    training-simtrace/ folder)."""
    (path / "training-simtrace").mkdir(parents=True, exist_ok=True)
    storage = RunStorage(str(path))
    storage.write_text("model/model_metadata.json", json.dumps(SCRIPTED.to_json_dict()))
    return RunLayout(storage)


def evaluate(tmp_path: Path | None, sets=(), race_type=None, trials=1, **driver):
    world = evaluation_world(
        {}, list(sets), trials=trials, race_type=race_type, track=TRACK,
        continuous=driver.pop("continuous", None), reverse=driver.pop("reverse", None),
    )  # fmt: skip
    layout = run_folder(tmp_path) if tmp_path is not None else None
    model = LoadedModel(SCRIPTED, PurePursuitDriver(**driver), "scripted")
    return evaluate_model(model, world, layout=layout)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def by_episode(rows):
    out: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        out.setdefault(int(row["episode"]), []).append(row)
    return out


def test_scripted_laps_time_as_deepracer_and_load_in_deepracer_utils(
    tmp_path, official_tracks_dir
) -> None:
    pytest.importorskip("deepracer.logs")
    from deepracer.logs import AnalysisUtils, DeepRacerLog, FSFileHandler

    result = evaluate(tmp_path, trials=2)
    stamp = result.written.timestamp
    doc = json.loads((tmp_path / result.written.metrics).read_text())
    assert set(doc) == {"metrics"}  # no version key in evaluation metrics
    entries = doc["metrics"]
    assert [e["trial"] for e in entries] == [1, 2]
    assert [e["episode_status"] for e in entries] == ["Lap complete", "Lap complete"]
    assert [e["completion_percentage"] for e in entries] == [100, 100]
    assert all(e["reset_count"] == e["off_track_count"] == 0 for e in entries)

    rows = read_csv(tmp_path / result.written.simtrace)
    episodes = by_episode(rows)
    assert sorted(episodes) == [0, 1]
    # trial 2 starts where trial 1 ended: the first whole millisecond at or after its last row
    end_ms = float(episodes[0][-1]["tstamp"]) * 1000
    assert entries[1]["start_time"] == math.ceil(round(end_ms, 6))
    assert entries[1]["start_time"] - entries[0]["metric_time"] in (0, 1)
    for entry, (_, trial_rows) in zip(entries, sorted(episodes.items()), strict=True):
        statuses = [r["episode_status"] for r in trial_rows]
        assert statuses[0] == "prepare" and statuses.count("prepare") == 1
        assert statuses[-1] == "lap_complete" and trial_rows[-1]["done"] == "True"
        tstamp = [float(r["tstamp"]) for r in trial_rows]
        # lap time from the simtrace alone: rows are 1/15 s apart, the first one stamped one
        # frame after the reset, so lap time = last - first + 1/15 = rows / 15
        assert np.allclose(np.diff(tstamp), DT)
        from_trace = tstamp[-1] - tstamp[0] + DT
        assert from_trace == pytest.approx(len(trial_rows) / 15.0, abs=1e-9)
        assert entry["elapsed_time_in_milliseconds"] == round(from_trace * 1000)
        assert entry["metric_time"] == round(tstamp[-1] * 1000)
    # the scripted lap at a 1.5 m/s command: the lap length at the car's settled speed (pure
    # pursuit cuts corners a little, the launch costs a few steps), plus the prepare step
    steps = result.records[0].steps
    assert [r.steps for r in result.records] == [steps, steps]
    expected = 1 + load_track(TRACK).length / settled_speed(1.5, CarParams()) * 15
    assert steps == pytest.approx(expected, rel=0.05)
    assert result.records[0].elapsed == pytest.approx(steps / 15)

    log = DeepRacerLog(model_folder=str(tmp_path), filehandler=FSFileHandler(str(tmp_path)))
    log.load_evaluation_trace()
    df = log.dataframe()
    assert set(df["stream"]) == {stamp}
    assert len(df) == len(rows) == 2 * steps
    agg = AnalysisUtils.simulation_agg(df, "stream", "episode", is_eval=True)
    assert list(agg["complete"]) == [1, 1]
    assert list(agg["progress"]) == [100.0, 100.0]
    assert list(agg["off_track"]) == [0, 0]
    # deepracer-utils sums tstamp steps after the prepare row: one frame less than DeepRacer
    ms = [e["elapsed_time_in_milliseconds"] / 1000 for e in entries]
    assert list(agg["time"]) == pytest.approx([t - DT for t in ms], abs=1e-3)
    stability = log.stability.analyze()  # step-time statistics within episodes
    assert int(stability["count"].iloc[0]) == len(rows) - len(episodes)

    text = (tmp_path / result.written.log).read_text()
    assert "Testing> Name=main_level/agent, Worker=0, Episode=1, Total reward=" in text
    assert f"Steps={2 * steps}, Training iteration=0" in text
    assert text.count("SIM_TRACE_LOG:") == 2 * steps
    assert "## agent: Finished evaluation phase. Success rate = 1.0" in text


@pytest.mark.parametrize(
    ("case", "key", "penalty"),
    [("off_track", "OFF_TRACK_PENALTY", 2.0), ("crashed", "COLLISION_PENALTY", 5.0)],
)
def test_a_reset_adds_exactly_the_penalty(
    tmp_path, official_tracks_dir, case, key, penalty
) -> None:
    if case == "off_track":
        sets, race_type, driver = [], None, {"swerve_at": 30.0}
    else:  # a box on the inner lane at 30 % of the lap, right on the centre line's path
        sets, race_type = ["OBJECT_POSITIONS=0.3,1"], "OBJECT_AVOIDANCE"
        driver = {"lane_after_reset": -1.0}
    base = ["NUMBER_OF_RESETS=3", *sets]
    free = evaluate(None, [*base, f"{key}=0.0"], race_type, **driver).records[0]
    paid = evaluate(tmp_path, [*base, f"{key}={penalty}"], race_type, **driver)
    rec = paid.records[0]
    for r in (free, rec):
        assert r.status == "lap_complete"
        assert r.reset_count == 1
        assert (r.off_track_count if case == "off_track" else r.crash_count) == 1
    assert rec.elapsed - free.elapsed == pytest.approx(penalty, abs=1e-9)
    assert rec.steps - free.steps == round(penalty * 15)
    entry = json.loads((tmp_path / paid.written.metrics).read_text())["metrics"][0]
    assert entry["elapsed_time_in_milliseconds"] == round(rec.elapsed * 1000)
    rows = read_csv(tmp_path / paid.written.simtrace)
    statuses = [r["episode_status"] for r in rows]
    assert statuses.count(case) == 1
    pause = [float(r["pause_duration"]) for r in rows if r["episode_status"] == "pause"]
    assert len(pause) == round(penalty * 15)
    assert pause == pytest.approx(penalty - DT * np.arange(len(pause)))
    first = statuses.index("pause")
    assert statuses[first - 1] == case and float(rows[first - 1]["reward"]) != 0.0
    # with no resets left the trial ends at the rule break
    ended = evaluate(None, [*sets], race_type, **driver).records[0]
    assert ended.status == case and ended.progress < 100 and ended.reset_count == 1


def test_continuous_laps(tmp_path, official_tracks_dir) -> None:
    pytest.importorskip("deepracer.logs")
    from deepracer.logs import AnalysisUtils, DeepRacerLog, FSFileHandler

    result = evaluate(tmp_path, trials=2, continuous=True)
    entries = json.loads((tmp_path / result.written.metrics).read_text())["metrics"]
    assert [e["trial"] for e in entries] == [1, 2]
    assert [e["episode_status"] for e in entries] == ["In progress", "Lap complete"]
    assert [e["completion_percentage"] for e in entries] == [100, 100]
    assert entries[0]["start_time"] == 0
    assert entries[1]["start_time"] == entries[0]["metric_time"]
    rows = read_csv(tmp_path / result.written.simtrace)
    statuses = [r["episode_status"] for r in rows]
    assert statuses.count("prepare") == 1  # one episode
    assert "lap_complete" not in statuses[:-1] and statuses[-1] == "lap_complete"
    assert [r["done"] for r in rows].count("True") == 1
    episodes = by_episode(rows)
    lap1, lap2 = episodes[0], episodes[1]
    assert lap1[-1]["episode_status"] == "in_progress" and float(lap1[-1]["progress"]) == 100.0
    t1, t2 = float(lap1[-1]["tstamp"]), float(lap2[-1]["tstamp"])
    assert entries[0]["elapsed_time_in_milliseconds"] == round((t1 + 0.0) * 1000)
    assert entries[1]["elapsed_time_in_milliseconds"] == pytest.approx((t2 - t1) * 1000, abs=1)
    assert len(lap2) == pytest.approx((t2 - t1) * 15, abs=1e-6)
    df_log = DeepRacerLog(model_folder=str(tmp_path), filehandler=FSFileHandler(str(tmp_path)))
    df_log.load_evaluation_trace()
    agg = AnalysisUtils.simulation_agg(df_log.dataframe(), "stream", "episode", is_eval=True)
    assert list(agg["progress"]) == [100.0, 100.0]
    assert list(agg["time"]) == pytest.approx([t1 - DT, t2 - t1], abs=1e-6)


def test_reverse_direction_completes_the_lap_the_other_way(tmp_path, official_tracks_dir) -> None:
    forward = evaluate(tmp_path / "forward")
    backward = evaluate(tmp_path / "backward", reverse=True)
    assert forward.records[0].completed and backward.records[0].completed
    fwd = read_csv(tmp_path / "forward" / forward.written.simtrace)
    bwd = read_csv(tmp_path / "backward" / backward.written.simtrace)
    # same start line, opposite heading
    assert float(fwd[0]["X"]) != float(bwd[0]["X"])
    turn = (float(bwd[0]["yaw"]) - float(fwd[0]["yaw"])) % 360.0
    assert abs(turn - 180.0) < 15.0


def test_evaluation_world_defaults_and_inheritance() -> None:
    world = evaluation_world({})
    assert (world.JOB_TYPE, world.NUMBER_OF_RESETS) == ("EVALUATION", 0)
    assert (world.OFF_TRACK_PENALTY, world.COLLISION_PENALTY) == (2.0, 5.0)
    assert world.CHANGE_START_POSITION is False and world.IS_CONTINUOUS is False
    trained = {"WORLD_NAME": "Oval_track", "RACE_TYPE": "OBJECT_AVOIDANCE"}
    trained["NUMBER_OF_OBSTACLES"] = "4"
    inherited = evaluation_world(trained, ["NUMBER_OF_RESETS=10000", "OFF_TRACK_PENALTY=5"])
    assert (inherited.track_name, inherited.RACE_TYPE) == ("Oval_track", "OBJECT_AVOIDANCE")
    assert inherited.NUMBER_OF_OBSTACLES == 4
    assert (inherited.NUMBER_OF_RESETS, inherited.OFF_TRACK_PENALTY) == (10000, 5.0)
    time_trial = evaluation_world(trained, race_type="TIME_TRIAL", trials=7, track="x")
    assert (time_trial.NUMBER_OF_OBSTACLES, time_trial.NUMBER_OF_TRIALS) == (0, 7)
    assert time_trial.track_name == "x"
    # race types with objects but no count: DRfC's 6 obstacles / 3 bot cars
    assert evaluation_world({}, race_type="OBJECT_AVOIDANCE").NUMBER_OF_OBSTACLES == 6
    assert evaluation_world({}, race_type="HEAD_TO_BOT").NUMBER_OF_BOT_CARS == 3
    placed = evaluation_world({}, ["OBJECT_POSITIONS=0.3,1"], race_type="OBJECT_AVOIDANCE")
    assert placed.NUMBER_OF_OBSTACLES == 1
    with pytest.raises(ConfigError, match="world keys only"):
        evaluation_world({}, ["lr=0.1"])
    with pytest.raises(ConfigError, match="unknown setting"):
        evaluation_world({}, ["NUMBER_OF_RESET=3"])
    with pytest.raises(EvaluationError, match="slipstream race"):
        evaluation_world({}, race_type="HEAD_TO_MODEL")
