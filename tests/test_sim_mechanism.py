"""The mechanism car (sim/mechanism.py): the numba integrator against scipy's solve_ivp of the
numpy right-hand side, and limiting cases worked out by hand (docs/car.md)."""

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from slipstream.config.errors import WorldConfigError
from slipstream.config.world import WorldConfig
from slipstream.sim.car import (
    CONTROLLER_FIELDS,
    MECHANISM_FIELDS,
    CarParams,
    CarState,
    car_for_simapp,
    derivatives,
    step_cars,
)
from slipstream.sim.mechanism import contact_slips

P = CarParams()
G = 9.81
L = P.front_axle_x - P.rear_axle_x


def rest(n=1):
    return CarState.at_rest(np.zeros(n), np.zeros(n), np.zeros(n))


def rhs(_t, z, steer_rad, v_cmd, params):
    state = CarState(*(np.array([v]) for v in z))
    rates = derivatives(state, np.array([steer_rad]), np.array([v_cmd]), params)
    return np.array([f[0] for f in rates])


@pytest.mark.parametrize(
    "load_transfer, substeps, tol",
    [(False, 64, 2e-3), (True, 64, 3e-3), (True, P.mechanism_substeps, 2e-2)],
)
def test_integrator_matches_solve_ivp(load_transfer, substeps, tol):
    # launch from rest hard left at 2 m/s, a right flick at 4 m/s, then 1 m/s straight: wheels
    # spinning, sliding and gripping, a slow hinge so its lag shows
    params = replace(P, mechanism_substeps=substeps, load_transfer=load_transfer, hinge_tau=0.05)
    legs = [(1.0, 30.0, 2.0), (0.6, -10.0, 4.0), (0.4, 0.0, 1.0)]
    state, z = rest(), np.zeros(7)
    for seconds, steer, speed in legs:
        for _ in range(round(seconds * 15)):
            state = step_cars(state, np.full(1, steer), np.full(1, speed), params)
        sol = solve_ivp(
            rhs, (0.0, seconds), z, method="LSODA", rtol=1e-9, atol=1e-11,
            args=(math.radians(steer), speed, params),
        )  # fmt: skip
        z = sol.y[:, -1]
    assert abs(z[2]) > 0.3  # the car did turn
    assert np.hypot(state.x[0] - z[0], state.y[0] - z[1]) < tol
    assert math.remainder(state.yaw[0] - z[2], 2 * math.pi) == pytest.approx(0.0, abs=5 * tol)
    assert state.speed[0] == pytest.approx(z[3], abs=tol)
    assert state.lateral_speed[0] == pytest.approx(z[5], abs=tol)
    assert state.yaw_rate[0] == pytest.approx(z[6], abs=20 * tol)


@pytest.mark.parametrize("speed_cmd", [1.0, 2.5, 4.0])
def test_straight_line_rolls_every_wheel_without_slip(speed_cmd):
    # the wheels' surfaces move at min(v / 0.035, 100 rad/s) * rho; a car moving straight at that
    # speed has no slip anywhere, so no force: it keeps its speed and goes straight
    u = min(speed_cmd / 0.035, 100.0) * P.rolling_radius
    body = P.body_vector()
    s_l, s_t = contact_slips([u], [0.0], [0.0], [0.0], [u], body[4:8], body[8:12])
    assert np.abs(s_l).max() == 0.0 and np.abs(s_t).max() == 0.0
    state = rest()._replace(speed=np.array([u]))
    rates = derivatives(state, np.zeros(1), np.array([speed_cmd]), P)
    assert rates.speed[0] == 0.0 and rates.lateral_speed[0] == 0.0 and rates.yaw_rate[0] == 0.0
    after = step_cars(state, np.zeros(1), np.array([speed_cmd]), P)
    assert after.speed[0] == pytest.approx(u, abs=1e-12)
    assert after.x[0] == pytest.approx(u / 15.0, abs=1e-12)
    assert after.y[0] == 0.0 and after.yaw[0] == 0.0 and after.yaw_rate[0] == 0.0


def test_kinematic_turn_scrubs_as_worked_out_by_hand():
    # the car turning about a point on its rear axle line at radius R (rear axle centre moving
    # at V = r R), front wheels both at delta = atan(L / R) (parallel, not Ackermann), all four
    # surfaces at u = V. Worked out with the rear axle centre as origin:
    #   rear wheel at (0, y):   contact (V - r y, 0)        -> s_l = -r y,  s_t = 0
    #   front wheel at (L, y):  contact (V - r y, r L); along (cos d, sin d):
    #     s_l = r sqrt(R^2 + L^2) - r y cos d - V,  s_t = r y sin d   (Ackermann would make it 0)
    R, r = 1.5, 0.8
    V, d = r * R, math.atan(L / R)
    y_r, y_f = P.rear_wheel_y, P.front_wheel_y
    px = np.array([0.0, L, 0.0, L])
    py = np.array([y_r, y_f, -y_r, -y_f])
    s_l, s_t = contact_slips([V], [0.0], [r], [d], [V], px, py)
    hyp = r * math.hypot(R, L)
    expected_l = [
        -r * y_r,
        hyp - r * y_f * math.cos(d) - V,
        r * y_r,
        hyp + r * y_f * math.cos(d) - V,
    ]
    expected_t = [0.0, r * y_f * math.sin(d), 0.0, -r * y_f * math.sin(d)]
    assert s_l[0] == pytest.approx(expected_l, abs=1e-12)
    assert s_t[0] == pytest.approx(expected_t, abs=1e-12)
    # per unit yaw rate the front scrub is y_f sin(d): 0.87 cm/s per rad/s at this radius
    assert s_t[0, 1] / r == pytest.approx(0.0087, abs=1e-4)


def test_slow_steady_turn_is_the_linear_contact_solution():
    # At a crawl every slip is far below eps, so each contact force is linear: F = -k s with
    # k = mu N / eps per direction. The steady state (vx, vy, r) of the centre of mass then
    # solves  sum_i k_i a_i (a_i . z - u_i) = -m (r vy, -r vx, 0)  with a_i the slip directions
    # (along: (c, s, s x - c y), across: (-s, c, c x + s y)): a 3x3 linear system, solved here by
    # fixed-point iteration on the small centripetal term.
    # (DeepRacer's slowest command, 0.1 m/s; a wide eps keeps the slips in the linear range)
    params = replace(P, load_transfer=False, hinge_tau=0.005, slip_scale=1.0)
    steer, v_cmd = math.radians(20.0), 0.1
    u = v_cmd / 0.035 * params.rolling_radius
    masses = [
        params.chassis_mass,
        2 * params.wheel_mass,
        2 * (params.wheel_mass + params.hinge_mass),
    ]
    m = sum(masses)
    x_cg = (masses[1] * params.rear_axle_x + masses[2] * params.front_axle_x) / m
    xr, xf = params.rear_axle_x - x_cg, params.front_axle_x - x_cg
    n_front, n_rear = m * G * -xr / (2 * (xf - xr)), m * G * xf / (2 * (xf - xr))
    wheels = [
        (xr, params.rear_wheel_y, 0.0, n_rear),
        (xf, params.front_wheel_y, steer, n_front),
        (xr, -params.rear_wheel_y, 0.0, n_rear),
        (xf, -params.front_wheel_y, steer, n_front),
    ]
    big_k, b = np.zeros((3, 3)), np.zeros(3)
    for x, y, d, n in wheels:
        k = params.contact_friction * n / params.slip_scale
        c, s = math.cos(d), math.sin(d)
        along, across = np.array([c, s, s * x - c * y]), np.array([-s, c, c * x + s * y])
        big_k += k * (np.outer(along, along) + np.outer(across, across))
        b += k * u * along
    z = np.linalg.solve(big_k, b)
    for _ in range(50):
        z = np.linalg.solve(big_k, b + m * np.array([z[2] * z[1], -z[2] * z[0], 0.0]))
    vx, vy_cg, r = z
    state = rest()._replace(speed=np.array([u]), steer=np.array([steer]))
    for _ in range(15 * 20):
        state = step_cars(state, np.full(1, 20.0), np.full(1, v_cmd), params)
    assert state.yaw_rate[0] == pytest.approx(r, rel=2e-3)
    assert state.speed[0] == pytest.approx(vx, rel=2e-3)
    assert state.lateral_speed[0] + x_cg * state.yaw_rate[0] == pytest.approx(vy_cg, abs=1e-5)
    # the scrub of four wheels held at one speed makes the car turn at well under the kinematic
    # bicycle's rate v tan(d) / L, with no steering gain anywhere (DeepRacer: 0.3-0.45)
    assert 0.25 < r / (vx * math.tan(steer) / L) < 0.6


def test_batch_equals_single_cars_and_step_is_pure():
    n = 5
    rng = np.random.default_rng(3)
    state = rest(n)._replace(speed=rng.uniform(0, 3, n), yaw_rate=rng.uniform(-1, 1, n))
    steer, speed = rng.uniform(-30, 30, n), rng.uniform(0.5, 4, n)
    copy = CarState(*(a.copy() for a in state))
    batch = step_cars(state, steer, speed, P)
    for a, b in zip(state, copy, strict=True):
        assert np.array_equal(a, b)
    for i in range(n):
        one = CarState(*(a[i : i + 1] for a in state))
        single = step_cars(one, steer[i : i + 1], speed[i : i + 1], P)
        for a, b in zip(batch, single, strict=True):
            assert a[i] == b[0]


def test_top_speed_is_the_wheel_joints_velocity_limit():
    # 4 m/s asks the wheels for 114 rad/s; the URDF caps them at 100 rad/s
    state = rest()
    for _ in range(15 * 4):
        state = step_cars(state, np.zeros(1), np.full(1, 4.0), P)
    assert state.speed[0] == pytest.approx(100.0 * P.rolling_radius, rel=1e-4)


@pytest.mark.parametrize(
    "value, major", [(5, 5), ("4", 4), ("5.3.3", 5), ("4.0.1", 4), ("v5.0", 5), (4.0, 4)]
)
def test_simapp_version_key_takes_the_major_version(value, major):
    assert WorldConfig(SIMAPP_VERSION=value).SIMAPP_VERSION == major


@pytest.mark.parametrize("value", ["3.0", "6", "five", "", True])
def test_simapp_version_key_refuses_versions_without_a_car(value):
    with pytest.raises(WorldConfigError, match=r"SIMAPP_VERSION.*use 5 .* or 4"):
        WorldConfig(SIMAPP_VERSION=value)


def test_simapp_4_and_5_cars_differ_only_in_their_controllers():
    v4, v5 = car_for_simapp(4), car_for_simapp(5)
    assert v5 == CarParams()
    for name in MECHANISM_FIELDS:
        same = getattr(v4, name) == getattr(v5, name)
        assert same == (name not in CONTROLLER_FIELDS["mechanism"]), name
    assert v4.hinge_tau > 20 * v5.hinge_tau  # simapp 4's effort PID hinge lags, 5's does not
    # and the world key picks the car the simulator steps
    from slipstream.env.core import DeepRacerCore

    for version, car in ((4, v4), (5, v5)):
        core = DeepRacerCore(1, world={"SIMAPP_VERSION": str(version)})
        assert core.sim.car == car
    # the same steering step: simapp 4's car turns in later
    yaw = {}
    for version, car in ((4, v4), (5, v5)):
        state = rest()._replace(speed=np.full(1, 1.0))
        for _ in range(3):
            state = step_cars(state, np.full(1, 30.0), np.full(1, 1.0), car)
        yaw[version] = state.yaw[0]
    assert 0.0 < yaw[4] < 0.6 * yaw[5]
    with pytest.raises(ValueError, match="4 or 5"):
        car_for_simapp(3)
