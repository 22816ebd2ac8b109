"""Episode rules and reward params of the batched simulator, checked against shapely and DeepRacer's formulas."""

import bisect
import itertools
import math

import numpy as np
import pytest
from shapely.geometry import LinearRing, LineString, Point, Polygon
from shapely.ops import nearest_points

from slipstream.sim import episode as ep
from slipstream.sim.car import CarParams, CarState
from slipstream.sim.controllers import pure_pursuit_steering
from slipstream.sim.params import REWARD_PARAM_KEYS, WaypointLists, build_reward_params
from slipstream.sim.simulator import SimConfig, Simulator
from slipstream.tracks import Track, load_track


def straight_track(length=30.0, width=1.07, spacing=0.5):
    x = np.arange(0.0, length + 1e-9, spacing)
    z = np.zeros_like(x)
    h = width / 2
    return Track.from_route(np.column_stack([x, z, x, z + h, x, z - h]), name="straight")


@pytest.fixture(scope="module")
def reinvent():
    try:
        return load_track("reInvent2019_track")
    except ValueError:
        pytest.skip("official tracks not available")


def run(sim, controller, speed, max_steps=2000):
    results = []
    for _ in range(max_steps):
        r = sim.step(controller(sim), np.full(sim.num_cars, speed))
        results.append(r)
        if r.terminated.all() or r.truncated.all():
            break
    return results


def test_first_step_is_prepare_and_holds_the_car():
    sim = Simulator(straight_track(), 1, SimConfig(change_start_position=False))
    sim.reset()
    first = sim.step(np.zeros(1), np.ones(1))
    second = sim.step(np.zeros(1), np.ones(1))
    assert ep.STATUS_NAMES[first.status[0]] == "prepare" and not first.phase_was_run[0]
    assert ep.STATUS_NAMES[second.status[0]] == "in_progress" and second.phase_was_run[0]
    # the prepare action is not executed: step 2 reports the same position (DeepRacer's sample CSVs)
    assert second.front[0].tolist() == first.front[0].tolist()
    assert first.steps[0] == 1.0 and second.steps[0] == 2.0
    assert first.front[0] == pytest.approx([0.14, 0.0])


def test_straight_drive_covers_the_predicted_distance():
    # a speed loop that is a plain first-order lag (tau 0.2 s): v(t) = 1 - exp(-t / 0.2)
    car = CarParams(
        model="single_track",
        speed_gain=1.0,
        top_speed=1e3,
        tau_speed=0.2,
        max_acceleration=1e3,
        max_deceleration=1e3,
    )
    sim = Simulator(straight_track(), 1, SimConfig(change_start_position=False), car)
    sim.reset()
    results = run(sim, lambda s: np.zeros(1), 1.0, max_steps=31)
    # step k reports the pose before action k; actions 2..30 executed = 29 steps of 1/15 s
    t = 29 / 15
    expected = t - 0.2 * (1 - math.exp(-t / 0.2))
    assert results[30].front[0, 0] - 0.14 == pytest.approx(expected, rel=1e-6)
    assert results[30].progress[0] == pytest.approx(100 * (expected + 0.14) / 30.0, rel=1e-6)


def test_hard_steer_into_the_border_ends_off_track():
    track = straight_track()
    sim = Simulator(track, 1, SimConfig(change_start_position=False))
    sim.reset()
    results = run(sim, lambda s: np.full(1, 30.0), 1.0, max_steps=200)
    last = results[-1]
    assert ep.STATUS_NAMES[last.status[0]] == "off_track" and last.terminated[0]
    assert last.is_offtrack[0] and not last.all_wheels_on_track[0]
    # independently: no wheel centre of the pose the rule judged is on the road polygon
    road = Polygon(track.road_polygon[0])
    state = sim_state_before(sim, results)
    wheels = wheel_points(state)
    assert not any(road.contains(Point(w)) for w in wheels)
    assert all(not r.terminated[0] for r in results[:-1])


def sim_state_before(sim, results):
    # pose judged at the last step = front point minus 0.14 m along the heading
    last = results[-1]
    yaw = math.radians(last.heading_deg[0])
    x = last.front[0, 0] - 0.14 * math.cos(yaw)
    y = last.front[0, 1] - 0.14 * math.sin(yaw)
    return x, y, yaw


def wheel_points(pose):
    x, y, yaw = pose
    c, s = math.cos(yaw), math.sin(yaw)
    return [(x + c * ox - s * oy, y + s * ox + c * oy) for ox, oy in CarParams().wheel_offsets()]


def test_a_car_that_stops_ends_immobilized():
    # the real car cannot command less than 0.1 m/s; a car that allows 0 shows the rule
    sim = Simulator(
        straight_track(), 1, SimConfig(change_start_position=False), CarParams(min_speed=0.0)
    )
    sim.reset()
    results = run(sim, lambda s: np.zeros(1), 0.0, max_steps=100)
    names = [ep.STATUS_NAMES[r.status[0]] for r in results]
    # step 1 prepare; run steps 2..16 are the 15 still steps, the 15th fires
    assert names[0] == "prepare" and names[-1] == "immobilized" and len(results) == 16


def test_driving_against_the_track_direction_ends_reversed(reinvent):
    sim = Simulator(reinvent, 1, SimConfig(change_start_position=False))
    sim.reset()
    x, y, yaw = sim.state.x, sim.state.y, sim.state.yaw + math.pi
    sim.current = sim.current._replace(car=CarState.at_rest(x, y, yaw))
    results = run(sim, lambda s: pure_pursuit_steering(s.track, s.state, reverse=True), 1.0, 200)
    last = results[-1]
    assert ep.STATUS_NAMES[last.status[0]] == "reversed"
    assert (
        len(results) == 1 + 1 + 15
    )  # prepare, the first run step (progress wraps to ~100), 15 falling
    assert all(r.progress[0] < p.progress[0] for p, r in itertools.pairwise(results[2:]))


def test_centre_line_lap_and_params_match_deepracer(reinvent):
    track = reinvent
    sim = Simulator(track, 1, SimConfig(change_start_position=False))
    sim.reset()
    waypoints = WaypointLists(track)
    ring = LinearRing(track.center[:-1])
    inner, outer = LineString(track.inner), LineString(track.outer)
    road = Polygon(track.outer, [track.inner])
    ndists = [ring.project(Point(p), normalized=True) for p in track.center[:-1]] + [1.0]
    prev_progress = 0.0
    checked = 0
    last = None
    for step in range(1, 2000):
        steer = pure_pursuit_steering(track, sim.state)
        pose = (sim.state.x[0], sim.state.y[0], sim.state.yaw[0])
        result = sim.step(steer, np.array([1.2]))
        params = build_reward_params(result, track.length, waypoints)[0]
        assert tuple(params) == REWARD_PARAM_KEYS
        # field by field, from shapely and DeepRacer's formulas
        front = Point(pose[0] + 0.14 * math.cos(pose[2]), pose[1] + 0.14 * math.sin(pose[2]))
        assert params["x"] == pytest.approx(front.x, abs=1e-9)
        assert params["y"] == pytest.approx(front.y, abs=1e-9)
        assert params["heading"] == pytest.approx(math.degrees(pose[2]), abs=1e-9)
        assert params["distance_from_center"] == pytest.approx(ring.distance(front), abs=1e-9)
        ndist = ring.project(front, normalized=True)
        assert params["projection_distance"] == pytest.approx(ndist * ring.length, abs=1e-6)
        prog = 100 * ndist
        if prog <= 0:
            prog += 100
        if prev_progress > prog + 50:
            prog += 100
        if prog > prev_progress + 50:
            prog -= 100
        prog = min(prog, 100.0)
        assert params["progress"] == pytest.approx(prog, abs=1e-6)
        prev_progress = 0.0 if prog == 100 else prog
        nxt = bisect.bisect_right(ndists, ndist)
        prv = nxt - 1 if nxt > 0 else len(ndists) - 1
        nxt = 0 if nxt == len(ndists) else nxt
        assert params["closest_waypoints"] == [prv, nxt]
        d_in, d_out = inner.distance(front), outer.distance(front)
        assert params["is_left_of_center"] == bool((d_in < d_out) ^ (not ring.is_ccw))
        proj = ring.interpolate(ring.project(front))
        a = nearest_points(inner, proj)[0]
        b = nearest_points(outer, proj)[0]
        assert params["track_width"] == pytest.approx(a.distance(b), abs=1e-6)
        wheels = [road.contains(Point(w)) for w in wheel_points(pose)]
        assert params["all_wheels_on_track"] == all(wheels)
        assert params["is_offtrack"] == (not any(wheels))
        assert params["track_length"] == pytest.approx(ring.length)
        assert params["waypoints"] == [tuple(p) for p in track.center.tolist()]
        assert params["steps"] == float(step) and isinstance(params["steps"], float)
        assert params["speed"] == 1.2 and params["steering_angle"] == pytest.approx(steer[0])
        assert params["sim_time"] == pytest.approx((step - 1) / 15)
        assert params["is_reversed"] is False and params["is_crashed"] is False
        assert params["closest_objects"] == [0, 0] and params["objects_location"] == []
        assert params["object_in_camera"] is False
        for key in ("x", "y", "heading", "progress", "track_width", "distance_from_center"):
            assert type(params[key]) is float
        for key in ("all_wheels_on_track", "is_left_of_center", "is_offtrack"):
            assert type(params[key]) is bool
        checked += 1
        last = result
        if result.terminated[0]:
            break
    assert ep.STATUS_NAMES[last.status[0]] == "lap_complete"
    assert last.progress[0] == 100.0
    assert checked > 200  # 23.1 m at 1.2 m/s is ~290 steps


def test_reverse_direction_params(reinvent):
    sim = Simulator(reinvent, 1, SimConfig(change_start_position=False, reverse_dir=True))
    sim.reset()
    rev = reinvent.reversed()
    ring = LinearRing(rev.center[:-1])
    assert not ring.is_ccw
    results = []
    for _ in range(60):
        steer = pure_pursuit_steering(sim.track, sim.state, reverse=True)
        results.append(sim.step(steer, np.array([1.0])))
    params = build_reward_params(results[-1], reinvent.length, WaypointLists(reinvent))[0]
    front = Point(params["x"], params["y"])
    assert params["is_reversed"] is True
    assert params["waypoints"] == [tuple(p) for p in rev.center.tolist()]
    assert params["projection_distance"] == pytest.approx(ring.project(front), abs=1e-6)
    assert 0 < params["progress"] < 20
    d_in = LineString(rev.inner).distance(front)
    d_out = LineString(rev.outer).distance(front)
    assert params["is_left_of_center"] == bool((d_in < d_out) ^ True)


def test_round_robin_start_positions():
    track = straight_track()
    sim = Simulator(track, 2, SimConfig(change_start_position=True, round_robin_advance_dist=0.05))
    sim.reset()
    assert sim.start_ndist.tolist() == [0.0, 0.0]
    for _ in range(2):
        sim.current = sim.current._replace(episodes_done=sim.episodes_done + 1)
        sim.reset()
    assert sim.start_ndist.tolist() == pytest.approx([0.10, 0.10])
    spread = Simulator(track, 3, SimConfig(spread_start_positions=True))
    spread.seed([1, 2, 3])
    spread.reset()
    expected = [np.random.default_rng(s).uniform() for s in (1, 2, 3)]
    assert spread.start_ndist.tolist() == pytest.approx(expected)


def test_continuous_laps_and_penalty_resets(reinvent):
    cfg = SimConfig(
        change_start_position=False,
        training=False,
        is_continuous=True,
        number_of_trials=2,
        number_of_resets=5,
        off_track_penalty=2.0,
    )
    sim = Simulator(reinvent, 1, cfg)
    sim.reset()
    statuses = []
    for k in range(3000):
        steer = pure_pursuit_steering(sim.track, sim.state)
        if 60 <= k < 85:
            steer = np.array([0.0])  # straight on at a bend: off once
        r = sim.step(steer, np.array([1.5]))
        statuses.append(ep.STATUS_NAMES[r.status[0]])
        if statuses[-1] == "off_track":
            assert r.pause_duration[0] == 2.0  # the rule's row shows the whole penalty
        if r.terminated[0]:
            break
    assert statuses.count("off_track") == 1
    assert statuses.count("pause") == 30  # 2.0 s penalty at 15 steps/s
    # the first lap is counted but only the last one fires the lap rule (continuous evaluation)
    assert statuses.count("lap_complete") == 1 and statuses[-1] == "lap_complete"
    assert r.terminated[0]
    assert r.reset_count[0] == 1 and r.lap_count[0] == 2


def obstacle_sim(track, **cfg):
    from slipstream.sim.objects import ObstacleConfig
    from slipstream.sim.objects_world import WorldObjectsConfig

    objects = WorldObjectsConfig(obstacles=ObstacleConfig(object_positions=((0.1, 1),)))
    return Simulator(track, 1, SimConfig(change_start_position=False, objects=objects, **cfg))


def test_a_car_driving_into_a_box_ends_crashed(reinvent):
    sim = obstacle_sim(reinvent)
    sim.reset()
    box = sim.current.objects.obstacles.poses[0, 0]
    results = run(sim, lambda s: pure_pursuit_steering(s.track, s.state), 1.0, 400)
    last = results[-1]
    assert ep.STATUS_NAMES[last.status[0]] == "crashed" and last.terminated[0]
    assert last.is_crashed[0]
    # the car stopped at the box: its front is within half a box length + the front overhang
    gap = np.linalg.norm(last.front[0] - box[:2])
    assert gap < 0.5 / 2 + 0.3
    assert sim.current.objects.crash_counter[0] == 1


def test_crash_with_resets_restarts_behind_the_box_on_the_other_lane(reinvent):
    sim = obstacle_sim(reinvent, number_of_resets=3, collision_penalty=5.0, training=False)
    sim.reset()
    dist = sim.current.objects.obstacles.dists[0, 0]
    statuses = []
    for _ in range(400):
        r = sim.step(pure_pursuit_steering(sim.track, sim.state), np.array([1.0]))
        statuses.append(ep.STATUS_NAMES[r.status[0]])
        if statuses[-1] == "crashed":
            break
    assert statuses[-1] == "crashed" and not r.terminated[0]
    # held for the 5 s penalty, 1 m behind the box, on the outer lane (the box is on the inner)
    expected = reinvent.lane_point_at(np.array([dist - 1.0]), -1.0)[0]
    assert [sim.state.x[0], sim.state.y[0]] == pytest.approx(expected.tolist(), abs=0.05)
    pauses = 0
    while True:
        r = sim.step(np.zeros(1), np.ones(1))
        if ep.STATUS_NAMES[r.status[0]] != "pause":
            break
        pauses += 1
    assert pauses == 75  # 5.0 s at 15 steps/s


def test_where_cars_takes_whole_rows_through_nested_state():
    from slipstream.sim.state import where_cars

    old = CarState.at_rest(np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([0.5, 0.6]))
    new = CarState.at_rest(np.array([9.0, 8.0]), np.array([7.0, 6.0]), np.array([0.1, 0.2]))
    mixed = where_cars(
        np.array([True, False]), (new, np.array([[1, 1], [1, 1]])), (old, np.zeros((2, 2), int))
    )
    assert (mixed[0].x.tolist(), mixed[0].y.tolist(), mixed[0].yaw.tolist()) == (
        [9.0, 2.0],
        [7.0, 4.0],
        [0.1, 0.6],
    )
    assert mixed[1].tolist() == [[1, 1], [0, 0]]


def test_a_finished_car_keeps_its_whole_state_while_the_others_drive(reinvent):
    """Car 0 crashes into the box and ends; car 1 (same world config) keeps driving. Every
    array of car 0's `SimState` stays as it was at the end, including the objects' state."""
    from slipstream.sim.objects import ObstacleConfig
    from slipstream.sim.objects_world import WorldObjectsConfig

    objects = WorldObjectsConfig(obstacles=ObstacleConfig(object_positions=((0.1, 1),)))
    sim = Simulator(reinvent, 2, SimConfig(change_start_position=False, objects=objects))
    sim.reset()
    for _ in range(400):
        speed = np.array([1.0, 0.0])  # car 1 waits at the start (immobile rule ends it later)
        r = sim.step(pure_pursuit_steering(sim.track, sim.state), speed)
        if r.terminated[0]:
            break
    assert ep.STATUS_NAMES[r.status[0]] == "crashed"

    def row(state, i):
        leaves = []

        def walk(value):
            if isinstance(value, np.ndarray):
                leaves.append(value[i].copy())
            elif isinstance(value, tuple):
                for v in value:
                    walk(v)
            elif hasattr(value, "__dataclass_fields__"):
                for name in value.__dataclass_fields__:
                    walk(getattr(value, name))

        walk(state)
        return leaves

    ended = row(sim.current, 0)
    steps_before = r.steps[0]
    for _ in range(20):
        r = sim.step(np.zeros(2), np.array([1.0, 1.0]))
        assert r.steps[0] == steps_before and not r.phase_was_run[0]
    assert all(np.array_equal(a, b) for a, b in zip(ended, row(sim.current, 0), strict=True))
    assert sim.current.steps[1] > steps_before  # car 1 went on
