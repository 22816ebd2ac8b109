"""How fast the car could lap a track at best: a yardstick for lap speeds (docs/tracks.md,
"The fastest lap the car allows").

The estimate drives a minimum-curvature line (the smoothest closed line that keeps the whole car
on the road) at the fastest speed profile the car allows:
- in a corner of radius R, no faster than the car holds a full-lock turn of that radius
  (`CarLimits.turn_radius`, `turn_speed`: the car's own steady turns, `steady_turn`), and never
  above its settled top speed;
- between corners, speeding up and braking at the car's own rates from a straight run.

It ignores the policy's discrete actions, the 15 Hz control and the camera, so it is an upper
bound rather than a lap anyone drives: a racer's best lap on the track is some fraction of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear
from scipy.sparse import coo_matrix

from slipstream.sim.calibration import steady_turn
from slipstream.sim.car import CarParams, CarState, step_cars
from slipstream.tracks.track import Track

LINE_SPACING = 0.1
"""Metres between the points of the racing line."""


@dataclass(frozen=True)
class CarLimits:
    """What the speed profile may ask of the car (measured on the car model, `car_limits`)."""

    top_speed: float  # m/s, settled on a straight at the largest speed command
    acceleration: float  # m/s^2, mean from rest to 90 % of top speed
    deceleration: float  # m/s^2, mean from top speed down to the smallest speed command
    turn_radius: tuple[float, ...]  # m, full-lock steady turns, increasing
    turn_speed: tuple[float, ...]  # m/s, the speed of each of those turns
    half_width: float  # m, half the car's width: the line keeps this far inside the borders

    def corner_speed(self, radius: np.ndarray) -> np.ndarray:
        """Fastest speed through corners of `radius` (m): the full-lock turns interpolated, the
        top speed for radii past the widest, and in proportion to the radius (constant yaw rate)
        below the tightest."""
        r, v = np.array(self.turn_radius), np.array(self.turn_speed)
        speed = np.interp(radius, r, v, right=self.top_speed)
        speed = np.where(radius < r[0], v[0] * radius / r[0], speed)
        return np.minimum(speed, self.top_speed)


def car_limits(params: CarParams, speed_step: float = 0.25) -> CarLimits:
    """The `CarLimits` of a car model, from its own straight runs and full-lock steady turns."""
    dt = params.dt

    def run(state: CarState, speed_cmd: float, seconds: float) -> tuple[CarState, list[float]]:
        speeds = []
        for _ in range(round(seconds / dt)):
            state = step_cars(state, np.zeros(1), np.full(1, speed_cmd), params)
            speeds.append(float(state.speed[0]))
        return state, speeds

    state, up = run(CarState.at_rest(np.zeros(1), np.zeros(1), np.zeros(1)), params.max_speed, 6.0)
    top = up[-1]
    reach = next(k for k, v in enumerate(up) if v >= 0.9 * top) + 1
    _, down = run(state, params.min_speed, 4.0)
    floor = down[-1]
    settle = next(k for k, v in enumerate(down) if v <= floor + 0.1 * (top - floor)) + 1
    commands = np.arange(params.min_speed, params.max_speed + 1e-9, speed_step)
    turns = [steady_turn(params, float(v), params.max_steering_deg) for v in commands]
    radius, speed = [], []
    for v, r, _ in sorted(turns, key=lambda turn: turn[1]):  # by radius
        if not radius or (r > radius[-1] and v > speed[-1]):  # keep the table increasing
            radius.append(r)
            speed.append(v)
    return CarLimits(
        top_speed=top,
        acceleration=0.9 * top / (reach * dt),
        deceleration=(top - down[settle - 1]) / (settle * dt),
        turn_radius=tuple(radius),
        turn_speed=tuple(speed),
        half_width=params.body_width / 2,
    )


def resample_closed(points: np.ndarray, spacing: float) -> np.ndarray:
    """Points evenly `spacing` apart (about) round the closed line through `points` ((n, 2), the
    first point not repeated at the end)."""
    loop = np.vstack([points, points[:1]])
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(loop, axis=0), axis=1))])
    count = max(round(float(arc[-1]) / spacing), 8)
    at = np.linspace(0.0, arc[-1], count, endpoint=False)
    return np.stack([np.interp(at, arc, loop[:, 0]), np.interp(at, arc, loop[:, 1])], axis=1)


def curvature(line: np.ndarray) -> np.ndarray:
    """Signed curvature (1/m) at each point of a closed line: one over the radius of the circle
    through the point and its two neighbours."""
    a, b, c = np.roll(line, 1, axis=0), line, np.roll(line, -1, axis=0)
    ab, bc, ca = b - a, c - b, a - c
    cross = ab[:, 0] * (-ca[:, 1]) - ab[:, 1] * (-ca[:, 0])
    sides = np.linalg.norm(ab, axis=1) * np.linalg.norm(bc, axis=1) * np.linalg.norm(ca, axis=1)
    return 2.0 * cross / np.maximum(sides, 1e-12)


def racing_line(center: np.ndarray, half_width: np.ndarray) -> np.ndarray:
    """The minimum-curvature closed line within `half_width` (m, per point) of `center` ((n, 2),
    evenly spaced, closed): each point moves along its normal by an offset chosen so that the sum
    of squared second differences of the line is least (a bounded linear least-squares problem,
    scipy's `lsq_linear`)."""
    n = len(center)
    tangent = np.roll(center, -1, axis=0) - np.roll(center, 1, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    rows, cols, vals = [], [], []
    for shift, weight in ((-1, 1.0), (0, -2.0), (1, 1.0)):
        j = (np.arange(n) + shift) % n
        for axis in (0, 1):
            rows.append(2 * np.arange(n) + axis)
            cols.append(j)
            vals.append(weight * normal[j, axis])
    matrix = coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(2 * n, n)
    ).tocsr()
    second = np.roll(center, 1, axis=0) - 2 * center + np.roll(center, -1, axis=0)
    half = np.maximum(np.asarray(half_width, dtype=np.float64), 0.0)
    fit = lsq_linear(matrix, -second.reshape(-1), bounds=(-half - 1e-9, half + 1e-9))
    return center + fit.x[:, None] * normal


def lap_seconds(line: np.ndarray, limits: CarLimits) -> float:
    """Time for a flying lap of the closed `line` at the fastest speed profile: each point no
    faster than its corner allows, and no faster than the car can speed up to from the point
    before or brake down from to the point after."""
    step = np.linalg.norm(np.roll(line, -1, axis=0) - line, axis=1)
    cap = limits.corner_speed(1.0 / np.maximum(np.abs(curvature(line)), 1e-9))
    speed = cap.copy()
    n = len(speed)
    for _ in range(2):  # twice round: the lap is flying, so the start takes the end's speed
        for i in range(2 * n):
            a, b = i % n, (i + 1) % n
            speed[b] = min(speed[b], np.sqrt(speed[a] ** 2 + 2 * limits.acceleration * step[a]))
        for i in range(2 * n, 0, -1):
            a, b = i % n, (i - 1) % n
            speed[b] = min(speed[b], np.sqrt(speed[a] ** 2 + 2 * limits.deceleration * step[b]))
    mean_step_speed = 0.5 * (speed + np.roll(speed, -1))
    return float(np.sum(step / mean_step_speed))


@dataclass(frozen=True)
class LapCeiling:
    track: str
    lap_seconds: float  # the fastest lap on the racing line
    center_speed_mps: float  # centre-line length / that lap time (the benchmarks' lap speed)
    line_length: float  # m, the racing line's length


def lap_ceiling(track: Track, limits: CarLimits) -> LapCeiling | None:
    """The fastest lap `limits` allow on `track` (None for a track that is not a closed loop)."""
    if not track.closed:
        return None
    center = track.center[:-1] if np.allclose(track.center[0], track.center[-1]) else track.center
    points = resample_closed(center, LINE_SPACING)
    arc = np.linspace(0.0, track.length, len(points), endpoint=False)
    width = np.interp(arc, track.arc, track.width)
    line = racing_line(points, width / 2 - limits.half_width)
    seconds = lap_seconds(line, limits)
    length = float(np.sum(np.linalg.norm(np.roll(line, -1, axis=0) - line, axis=1)))
    return LapCeiling(track.name, seconds, track.length / seconds, length)
