"""Bot cars: cars that follow a lane at constant speed (docs/deepracer.md section 6), batched over
`n_worlds` worlds with K bots each.

Lanes are periodic cubic B-splines through DeepRacer's lane polylines (row-wise midpoint of the
centre line and a border), parametrised by the centre-line projection distance of each lane
vertex. A bot's parameter is therefore a centre-line distance d (metres from waypoint 0), and
BOT_CAR_SPEED is metres of centre line per second (a bot on the inner lane covers less ground
than one on the outer lane, as in DeepRacer). Its yaw is the direction of the spline derivative.

Position at sim time t (seconds; scalar or one value per world):

    travel = speed * max(t - t_reset - pause_before_start - paused_time, 0)
    d      = (d0 + travel) mod L

`paused_time` is `crash_count * PENALTY_SECONDS` once each pause is over, which is DeepRacer's
formula; during a pause the bot stands still instead of jumping back (paused_time grows with t).
A bot pauses (`bots_hit`) when it runs into a racecar ahead of it; hits while paused are ignored.

Lane changes (IS_LANE_CHANGE): `update_lane_changes` starts a change when the scheduled time has
come and the previous change is finished; the bot then blends from its lane to the other one over
LANE_CHANGE_DISTANCE metres of travel with a smoothstep weight b(p) = 3p^2 - 2p^3 of the progress
p = (travel - travel at start) / distance. The next change is scheduled at
now + U(LOWER_LANE_CHANGE_TIME, UPPER_LANE_CHANGE_TIME) + distance / speed (the first one from
the reset time). Bot cars need a loop: open tracks are refused with `ObjectConfigError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.interpolate import splev, splprep

from slipstream.sim.collision import CAR_LENGTH, CAR_WIDTH
from slipstream.sim.objects import (
    INNER_LANE,
    OUTER_LANE,
    ObjectConfigError,
    alternating_lanes,
    lane_polyline,
    random_lanes,
    spread_distances,
)
from slipstream.tracks import Track

# A lane vertex is kept for the spline only when its centre-line parameter advances by at least
# this fraction of its distance from the previous kept vertex (drops vertices that project onto
# the same centre point at sharp corners, which would make the interpolating spline swing).
_MIN_PARAM_PER_METRE = 0.2


@dataclass(frozen=True)
class BotCarConfig:
    """Bot-car settings, named like the RoboMaker YAML keys (lower case).

    `min_distance_between_bot_cars` is metres (unlike the obstacles' percent); speed m/s of
    centre line; times in seconds; `lane_change_distance` metres of travel; `penalty_seconds`
    is how long a bot pauses after running into a racecar ahead of it.
    """

    number_of_bot_cars: int = 0
    bot_car_speed: float = 0.2
    min_distance_between_bot_cars: float = 2.0
    randomize_bot_car_locations: bool = False
    is_lane_change: bool = False
    lower_lane_change_time: float = 3.0
    upper_lane_change_time: float = 5.0
    lane_change_distance: float = 1.0
    penalty_seconds: float = 2.0

    def __post_init__(self) -> None:
        if int(self.number_of_bot_cars) != self.number_of_bot_cars or self.number_of_bot_cars < 0:
            raise ObjectConfigError(
                f"NUMBER_OF_BOT_CARS must be a whole number >= 0, got {self.number_of_bot_cars!r}"
            )
        checks = {
            "BOT_CAR_SPEED": self.bot_car_speed,
            "MIN_DISTANCE_BETWEEN_BOT_CARS": self.min_distance_between_bot_cars,
            "LOWER_LANE_CHANGE_TIME": self.lower_lane_change_time,
            "PENALTY_SECONDS": self.penalty_seconds,
        }
        for key, value in checks.items():
            if not np.isfinite(value) or value < 0.0:
                raise ObjectConfigError(f"{key} must be a finite number >= 0, got {value!r}")
        if not (self.upper_lane_change_time >= self.lower_lane_change_time):
            raise ObjectConfigError(
                f"UPPER_LANE_CHANGE_TIME ({self.upper_lane_change_time}) must be >= "
                f"LOWER_LANE_CHANGE_TIME ({self.lower_lane_change_time})"
            )
        if not np.isfinite(self.lane_change_distance) or self.lane_change_distance <= 0.0:
            raise ObjectConfigError(
                f"LANE_CHANGE_DISTANCE must be a positive number of metres, got "
                f"{self.lane_change_distance!r}"
            )


def _require_loop(track: Track) -> None:
    if not track.closed:
        raise ObjectConfigError(
            f"track {track.name!r} is not a loop: bot cars drive laps and need a closed track. "
            "Set NUMBER_OF_BOT_CARS to 0 or choose a loop track."
        )


def _lane_spline(track: Track, lane: int) -> tuple[tuple, float]:
    """Periodic cubic spline (tck) of one lane against centre-line distance, and its first
    parameter value u0 (the spline covers [u0, u0 + L))."""
    length = track.length
    vertices = lane_polyline(track, lane)[:-1]
    u = track.project(vertices).arc
    step = np.mod(np.diff(u) + 0.5 * length, length) - 0.5 * length
    u = u[0] + np.concatenate([[0.0], np.cumsum(step)])
    keep = [0]
    for i in range(1, len(u)):
        last = keep[-1]
        gap = float(np.linalg.norm(vertices[i] - vertices[last]))
        if u[i] - u[last] >= max(_MIN_PARAM_PER_METRE * gap, 1e-6) and u[i] < u[0] + length - 1e-6:
            keep.append(i)
    if len(keep) < 4 or u[keep[-1]] - u[0] < 0.5 * length:
        raise ObjectConfigError(
            f"track {track.name!r}: its {'inner' if lane == INNER_LANE else 'outer'} lane does not "
            "follow the centre line, so bot cars cannot be placed on it"
        )
    pts = np.vstack([vertices[keep], vertices[:1]])
    params = np.append(u[keep], u[0] + length)
    tck, _ = splprep([pts[:, 0], pts[:, 1]], u=params, k=3, s=0, per=1)
    return tck, float(u[0])


@dataclass(frozen=True, eq=False)
class LaneSplines:
    """The inner and outer lanes of a loop as periodic cubic splines of centre-line distance."""

    length: float
    inner_tck: tuple
    inner_u0: float
    outer_tck: tuple
    outer_u0: float

    @classmethod
    def from_track(cls, track: Track) -> LaneSplines:
        """Fit both lanes of a closed track (done once per track and direction)."""
        _require_loop(track)
        inner_tck, inner_u0 = _lane_spline(track, INNER_LANE)
        outer_tck, outer_u0 = _lane_spline(track, OUTER_LANE)
        return cls(track.length, inner_tck, inner_u0, outer_tck, outer_u0)

    def _eval(self, lane: int, arc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tck, u0 = (
            (self.inner_tck, self.inner_u0)
            if lane == INNER_LANE
            else (self.outer_tck, self.outer_u0)
        )
        s = u0 + np.mod(arc - u0, self.length)
        xy = np.stack(splev(s, tck), axis=-1)
        dxy = np.stack(splev(s, tck, der=1), axis=-1)
        return xy, dxy

    def evaluate(self, arc: np.ndarray, lane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lane points (..., 2) and derivatives d(xy)/d(arc) (..., 2) at centre distances `arc`
        (...), on lane +1 (inner) or -1 (outer) per element (`lane` broadcasts to arc)."""
        arc = np.asarray(arc, dtype=np.float64)
        flat = arc.reshape(-1)
        on_outer = (np.broadcast_to(np.asarray(lane), arc.shape) == OUTER_LANE).reshape(-1)
        xy = np.empty((flat.size, 2))
        dxy = np.empty((flat.size, 2))
        for lane_id, sel in ((INNER_LANE, ~on_outer), (OUTER_LANE, on_outer)):
            if sel.any():
                xy[sel], dxy[sel] = self._eval(lane_id, flat[sel])
        return xy.reshape((*arc.shape, 2)), dxy.reshape((*arc.shape, 2))

    def poses(self, arc: np.ndarray, lane: np.ndarray) -> np.ndarray:
        """Poses (..., 3) [x, y, yaw] on the lanes at centre distances `arc` (...)."""
        xy, dxy = self.evaluate(arc, lane)
        return np.concatenate([xy, np.arctan2(dxy[..., 1], dxy[..., 0])[..., None]], axis=-1)


@dataclass(frozen=True, eq=False)
class BotCars:
    """State of the bot cars of `n_worlds` worlds, K each. Arrays are (n_worlds, K) unless noted."""

    config: BotCarConfig
    track_length: float
    d0: np.ndarray
    """Centre-line distance at the reset (m)."""
    lane: np.ndarray
    """int8 lane the bot is on or changing to: +1 inner, -1 outer."""
    from_lane: np.ndarray
    """int8 lane the current or last lane change started from (== lane if none yet)."""
    change_start_travel: np.ndarray
    """Travel (m) when the current or last lane change started; -inf if none yet."""
    next_change_time: np.ndarray
    """Sim time (s) of the next lane change; inf without IS_LANE_CHANGE."""
    crash_count: np.ndarray
    """int: pauses after running into a racecar ahead."""
    last_crash_time: np.ndarray
    """Sim time (s) the last pause started; -inf if none."""
    t_reset: np.ndarray
    """(n_worlds,) sim time of the world's last reset (s)."""
    pause_before_start: np.ndarray
    """(n_worlds,) seconds the bots wait after the reset before moving."""

    @property
    def count(self) -> int:
        return int(self.d0.shape[1])

    @property
    def lengths(self) -> np.ndarray:
        """(n_worlds, K) crash-rectangle lengths (the car's)."""
        return np.full(self.d0.shape, CAR_LENGTH)

    @property
    def widths(self) -> np.ndarray:
        """(n_worlds, K) crash-rectangle widths (the car's)."""
        return np.full(self.d0.shape, CAR_WIDTH)

    def replace_worlds(self, mask: np.ndarray, other: BotCars) -> BotCars:
        """Take worlds where `mask` (n_worlds,) is True from `other` (same config), the rest from self."""
        m = np.asarray(mask, dtype=bool)
        fields = {}
        for name in (
            "d0",
            "lane",
            "from_lane",
            "change_start_travel",
            "next_change_time",
            "crash_count",
            "last_crash_time",
        ):
            fields[name] = np.where(m[:, None], getattr(other, name), getattr(self, name))
        fields["t_reset"] = np.where(m, other.t_reset, self.t_reset)
        fields["pause_before_start"] = np.where(
            m, other.pause_before_start, self.pause_before_start
        )
        return replace(self, **fields)


def _time_column(t: float | np.ndarray) -> np.ndarray:
    """Sim time as a scalar or an (n_worlds, 1) column that broadcasts against (n_worlds, K)."""
    t = np.asarray(t, dtype=np.float64)
    return t if t.ndim == 0 else t.reshape(-1, 1)


def reset_bots(
    track: Track,
    cfg: BotCarConfig,
    rng: np.random.Generator,
    n_worlds: int,
    t_reset: float | np.ndarray = 0.0,
    pause_before_start: float | np.ndarray = 0.0,
) -> BotCars:
    """Bot cars placed as DeepRacer does at a reset: distances linspace(MIN_DISTANCE (m),
    L - 1.0, K) (randomised like obstacles), lanes alternating inner/outer (random when
    randomised). `t_reset` is the sim time of the reset (scalar or (n_worlds,))."""
    k = int(cfg.number_of_bot_cars)
    if k > 0:
        _require_loop(track)
    shape = (n_worlds, k)
    d0 = spread_distances(
        track.length,
        k,
        cfg.min_distance_between_bot_cars,
        cfg.randomize_bot_car_locations,
        rng,
        n_worlds,
        closed=True,
    )
    if cfg.randomize_bot_car_locations:
        lanes = random_lanes(rng, k, n_worlds)
    else:
        lanes = alternating_lanes(k, n_worlds)
    t0 = np.broadcast_to(np.asarray(t_reset, dtype=np.float64), (n_worlds,)).copy()
    if cfg.is_lane_change:
        wait = rng.uniform(cfg.lower_lane_change_time, cfg.upper_lane_change_time, size=shape)
        next_change = t0[:, None] + wait + _change_duration(cfg)
    else:
        next_change = np.full(shape, np.inf)
    return BotCars(
        config=cfg,
        track_length=track.length,
        d0=d0,
        lane=lanes,
        from_lane=lanes.copy(),
        change_start_travel=np.full(shape, -np.inf),
        next_change_time=next_change,
        crash_count=np.zeros(shape, dtype=np.int64),
        last_crash_time=np.full(shape, -np.inf),
        t_reset=t0,
        pause_before_start=np.broadcast_to(
            np.asarray(pause_before_start, dtype=np.float64), (n_worlds,)
        ).copy(),
    )


def _change_duration(cfg: BotCarConfig) -> float:
    if cfg.bot_car_speed <= 0.0:
        return np.inf
    return cfg.lane_change_distance / cfg.bot_car_speed


def bot_travel(state: BotCars, t: float | np.ndarray) -> np.ndarray:
    """(n_worlds, K) centre-line metres each bot has driven since its world's reset."""
    tc = _time_column(t)
    penalty = state.config.penalty_seconds
    pause_left = np.clip(state.last_crash_time + penalty - tc, 0.0, penalty)
    paused_time = state.crash_count * penalty - pause_left
    moving = tc - state.t_reset[:, None] - state.pause_before_start[:, None] - paused_time
    return state.config.bot_car_speed * np.maximum(moving, 0.0)


def bot_distances(state: BotCars, t: float | np.ndarray) -> np.ndarray:
    """(n_worlds, K) centre-line distance of each bot from waypoint 0 (m), in [0, L)."""
    return np.mod(state.d0 + bot_travel(state, t), state.track_length)


def lane_change_progress(state: BotCars, t: float | np.ndarray) -> np.ndarray:
    """(n_worlds, K) progress 0..1 of the current lane change (1 when none is under way)."""
    travel = bot_travel(state, t)
    p = (travel - state.change_start_travel) / state.config.lane_change_distance
    return np.clip(np.nan_to_num(p, nan=1.0, posinf=1.0), 0.0, 1.0)


def bot_poses(state: BotCars, splines: LaneSplines, t: float | np.ndarray) -> np.ndarray:
    """(n_worlds, K, 3) [x, y, yaw] of every bot at sim time t (scalar or (n_worlds,))."""
    d = bot_distances(state, t)
    p = lane_change_progress(state, t)
    inner_xy, inner_d = splines.evaluate(d, np.full(d.shape, INNER_LANE))
    outer_xy, outer_d = splines.evaluate(d, np.full(d.shape, OUTER_LANE))
    from_inner = (state.from_lane != OUTER_LANE)[..., None]
    to_inner = (state.lane != OUTER_LANE)[..., None]
    a_xy, a_d = np.where(from_inner, inner_xy, outer_xy), np.where(from_inner, inner_d, outer_d)
    b_xy, b_d = np.where(to_inner, inner_xy, outer_xy), np.where(to_inner, inner_d, outer_d)
    w = (p * p * (3.0 - 2.0 * p))[..., None]
    dw = (6.0 * p * (1.0 - p) / state.config.lane_change_distance)[..., None]
    xy = a_xy + w * (b_xy - a_xy)
    tangent = a_d + w * (b_d - a_d) + dw * (b_xy - a_xy)
    yaw = np.arctan2(tangent[..., 1], tangent[..., 0])
    return np.concatenate([xy, yaw[..., None]], axis=-1)


def update_lane_changes(
    state: BotCars,
    rng: np.random.Generator | Sequence[np.random.Generator],
    t: float | np.ndarray,
) -> BotCars:
    """Start the lane changes that are due at sim time t; call once per step (no-op without
    IS_LANE_CHANGE). A due change waits until the previous one has finished.

    `rng`: one generator per world (world w's waiting times come from rng[w] only, so a world
    behaves the same whatever other worlds share the batch), or one generator for all.
    """
    cfg = state.config
    if not cfg.is_lane_change or state.count == 0:
        return state
    tc = _time_column(t)
    due = (tc >= state.next_change_time) & (lane_change_progress(state, t) >= 1.0)
    if not due.any():
        return state
    low, high = cfg.lower_lane_change_time, cfg.upper_lane_change_time
    if isinstance(rng, np.random.Generator):
        wait = rng.uniform(low, high, size=due.shape)
    else:
        wait = np.zeros(due.shape)
        for w in np.flatnonzero(due.any(axis=1)):  # only worlds with a change due this step
            wait[w] = rng[w].uniform(low, high, size=due.shape[1])
    return replace(
        state,
        from_lane=np.where(due, state.lane, state.from_lane),
        lane=np.where(due, -state.lane, state.lane).astype(np.int8),
        change_start_travel=np.where(due, bot_travel(state, t), state.change_start_travel),
        next_change_time=np.where(due, tc + wait + _change_duration(cfg), state.next_change_time),
    )


def bot_is_paused(state: BotCars, t: float | np.ndarray) -> np.ndarray:
    """(n_worlds, K) whether each bot is serving a crash pause at sim time t."""
    return _time_column(t) < state.last_crash_time + state.config.penalty_seconds


def bots_hit(state: BotCars, hit_mask: np.ndarray, t: float | np.ndarray) -> BotCars:
    """Pause the bots in `hit_mask` (n_worlds, K) that ran into a racecar ahead of them
    (`collision.bots_hitting_car_ahead`) for PENALTY_SECONDS from sim time t. Bots already
    paused are not paused again."""
    new = np.asarray(hit_mask, dtype=bool) & ~bot_is_paused(state, t)
    if not new.any():
        return state
    tc = np.broadcast_to(_time_column(t), new.shape)
    return replace(
        state,
        crash_count=state.crash_count + new,
        last_crash_time=np.where(new, tc, state.last_crash_time),
    )
