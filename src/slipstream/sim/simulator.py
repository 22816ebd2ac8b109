"""The batched DeepRacer simulator: N cars, each in its own episode, stepped together.

No Gymnasium, torch or rendering here: `Simulator.step` takes commanded steering and speed for
every car and returns a `StepResult` of arrays describing the step as DeepRacer would see it
(reward params quantities, status, done). The env layer renders sensors, calls the reward
function and handles autoreset.

Timing follows docs/deepracer.md 1.2: the quantities of step t (position, progress, status) describe
the pose *before* action t is executed; the action is then executed for 1/15 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np

from slipstream.sim import episode as ep
from slipstream.sim.car import CarParams, CarState, body_points, front_point, step_cars
from slipstream.sim.objects_world import ObjectState, ObjectWorld, StepObjects, WorldObjectsConfig
from slipstream.sim.state import PHASE_PAUSE, PHASE_PREPARE, PHASE_RUN, SimState, where_cars
from slipstream.tracks.batch import TrackBatch
from slipstream.tracks.track import Track, progress_percent


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
    track: np.ndarray  # int: the world's track slot the car drives (SimWorld)
    sim_time: np.ndarray  # s, at the decision
    pause_duration: np.ndarray  # s of penalty left (pause rows)
    steering_deg: np.ndarray  # commanded (pre-clip) steering of this step's action
    speed: np.ndarray  # commanded speed of this step's action
    lap_count: np.ndarray  # laps completed in this episode (continuous evaluation)
    reset_count: np.ndarray
    obstacle_crash_counter: np.ndarray
    objects: StepObjects | None = None  # every world's objects at the decision


@dataclass(frozen=True, eq=False)
class SimWorld:
    """The fixed part of a simulation: settings, the car's parameters, the tracks both ways and
    the objects' configuration. Only `objects.lane_rngs` changes (bot lane-change draws).

    The world holds one or more tracks ("slots"); each car drives the slot in its state's
    `track`. `tracks` lists every slot forward and reversed: slot k's forward route is
    `tracks[2k]`, its reversed one `tracks[2k + 1]` (`route_index`)."""

    config: SimConfig
    car: CarParams
    tracks: tuple[Track, ...]
    """(slot 0 forward, slot 0 reversed, slot 1 forward, ...): index with `route_index`."""
    wheel_offsets: np.ndarray
    objects: ObjectWorld

    @cached_property
    def directions(self) -> TrackBatch:
        """Every slot's two driving directions as one batch, indexed by `route_index`."""
        return TrackBatch(self.tracks)

    @property
    def num_slots(self) -> int:
        return len(self.tracks) // 2


def route_index(slot: np.ndarray, reverse: np.ndarray) -> np.ndarray:
    """Index into `SimWorld.tracks` of each car's route: its track slot in its direction."""
    return 2 * np.asarray(slot, dtype=np.int64) + np.asarray(reverse, dtype=np.int64)


class Verdict(NamedTuple):
    """The episode rules' verdict on one step, per car (`judge_step`)."""

    running: np.ndarray  # a run step (not prepare, pause, or a frozen car)
    status: np.ndarray  # int8 status reported for the step
    lap: np.ndarray  # a lap was completed
    lap_count: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    to_pause: np.ndarray  # a rule fired and resets remain: reset with penalty
    penalty: np.ndarray  # s of penalty for the step's status
    immobile_count: np.ndarray
    reverse_count: np.ndarray


def judge_step(
    cfg: SimConfig,
    old: SimState,
    steps: np.ndarray,
    progress: np.ndarray,
    crashed: np.ndarray,
    off_track: np.ndarray,
    moved: np.ndarray,
) -> Verdict:
    """DeepRacer's rules on a step (docs/deepracer.md 5.3): status, laps, end of episode or reset
    with penalty. Frozen cars report their final status and never end again."""
    frozen = old.finished
    running = (old.phase == PHASE_RUN) & ~frozen
    immobile_count, reverse_count = ep.update_counters(
        moved, progress, old.prev_progress, old.immobile_count, old.reverse_count, running
    )
    status = ep.judge(
        progress, crashed, off_track, immobile_count, reverse_count, cfg.number_of_reverse_counts
    )
    status = np.where(running, status, np.where(old.phase == PHASE_PAUSE, ep.PAUSE, ep.PREPARE))
    status = status.astype(np.int8)
    lap = (status == ep.LAP_COMPLETE) & ~frozen
    failed = running & ~lap & (status != ep.IN_PROGRESS)

    # laps: continuous evaluation keeps going until NUMBER_OF_TRIALS laps
    lap_count = old.lap_count + lap
    laps_needed = cfg.number_of_trials if cfg.is_continuous else 1
    terminated = lap & (lap_count >= laps_needed)
    # continuous evaluation: an intermediate lap is not the lap rule firing
    status = np.where(lap & ~terminated, ep.IN_PROGRESS, status).astype(np.int8)
    can_reset = old.reset_count < cfg.number_of_resets
    terminated |= failed & ~can_reset
    to_pause = failed & can_reset
    penalty = ep.penalty_seconds(status, cfg.off_track_penalty, cfg.collision_penalty)
    status = np.where(frozen, old.final_status, status).astype(np.int8)
    truncated = ~terminated & (steps >= cfg.max_steps) & ~frozen
    return Verdict(
        running,
        status,
        lap,
        lap_count,
        terminated,
        truncated,
        to_pause,
        penalty,
        immobile_count,
        reverse_count,
    )


def step_sim(
    world: SimWorld, old: SimState, steering_deg: np.ndarray, speed: np.ndarray
) -> tuple[SimState, StepResult]:
    """One control step for every car: the next state and what happened (docs/deepracer.md 1.2).

    Cars whose episode has ended (or never started) are frozen until their reset: the whole
    state of theirs is kept (`where_cars`), and their result rows say not done, not a run step,
    final status.
    """
    cfg, car = world.config, world.car
    frozen = old.finished
    steps = old.steps + 1.0
    front = front_point(old.car, car)
    q = track_quantities(world.directions, front, route_index(old.track, old.reverse))
    progress = progress_percent(q["ndist"], old.start_ndist, old.prev_progress)
    wheels_on = world.directions.on_road(
        body_points(old.car, world.wheel_offsets), route_index(old.track, False)
    )
    off_track = ~wheels_on.any(axis=1)
    crashed, objects, step_objects = world.objects.crashes(
        old.objects, old.car, q["ndist"], old.sim_time
    )

    moved = np.linalg.norm(front - old.prev_xy, axis=1)
    v = judge_step(cfg, old, steps, progress, crashed, off_track, moved)
    running, status, lap, to_pause, penalty = v.running, v.status, v.lap, v.to_pause, v.penalty
    immobile_count, reverse_count = v.immobile_count, v.reverse_count
    terminated, truncated = v.terminated, v.truncated

    # physics: running cars execute their action; prepare and pause hold the car still.
    # Cars not moving are at rest (placed so by reset and penalty), or were started with a
    # speed by `start_from`: their state is kept until their first run step
    moving = running & ~to_pause
    car_state = where_cars(moving, step_cars(old.car, steering_deg, speed, car), old.car)

    # phase changes
    pause_left = np.where(old.phase == PHASE_PAUSE, old.pause_left - car.dt, 0.0)
    resume = (old.phase == PHASE_PAUSE) & (pause_left <= 1e-9)
    phase = np.where(old.phase == PHASE_PREPARE, PHASE_RUN, old.phase)
    phase = np.where(resume, PHASE_RUN, phase).astype(np.int8)
    prev_progress = np.where(lap, 0.0, progress)
    prev_xy = front
    reset_count = old.reset_count
    if to_pause.any():  # reset with penalty: back on the track and held for the penalty time
        reset_count = reset_count + to_pause
        pause_left = np.where(to_pause, penalty, pause_left)
        phase = np.where(to_pause & (penalty > 0), PHASE_PAUSE, phase).astype(np.int8)
        immobile_count = np.where(to_pause, 0, immobile_count)
        reverse_count = np.where(to_pause, 0, reverse_count)
        car_state = penalty_poses(
            world, car_state, old, objects, to_pause, status, front, prev_progress
        )
        prev_xy = np.where(to_pause[:, None], front_point(car_state, car), prev_xy)
    ended = terminated | truncated
    stepped = old._replace(
        car=car_state,
        steps=steps,
        phase=phase,
        prev_progress=prev_progress,
        immobile_count=immobile_count,
        reverse_count=reverse_count,
        lap_count=v.lap_count,
        reset_count=reset_count,
        pause_left=pause_left,
        sim_time=old.sim_time + car.dt,
        prev_xy=prev_xy,
        episodes_done=old.episodes_done + ended,
        objects=objects,
    )
    new = where_cars(~frozen, stepped, old)
    new = new._replace(
        final_status=np.where(ended, status, old.final_status).astype(np.int8),
        finished=old.finished | ended,
    )
    result = step_result(
        old, new, v, front, progress, q, wheels_on, crashed, steering_deg, speed, step_objects
    )
    return new, result


def step_result(
    old: SimState,
    new: SimState,
    v: Verdict,
    front: np.ndarray,
    progress: np.ndarray,
    q: dict[str, np.ndarray],
    wheels_on: np.ndarray,
    crashed: np.ndarray,
    steering_deg: np.ndarray,
    speed: np.ndarray,
    step_objects: StepObjects,
) -> StepResult:
    """What a step reports: quantities of the pose before the action (`old`), the verdict, and
    the counters as the next state (`new`) holds them."""
    status, to_pause, penalty = v.status, v.to_pause, v.penalty
    return StepResult(
        status=status,
        terminated=v.terminated,
        truncated=v.truncated,
        phase_was_run=v.running,
        steps=new.steps.copy(),
        front=front,
        heading_deg=np.degrees(old.car.yaw),
        progress=progress,
        ndist=q["ndist"],
        projection_distance=q["projection_distance"],
        distance_from_center=q["distance_from_center"],
        is_left_of_center=q["is_left_of_center"],
        track_width=q["track_width"],
        closest_prev=q["closest_prev"],
        closest_next=q["closest_next"],
        all_wheels_on_track=wheels_on.all(axis=1),
        is_offtrack=~wheels_on.any(axis=1),
        is_crashed=crashed & (status == ep.CRASHED),
        is_reversed=old.reverse.copy(),
        track=old.track.copy(),
        sim_time=old.sim_time.copy(),
        # the row where a rule fires already shows the whole penalty, as DeepRacer writes it
        pause_duration=np.where(
            to_pause, penalty, np.where(old.phase == PHASE_PAUSE, old.pause_left, 0.0)
        ),
        steering_deg=steering_deg,
        speed=speed,
        lap_count=new.lap_count.copy(),
        reset_count=old.reset_count + to_pause,
        obstacle_crash_counter=new.objects.crash_counter.copy(),
        objects=step_objects,
    )


def penalty_poses(
    world: SimWorld,
    car_state: CarState,
    old: SimState,
    objects: ObjectState,
    mask: np.ndarray,
    status: np.ndarray,
    front: np.ndarray,
    prev_progress: np.ndarray,
) -> CarState:
    """The cars in `mask` (that broke a rule while resets remain) placed at rest where DeepRacer
    resets them (`ObjectWorld.reset_pose`), each on its own route."""
    routes = route_index(old.track, old.reverse)
    for route in np.unique(routes[mask]).tolist():
        sel = np.flatnonzero(mask & (routes == route))
        x, y, yaw = world.objects.reset_pose(
            objects,
            sel,
            world.tracks[route],
            status[sel],
            old.start_ndist[sel],
            prev_progress[sel],
            front[sel],
            world.config.reset_behind_dist,
            current=old.car,
        )
        car_state = place(car_state, sel, x, y, yaw)
    return car_state


def place(
    state: CarState,
    cars: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    yaw: np.ndarray,
    speed: np.ndarray | float = 0.0,
    steer: np.ndarray | float = 0.0,
) -> CarState:
    """The given cars put at poses (x, y, yaw), one per car, at rest unless given a forward
    speed and steering angle (rad); no sideways slip, no yaw rate."""
    arrays = [np.array(a) for a in state]
    for array, value in zip(arrays, (x, y, yaw, speed, steer, 0.0, 0.0), strict=True):
        array[cars] = value
    return CarState(*arrays)


def track_quantities(
    directions: TrackBatch, front: np.ndarray, which: np.ndarray
) -> dict[str, np.ndarray]:
    """DeepRacer's track quantities for the front points, each measured on the centre line of
    its car's route (`which`: index into `directions`, its track in its driving direction), as
    DeepRacer projects onto the reversed ring when driving in reverse (docs/tracks.md, waypoint
    ties)."""
    which = np.asarray(which, dtype=np.int64)
    proj = directions.project(front, which)
    prev, nxt = directions.closest_waypoints(proj.ndist, which)
    return {
        "ndist": proj.ndist,
        "projection_distance": proj.ndist * directions.length[which],
        "distance_from_center": proj.distance,
        "is_left_of_center": directions.is_left_of_center(front, which),
        "track_width": directions.local_width(proj, which),
        "closest_prev": prev,
        "closest_next": nxt,
    }


def default_seeds(num_cars: int) -> list[int]:
    """The seeds cars draw from until `seed` is called: car i draws from seed i."""
    return list(range(num_cars))


class Simulator:
    """N independent DeepRacer episodes stepped in one batch: a holder of the current
    `SimState` (`current`), the fixed `SimWorld` and each car's random generator.

    The world holds one track or several ("slots"); each car drives the slot its state names
    (car i starts on slot i mod slots; `reset(..., slots=)` picks others for new episodes), so
    cars of one batch may each drive a different track. `set_track` puts another track in a slot (e.g. a fresh generated track)
    for the episodes that start after it. Obstacles and bot cars need a world of one track.

    Per-car randomness (start lanes, obstacle placement, bot lane changes) comes from one
    `np.random.Generator` per car, so car i of a batch seeded with seeds[i] behaves exactly like a
    single-car simulator seeded with seeds[i].
    """

    def __init__(
        self,
        track: Track | Sequence[Track],
        num_cars: int,
        config: SimConfig | None = None,
        car: CarParams | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.car = car or CarParams()
        self.num_cars = num_cars
        slots = [track] if isinstance(track, Track) else list(track)
        if not slots:
            raise ValueError("a Simulator needs at least one track")
        # each slot keeps its track in file order; the per-car `reverse` flag picks the direction,
        # and a slot given a reversed Track is driven reversed (XOR REVERSE_DIR)
        self.slot_reversed = [t.is_reversed for t in slots]
        self.slots = [t.reversed() if t.is_reversed else t for t in slots]
        self.track = self.slots[0]
        self.objects = ObjectWorld(self.track, num_cars, self.config.objects, self.car)
        self._check_objects()
        self.world = self._make_world()
        self.rngs = [np.random.default_rng(s) for s in default_seeds(num_cars)]
        self.start_base = np.array([rng.uniform() for rng in self.rngs])
        self.start_offsets = np.zeros(num_cars)
        """Per-car start offsets (fraction of the lap) added to START_POSITION_OFFSET."""
        n = num_cars
        self.current = SimState(
            car=CarState.at_rest(np.zeros(n), np.zeros(n), np.zeros(n)),
            steps=np.zeros(n),
            phase=np.full(n, PHASE_PREPARE, dtype=np.int8),
            prev_progress=np.zeros(n),
            immobile_count=np.zeros(n, dtype=np.int64),
            reverse_count=np.zeros(n, dtype=np.int64),
            lap_count=np.zeros(n, dtype=np.int64),
            reset_count=np.zeros(n, dtype=np.int64),
            pause_left=np.zeros(n),
            sim_time=np.zeros(n),
            prev_xy=np.zeros((n, 2)),
            reverse=np.full(n, self.config.reverse_dir),
            track=np.arange(n, dtype=np.int64) % len(self.slots),  # cars spread over the slots
            start_ndist=np.zeros(n),
            episodes_done=np.zeros(n, dtype=np.int64),
            finished=np.ones(n, dtype=bool),
            final_status=np.full(n, ep.PREPARE, dtype=np.int8),
            objects=self.objects.initial(),
        )

    def _make_world(self) -> SimWorld:
        routes = tuple(route for t in self.slots for route in (t, t.reversed()))
        return SimWorld(self.config, self.car, routes, self.car.wheel_offsets(), self.objects)

    def _check_objects(self) -> None:
        if len(self.slots) > 1 and self.objects.count:
            raise ValueError(
                "obstacles and bot cars need every car on one track: use one track for "
                "OBJECT_AVOIDANCE and HEAD_TO_BOT, or set NUMBER_OF_OBSTACLES and "
                "NUMBER_OF_BOT_CARS to 0"
            )

    @property
    def tracks(self) -> tuple[Track, ...]:
        """Every slot's routes (`SimWorld.tracks`): slot k forward at 2k, reversed at 2k + 1."""
        return self.world.tracks

    def set_track(self, slot: int, track: Track) -> None:
        """Put `track` in `slot` (a new slot when `slot` == the number of slots) for episodes
        started after this; cars in an episode on that slot must not be stepped until reset."""
        if not 0 <= slot <= len(self.slots):
            raise ValueError(f"slot must be 0..{len(self.slots)}, got {slot}")
        flip = track.is_reversed
        track = track.reversed() if flip else track
        if slot == len(self.slots):
            self.slots.append(track)
            self.slot_reversed.append(flip)
        else:
            self.slots[slot] = track
            self.slot_reversed[slot] = flip
        self._check_objects()
        if slot == 0:
            self.track = track
        self.world = self._make_world()

    def track_of(self, cars: np.ndarray | None = None) -> list[Track]:
        """The track (file order) each car drives (all cars by default)."""
        slots = self.current.track if cars is None else self.current.track[cars]
        return [self.slots[k] for k in slots.tolist()]

    # the parts of the current state other layers read
    @property
    def state(self) -> CarState:
        """The cars' physical state."""
        return self.current.car

    @property
    def finished(self) -> np.ndarray:
        return self.current.finished

    @property
    def episodes_done(self) -> np.ndarray:
        return self.current.episodes_done

    @property
    def start_ndist(self) -> np.ndarray:
        return self.current.start_ndist

    @property
    def prev_progress(self) -> np.ndarray:
        return self.current.prev_progress

    @property
    def reset_count(self) -> np.ndarray:
        return self.current.reset_count

    @property
    def reverse(self) -> np.ndarray:
        return self.current.reverse

    @property
    def sim_time(self) -> np.ndarray:
        return self.current.sim_time

    # ----------------------------------------------------------------- episode bookkeeping

    def seed(self, seeds: list[int]) -> None:
        """One generator per car; also restarts each car's round robin."""
        self.rngs = [np.random.default_rng(s) for s in seeds]
        self.current = self.current._replace(episodes_done=np.zeros(self.num_cars, dtype=np.int64))
        self.start_base = np.array([rng.uniform() for rng in self.rngs])

    def _initial_start_ndist(self, index: np.ndarray) -> np.ndarray:
        cfg = self.config
        offset = cfg.start_position_offset + self.start_offsets[index]
        if cfg.change_start_position and cfg.training:
            if cfg.spread_start_positions:
                offset = offset + self.start_base[index]
            offset = offset + self.current.episodes_done[index] * cfg.round_robin_advance_dist
        return np.mod(offset, 1.0)

    def reset(self, mask: np.ndarray | None = None, slots: np.ndarray | None = None) -> None:
        """Start a new episode for the cars in mask (all by default), at rest on the start line;
        `slots`: the track slot of each of those cars (default: the one each drove last)."""
        cfg = self.config
        idx = np.arange(self.num_cars) if mask is None else np.flatnonzero(mask)
        if len(idx) == 0:
            return
        s = self.current
        track = s.track.copy()
        if slots is not None:
            track[idx] = np.broadcast_to(np.asarray(slots, dtype=np.int64), idx.shape)
            if track.min() < 0 or track.max() >= len(self.slots):
                raise ValueError(f"track slots must be 0..{len(self.slots) - 1}, got {slots}")
        reverse = s.reverse.copy()
        reverse[idx] = cfg.reverse_dir ^ np.array(self.slot_reversed)[track[idx]]
        if cfg.alternate_driving_direction and cfg.training:
            reverse[idx] ^= s.episodes_done[idx] % 2 == 1
        start_ndist = s.start_ndist.copy()
        start_ndist[idx] = self._initial_start_ndist(idx)
        car_state, objects = s.car, s.objects
        routes = route_index(track, reverse)
        for route in np.unique(routes[idx]).tolist():
            sel = idx[routes[idx] == route]
            road = self.world.tracks[route]
            objects = self.objects.reset(objects, sel, road, [self.rngs[i] for i in sel])
            arc = start_ndist[sel] * road.length
            lane, arc = self.objects.start_position(objects, sel, arc, road, cfg.training)
            xy, yaw = road.point_at(arc)
            lane_xy = road.lane_point_at(arc, lane)
            xy = np.where((lane != 0)[:, None], lane_xy, xy)
            car_state = place(car_state, sel, xy[:, 0], xy[:, 1], yaw)
        fresh = np.zeros(self.num_cars, dtype=bool)
        fresh[idx] = True

        def zero(a: np.ndarray) -> np.ndarray:
            return np.where(fresh, 0, a).astype(a.dtype)

        self.current = s._replace(
            car=car_state,
            steps=zero(s.steps),
            phase=np.where(fresh, PHASE_PREPARE, s.phase).astype(np.int8),
            prev_progress=zero(s.prev_progress),
            immobile_count=zero(s.immobile_count),
            reverse_count=zero(s.reverse_count),
            lap_count=zero(s.lap_count),
            reset_count=zero(s.reset_count),
            pause_left=zero(s.pause_left),
            sim_time=zero(s.sim_time),
            prev_xy=np.where(fresh[:, None], front_point(car_state, self.car), s.prev_xy),
            reverse=reverse,
            track=track,
            start_ndist=start_ndist,
            finished=s.finished & ~fresh,
            objects=objects,
        )

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
        s = self.current
        base = front - self.car.front_point_x * np.stack([np.cos(yaw), np.sin(yaw)], axis=1)
        steer = self.car.hinge_from_command(
            np.radians(
                np.clip(steering_deg, -self.car.max_steering_deg, self.car.max_steering_deg)
            ),
            self.car.dynamics_vector(),
        )
        car_state = place(s.car, cars, base[:, 0], base[:, 1], yaw, speed, steer)
        start_ndist = s.start_ndist.copy()
        routes = route_index(s.track[cars], s.reverse[cars])
        start_ndist[cars] = self.world.directions.project(front, routes).ndist
        prev_xy = s.prev_xy.copy()
        prev_xy[cars] = front
        self.current = s._replace(car=car_state, start_ndist=start_ndist, prev_xy=prev_xy)

    # ----------------------------------------------------------------- geometry

    def lap_position(self, points: np.ndarray) -> np.ndarray:
        """DeepRacer's ndist of points (one per car) in each car's driving direction."""
        routes = route_index(self.current.track, self.current.reverse)
        return self.world.directions.project(points, routes).ndist

    def objects_now(self) -> StepObjects:
        """The objects of every car's world at the current sim time (for the sensors)."""
        s = self.current
        return self.objects.place(
            s.objects, s.car, self.lap_position(front_point(s.car, self.car)), s.sim_time
        )

    # ----------------------------------------------------------------- step

    def step(self, steering_deg: np.ndarray, speed: np.ndarray) -> StepResult:
        """One control step for every car (`step_sim`). Commands are DeepRacer action values
        (pre-clip)."""
        steering_deg = np.asarray(steering_deg, dtype=np.float64).reshape(self.num_cars)
        speed = np.asarray(speed, dtype=np.float64).reshape(self.num_cars)
        self.current, result = step_sim(self.world, self.current, steering_deg, speed)
        return result
