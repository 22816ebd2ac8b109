"""The car: DeepRacer geometry and a batched kinematic bicycle model with first-order actuator lag.

State is a `CarState` of arrays of shape (N,). `step_cars` is a pure function: it returns a new
state and never mutates its input. One control step lasts 1/15 s (DeepRacer's camera rate) and is
integrated in `substeps` equal physics sub-steps.

Model (reference point = base_link, the chassis centre):
    speed'    = clip((v_cmd - v) / tau_speed, -a_max, a_max)      first-order lag, traction-limited
    steer'    = (delta_cmd - delta) / tau_steer                    first-order lag
    beta      = atan(l_r / (l_f + l_r) * tan(delta))               slip angle at base_link
    x'        = v cos(yaw + beta),  y' = v sin(yaw + beta)
    yaw'      = v / l_r * sin(beta)
The lags are integrated exactly over each sub-step (exponential decay); positions use the exact
mean speed of the sub-step and the heading at its midpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

CONTROL_HZ = 15.0
"""DeepRacer steps once per camera frame, 15 frames per simulated second."""


@dataclass(frozen=True)
class CarParams:
    """DeepRacer car geometry (metres, from the URDF) and actuator limits."""

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
    tau_speed: float = 0.2
    """Speed lag time constant (s)."""
    tau_steer: float = 0.08
    """Steering lag time constant (s)."""
    max_acceleration: float = 4.9
    """Traction limit on |dv/dt| (m/s^2): wheel-ground friction 0.5 times g."""
    substeps: int = 4
    control_hz: float = CONTROL_HZ

    @property
    def wheelbase(self) -> float:
        return self.front_axle_x - self.rear_axle_x

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


class CarState(NamedTuple):
    """Batched car state; every field has shape (N,)."""

    x: np.ndarray  # base_link x (m)
    y: np.ndarray  # base_link y (m)
    yaw: np.ndarray  # heading (rad, CCW from +x)
    speed: np.ndarray  # forward speed (m/s)
    steer: np.ndarray  # front-wheel steering angle (rad, positive = left)

    @classmethod
    def at_rest(cls, x: np.ndarray, y: np.ndarray, yaw: np.ndarray) -> CarState:
        x = np.asarray(x, dtype=np.float64)
        return cls(
            x,
            np.asarray(y, np.float64),
            np.asarray(yaw, np.float64),
            np.zeros_like(x),
            np.zeros_like(x),
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


def step_cars(
    state: CarState, steering_deg: np.ndarray, speed_cmd: np.ndarray, params: CarParams
) -> CarState:
    """Advance every car by one control step (1/15 s) under the given commands.

    Commands are clipped to the car's limits here. Pure: returns a new state.
    """
    steer_deg, v_cmd = clip_commands(params, steering_deg, speed_cmd)
    delta_cmd = np.radians(steer_deg)
    h = params.dt / params.substeps
    decay_v = math.exp(-h / params.tau_speed)
    decay_d = math.exp(-h / params.tau_steer)
    max_dv = params.max_acceleration * h
    l_r = -params.rear_axle_x
    ratio = l_r / params.wheelbase
    x, y, yaw, v, delta = state
    mean_decay_v = params.tau_speed * (1.0 - decay_v) / h  # mean of exp(-t/tau) over a sub-step
    for _ in range(params.substeps):
        dv = (v_cmd - v) * (1.0 - decay_v)
        limited = np.abs(dv) > max_dv
        v_next = v + np.clip(dv, -max_dv, max_dv)
        # mean speed over the sub-step: exact for the lag, trapezoid while traction-limited
        v_mid = np.where(limited, 0.5 * (v + v_next), v_cmd + (v - v_cmd) * mean_decay_v)
        delta_next = delta_cmd + (delta - delta_cmd) * decay_d
        beta = np.arctan(ratio * np.tan(0.5 * (delta + delta_next)))
        yaw_rate = v_mid / l_r * np.sin(beta)
        yaw_mid = yaw + 0.5 * h * yaw_rate
        x = x + h * v_mid * np.cos(yaw_mid + beta)
        y = y + h * v_mid * np.sin(yaw_mid + beta)
        yaw = yaw + h * yaw_rate
        v, delta = v_next, delta_next
    yaw = np.mod(yaw + np.pi, 2.0 * np.pi) - np.pi
    return CarState(x, y, yaw, v, delta)


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


def straight_line_distance(speed: float, duration: float, params: CarParams) -> float:
    """Distance covered from rest by a car held straight at `speed` for `duration` seconds.

    Closed form of the speed lag (ignoring the traction limit, which does not bind while
    speed / tau_speed <= max_acceleration): v(t) = v (1 - exp(-t/tau)).
    """
    tau = params.tau_speed
    return speed * (duration - tau * (1.0 - math.exp(-duration / tau)))
