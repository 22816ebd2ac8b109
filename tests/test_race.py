"""Head-to-head races: DeepRacer's starting grid, the crash rule, both cameras, both outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString, Point

from slipstream.config import parse_model_metadata
from slipstream.evaluate import LoadedModel
from slipstream.evaluate.race import make_race_core, race_models, race_world
from slipstream.render.camera import render_cameras
from slipstream.runs import RunLayout, RunStorage
from slipstream.sim.controllers import pure_pursuit_steering

TRACK = "reInvent2019_track"
CONTINUOUS = parse_model_metadata(
    {
        "action_space": {
            "steering_angle": {"low": -30, "high": 30},
            "speed": {"low": 0.5, "high": 4.0},
        },
        "sensor": ["FRONT_FACING_CAMERA"],
        "training_algorithm": "sac",
        "action_space_type": "continuous",
        "version": "5",
    }
)
STEERING = (-30, -20, -10, 0, 10, 20, 30)
DISCRETE_STEREO = parse_model_metadata(
    {
        "action_space": [{"steering_angle": s, "speed": 3.0} for s in STEERING],
        "sensor": ["STEREO_CAMERAS"],
        "training_algorithm": "clipped_ppo",
        "action_space_type": "discrete",
        "version": "5",
    }
)


class LaneDriver:
    """Scripted policy: pure pursuit of a lane (+1 inner, -1 outer) at a fixed speed; emits
    [steering, speed] (continuous model) or the nearest steering index (discrete model)."""

    def __init__(self, metadata, speed: float, lane: float) -> None:
        self.metadata, self.speed, self.lane = metadata, speed, lane
        self.shapes: set[tuple[int, ...]] = set()

    def attach(self, core, cars):
        self.core, self.cars = core, cars

    def act(self, obs, deterministic=True):
        self.shapes |= {v.shape for v in obs.values()}
        sim = self.core.sim
        steer = pure_pursuit_steering(sim.track, sim.state, sim.reverse, 0.6, self.lane)
        steer = steer[self.cars]
        if self.metadata.is_continuous:
            return np.column_stack([steer, np.full(len(steer), self.speed)])
        return np.argmin(np.abs(steer[:, None] - np.array(STEERING)[None, :]), axis=1)


def models(a_speed, a_lane, b_speed, b_lane, b_metadata=CONTINUOUS):
    a = LoadedModel(CONTINUOUS, LaneDriver(CONTINUOUS, a_speed, a_lane), "A")
    b = LoadedModel(b_metadata, LaneDriver(b_metadata, b_speed, b_lane), "B")
    return a, b


def run_folder(path: Path) -> RunLayout:
    (path / "training-simtrace").mkdir(parents=True, exist_ok=True)
    return RunLayout(RunStorage(str(path)))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_grid_outer_lane_at_the_line_inner_lane_behind(official_tracks_dir) -> None:
    a, _ = models(1.0, 0.0, 1.0, 0.0)
    core = make_race_core(a, race_world({"WORLD_NAME": TRACK}))
    core.reset()
    track = core.track
    state = core.sim.state
    centre = LineString(track.center)
    inner, outer = LineString(track.inner), LineString(track.outer)
    cars = [Point(state.x[i], state.y[i]) for i in range(2)]
    arcs = [centre.project(p) for p in cars]
    start = centre.project(Point(track.center[0]))
    # car A on the start line, car B at the lane point beside the centre-line point 0.75 m
    # behind it (on a bend that point projects back onto the centre line a little off 0.75 m)
    half_width = 0.5 * 1.0668
    assert arcs[0] == pytest.approx(start, abs=1e-6)
    assert (arcs[0] - arcs[1]) % centre.length == pytest.approx(0.75, abs=0.02)
    behind = centre.interpolate((start - 0.75) % centre.length)
    assert behind.distance(cars[1]) == pytest.approx(half_width / 2, abs=0.005)
    # lanes halfway between centre line and border: A outer, B inner
    for car, (near, far) in zip(cars, ((outer, inner), (inner, outer)), strict=True):
        assert centre.distance(car) == pytest.approx(half_width / 2, abs=0.01)
        assert near.distance(car) < far.distance(car)
    # both face along the centre line at their place on the grid
    for i, arc in enumerate((start, (start - 0.75) % centre.length)):
        p, q = centre.interpolate(arc), centre.interpolate(arc + 0.1)
        direction = np.degrees(np.arctan2(q.y - p.y, q.x - p.x))
        assert abs((np.degrees(state.yaw[i]) - direction + 180) % 360 - 180) < 10.0


def test_each_camera_sees_the_other_car_only_when_it_is_ahead(official_tracks_dir) -> None:
    a, _ = models(1.0, 0.0, 1.0, 0.0)
    core = make_race_core(a, race_world({"WORLD_NAME": TRACK}))
    obs = core.reset()["FRONT_FACING_CAMERA"][..., 0]
    state = core.sim.state
    poses = np.stack([state.x, state.y, state.yaw], axis=1)
    alone = render_cameras(core.sensors.texture, poses, core.sensors.camera_spec)
    # A is ahead and looks away from B; B, 0.75 m behind, has A in its view
    assert np.array_equal(obs[0], alone[0])
    changed = np.count_nonzero(obs[1].astype(int) != alone[1].astype(int))
    assert changed > 200


def test_the_car_behind_crashes_the_car_ahead_does_not(tmp_path, official_tracks_dir) -> None:
    # B (behind) at 2 m/s catches A (1 m/s) on A's outer lane; no resets: B's race ends
    a, b = models(1.0, -1.0, 2.0, -1.0)
    layout = run_folder(tmp_path / "same")
    world = race_world({"WORLD_NAME": TRACK}, ["NUMBER_OF_RESETS=0"], laps=1)
    result = race_models(a, b, world, layouts=(layout, layout))
    ra, rb = result.racers
    assert (rb.records[-1].status, rb.crash_count) == ("crashed", 1)
    assert (ra.records[-1].status, ra.crash_count) == ("in_progress", 0)
    assert result.winner is None and ra.finish_time is None
    # both evaluations went into the one run folder, under different timestamps
    assert ra.written.timestamp != rb.written.timestamp
    rows_a = read_csv(tmp_path / "same" / ra.written.simtrace)
    rows_b = read_csv(tmp_path / "same" / rb.written.simtrace)
    assert len(rows_a) == len(rows_b)
    assert "crashed" not in {r["episode_status"] for r in rows_a}
    assert rows_b[-1]["episode_status"] == "crashed" and rows_b[-1]["done"] == "True"
    # at the crash the cars' footprints touch, with B behind A
    gap = np.hypot(
        float(rows_a[-1]["X"]) - float(rows_b[-1]["X"]),
        float(rows_a[-1]["Y"]) - float(rows_b[-1]["Y"]),
    )
    assert gap < 0.45
    assert float(rows_b[-1]["progress"]) < float(rows_a[-1]["progress"])
    # with resets, B is held for COLLISION_PENALTY (5 s = 75 pause steps) after each crash
    layouts = (run_folder(tmp_path / "a"), run_folder(tmp_path / "b"))
    world = race_world({"WORLD_NAME": TRACK}, ["NUMBER_OF_RESETS=10000"], laps=1)
    a, b = models(1.0, -1.0, 2.0, -1.0)
    result = race_models(a, b, world, layouts=layouts)
    ra, rb = result.racers
    assert result.winner == 0 and ra.crash_count == 0 and rb.crash_count >= 1
    rows_b = read_csv(tmp_path / "b" / rb.written.simtrace)
    statuses = [r["episode_status"] for r in rows_b]
    first = statuses.index("crashed")
    assert statuses[first + 1 : first + 76] == ["pause"] * 75
    assert statuses[first + 76] != "pause"


def test_two_models_with_different_sensors_and_action_spaces(tmp_path, official_tracks_dir) -> None:
    pytest.importorskip("deepracer.logs")
    from deepracer.logs import DeepRacerLog, FSFileHandler

    # A: continuous, one camera, 1.5 m/s outer lane; B: discrete, stereo, 3 m/s inner lane
    a, b = models(1.5, -1.0, 3.0, 1.0, DISCRETE_STEREO)
    layouts = (run_folder(tmp_path / "a"), run_folder(tmp_path / "b"))
    world = race_world({"WORLD_NAME": TRACK}, laps=2)
    assert (world.NUMBER_OF_RESETS, world.IS_CONTINUOUS, world.RACE_TYPE) == (
        10000,
        True,
        "HEAD_TO_MODEL",
    )
    result = race_models(a, b, world, layouts=layouts)
    assert a.policy.shapes == {(1, 120, 160, 1)}
    assert b.policy.shapes == {(1, 120, 160, 2)}
    ra, rb = result.racers
    assert result.winner == 1 and rb.laps_completed == 2 and rb.finish_time is not None
    assert ra.laps_completed < 2 and ra.finish_time is None
    assert "B finished first" in result.table()
    metrics_b = json.loads((tmp_path / "b" / rb.written.metrics).read_text())["metrics"]
    assert [m["episode_status"] for m in metrics_b] == ["In progress", "Lap complete"]
    assert sum(m["elapsed_time_in_milliseconds"] for m in metrics_b) == round(rb.finish_time * 1000)
    rows_a = read_csv(tmp_path / "a" / ra.written.simtrace)
    rows_b = read_csv(tmp_path / "b" / rb.written.simtrace)
    assert rows_b[5]["action"].isdigit()
    assert rows_a[5]["action"].startswith("[") and rows_a[5]["action"].endswith(" 1.5]")
    for folder, rows in (("a", rows_a), ("b", rows_b)):
        log = DeepRacerLog(
            model_folder=str(tmp_path / folder), filehandler=FSFileHandler(str(tmp_path / folder))
        )
        log.load_evaluation_trace(ignore_metadata=True)
        assert len(log.dataframe()) == len(rows)
