"""Fitting `CarParams` to DeepRacer simtraces, and measuring how well a car model reproduces them.

Pure functions over a `DriveTrace` (arrays, one entry per traced step). A trace row's pose is the
pose *before* its command acts; row t's command moves the car from row t to row t+1 in one
nominal control step of 1/15 s (simtrace `tstamp` jitters and does not follow the displacement).

Replays start a batch of cars from logged states and drive the logged commands. What a replay
takes from the log, the same for every trace and both car models: the pose (base_link placed
`front_point_x` behind the logged front point along the logged heading); forward and sideways
speed of base_link and the yaw rate, by backward differences over the previous step (rows t-1,
t; velocities in the body frame at the step's mid heading); the road-wheel angle, from the
previous steps' commands through the model's steering lag (`logged_hinge`). Nothing else (no tstamp, no logged
speed: a row's speed is its command). Everything DeepRacer-side is measured with the same finite differences
as the Slipstream side, so the two columns of every table are like for like.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import least_squares

from slipstream.sim.car import (
    DYNAMICS_FIELDS,
    CarParams,
    CarState,
    front_point,
    step_cars,
)

FIT_FIELDS: tuple[str, ...] = DYNAMICS_FIELDS
"""The single-track model's fitted parameters (a car's own are `CarParams.fit_fields`)."""

BOUNDS: dict[str, tuple[float, float]] = {
    "speed_gain": (0.8, 1.3),
    "top_speed": (2.0, 6.0),
    "top_speed_sharpness": (1.0, 20.0),
    "tau_speed": (0.03, 1.5),
    "max_acceleration": (0.5, 10.0),
    "max_deceleration": (0.5, 15.0),
    "steering_gain": (0.1, 1.0),
    "tau_steer": (0.01, 1.5),
    "friction": (0.1, 1.5),
    "front_cornering": (0.2, 40.0),
    "rear_cornering": (0.2, 40.0),
    "yaw_inertia": (0.2, 5.0),
    "contact_friction": (0.1, 1.2),
    "slip_scale": (0.005, 1.0),
    "rolling_radius": (0.03, 0.045),
    "hinge_tau": (0.005, 1.0),
}

HEADING_WEIGHT = 0.5
"""Metres of position error that weigh as much as one radian of heading error in the fit."""

SETTLE_STEPS = 2
"""Steps at the start of a held segment left out of its statistics (the command taking hold)."""

STEADY_HELD = 10
STEADY_SETTLE = 7
"""Steady state: holds of at least `STEADY_HELD` steps, their first `STEADY_SETTLE` steps left
out (DeepRacer's yaw rate builds for 8-20 steps, so short holds show mostly the transient)."""

HELD_WEIGHT = 0.3
"""Weight of a held command's mean speed (m/s) and yaw rate (rad/s) error per sqrt(step)."""


@dataclass(frozen=True)
class DriveTrace:
    """One or more simtraces: arrays of shape (T,), rows in file order.

    `episode` is unique per (file, episode). `valid[t]` says row t's command moved the car from
    row t to row t+1 (same episode, consecutive steps, status in_progress).
    """

    episode: np.ndarray  # int
    x: np.ndarray  # DeepRacer's front point (m)
    y: np.ndarray
    heading: np.ndarray  # rad
    steer_cmd: np.ndarray  # deg, as logged
    speed_cmd: np.ndarray  # m/s, as logged
    valid: np.ndarray  # bool
    dt: float = 1.0 / 15.0

    @classmethod
    def from_columns(
        cls,
        episode: np.ndarray,
        steps: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        heading_deg: np.ndarray,
        steer_cmd: np.ndarray,
        speed_cmd: np.ndarray,
        in_progress: np.ndarray,
    ) -> DriveTrace:
        episode = np.asarray(episode, dtype=np.int64)
        steps = np.asarray(steps, dtype=np.float64)
        nxt_same = np.zeros(len(episode), dtype=bool)
        nxt_same[:-1] = (episode[1:] == episode[:-1]) & (steps[1:] == steps[:-1] + 1)
        return cls(
            episode=episode,
            x=np.asarray(x, np.float64),
            y=np.asarray(y, np.float64),
            heading=np.radians(np.asarray(heading_deg, np.float64)),
            steer_cmd=np.asarray(steer_cmd, np.float64),
            speed_cmd=np.asarray(speed_cmd, np.float64),
            valid=nxt_same & np.asarray(in_progress, dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.x)

    def split_episodes(self, every: int) -> tuple[DriveTrace, DriveTrace]:
        """(the rest, every `every`-th episode): whole episodes, so validity is unchanged."""
        ids = np.unique(self.episode)
        held = np.isin(self.episode, ids[every - 1 :: every])
        return self._rows(~held), self._rows(held)

    def _rows(self, mask: np.ndarray) -> DriveTrace:
        names = ("episode", "x", "y", "heading", "steer_cmd", "speed_cmd", "valid")
        return replace(self, **{n: getattr(self, n)[mask] for n in names})


def _wrap(angle: np.ndarray) -> np.ndarray:
    return np.mod(angle + np.pi, 2.0 * np.pi) - np.pi


def motion(trace: DriveTrace) -> tuple[np.ndarray, np.ndarray]:
    """Per row t: front-point speed and yaw rate over the step t -> t+1 (NaN where not valid)."""
    v = np.full(len(trace), np.nan)
    r = np.full(len(trace), np.nan)
    ok = np.flatnonzero(trace.valid)
    v[ok] = np.hypot(trace.x[ok + 1] - trace.x[ok], trace.y[ok + 1] - trace.y[ok]) / trace.dt
    r[ok] = _wrap(trace.heading[ok + 1] - trace.heading[ok]) / trace.dt
    return v, r


def window_starts(trace: DriveTrace, horizon: int) -> np.ndarray:
    """Rows t where a replay of `horizon` steps can start: t-1 .. t+horizon-1 all valid."""
    valid = trace.valid.astype(np.int64)
    run = np.concatenate([[0], np.cumsum(valid)])
    t = np.arange(1, len(trace) - horizon + 1)
    ok = run[t + horizon] - run[t - 1] == horizon + 1
    return t[ok]


def logged_states(
    trace: DriveTrace, rows: np.ndarray, params: CarParams, dyn: np.ndarray
) -> CarState:
    """Car states at rows (each with a valid previous step), estimated from the log."""
    d = params.front_point_x
    h0, h1 = trace.heading[rows - 1], trace.heading[rows]
    bx0 = trace.x[rows - 1] - d * np.cos(h0)
    by0 = trace.y[rows - 1] - d * np.sin(h0)
    bx1 = trace.x[rows] - d * np.cos(h1)
    by1 = trace.y[rows] - d * np.sin(h1)
    r = _wrap(h1 - h0) / trace.dt
    mid = h0 + 0.5 * _wrap(h1 - h0)
    vxw, vyw = (bx1 - bx0) / trace.dt, (by1 - by0) / trace.dt
    vx = np.cos(mid) * vxw + np.sin(mid) * vyw
    vy = -np.sin(mid) * vxw + np.cos(mid) * vyw
    return CarState(
        bx1, by1, h1, np.maximum(vx, 0.0), logged_hinge(trace, rows, params, dyn), vy, r
    )


HINGE_HISTORY = 15
"""Steps of logged commands the replay's start hinge angle is filtered from (1 s)."""


def logged_hinge(
    trace: DriveTrace, rows: np.ndarray, params: CarParams, dyn: np.ndarray
) -> np.ndarray:
    """Road-wheel angle at rows: the model's steering lag (`CarParams.hinge_lag`, decoupled from
    the body) run over the episode's logged commands of the previous `HINGE_HISTORY` steps (or
    since the episode's start; only commands that moved the car, so not a prepare step's), from straight ahead (what is left of that start after 1 s is
    under 1 % for lags up to 0.2 s)."""
    decay = np.exp(-trace.dt / params.hinge_lag(dyn))
    limit = params.max_steering_deg

    def target(at: np.ndarray) -> np.ndarray:
        cmd = np.radians(np.clip(trace.steer_cmd[at], -limit, limit))
        return params.hinge_from_command(cmd, dyn)

    delta = np.zeros(len(rows))
    for k in range(HINGE_HISTORY, 0, -1):
        at = rows - k
        past = np.maximum(at, 0)
        ok = (at >= 0) & (trace.episode[past] == trace.episode[rows]) & trace.valid[past]
        goal = target(np.maximum(at, 0))
        delta = np.where(ok, goal + (delta - goal) * decay, delta)
    return delta


def replay(
    trace: DriveTrace,
    starts: np.ndarray,
    horizon: int,
    params: CarParams,
    dyn: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Drive the logged commands from the logged states at `starts` for `horizon` steps.

    Returns front points (W, horizon+1, 2) and headings (W, horizon+1); index 0 is the start.
    """
    dyn = params.dynamics_vector() if dyn is None else dyn
    state = logged_states(trace, starts, params, dyn)
    fronts = np.empty((len(starts), horizon + 1, 2))
    headings = np.empty((len(starts), horizon + 1))
    fronts[:, 0] = front_point(state, params)
    headings[:, 0] = state.yaw
    for k in range(horizon):
        rows = starts + k
        state = step_cars(state, trace.steer_cmd[rows], trace.speed_cmd[rows], params, dyn)
        fronts[:, k + 1] = front_point(state, params)
        headings[:, k + 1] = state.yaw
    return fronts, headings


def replay_errors(
    trace: DriveTrace,
    starts: np.ndarray,
    horizon: int,
    params: CarParams,
    dyn: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Position (m) and heading (rad) error at every step of each replay: (W, horizon) each."""
    fronts, headings = replay(trace, starts, horizon, params, dyn)
    rows = starts[:, None] + np.arange(1, horizon + 1)[None, :]
    logged = np.stack([trace.x[rows], trace.y[rows]], axis=-1)
    pos = np.linalg.norm(fronts[:, 1:] - logged, axis=-1)
    head = np.abs(_wrap(headings[:, 1:] - trace.heading[rows]))
    return pos, head


@dataclass(frozen=True)
class FitResult:
    params: CarParams
    cost: float
    windows: int
    message: str


def fit_car_params(
    trace: DriveTrace,
    initial: CarParams | None = None,
    horizon: int = 15,
    stride: int = 2,
    fit_fields: tuple[str, ...] | None = None,
    max_nfev: int = 200,
    held_weight: float = HELD_WEIGHT,
) -> FitResult:
    """Least-squares fit of `fit_fields` to multi-step replays of every `stride`-th window.

    Residuals: front-point position error (x and y) and `HEADING_WEIGHT` times heading error at
    every step of each `horizon`-step replay; and, for every held command (`held_segments`), the
    replayed mean speed and yaw rate against the logged ones, times `held_weight` and the square
    root of the segment's length (so steady cornering, the quantity users feel, is matched and not
    only one-second transients). Soft-L1 loss, so Gazebo glitches (teleports, wall contacts) do
    not dominate.
    """
    initial = initial or CarParams()
    fit_fields = initial.fit_fields if fit_fields is None else fit_fields
    starts = window_starts(trace, horizon)[::stride]
    if len(starts) == 0:
        raise ValueError(
            f"the trace has no run of {horizon + 1} consecutive in_progress steps to replay; "
            "give a longer trace or a shorter --horizon"
        )
    index = [initial.fit_fields.index(f) for f in fit_fields]
    base = initial.dynamics_vector()
    rows = starts[:, None] + np.arange(1, horizon + 1)[None, :]
    logged_x, logged_y, logged_h = trace.x[rows], trace.y[rows], trace.heading[rows]
    segments = held_segments(trace)
    by_length: dict[int, np.ndarray] = {}
    for seg in segments:
        by_length.setdefault(len(seg), []).append(seg[0])
    v_log, r_log = motion(trace)
    held_targets = []
    for length, firsts in by_length.items():
        rows = np.array(firsts)[:, None] + np.arange(SETTLE_STEPS, length)[None, :]
        weight = held_weight * np.sqrt(length - SETTLE_STEPS)
        held_targets.append(
            (length, np.array(firsts), weight, v_log[rows].mean(1), r_log[rows].mean(1))
        )
    lo = np.array([BOUNDS[f][0] for f in fit_fields])
    hi = np.array([BOUNDS[f][1] for f in fit_fields])

    def residuals(theta: np.ndarray) -> np.ndarray:
        dyn = base.copy()
        dyn[index] = theta
        fronts, headings = replay(trace, starts, horizon, initial, dyn)
        parts = [
            (fronts[:, 1:, 0] - logged_x).ravel(),
            (fronts[:, 1:, 1] - logged_y).ravel(),
            HEADING_WEIGHT * _wrap(headings[:, 1:] - logged_h).ravel(),
        ]
        for length, firsts, weight, v_mean, r_mean in held_targets:
            f, h = replay(trace, firsts, length, initial, dyn)
            v = np.linalg.norm(np.diff(f, axis=1), axis=-1)[:, SETTLE_STEPS:] / trace.dt
            r = _wrap(np.diff(h, axis=1))[:, SETTLE_STEPS:] / trace.dt
            parts.append(weight * (v.mean(1) - v_mean))
            parts.append(weight * (r.mean(1) - r_mean))
        return np.concatenate(parts)

    x0 = np.clip(base[index], lo + 1e-6 * (hi - lo), hi - 1e-6 * (hi - lo))
    sol = least_squares(
        residuals,
        x0,
        bounds=(lo, hi),
        loss="soft_l1",
        f_scale=0.05,
        x_scale=np.maximum(np.abs(x0), 0.05),
        diff_step=1e-4,
        max_nfev=max_nfev,
    )
    fitted = replace(initial, **{f: float(v) for f, v in zip(fit_fields, sol.x, strict=True)})
    return FitResult(fitted, float(sol.cost), len(starts), sol.message)


# ---------------------------------------------------------------------------- measurements


@dataclass(frozen=True)
class HeldCommand:
    """Statistics of one (speed, |steering|) command held for at least `min_held` steps."""

    speed_cmd: float
    steer_cmd: float
    segments: int
    transitions: int
    speed: float  # median front-point speed (m/s)
    yaw_rate: float  # median |yaw rate| (rad/s)
    lateral: float  # median speed * |yaw rate| (m/s^2)

    @property
    def radius(self) -> float:
        return self.speed / self.yaw_rate if self.yaw_rate > 1e-6 else float("inf")


def held_segments(trace: DriveTrace, min_held: int = 4) -> list[np.ndarray]:
    """Runs of valid rows with the same command, at least `min_held` long (each run's rows,
    the first of which has a valid previous step so a replay can start there)."""
    same = np.zeros(len(trace), dtype=bool)
    same[1:] = (
        (trace.steer_cmd[1:] == trace.steer_cmd[:-1])
        & (trace.speed_cmd[1:] == trace.speed_cmd[:-1])
        & trace.valid[:-1]
        & trace.valid[1:]
    )
    segments = []
    t = 0
    n = len(trace)
    while t < n:
        if not trace.valid[t]:
            t += 1
            continue
        end = t + 1
        while end < n and same[end]:
            end += 1
        if end - t >= min_held and t >= 1 and trace.valid[t - 1]:
            segments.append(np.arange(t, end))
        t = end
    return segments


def _held_stats(groups: dict, speed: dict, yaw: dict) -> list[HeldCommand]:
    out = []
    for key in sorted(groups):
        v = np.concatenate(speed[key])
        r = np.abs(np.concatenate(yaw[key]))
        out.append(
            HeldCommand(
                key[0], key[1], groups[key], len(v), float(np.median(v)),
                float(np.median(r)), float(np.median(v * r)),
            )
        )  # fmt: skip
    return out


def held_commands(
    trace: DriveTrace,
    params: CarParams | None = None,
    min_held: int = 4,
    settle: int = SETTLE_STEPS,
) -> tuple[list[HeldCommand], list[HeldCommand] | None]:
    """DeepRacer's held-command statistics and, with `params`, the same measured on Slipstream
    replays of the same segments from the same logged states; each hold's first `settle` steps
    are left out."""
    segments = held_segments(trace, min_held)
    v_log, r_log = motion(trace)
    groups: dict = {}
    logged_v: dict = {}
    logged_r: dict = {}
    sim_v: dict = {}
    sim_r: dict = {}
    by_length: dict[int, list[np.ndarray]] = {}
    for seg in segments:
        key = (float(trace.speed_cmd[seg[0]]), float(abs(trace.steer_cmd[seg[0]])))
        groups[key] = groups.get(key, 0) + 1
        use = seg[settle:]
        logged_v.setdefault(key, []).append(v_log[use])
        logged_r.setdefault(key, []).append(r_log[use])
        by_length.setdefault(len(seg), []).append(seg)
    deepracer = _held_stats(groups, logged_v, logged_r)
    if params is None:
        return deepracer, None
    for length, segs in by_length.items():
        starts = np.array([s[0] for s in segs])
        fronts, headings = replay(trace, starts, length, params)
        v = np.linalg.norm(np.diff(fronts, axis=1), axis=-1) / trace.dt
        r = _wrap(np.diff(headings, axis=1)) / trace.dt
        for i, seg in enumerate(segs):
            key = (float(trace.speed_cmd[seg[0]]), float(abs(trace.steer_cmd[seg[0]])))
            sim_v.setdefault(key, []).append(v[i, settle:])
            sim_r.setdefault(key, []).append(r[i, settle:])
    return deepracer, _held_stats(groups, sim_v, sim_r)


def lateral_ceiling(stats: list[HeldCommand]) -> float:
    """Highest median lateral acceleration over the held commands (m/s^2)."""
    return max((s.lateral for s in stats), default=float("nan"))


def launch_profile(
    trace: DriveTrace, params: CarParams, steps: tuple[int, ...] = (3, 5, 8, 10, 15)
) -> tuple[np.ndarray, np.ndarray, int]:
    """Median front-point speed `steps` steps after each episode's first moving step, DeepRacer
    vs Slipstream replaying the logged commands from rest: ((len(steps),) each, episodes)."""
    horizon = max(steps)
    starts = []
    for ep in np.unique(trace.episode):
        rows = np.flatnonzero((trace.episode == ep) & trace.valid)
        if len(rows) > horizon and np.all(np.diff(rows[: horizon + 1]) == 1):
            starts.append(rows[0])
    starts = np.array(starts, dtype=np.int64)
    if len(starts) == 0:
        return np.full(len(steps), np.nan), np.full(len(steps), np.nan), 0
    v_log, _ = motion(trace)
    idx = np.array(steps) - 1
    logged = np.median(v_log[starts[:, None] + idx[None, :]], axis=0)
    state = CarState.at_rest(
        trace.x[starts] - params.front_point_x * np.cos(trace.heading[starts]),
        trace.y[starts] - params.front_point_x * np.sin(trace.heading[starts]),
        trace.heading[starts],
    )
    fronts = [front_point(state, params)]
    for k in range(horizon):
        rows = starts + k
        state = step_cars(state, trace.steer_cmd[rows], trace.speed_cmd[rows], params)
        fronts.append(front_point(state, params))
    f = np.stack(fronts, axis=1)
    v_sim = np.linalg.norm(np.diff(f, axis=1), axis=-1) / trace.dt
    return logged, np.median(v_sim[:, idx], axis=0), len(starts)


def straight_profile(
    params: CarParams, speed_cmd: float, v0: float = 0.0, steps: int = 20
) -> np.ndarray:
    """Speeds (steps+1,) of one car driven straight at `speed_cmd` from speed `v0`."""
    state = CarState.at_rest(np.zeros(1), np.zeros(1), np.zeros(1))
    state = state._replace(speed=np.full(1, v0))
    out = [v0]
    for _ in range(steps):
        state = step_cars(state, np.zeros(1), np.full(1, speed_cmd), params)
        out.append(float(state.speed[0]))
    return np.array(out)


def top_speed(
    trace: DriveTrace, params: CarParams, min_held: int = 10, max_steer_deg: float = 5.0
) -> tuple[float, float, float, int]:
    """Speed under the trace's highest speed command held >= `min_held` steps nearly straight,
    from step `min_held` - 5 of each such hold on: (command, DeepRacer median, Slipstream median on
    replays of the same holds, holds). NaN when the trace holds no such command."""
    segments = [
        s for s in held_segments(trace, min_held) if abs(trace.steer_cmd[s[0]]) <= max_steer_deg
    ]
    if not segments:
        return float("nan"), float("nan"), float("nan"), 0
    command = max(float(trace.speed_cmd[s[0]]) for s in segments)
    segments = [s for s in segments if trace.speed_cmd[s[0]] == command]
    v_log, _ = motion(trace)
    skip = min_held - 5
    logged = np.concatenate([v_log[s[skip:]] for s in segments])
    simulated = []
    for seg in segments:
        fronts, _ = replay(trace, seg[:1], len(seg), params)
        simulated.append(np.linalg.norm(np.diff(fronts[0], axis=0), axis=-1)[skip:] / trace.dt)
    return (
        command,
        float(np.median(logged)),
        float(np.median(np.concatenate(simulated))),
        len(segments),
    )


STRAIGHT_RUN_UP = 2.0
"""Seconds `steady_turn` drives straight at the command's speed before it turns."""


def steady_turn(
    params: CarParams, speed_cmd: float, steer_deg: float, seconds: float = 4.0
) -> tuple[float, float, float]:
    """(speed, radius, lateral acceleration) of one car that reaches the command's speed on a
    straight (`STRAIGHT_RUN_UP` s from rest) and then holds the command for `seconds`, measured
    like the traces over its last second (front point, finite differences). The run-up matters
    for the mechanism car: a turn of 2 m/s or more held from a standstill spins its wheels into
    a tight circle (docs/car.md), which the traces never show because no policy does that."""
    steps = round(seconds / params.dt)
    state = CarState.at_rest(np.zeros(1), np.zeros(1), np.zeros(1))
    for _ in range(round(STRAIGHT_RUN_UP / params.dt)):
        state = step_cars(state, np.zeros(1), np.full(1, speed_cmd), params)
    fronts, headings = [], []
    for _ in range(steps):
        state = step_cars(state, np.full(1, steer_deg), np.full(1, speed_cmd), params)
        fronts.append(front_point(state, params)[0])
        headings.append(state.yaw[0])
    last = round(1.0 / params.dt) + 1
    f = np.array(fronts[-last:])
    v = np.median(np.linalg.norm(np.diff(f, axis=0), axis=1)) / params.dt
    r = np.median(np.abs(_wrap(np.diff(np.array(headings[-last:]))))) / params.dt
    return float(v), float(v / r) if r > 1e-9 else float("inf"), float(v * r)


GRIP_STEERING = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0)
GRIP_SPEEDS = tuple(round(1.0 + 0.2 * k, 1) for k in range(16))


def lateral_grip(params: CarParams) -> float:
    """The highest steady lateral acceleration (m/s^2) the car holds: `steady_turn` over
    `GRIP_STEERING` x `GRIP_SPEEDS` (commands 1-4 m/s)."""
    return max(steady_turn(params, v, d)[2] for d in GRIP_STEERING for v in GRIP_SPEEDS)


def fastest_turn_speed(
    params: CarParams, steer_deg: float, max_lateral: float, step: float = 0.1
) -> float:
    """The fastest speed command (a multiple of `step`, 1.0 to `params.max_speed`) whose steady
    turn at `steer_deg` stays within `max_lateral` m/s^2; 1.0 if none does."""
    best = 1.0
    for k in range(round((params.max_speed - 1.0) / step) + 1):
        speed = round(1.0 + k * step, 6)
        if steady_turn(params, speed, steer_deg)[2] <= max_lateral:
            best = speed
    return best
