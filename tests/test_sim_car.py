"""The car model against closed-form answers worked out here."""

import math

import numpy as np
import pytest

from slipstream.sim.actions import ActionTable
from slipstream.sim.car import CarParams, CarState, clip_commands, front_point, step_cars

P = CarParams()


def drive(steps, steer_deg, speed, n=1, params=P):
    state = CarState.at_rest(np.zeros(n), np.zeros(n), np.zeros(n))
    path = [state]
    for _ in range(steps):
        state = step_cars(state, np.full(n, steer_deg), np.full(n, speed), params)
        path.append(state)
    return path


def test_straight_line_distance_follows_first_order_lag():
    # v(t) = 1 - exp(-t / 0.2)  =>  x(t) = t - 0.2 (1 - exp(-t / 0.2)); 30 steps = 2 s
    path = drive(30, 0.0, 1.0)
    t = 2.0
    expected = t - 0.2 * (1.0 - math.exp(-t / 0.2))
    assert path[-1].x[0] == pytest.approx(expected, rel=1e-6)
    assert path[-1].y[0] == 0.0
    assert path[-1].speed[0] == pytest.approx(1.0 - math.exp(-t / 0.2), rel=1e-9)


def test_traction_limits_acceleration():
    # from rest to 4 m/s the lag asks for 20 m/s^2; friction allows 4.9 m/s^2 (0.5 g)
    path = drive(1, 0.0, 4.0)
    assert path[1].speed[0] == pytest.approx(4.9 / 15.0, rel=1e-9)


def test_steady_turn_radius_is_the_bicycle_models():
    # kinematic bicycle at base_link: R = l_r / sin(beta), beta = atan(l_r / L tan(delta))
    delta = math.radians(20.0)
    l_r, wheelbase = 0.081663, 0.081663 + 0.082311
    radius = l_r / math.sin(math.atan(l_r / wheelbase * math.tan(delta)))
    path = drive(120, 20.0, 0.5)
    pts = np.array([[s.x[0], s.y[0]] for s in path[60:]])  # lags settled after 4 s
    # fit a circle by least squares: x^2 + y^2 + D x + E y + F = 0
    a = np.column_stack([pts, np.ones(len(pts))])
    b = -(pts**2).sum(axis=1)
    d, e, f = np.linalg.lstsq(a, b, rcond=None)[0]
    fitted = math.sqrt(d * d / 4 + e * e / 4 - f)
    assert fitted == pytest.approx(radius, rel=2e-3)
    assert path[-1].yaw[0] != 0.0


def test_left_steering_turns_left():
    path = drive(10, 30.0, 1.0)
    assert path[-1].y[0] > 0.0 and path[-1].yaw[0] > 0.0


def test_commands_are_clipped_to_the_cars_limits():
    steer, speed = clip_commands(P, np.array([45.0, -45.0, 10.0]), np.array([9.0, 0.0, 1.0]))
    assert steer.tolist() == [30.0, -30.0, 10.0]
    assert speed.tolist() == [4.0, 0.1, 1.0]


def test_batch_equals_single_cars():
    steer = np.array([-30.0, 0.0, 12.5])
    speed = np.array([0.5, 2.0, 3.5])
    state = CarState.at_rest(np.zeros(3), np.zeros(3), np.array([0.0, 1.0, -2.0]))
    singles = [CarState(*(f[i : i + 1] for f in state)) for i in range(3)]
    for _ in range(20):
        state = step_cars(state, steer, speed, P)
        singles = [
            step_cars(s, steer[i : i + 1], speed[i : i + 1], P) for i, s in enumerate(singles)
        ]
    for i, single in enumerate(singles):
        for batched_field, single_field in zip(state, single, strict=True):
            assert batched_field[i] == single_field[0]


def test_front_point_is_14cm_ahead():
    state = CarState.at_rest(np.array([1.0]), np.array([2.0]), np.array([math.pi / 2]))
    assert front_point(state, P)[0] == pytest.approx([1.0, 2.14])


def test_action_tables():
    discrete = ActionTable.discrete([-30, 0, 30], [0.6, 1.0, 0.6])
    steer, speed = discrete.commands(np.array([2, 1]))
    assert steer.tolist() == [30.0, 0.0] and speed.tolist() == [0.6, 1.0]
    with pytest.raises(ValueError, match="out of range"):
        discrete.commands(np.array([3]))
    ppo = ActionTable.continuous_box((-30, 30), (0.5, 2.0), scaled=True)
    steer, speed = ppo.commands(np.array([[-1.0, -1.0], [0.0, 0.0], [1.0, 3.0]]))
    assert steer.tolist() == [-30.0, 0.0, 30.0]
    assert speed.tolist() == [0.5, 1.25, 2.0]
    sac = ActionTable.continuous_box((-20, 10), (1.0, 3.0), scaled=False)
    steer, speed = sac.commands(np.array([[-25.0, 2.0]]))
    assert steer.tolist() == [-20.0] and speed.tolist() == [2.0]
