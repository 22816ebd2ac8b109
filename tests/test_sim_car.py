"""The car model against scipy's solve_ivp of the same equations and closed-form answers worked out here."""

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from slipstream.sim.actions import ActionTable
from slipstream.sim.car import (
    SINGLE_TRACK,
    CarState,
    clip_commands,
    derivatives,
    front_point,
    step_cars,
)

P = SINGLE_TRACK  # the single-track model (the mechanism has tests/test_sim_mechanism.py)
G = 9.81
# a car whose speed loop is a plain first-order lag (no gain, top speed or traction limit)
LAG_ONLY = replace(P, speed_gain=1.0, top_speed=1e3, max_acceleration=1e3, max_deceleration=1e3)


def drive(steps, steer_deg, speed, n=1, params=P, state=None):
    state = state or CarState.at_rest(np.zeros(n), np.zeros(n), np.zeros(n))
    path = [state]
    for _ in range(steps):
        state = step_cars(state, np.full(n, steer_deg), np.full(n, speed), params)
        path.append(state)
    return path


def rhs(_t, z, steer_rad, v_cmd, params):
    state = CarState(*(np.array([v]) for v in z))
    return np.array([f[0] for f in derivatives(state, steer_rad, v_cmd, params)])


def ivp(state0, schedule, params, rtol=1e-10):
    """solve_ivp of `derivatives` over a schedule of (seconds, steering deg, speed) legs."""
    z = np.array([float(f[0]) for f in state0])
    for seconds, steer, speed in schedule:
        sol = solve_ivp(
            rhs,
            (0.0, seconds),
            z,
            method="RK45",
            rtol=rtol,
            atol=1e-12,
            max_step=1e-3,
            args=(math.radians(steer), speed, params),
        )
        z = sol.y[:, -1]
    return z


@pytest.mark.parametrize("substeps, tol", [(64, 2e-4), (4, 3e-2)])
def test_integrator_matches_solve_ivp(substeps, tol):
    # launch from rest, hard left at 2 m/s (lateral grip saturates), then a 4 m/s right flick:
    # every term of the model is exercised (traction limit, friction circle, tanh saturation)
    params = replace(P, substeps=substeps)
    legs = [(1.0, 30.0, 2.0), (0.6, -10.0, 4.0), (0.4, 0.0, 1.0)]
    state = CarState.at_rest(np.zeros(1), np.zeros(1), np.zeros(1))
    for seconds, steer, speed in legs:
        state = drive(round(seconds * 15), steer, speed, params=params, state=state)[-1]
    expected = ivp(CarState.at_rest(np.zeros(1), np.zeros(1), np.zeros(1)), legs, params)
    assert abs(state.yaw[0]) > 0.3  # the car did turn
    assert np.hypot(state.x[0] - expected[0], state.y[0] - expected[1]) < tol
    assert abs(state.yaw[0] - expected[2]) < 10 * tol
    assert state.speed[0] == pytest.approx(expected[3], abs=tol)
    assert state.yaw_rate[0] == pytest.approx(expected[6], abs=20 * tol)


@pytest.mark.parametrize("speed, steer_deg", [(1.0, 20.0), (1.5, 10.0), (2.5, 4.0)])
def test_steady_radius_is_the_linear_tyre_models(speed, steer_deg):
    # With linear tyres (F = c alpha per unit load, grip far from saturation) the steady state
    # of the single-track model solves, with v = vx and r = v / R:
    #   moments  l_f F_f cos(d) = l_r F_r  and  F_f cos(d) + F_r = v r
    #     =>  F_f cos(d) = v r l_r / L,  F_r = v r l_f / L
    #   tyres    alpha_f = v r / (g c_f cos d),  alpha_r = v r / (g c_r)
    #   slip     alpha_f - alpha_r = d - L r / v
    #     =>  R = (L + v^2 / g (1 / (c_f cos d) - 1 / c_r)) / d
    params = replace(P, friction=50.0)
    path = drive(150, steer_deg, speed, params=params)
    end = path[-1]
    d = params.steering_gain * math.radians(steer_deg)
    v = end.speed[0]
    length = params.wheelbase
    under = v * v / G * (1.0 / (params.front_cornering * math.cos(d)) - 1.0 / params.rear_cornering)
    radius = (length + under) / d
    assert v / end.yaw_rate[0] == pytest.approx(radius, rel=2e-3)
    # and it is not the kinematic bicycle's radius: DeepRacer's car turns less sharply
    assert radius > 1.9 * length / math.tan(math.radians(steer_deg))


def test_lateral_acceleration_never_exceeds_the_friction_limit():
    # a_y = vy' + vx r = F_f cos(d) + F_r, each tyre at most its share of mu g
    mu_g = P.friction * G
    worst = 0.0
    for speed in (1.0, 2.0, 3.0, 4.0):
        for steer in (5.0, 15.0, 30.0):
            for state in drive(45, steer, speed)[1:]:
                rate = derivatives(state, math.radians(steer), speed, P)
                worst = max(worst, abs(rate.lateral_speed[0] + state.speed[0] * state.yaw_rate[0]))
    assert 0.9 * mu_g < worst <= mu_g * (1 + 1e-12)
    end = drive(60, 30.0, 4.0)[-1]
    assert abs(end.speed[0] * end.yaw_rate[0]) < 5.5  # the ceiling for DeepRacer's car


def test_straight_line_distance_follows_first_order_lag():
    # v(t) = 1 - exp(-t / tau)  =>  x(t) = t - tau (1 - exp(-t / tau)); 30 steps = 2 s
    path = drive(30, 0.0, 1.0, params=LAG_ONLY)
    t, tau = 2.0, LAG_ONLY.tau_speed
    assert path[-1].x[0] == pytest.approx(t - tau * (1.0 - math.exp(-t / tau)), rel=1e-9)
    assert path[-1].y[0] == 0.0
    assert path[-1].speed[0] == pytest.approx(1.0 - math.exp(-t / tau), rel=1e-9)


def test_traction_limits_acceleration():
    # from rest to 4 m/s the lag asks for ~28 m/s^2; the speed loop allows max_acceleration
    path = drive(1, 0.0, 4.0)
    assert path[1].speed[0] == pytest.approx(P.max_acceleration / 15.0, rel=1e-9)
    assert path[1].x[0] == pytest.approx(0.5 * P.max_acceleration / 15.0**2, rel=1e-9)


def test_top_speed_levels_off_below_a_4_mps_command():
    # v_t = k_v v / (1 + (k_v v / v_top)^n)^(1/n), worked here from the parameters
    kv = P.speed_gain * 4.0
    v_t = kv / (1.0 + (kv / P.top_speed) ** P.top_speed_sharpness) ** (1.0 / P.top_speed_sharpness)
    end = drive(90, 0.0, 4.0)[-1]
    assert end.speed[0] == pytest.approx(v_t, rel=1e-6)
    assert 0.84 * 4.0 <= end.speed[0] <= 0.93 * 4.0  # DeepRacer's car: 3.34-3.57 m/s
    slow = drive(90, 0.0, 1.0)[-1]
    assert slow.speed[0] == pytest.approx(P.speed_gain, rel=1e-3)


def test_left_steering_turns_left():
    path = drive(10, 30.0, 1.0)
    assert path[-1].y[0] > 0.0 and path[-1].yaw[0] > 0.0 and path[-1].yaw_rate[0] > 0.0


def test_commands_are_clipped_to_the_cars_limits():
    steer, speed = clip_commands(P, np.array([45.0, -45.0, 10.0]), np.array([9.0, 0.0, 1.0]))
    assert steer.tolist() == [30.0, -30.0, 10.0]
    assert speed.tolist() == [4.0, 0.1, 1.0]
    over = drive(20, 45.0, 9.0)[-1]
    at_limit = drive(20, 30.0, 4.0)[-1]
    assert [f[0] for f in over] == [f[0] for f in at_limit]


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


def test_step_is_pure():
    state = CarState.at_rest(np.zeros(2), np.zeros(2), np.zeros(2))
    before = [f.copy() for f in state]
    step_cars(state, np.array([10.0, -10.0]), np.array([2.0, 2.0]), P)
    assert all(np.array_equal(a, b) for a, b in zip(state, before, strict=True))


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
