"""The car: DeepRacer geometry and two batched car models (docs/car.md).

`CarParams.model` picks one: "mechanism" (sim/mechanism.py: the planar rigid body on four
friction contacts that Gazebo simulates, with the simapp's wheel and hinge controllers) or
"single_track" (below: a dynamic single-track model with saturating tyres, fitted as a whole).
`car_for_simapp` gives the car of a simapp version (the controllers differ, docs/car.md).

State is a `CarState` of arrays of shape (N,). `step_cars` is a pure function: it returns a new
state and never mutates its input. One control step lasts 1/15 s (DeepRacer's camera rate) and is
integrated in `substeps` equal physics sub-steps by a numba kernel.

Single-track model (reference point = base_link, the chassis centre; l_f, l_r its distances to the axles,
L = l_f + l_r; accelerations per unit mass, so the car's mass cancels):

  speed loop   v_t   = k_v v_cmd / (1 + (k_v v_cmd / v_top)^n)^(1/n)     settled speed
               vx'   = clip((v_t - vx) / tau_v, -b_max, a_max)            traction-limited lag
  steering     delta' = (k_d delta_cmd - delta) / tau_d                   servo lag, gain k_d
  slip angles  a_f   = delta - (vy + l_f r) / max(vx, V0)
               a_r   = -(vy - l_r r) / max(vx, V0)
  friction     m_y   = sqrt(max(mu^2 - (vx' / g)^2, (mu / 10)^2))          what the speed loop's
                                                                          force leaves for cornering
  tyres        F_f   = m_y g l_r / L * tanh(c_f a_f / m_y)               linear (slope c_f per
               F_r   = m_y g l_f / L * tanh(c_r a_r / m_y)               unit load), saturating
  body         vy'   = F_f cos(delta) + F_r - vx r
               r'    = (l_f F_f cos(delta) - l_r F_r) / (i_z l_f l_r)
               x'    = vx cos(yaw) - vy sin(yaw),  y' = vx sin(yaw) + vy cos(yaw),  yaw' = r

`derivatives` is that right-hand side. The integrator (`step_cars`) takes each sub-step as: the
two lags exactly (exponential decay, the speed change clipped to the traction limits), then
(vy, r) by one linearised trapezoidal step (second order, and A-stable however stiff the tyres
are at low speed),
then the pose with the sub-step's mean velocities at the mid-point heading (a straight run is
integrated exactly).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields, replace
from typing import NamedTuple

import numba
import numpy as np

from slipstream.sim.mechanism import derivatives_arrays, mechanism_kernel

CONTROL_HZ = 15.0
"""DeepRacer steps once per camera frame, 15 frames per simulated second."""

GRAVITY = 9.81
TYRE_SPEED_FLOOR = 0.1
"""V0 (m/s): slip angles divide by max(vx, V0) so the tyre model stays finite at rest."""


@dataclass(frozen=True)
class CarParams:
    """DeepRacer car geometry (metres, from the URDF), command limits and both models' parameters.

    The default car is the simapp 5 car of the mechanism model (docs/car.md). Its four fitted
    fields (`MECHANISM_FIELDS`) were fitted by `slipstream calibrate --leave-out --model mechanism
    --stride 2 --max-evals 100` on all three simapp 5.0 traces in shared/traces (FS_June2020
    DRfC simtrace, 13,295 rows; 2022_reinvent_champ, 6 DRfC robomaker logs, 3,716 rows;
    reinvent_base 2022 console log, 2,749 rows; from deepracer-log-guru's test resources); the
    simapp 4 car (`car_for_simapp(4)`) differs only in `hinge_tau`, fitted on the two simapp 4.0
    traces (red_star_pro DRfC simtrace and 2021 console log) with the rest held. Left out of the
    fit, each trace is reproduced better than by the single-track model (docs/car.md tables).

    The single-track fields keep the fit of the previous round (FS_June2020 only, stride 2,
    1-second replays); `SINGLE_TRACK` is that car.
    """

    rear_axle_x: float = -0.081663
    front_axle_x: float = 0.082311
    rear_wheel_y: float = 0.08105
    front_wheel_y: float = 0.079601
    front_point_x: float = 0.14
    """The reward params' x, y and progress use this point ahead of base_link."""
    body_length: float = 0.32352
    body_width: float = 0.1961
    max_steering_deg: float = 30.0
    min_speed: float = 0.1
    max_speed: float = 4.0
    # --- speed loop (fitted)
    speed_gain: float = 0.9529
    """k_v: settled speed per commanded speed, well below the top speed."""
    top_speed: float = 3.723
    """v_top (m/s): the speed the car levels off at under a large command."""
    top_speed_sharpness: float = 19.84
    """n: how sharply the settled speed bends over from k_v v_cmd to v_top."""
    tau_speed: float = 0.1337
    """tau_v (s): speed loop time constant."""
    max_acceleration: float = 3.417
    """a_max (m/s^2): traction limit when speeding up."""
    max_deceleration: float = 4.301
    """b_max (m/s^2): limit when slowing down."""
    # --- steering servo (fitted)
    steering_gain: float = 0.4979
    """k_d: road-wheel angle reached per commanded angle (Gazebo's steering falls short)."""
    tau_steer: float = 0.01388
    """tau_d (s): steering servo time constant."""
    # --- tyres (fitted)
    friction: float = 0.4605
    """mu: tyre-ground friction; lateral acceleration saturates at mu g."""
    front_cornering: float = 5.851
    """c_f (1/rad): front lateral force per unit axle load per radian of slip, at small slip."""
    rear_cornering: float = 10.03
    """c_r (1/rad): the same for the rear axle."""
    yaw_inertia: float = 2.884
    """i_z: yaw moment of inertia in units of m l_f l_r."""
    substeps: int = 4
    control_hz: float = CONTROL_HZ
    # --- which model steps the car
    model: str = "mechanism"
    """"mechanism" or "single_track" (see the module doc)."""
    # --- mechanism model: masses and inertias (kg, kg m^2; URDF, docs/car.md)
    chassis_mass: float = 5.0
    wheel_mass: float = 0.34055
    hinge_mass: float = 0.1
    chassis_yaw_inertia: float = 0.05865
    wheel_yaw_inertia: float = 0.00026046
    """A wheel's inertia about the vertical (its izz; it spins about y)."""
    hinge_yaw_inertia: float = 4e-6
    # --- mechanism model: the simapp's command path (docs/car.md)
    command_wheel_radius: float = 0.035
    """The simapp sends wheel angular speed = commanded speed / this (simapp >= 3)."""
    wheel_speed_limit: float = 100.0
    """rad/s: the URDF's wheel joint velocity limit; Gazebo stops driving a joint past it."""
    # --- mechanism model: fitted (docs/car.md, "Calibration")
    contact_friction: float = 0.3415
    """mu: friction coefficient of each wheel along and across its rolling direction."""
    slip_scale: float = 0.1700
    """eps (m/s): slip speed over which a contact's force rises to mu N (smoothed Coulomb)."""
    rolling_radius: float = 0.03617
    """rho (m): the wheel's effective rolling radius (mesh wheels; nominal = the command's)."""
    hinge_tau: float = 0.005
    """tau_h (s): the steering hinges' position controller as a first-order lag (simapp 5: at
    the fit's lower bound, i.e. no lag the traces show; simapp 4: `SIMAPP4_CONTROLLERS`)."""
    mechanism_substeps: int = 6
    load_transfer: bool = True
    """Shift the wheels' loads with the body's accelerations (centre-of-mass height from the URDF)."""
    chassis_z: float = 0.023249
    """Height of the chassis (its centre of mass) above base_link, which sits on the ground."""
    rear_wheel_z: float = 0.01575
    front_wheel_z: float = 0.011759
    """Wheel centres (and hinges) above the chassis origin."""

    def __post_init__(self) -> None:
        if self.model not in CAR_MODELS:
            raise ValueError(
                f"CarParams.model must be one of {', '.join(CAR_MODELS)}, not {self.model!r}"
            )

    @property
    def wheelbase(self) -> float:
        return self.front_axle_x - self.rear_axle_x

    @property
    def fit_fields(self) -> tuple[str, ...]:
        """The fitted fields of this car's model, in the order its kernel reads them."""
        return MECHANISM_FIELDS if self.model == "mechanism" else DYNAMICS_FIELDS

    @property
    def mass(self) -> float:
        return self.chassis_mass + 4 * self.wheel_mass + 2 * self.hinge_mass

    @property
    def centre_of_mass_x(self) -> float:
        """x of the centre of mass from base_link (chassis at 0, wheels and hinges at their joints)."""
        rear = 2 * self.wheel_mass * self.rear_axle_x
        front = 2 * (self.wheel_mass + self.hinge_mass) * self.front_axle_x
        return (rear + front) / self.mass

    @property
    def centre_of_mass_height(self) -> float:
        """Height of the centre of mass above the ground (m)."""
        rear = 2 * self.wheel_mass * self.rear_wheel_z
        front = 2 * (self.wheel_mass + self.hinge_mass) * self.front_wheel_z
        return self.chassis_z + (rear + front) / self.mass

    def body_vector(self) -> np.ndarray:
        """The mechanism kernel's fixed parameters (see sim/mechanism.py), float64."""
        x_cg = self.centre_of_mass_x
        px = np.array([self.rear_axle_x, self.front_axle_x, self.rear_axle_x, self.front_axle_x])
        py = np.array(
            [self.rear_wheel_y, self.front_wheel_y, -self.rear_wheel_y, -self.front_wheel_y]
        )
        px = px - x_cg
        i_z = (
            self.chassis_yaw_inertia
            + self.chassis_mass * x_cg**2
            + 4 * self.wheel_yaw_inertia
            + 2 * self.hinge_yaw_inertia
            + self.wheel_mass * float(np.sum(px**2 + py**2))
            + self.hinge_mass * 2 * (px[1] ** 2 + py[1] ** 2)
        )
        # static loads: moments about the centre of mass, half an axle's load per wheel
        l_f, l_r = px[1], -px[0]
        front = 0.5 * self.mass * GRAVITY * l_r / (l_f + l_r)
        rear = 0.5 * self.mass * GRAVITY * l_f / (l_f + l_r)
        loads = np.array([rear, front, rear, front])
        head = [self.mass, i_z, 1.0 / self.command_wheel_radius, self.wheel_speed_limit]
        tail = [
            x_cg,
            self.centre_of_mass_height if self.load_transfer else 0.0,
            l_f + l_r,
            self.front_wheel_y + self.rear_wheel_y,
        ]
        return np.concatenate([head, px, py, loads, tail]).astype(np.float64)

    @property
    def dt(self) -> float:
        """Length of one control step (s)."""
        return 1.0 / self.control_hz

    def wheel_offsets(self) -> np.ndarray:
        """(4,2) body-frame wheel centres: left rear, left front, right rear, right front."""
        return np.array(
            [
                [self.rear_axle_x, self.rear_wheel_y],
                [self.front_axle_x, self.front_wheel_y],
                [self.rear_axle_x, -self.rear_wheel_y],
                [self.front_axle_x, -self.front_wheel_y],
            ]
        )

    def dynamics_vector(self) -> np.ndarray:
        """The fitted parameters the model's kernel reads, in `fit_fields` order (float64)."""
        return np.array([getattr(self, name) for name in self.fit_fields], dtype=np.float64)

    def hinge_from_command(self, steer_cmd_rad: np.ndarray, dyn: np.ndarray) -> np.ndarray:
        """The road-wheel angle a held steering command settles at (rad), with fitted `dyn`."""
        if self.model == "mechanism":
            return np.asarray(steer_cmd_rad, dtype=np.float64)
        return dyn[DYNAMICS_FIELDS.index("steering_gain")] * steer_cmd_rad

    def hinge_lag(self, dyn: np.ndarray) -> float:
        """Time constant (s) of the road wheels' lag behind the command, with fitted `dyn`."""
        name = "hinge_tau" if self.model == "mechanism" else "tau_steer"
        return float(dyn[self.fit_fields.index(name)])

    @property
    def friction_limit(self) -> float:
        """The highest lateral acceleration the model's friction allows (m/s^2)."""
        mu = self.contact_friction if self.model == "mechanism" else self.friction
        return mu * GRAVITY


DYNAMICS_FIELDS: tuple[str, ...] = (
    "speed_gain",
    "top_speed",
    "top_speed_sharpness",
    "tau_speed",
    "max_acceleration",
    "max_deceleration",
    "steering_gain",
    "tau_steer",
    "friction",
    "front_cornering",
    "rear_cornering",
    "yaw_inertia",
)
"""The single-track model's fitted `CarParams` fields (the others are DeepRacer's geometry and limits)."""

MECHANISM_FIELDS: tuple[str, ...] = (
    "contact_friction",
    "slip_scale",
    "rolling_radius",
    "hinge_tau",
)
"""The mechanism model's fitted fields, in `mechanism_kernel`'s order."""

CAR_MODELS = ("mechanism", "single_track")

CONTROLLER_FIELDS: dict[str, tuple[str, ...]] = {
    "mechanism": ("hinge_tau",),
    "single_track": ("tau_speed", "tau_steer", "steering_gain"),
}
"""Per model, the fields that stand for the simapp's controllers: the only ones that differ
between the simapp 4 and simapp 5 cars (docs/car.md)."""

SIMAPP_VERSIONS = (4, 5)

SIMAPP4_CONTROLLERS: dict[str, dict[str, float]] = {
    "mechanism": {"hinge_tau": 0.3723},
    "single_track": {},
}
"""Controller fields of the simapp 4 car, fitted on the two simapp 4.0 traces with the simapp 5
car's physical fields held (docs/car.md). The single-track model has no simapp 4 fit."""


SINGLE_TRACK = CarParams(model="single_track")
"""Today's car before the mechanism model: the single-track model fitted on FS_June2020."""


def car_for_simapp(version: int, base: CarParams | None = None) -> CarParams:
    """The car of a simapp major version (4 or 5): `base` (default `CarParams()`, the simapp 5
    car) with the controller fields of that version."""
    base = base or CarParams()
    if version not in SIMAPP_VERSIONS:
        raise ValueError(f"simapp version must be 4 or 5, not {version!r}")
    if version == 5:
        return base
    return replace(base, **SIMAPP4_CONTROLLERS[base.model])


assert set(DYNAMICS_FIELDS) | set(MECHANISM_FIELDS) <= {f.name for f in fields(CarParams)}


class CarState(NamedTuple):
    """Batched car state; every field has shape (N,)."""

    x: np.ndarray  # base_link x (m)
    y: np.ndarray  # base_link y (m)
    yaw: np.ndarray  # heading (rad, CCW from +x)
    speed: np.ndarray  # forward speed vx of base_link (m/s)
    steer: np.ndarray  # front road-wheel angle (rad, positive = left)
    lateral_speed: np.ndarray  # vy of base_link (m/s, positive = left)
    yaw_rate: np.ndarray  # r (rad/s, positive = CCW)

    @classmethod
    def at_rest(cls, x: np.ndarray, y: np.ndarray, yaw: np.ndarray) -> CarState:
        x = np.asarray(x, dtype=np.float64)
        zero = np.zeros_like(x)
        return cls(
            x, np.asarray(y, np.float64), np.asarray(yaw, np.float64), zero, zero, zero, zero
        )

    def replace_where(self, mask: np.ndarray, other: CarState) -> CarState:
        """Take `other`'s values where mask is True."""
        return CarState(*(np.where(mask, b, a) for a, b in zip(self, other, strict=True)))


def clip_commands(
    params: CarParams, steering_deg: np.ndarray, speed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Clip commanded steering (deg) and speed (m/s) to the car's limits, as DeepRacer does when sending."""
    steer = np.clip(steering_deg, -params.max_steering_deg, params.max_steering_deg)
    return steer, np.clip(speed, params.min_speed, params.max_speed)


def settled_speed(speed_cmd: np.ndarray | float, params: CarParams) -> np.ndarray | float:
    """The speed a held (clipped) speed command settles at on a straight: the mechanism's wheel
    surface speed, or the single-track model's v_t."""
    if params.model == "mechanism":
        omega = np.minimum(
            np.asarray(speed_cmd, np.float64) / params.command_wheel_radius,
            params.wheel_speed_limit,
        )
        return omega * params.rolling_radius
    kv = params.speed_gain * np.asarray(speed_cmd, dtype=np.float64)
    n = params.top_speed_sharpness
    return kv / (1.0 + (kv / params.top_speed) ** n) ** (1.0 / n)


def derivatives(
    state: CarState, steer_cmd_rad: np.ndarray, speed_cmd: np.ndarray, params: CarParams
) -> CarState:
    """The model's right-hand side d(state)/dt for clipped commands (steering in radians).

    Written with numpy, independently of the integrator's kernel, so tests can integrate it with
    scipy and compare.
    """
    if params.model == "mechanism":
        _x, _y, yaw, vx, delta, vy, r = state
        rates = derivatives_arrays(
            yaw, vx, delta, vy, r, np.asarray(steer_cmd_rad, np.float64),
            np.asarray(speed_cmd, np.float64), params.dynamics_vector(), params.body_vector(),
        )  # fmt: skip
        return CarState(*rates)
    l_f, l_r = params.front_axle_x, -params.rear_axle_x
    length = l_f + l_r
    mu = params.friction
    _x, _y, yaw, vx, delta, vy, r = state
    accel = np.clip(
        (settled_speed(speed_cmd, params) - vx) / params.tau_speed,
        -params.max_deceleration,
        params.max_acceleration,
    )
    steer_rate = (params.steering_gain * steer_cmd_rad - delta) / params.tau_steer
    u = np.maximum(vx, TYRE_SPEED_FLOOR)
    alpha_f = delta - (vy + l_f * r) / u
    alpha_r = -(vy - l_r * r) / u
    mu = np.sqrt(np.maximum(mu**2 - (accel / GRAVITY) ** 2, (0.1 * mu) ** 2))
    f_f = mu * GRAVITY * l_r / length * np.tanh(params.front_cornering * alpha_f / mu)
    f_r = mu * GRAVITY * l_f / length * np.tanh(params.rear_cornering * alpha_r / mu)
    vy_rate = f_f * np.cos(delta) + f_r - vx * r
    r_rate = (l_f * f_f * np.cos(delta) - l_r * f_r) / (params.yaw_inertia * l_f * l_r)
    c, s = np.cos(yaw), np.sin(yaw)
    return CarState(vx * c - vy * s, vx * s + vy * c, r, accel, steer_rate, vy_rate, r_rate)


@numba.njit(cache=True)
def _step_kernel(x, y, yaw, vx, delta, vy, r, steer_cmd, speed_cmd, p, geo, h, substeps, out):
    """Advance cars by `substeps` sub-steps of length h; writes the 7 state rows of `out`."""
    k_v, v_top, n_top, tau_v, a_max, b_max, k_d, tau_d, mu, c_f, c_r, i_z = (
        p[0],
        p[1],
        p[2],
        p[3],
        p[4],
        p[5],
        p[6],
        p[7],
        p[8],
        p[9],
        p[10],
        p[11],
    )
    l_f, l_r = geo[0], geo[1]
    length = l_f + l_r
    mu_floor2 = (0.1 * mu) ** 2
    kz2 = i_z * l_f * l_r
    decay_v = math.exp(-h / tau_v)
    mean_decay_v = tau_v * (1.0 - decay_v) / h
    decay_d = math.exp(-h / tau_d)
    mean_decay_d = tau_d * (1.0 - decay_d) / h
    hh = 0.5 * h  # linearised trapezoidal rule: second order, A-stable
    for i in range(x.shape[0]):
        kv = k_v * speed_cmd[i]
        v_t = kv / (1.0 + (kv / v_top) ** n_top) ** (1.0 / n_top)
        d_t = k_d * steer_cmd[i]
        xi, yi, th, u, d, w, q = x[i], y[i], yaw[i], vx[i], delta[i], vy[i], r[i]
        for _ in range(substeps):
            dv = (v_t - u) * (1.0 - decay_v)
            if dv > a_max * h or dv < -b_max * h:  # traction-limited: constant acceleration
                dv = a_max * h if dv > 0.0 else -b_max * h
                u_mid = u + 0.5 * dv
            else:  # exact mean of the exponential lag over the sub-step
                u_mid = v_t + (u - v_t) * mean_decay_v
            u_new = u + dv
            # friction circle: the speed loop's force leaves m_y for cornering
            a_x = dv / h / 9.81
            m_y = math.sqrt(max(mu * mu - a_x * a_x, mu_floor2))
            g_f = m_y * 9.81 * l_r / length
            g_r = m_y * 9.81 * l_f / length
            d_mid = d_t + (d - d_t) * mean_decay_d
            d = d_t + (d - d_t) * decay_d
            # tyres at the sub-step's mean speed and steering; (vy, r) by the linearised trapezoidal rule
            us = max(u_mid, 0.1)
            cd = math.cos(d_mid)
            a_f = d_mid - (w + l_f * q) / us
            a_r = -(w - l_r * q) / us
            t_f = math.tanh(c_f * a_f / m_y)
            t_r = math.tanh(c_r * a_r / m_y)
            f_f = g_f * t_f
            f_r = g_r * t_r
            k_f = g_f * c_f / m_y * (1.0 - t_f * t_f) * cd  # dF_f cos(delta) / d a_f
            k_r = g_r * c_r / m_y * (1.0 - t_r * t_r)
            f1 = f_f * cd + f_r - u_mid * q
            f2 = (l_f * f_f * cd - l_r * f_r) / kz2
            j11 = -(k_f + k_r) / us
            j12 = (-k_f * l_f + k_r * l_r) / us - u_mid
            j21 = (-l_f * k_f + l_r * k_r) / us / kz2
            j22 = -(l_f * l_f * k_f + l_r * l_r * k_r) / us / kz2
            m11, m12, m21, m22 = 1.0 - hh * j11, -hh * j12, -hh * j21, 1.0 - hh * j22
            det = m11 * m22 - m12 * m21
            dw = h * (m22 * f1 - m12 * f2) / det
            dq = h * (m11 * f2 - m21 * f1) / det
            w_mid = w + 0.5 * dw
            q_mid = q + 0.5 * dq
            th_mid = th + 0.5 * h * q_mid
            c, s = math.cos(th_mid), math.sin(th_mid)
            xi += h * (u_mid * c - w_mid * s)
            yi += h * (u_mid * s + w_mid * c)
            th += h * q_mid
            u, w, q = u_new, w + dw, q + dq
        out[0, i] = xi
        out[1, i] = yi
        out[2, i] = (th + math.pi) % (2.0 * math.pi) - math.pi
        out[3, i] = u
        out[4, i] = d
        out[5, i] = w
        out[6, i] = q


def step_cars(
    state: CarState,
    steering_deg: np.ndarray,
    speed_cmd: np.ndarray,
    params: CarParams,
    dynamics: np.ndarray | None = None,
) -> CarState:
    """Advance every car by one control step (1/15 s) under the given commands.

    Commands are clipped to the car's limits here. Pure: returns a new state. `dynamics` (the
    fitted parameters in `params.fit_fields` order) overrides `params`' own, for calibration.
    """
    steer_deg, v_cmd = clip_commands(params, steering_deg, speed_cmd)
    p = params.dynamics_vector() if dynamics is None else np.asarray(dynamics, np.float64)
    fields64 = [np.ascontiguousarray(a, dtype=np.float64) for a in state]
    out = np.empty((7, len(fields64[0])))
    if params.model == "mechanism":
        mechanism_kernel(
            *fields64,
            np.ascontiguousarray(np.radians(steer_deg), dtype=np.float64),
            np.ascontiguousarray(v_cmd, dtype=np.float64),
            p,
            _body_vector(params),
            params.dt / params.mechanism_substeps,
            params.mechanism_substeps,
            out,
        )
        return CarState(*out)
    geo = np.array([params.front_axle_x, -params.rear_axle_x])
    _step_kernel(
        *fields64,
        np.ascontiguousarray(np.radians(steer_deg), dtype=np.float64),
        np.ascontiguousarray(v_cmd, dtype=np.float64),
        p,
        geo,
        params.dt / params.substeps,
        params.substeps,
        out,
    )
    return CarState(*out)


@functools.lru_cache(maxsize=64)
def _body_vector(params: CarParams) -> np.ndarray:
    """`params.body_vector()`, computed once per car (the simulator steps one car many times)."""
    return params.body_vector()


def body_points(state: CarState, offsets: np.ndarray) -> np.ndarray:
    """World positions (N,P,2) of body-frame points offsets (P,2) on every car."""
    c, s = np.cos(state.yaw), np.sin(state.yaw)
    ox, oy = offsets[:, 0], offsets[:, 1]
    px = state.x[:, None] + c[:, None] * ox[None, :] - s[:, None] * oy[None, :]
    py = state.y[:, None] + s[:, None] * ox[None, :] + c[:, None] * oy[None, :]
    return np.stack([px, py], axis=-1)


def front_point(state: CarState, params: CarParams) -> np.ndarray:
    """(N,2) the point `front_point_x` ahead of base_link: DeepRacer's x, y for reward and progress."""
    return body_points(state, np.array([[params.front_point_x, 0.0]]))[:, 0, :]
