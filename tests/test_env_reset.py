"""reset(options={"pose", "speed", "steering_angle"}) on the single and vector envs."""

import math

import numpy as np
import pytest

import slipstream
from slipstream.env.single_env import DeepRacerEnv
from slipstream.sim.car import CarParams

CAR = CarParams()
DT = 1.0 / 15.0


def pose_on_centre_line(track, k):
    """DeepRacer x, y at centre-line point k, heading along the centre line (deg)."""
    p, q = track.center[k], track.center[k + 1]
    return float(p[0]), float(p[1]), math.degrees(math.atan2(q[1] - p[1], q[0] - p[0]))


def params_of(info):
    return info["reward_params"]


def test_single_env_starts_from_the_given_state():
    env = DeepRacerEnv()
    x, y, heading = pose_on_centre_line(env.core.track, 20)
    env.reset(seed=0, options={"pose": (x, y, heading), "speed": 2.0, "steering_angle": 10.0})
    state = env.core.sim.state
    assert state.speed[0] == 2.0
    assert state.steer[0] == pytest.approx(math.radians(10.0))  # the hinges at the command
    _, _, _, _, info = env.step(2)  # prepare: the pose is held, the action not executed
    first = params_of(info)
    assert info["episode_status"] == "prepare"
    assert (first["x"], first["y"]) == pytest.approx((x, y), abs=1e-9)
    assert first["heading"] == pytest.approx(heading, abs=1e-9)
    assert first["progress"] == pytest.approx(0.0, abs=1e-9)  # the lap counts from here
    _, _, _, _, info = env.step(2)
    second = params_of(info)
    assert (second["x"], second["y"]) == pytest.approx((x, y), abs=1e-9)
    _, _, _, _, info = env.step(2)
    moved = math.hypot(params_of(info)["x"] - x, params_of(info)["y"] - y)
    # one step at 2 m/s, slowing at most max_deceleration towards the 0.6 m/s command
    assert (2.0 - 0.5 * CAR.max_deceleration * DT) * DT * 0.99 <= moved <= 2.0 * DT
    assert params_of(info)["progress"] > 0.0


def test_a_car_started_at_rest_barely_moves_in_its_first_step():
    env = DeepRacerEnv()
    x, y, heading = pose_on_centre_line(env.core.track, 20)
    env.reset(seed=0, options={"pose": (x, y, heading)})
    for _ in range(3):
        _, _, _, _, info = env.step(2)
    moved = math.hypot(params_of(info)["x"] - x, params_of(info)["y"] - y)
    # from rest the 0.6 m/s lag is traction-limited: at most a_max dt^2 / 2
    assert moved <= 0.5 * CAR.max_acceleration * DT**2 + 1e-9


def test_a_pose_off_the_track_is_allowed_and_ends_off_track():
    env = DeepRacerEnv()
    env.reset(seed=0, options={"pose": (500.0, -500.0, 45.0)})
    _, _, term, _, info = env.step(2)
    assert info["episode_status"] == "prepare" and not term
    _, _, term, _, info = env.step(2)
    assert info["episode_status"] == "off_track" and term
    assert params_of(info)["x"] == pytest.approx(500.0)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"pose": (1.0, float("nan"), 0.0)}, "NaN"),
        ({"pose": (1.0, 2.0)}, "shape"),
        ({"pose": "here"}, "pose"),
        ({"speed": float("inf")}, "NaN or infinity"),
        ({"speed": -0.5}, "0-4.0"),
        ({"speed": 4.5}, "0-4.0"),
        ({"steering_angle": 31.0}, "30"),
        ({"steering_angle": [1.0, 2.0]}, "one per car"),
        ({"heading": 3.0}, "unknown reset option"),
    ],
)
def test_bad_options_are_refused_with_a_clear_error(options, match):
    env = DeepRacerEnv()
    with pytest.raises(ValueError, match=match):
        env.reset(seed=0, options=options)


def test_vector_env_takes_one_state_per_car():
    env = slipstream.make_vec_env(3)
    track = env.core.track
    poses = [pose_on_centre_line(track, k) for k in (5, 30, 60)]
    env.reset(seed=1, options={"pose": poses, "speed": [0.0, 1.0, 2.0], "steering_angle": -20.0})
    state = env.core.sim.state
    assert state.speed.tolist() == [0.0, 1.0, 2.0]
    assert state.steer == pytest.approx([math.radians(-20.0)] * 3)
    _, _, _, _, info = env.step(np.full(3, 2))
    for i, (x, y, heading) in enumerate(poses):
        p = info["reward_params"][i]
        assert (p["x"], p["y"], p["heading"]) == pytest.approx((x, y, heading), abs=1e-9)
        assert p["progress"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        env.reset(options={"pose": poses[:2]})


def test_options_without_a_pose_keep_the_start_line():
    plain = DeepRacerEnv()
    plain.reset(seed=4)
    fast = DeepRacerEnv()
    fast.reset(seed=4, options={"speed": 1.5})
    a, b = plain.core.sim.state, fast.core.sim.state
    assert (a.x[0], a.y[0], a.yaw[0]) == (b.x[0], b.y[0], b.yaw[0])
    assert b.speed[0] == 1.5 and a.speed[0] == 0.0
