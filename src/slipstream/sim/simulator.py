"""The batched DeepRacer simulator: N cars, each in its own episode, stepped together.

No Gymnasium, torch or rendering here: `Simulator.step` takes commanded steering and speed for
every car and returns a `StepResult` of arrays describing the step as DeepRacer would see it
(reward params quantities, status, done). The env layer renders sensors, calls the reward
function and handles autoreset.

Timing follows DEEPRACER.md 1.2: the quantities of step t (position, progress, status) describe
the pose *before* action t is executed; the action is then executed for 1/15 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from slipstream.sim import episode as ep
from slipstream.sim.car import CarParams, CarState, body_points, front_point, step_cars
from slipstream.sim.objects_world import ObjectWorld, WorldObjectsConfig
from slipstream.tracks.track import Track, progress_percent

PHASE_PREPARE, PHASE_RUN, PHASE_PAUSE = 0, 1, 2


@dataclass(frozen=True)
class SimConfig:
    """Episode settings, named after the RoboMaker YAML keys they come from (lower case)."""

    change_start_position: bool = True
    round_robin_advance_dist: float = 0.05
    start_position_offset: float = 0.0
    reverse_dir: bool = False
    alternate_driving_direction: bool = False
    number_of_resets: int = 0
    off_track_penalty: float = 0.0
    collision_penalty: float = 0.0
    is_continuous: bool = False
    number_of_trials: int = 1
    number_of_reverse_counts: int = ep.DEFAULT_REVERSE_COUNTS
    reset_behind_dist: float = 1.0
    max_steps: int = 100_000
    """Episode step cap (DeepRacer's MAX_STEPS); an episode cut here is truncated, status in_progress."""
    spread_start_positions: bool = False
    """With change_start_position, each car begins its round robin at a random point of the lap
    (drawn once from its seed), so a batch of cars covers the lap instead of all starting on the
    same line. False is exactly DeepRacer (every car's round robin starts at the offset)."""
    training: bool = True
    """Training episodes advance the round robin; evaluation episodes do not."""
    objects: WorldObjectsConfig = field(default_factory=WorldObjectsConfig)


class StepResult(NamedTuple):
    """What happened in one step, per car (arrays of shape (N,) unless noted)."""

    status: np.ndarray  # int8 code, see slipstream.sim.episode
    terminated: np.ndarray  # bool: episode over by a DeepRacer rule
    truncated: np.ndarray  # bool: episode cut by the step cap
    phase_was_run: np.ndarray  # bool: a run step (reward function is called) vs prepare/pause
    steps: np.ndarray  # float, steps of this episode including this one
    front: np.ndarray  # (N,2) DeepRacer x, y
    heading_deg: np.ndarray
    progress: np.ndarray
    ndist: np.ndarray  # normalised projection from waypoint 0 in the driving direction
    projection_distance: np.ndarray
    distance_from_center: np.ndarray
    is_left_of_center: np.ndarray
    track_width: np.ndarray
    closest_prev: np.ndarray
    closest_next: np.ndarray
    all_wheels_on_track: np.ndarray
    is_offtrack: np.ndarray
    is_crashed: np.ndarray
    is_reversed: np.ndarray  # driving against the waypoint order
    sim_time: np.ndarray  # s, at the decision
    pause_duration: np.ndarray  # s of penalty left (pause rows)
    steering_deg: np.ndarray  # commanded (pre-clip) steering of this step's action
    speed: np.ndarray  # commanded speed of this step's action
    lap_count: np.ndarray  # laps completed in this episode (continuous evaluation)
    reset_count: np.ndarray
    obstacle_crash_counter: np.ndarray


class Simulator:
    """N independent DeepRacer episodes on one track, stepped in one batch.

    Per-car randomness (start lanes, obstacle placement, bot lane changes) comes from one
    `np.random.Generator` per car, so car i of a batch seeded with seeds[i] behaves exactly like a
    single-car simulator seeded with seeds[i].
    """

    def __init__(
        self,
        track: Track,
        num_cars: int,
        config: SimConfig | None = None,
        car: CarParams | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.car = car or CarParams()
        self.num_cars = num_cars
        base = track.reversed() if track.is_reversed else track
        self.tracks = (base, base.reversed())  # index by the per-car `reverse` flag
        self.track = base
        self.wheel_offsets = self.car.wheel_offsets()
        self.rngs = [np.random.default_rng(i) for i in range(num_cars)]
        n = num_cars
        self.state = CarState.at_rest(np.zeros(n), np.zeros(n), np.zeros(n))
        self.reverse = np.full(n, self.config.reverse_dir)
        self.start_ndist = np.zeros(n)
        self.episodes_done = np.zeros(n, dtype=np.int64)
        self.finished = np.ones(n, dtype=bool)
        """Cars with no episode under way (never reset, or ended): frozen until `reset`."""
        self.final_status = np.full(n, ep.PREPARE, dtype=np.int8)
        self.start_base = np.array([rng.uniform() for rng in self.rngs])
        self.start_offsets = np.zeros(n)
        """Per-car start offsets (fraction of the lap) added to START_POSITION_OFFSET."""
        self.objects = ObjectWorld(base, n, self.config.objects, self.car)
        self._alloc_episode_arrays(n)

    # ----------------------------------------------------------------- episode bookkeeping

    def _alloc_episode_arrays(self, n: int) -> None:
        self.steps = np.zeros(n)
        self.phase = np.full(n, PHASE_PREPARE, dtype=np.int8)
        self.prev_progress = np.zeros(n)
        self.immobile_count = np.zeros(n, dtype=np.int64)
        self.reverse_count = np.zeros(n, dtype=np.int64)
        self.lap_count = np.zeros(n, dtype=np.int64)
        self.reset_count = np.zeros(n, dtype=np.int64)
        self.pause_left = np.zeros(n)
        self.sim_time = np.zeros(n)
        self.prev_xy = np.zeros((n, 2))

    def seed(self, seeds: list[int]) -> None:
        """One generator per car; also restarts each car's round robin."""
        self.rngs = [np.random.default_rng(s) for s in seeds]
        self.episodes_done[:] = 0
        self.start_base = np.array([rng.uniform() for rng in self.rngs])

    def _initial_start_ndist(self, index: np.ndarray) -> np.ndarray:
        cfg = self.config
        offset = cfg.start_position_offset + self.start_offsets[index]
        if cfg.change_start_position and cfg.training:
            if cfg.spread_start_positions:
                offset = offset + self.start_base[index]
            offset = offset + self.episodes_done[index] * cfg.round_robin_advance_dist
        return np.mod(offset, 1.0)

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Start a new episode for the cars in mask (all by default), at rest on the start line."""
        cfg = self.config
        idx = np.arange(self.num_cars) if mask is None else np.flatnonzero(mask)
        if len(idx) == 0:
            return
        if cfg.alternate_driving_direction and cfg.training:
            self.reverse[idx] = cfg.reverse_dir ^ (self.episodes_done[idx] % 2 == 1)
        else:
            self.reverse[idx] = cfg.reverse_dir
        self.start_ndist[idx] = self._initial_start_ndist(idx)
        for rev in (False, True):
            sel = idx[self.reverse[idx] == rev]
            if len(sel) == 0:
                continue
            track = self.tracks[int(rev)]
            self.objects.reset(sel, track, [self.rngs[i] for i in sel])
            arc = self.start_ndist[sel] * track.length
            lane, arc = self.objects.start_position(sel, arc, track, training=cfg.training)
            xy, yaw = track.point_at(arc)
            lane_xy = track.lane_point_at(arc, lane)
            xy = np.where((lane != 0)[:, None], lane_xy, xy)
            self._place(sel, xy[:, 0], xy[:, 1], yaw)
        for arr in (self.steps, self.prev_progress, self.pause_left, self.sim_time):
            arr[idx] = 0.0
        for arr in (self.immobile_count, self.reverse_count, self.lap_count, self.reset_count):
            arr[idx] = 0
        self.phase[idx] = PHASE_PREPARE
        self.prev_xy[idx] = front_point(self.state, self.car)[idx]
        self.finished[idx] = False

    def start_from(
        self,
        cars: np.ndarray,
        front: np.ndarray,
        yaw: np.ndarray,
        speed: np.ndarray,
        steering_deg: np.ndarray,
    ) -> None:
        """Move freshly reset cars to given states: DeepRacer x, y (the front point, (K,2)),
        heading (rad), forward speed (m/s) and steering as a command (deg) the servo has settled
        at. Progress of the episode counts from this pose; the pose may be off the track."""
        cars = np.asarray(cars, dtype=np.int64)
        base = front - self.car.front_point_x * np.stack([np.cos(yaw), np.sin(yaw)], axis=1)
        steer = self.car.hinge_from_command(
            np.radians(
                np.clip(steering_deg, -self.car.max_steering_deg, self.car.max_steering_deg)
            ),
            self.car.dynamics_vector(),
        )
        self._place(cars, base[:, 0], base[:, 1], yaw, speed, steer)
        forward = self.track.project(front).ndist
        self.start_ndist[cars] = self._directed_ndist(forward, self.reverse[cars])
        self.prev_xy[cars] = front

    def _place(
        self,
        cars: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        yaw: np.ndarray,
        speed: np.ndarray | float = 0.0,
        steer: np.ndarray | float = 0.0,
    ) -> None:
        """Put the given cars at poses (x, y, yaw), one per car, at rest unless given a forward
        speed and steering angle (rad); no sideways slip, no yaw rate."""
        arrays = [np.array(a) for a in self.state]
        for array, value in zip(arrays, (x, y, yaw, speed, steer, 0.0, 0.0), strict=True):
            array[cars] = value
        self.state = CarState(*arrays)

    # ----------------------------------------------------------------- geometry

    def _directed_ndist(
        self, forward_ndist: np.ndarray, reverse: np.ndarray | None = None
    ) -> np.ndarray:
        """Normalised lap position from waypoint 0 in each car's own driving direction
        (`reverse`: the cars' flags, all cars' by default)."""
        backward = 1.0 - forward_ndist
        if self.track.closed:
            backward = np.mod(backward, 1.0)
        return np.where(self.reverse if reverse is None else reverse, backward, forward_ndist)

    def lap_position(self, points: np.ndarray) -> np.ndarray:
        """DeepRacer's ndist of points (one per car) in each car's driving direction."""
        return self._directed_ndist(self.track.project(points).ndist)

    def _track_quantities(self, front: np.ndarray) -> dict[str, np.ndarray]:
        """DeepRacer's track quantities for the front points, in each car's driving direction."""
        fwd, rev = self.tracks
        proj = fwd.project(front)
        rv = self.reverse
        ndist = self._directed_ndist(proj.ndist)
        prev_f, next_f = fwd.closest_waypoints(ndist)
        prev_r, next_r = rev.closest_waypoints(ndist)
        left_fwd = fwd.is_left_of_center(front)
        return {
            "ndist": ndist,
            "projection_distance": ndist * fwd.length,
            "distance_from_center": proj.distance,
            "is_left_of_center": np.where(rv, ~left_fwd, left_fwd),
            "track_width": fwd.local_width(front),
            "closest_prev": np.where(rv, prev_r, prev_f),
            "closest_next": np.where(rv, next_r, next_f),
        }

    # ----------------------------------------------------------------- step

    def _frozen_snapshot(self, frozen: np.ndarray) -> dict | None:
        """The per-car state of the finished cars, to put back after a step (None: none)."""
        if not frozen.any():
            return None
        names = ("steps", "phase", "prev_progress", "immobile_count", "reverse_count")
        names += ("lap_count", "reset_count", "pause_left", "sim_time", "prev_xy")
        return {
            "arrays": {name: getattr(self, name).copy() for name in names},
            "state": self.state,
            "objects": self.objects.snapshot(),
        }

    def _restore_frozen(self, frozen: np.ndarray, snap: dict) -> None:
        for name, old in snap["arrays"].items():
            new = getattr(self, name)
            mask = frozen.reshape((-1,) + (1,) * (new.ndim - 1))
            setattr(self, name, np.where(mask, old, new).astype(new.dtype))
        self.state = self.state.replace_where(frozen, snap["state"])
        self.objects.restore(frozen, snap["objects"])

    def step(self, steering_deg: np.ndarray, speed: np.ndarray) -> StepResult:
        """One control step for every car. Commands are DeepRacer action values (pre-clip).

        Cars whose episode has ended (or never started) are frozen until their `reset`: nothing
        of theirs changes, and their result rows say not done, not a run step, final status.
        """
        cfg = self.config
        steering_deg = np.asarray(steering_deg, dtype=np.float64).reshape(self.num_cars)
        speed = np.asarray(speed, dtype=np.float64).reshape(self.num_cars)
        frozen = self.finished.copy()
        snap = self._frozen_snapshot(frozen)
        self.steps += 1.0
        state = self._judged = self.state
        front = front_point(state, self.car)
        q = self._track_quantities(front)
        progress = progress_percent(q["ndist"], self.start_ndist, self.prev_progress)
        wheels_on = self.track.on_road(body_points(state, self.wheel_offsets))
        all_on = wheels_on.all(axis=1)
        off_track = ~wheels_on.any(axis=1)
        crashed = self.objects.crashes(state, q["ndist"], self.sim_time, self.reverse)

        running = (self.phase == PHASE_RUN) & ~frozen
        moved = np.linalg.norm(front - self.prev_xy, axis=1)
        self.immobile_count, self.reverse_count = ep.update_counters(
            moved, progress, self.prev_progress, self.immobile_count, self.reverse_count, running
        )
        status = ep.judge(
            progress,
            crashed,
            off_track,
            self.immobile_count,
            self.reverse_count,
            cfg.number_of_reverse_counts,
        )
        status = np.where(
            running, status, np.where(self.phase == PHASE_PAUSE, ep.PAUSE, ep.PREPARE)
        )
        status = status.astype(np.int8)
        lap = (status == ep.LAP_COMPLETE) & ~frozen
        failed = running & ~lap & (status != ep.IN_PROGRESS)

        # laps: continuous evaluation keeps going until NUMBER_OF_TRIALS laps
        self.lap_count = self.lap_count + lap
        laps_needed = cfg.number_of_trials if cfg.is_continuous else 1
        terminated = lap & (self.lap_count >= laps_needed)
        # continuous evaluation: an intermediate lap is not the lap rule firing
        status = np.where(lap & ~terminated, ep.IN_PROGRESS, status).astype(np.int8)
        can_reset = self.reset_count < cfg.number_of_resets
        terminated |= failed & ~can_reset
        to_pause = failed & can_reset
        penalty = ep.penalty_seconds(status, cfg.off_track_penalty, cfg.collision_penalty)
        status = np.where(frozen, self.final_status, status).astype(np.int8)
        truncated = ~terminated & (self.steps >= cfg.max_steps) & ~frozen

        result = StepResult(
            status=status,
            terminated=terminated,
            truncated=truncated,
            phase_was_run=running,
            steps=self.steps.copy(),
            front=front,
            heading_deg=np.degrees(state.yaw),
            progress=progress,
            ndist=q["ndist"],
            projection_distance=q["projection_distance"],
            distance_from_center=q["distance_from_center"],
            is_left_of_center=q["is_left_of_center"],
            track_width=q["track_width"],
            closest_prev=q["closest_prev"],
            closest_next=q["closest_next"],
            all_wheels_on_track=all_on,
            is_offtrack=off_track,
            is_crashed=crashed & (status == ep.CRASHED),
            is_reversed=self.reverse.copy(),
            sim_time=self.sim_time.copy(),
            # the row where a rule fires already shows the whole penalty, as DeepRacer writes it
            pause_duration=np.where(
                to_pause, penalty, np.where(self.phase == PHASE_PAUSE, self.pause_left, 0.0)
            ),
            steering_deg=steering_deg,
            speed=speed,
            lap_count=self.lap_count.copy(),
            reset_count=self.reset_count + to_pause,
            obstacle_crash_counter=self.objects.crash_counter.copy(),
        )

        # physics: running cars execute their action; prepare and pause hold the car still
        moving = running & ~to_pause
        self.prev_xy = front
        new_state = step_cars(state, steering_deg, speed, self.car)
        # cars not moving are at rest (placed so by reset and penalty), or were started with a
        # speed by `start_from`: their state is kept until their first run step
        self.state = state.replace_where(moving, new_state)
        self.sim_time = self.sim_time + self.car.dt

        # phase changes
        self.pause_left = np.where(self.phase == PHASE_PAUSE, self.pause_left - self.car.dt, 0.0)
        resume = (self.phase == PHASE_PAUSE) & (self.pause_left <= 1e-9)
        self.phase = np.where(self.phase == PHASE_PREPARE, PHASE_RUN, self.phase)
        self.phase = np.where(resume, PHASE_RUN, self.phase).astype(np.int8)
        self.prev_progress = np.where(lap, 0.0, progress)
        if to_pause.any():
            self._start_penalty(to_pause, status, result)
        ended = terminated | truncated
        self.episodes_done += ended
        if snap is not None:
            self._restore_frozen(frozen, snap)
            result = result._replace(
                steps=self.steps.copy(),
                sim_time=np.where(frozen, self.sim_time, result.sim_time),
                lap_count=self.lap_count.copy(),
                reset_count=np.where(frozen, self.reset_count, result.reset_count),
                obstacle_crash_counter=self.objects.crash_counter.copy(),
            )
        self.final_status = np.where(ended, status, self.final_status).astype(np.int8)
        self.finished |= ended
        return result

    def _start_penalty(self, mask: np.ndarray, status: np.ndarray, result: StepResult) -> None:
        """Reset cars that broke a rule while resets remain, and hold them for the penalty time."""
        cfg = self.config
        self.reset_count = self.reset_count + mask
        penalty = ep.penalty_seconds(status, cfg.off_track_penalty, cfg.collision_penalty)
        self.pause_left = np.where(mask, penalty, self.pause_left)
        self.phase = np.where(mask & (penalty > 0), PHASE_PAUSE, self.phase).astype(np.int8)
        self.immobile_count = np.where(mask, 0, self.immobile_count)
        self.reverse_count = np.where(mask, 0, self.reverse_count)
        for rev in (False, True):
            sel = np.flatnonzero(mask & (self.reverse == rev))
            if len(sel) == 0:
                continue
            track = self.tracks[int(rev)]
            x, y, yaw = self.objects.reset_pose(
                sel,
                track,
                status[sel],
                self.start_ndist[sel],
                self.prev_progress[sel],
                result.front[sel],
                cfg.reset_behind_dist,
                current=self._judged,
            )
            self._place(sel, x, y, yaw)
        self.prev_xy = np.where(mask[:, None], front_point(self.state, self.car), self.prev_xy)
