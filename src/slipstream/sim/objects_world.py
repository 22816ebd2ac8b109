"""The objects of each car's world — obstacles, bot cars, other racecars — for the simulator.

`ObjectWorld` keeps per-car object state (arrays (N, K, ...): every car has its own copy of its
world's objects, so cars in independent episodes have independent obstacles) and answers the
simulator's questions each step: where the objects are, whether a car crashed, where a car
restarts after a rule fired, and the object keys of the reward params.

Object order in every per-car list (and so in `objects_location`): obstacles, bot cars, then
the other racecars of the same world (head-to-head), as DeepRacer lists them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

import numpy as np

from slipstream.sim.bots import (
    BotCarConfig,
    BotCars,
    LaneSplines,
    bot_distances,
    bot_poses,
    bots_hit,
    reset_bots,
    update_lane_changes,
)
from slipstream.sim.car import CarParams, CarState
from slipstream.sim.collision import (
    bots_hitting_car_ahead,
    crash_counts,
    crash_matrix,
    rectangle_corners,
)
from slipstream.sim.object_params import object_reward_quantities
from slipstream.sim.objects import (
    INNER_LANE,
    OUTER_LANE,
    ObstacleConfig,
    Obstacles,
    obstacle_reset_poses,
    place_obstacles,
)
from slipstream.tracks.track import Track

START_OBJECT_GAP = 1.0
"""Training starts on the other lane when an object is this close (m) along the centre line."""
GRID_SPACING = 0.75
"""Head-to-head starting grid: racecar i starts i * 0.75 m behind the line (START_POS_OFFSET)."""
CAR_HEIGHT = 0.2


@dataclass(frozen=True)
class WorldObjectsConfig:
    """Obstacles, bot cars, and racecars per world (head-to-head). Empty = time trial."""

    obstacles: ObstacleConfig = field(default_factory=ObstacleConfig)
    bots: BotCarConfig = field(default_factory=BotCarConfig)
    cars_per_world: int = 1

    @property
    def count(self) -> int:
        return self.obstacles.count + self.bots.number_of_bot_cars + self.cars_per_world - 1


class StepObjects(NamedTuple):
    """All objects of every car's world at one instant; arrays (N, K, ...)."""

    poses: np.ndarray  # (N,K,3) x, y, yaw
    lengths: np.ndarray
    widths: np.ndarray
    heights: np.ndarray
    ndist: np.ndarray  # lap position in the car's driving direction
    is_static: np.ndarray
    is_bot: np.ndarray
    owner: np.ndarray  # index of the racecar an object is (-1 for obstacles and bots)


class ObjectState(NamedTuple):
    """The per-car object state an episode changes (part of `slipstream.sim.state.SimState`)."""

    obstacles: Obstacles
    """Placed at each reset; (N, K_obstacles, ...)."""
    obstacle_ndist: np.ndarray
    """(N, K_obstacles) lap position of each obstacle."""
    bots: BotCars | None
    """Bot cars (None without any)."""
    reverse: np.ndarray
    """bool (N,): the direction the world's objects were placed for."""
    crash_counter: np.ndarray
    """Crashes into static obstacles this episode (reward param `obstacle_crash_counter`)."""
    last_crash_object: np.ndarray
    """Index of the object the car crashed into at the last step (-1: none)."""


class ObjectWorld:
    """The fixed part of N cars' object worlds on one track: configuration, lane splines, who
    races whom, and each world's bot lane-change generator. Its methods read and return
    `ObjectState` values; `lane_rngs` is the only thing they advance."""

    def __init__(self, track: Track, num_cars: int, config: WorldObjectsConfig, car: CarParams):
        self.tracks = (track, track.reversed())
        self.config = config
        self.car = car
        self.num_cars = num_cars
        n = num_cars
        self.k_obstacles = config.obstacles.count
        self.k_bots = config.bots.number_of_bot_cars
        self.k_peers = config.cars_per_world - 1
        if n % config.cars_per_world:
            raise ValueError(
                f"{n} cars do not split into worlds of {config.cars_per_world} racecars"
            )
        self.splines = None
        if self.k_bots:
            self.splines = tuple(LaneSplines.from_track(t) for t in self.tracks)
        world = np.arange(n) // config.cars_per_world
        peers = [
            [j for j in range(w * config.cars_per_world, (w + 1) * config.cars_per_world) if j != i]
            for i, w in enumerate(world)
        ]
        self.peers = np.array(peers, dtype=np.int64).reshape(n, self.k_peers)
        self.lane_rngs = [np.random.default_rng(i) for i in range(n)]
        """Each car's world draws its bot cars' lane-change times from its own generator,
        reseeded from the car's generator at each reset."""

    @property
    def count(self) -> int:
        return self.config.count

    def initial(self) -> ObjectState:
        """The objects before any reset (placed from a fixed seed)."""
        track, n = self.tracks[0], self.num_cars
        rng = np.random.default_rng(0)
        obstacles = place_obstacles(track, self.config.obstacles, rng, n)
        bots = reset_bots(track, self.config.bots, rng, n) if self.k_bots else None
        return ObjectState(
            obstacles=obstacles,
            obstacle_ndist=obstacles.dists / track.length,
            bots=bots,
            reverse=np.zeros(n, dtype=bool),
            crash_counter=np.zeros(n, dtype=np.int64),
            last_crash_object=np.full(n, -1, dtype=np.int64),
        )

    # ------------------------------------------------------------------ episodes

    def reset(
        self, objects: ObjectState, cars: np.ndarray, track: Track, rngs: list[np.random.Generator]
    ) -> ObjectState:
        """Objects for a new episode of the given cars (all driving on `track`)."""
        obstacles = dataclasses.replace(
            objects.obstacles,
            **{f.name: getattr(objects.obstacles, f.name).copy() for f in fields(Obstacles)},
        )
        obstacle_ndist = objects.obstacle_ndist.copy()
        bots = objects.bots
        if self.k_bots:
            bots = dataclasses.replace(
                bots,
                **{
                    f.name: getattr(bots, f.name).copy()
                    for f in fields(BotCars)
                    if isinstance(getattr(bots, f.name), np.ndarray)
                },
            )
        crash_counter = objects.crash_counter.copy()
        last_crash_object = objects.last_crash_object.copy()
        reverse = objects.reverse.copy()
        crash_counter[cars] = 0
        last_crash_object[cars] = -1
        reverse[cars] = track.is_reversed
        for i, rng in zip(cars.tolist(), rngs, strict=True):
            if self.k_obstacles:
                placed = place_obstacles(track, self.config.obstacles, rng, 1)
                for f in fields(Obstacles):
                    getattr(obstacles, f.name)[i] = getattr(placed, f.name)[0]
                obstacle_ndist[i] = placed.dists[0] / track.length
            if self.k_bots:
                self.lane_rngs[i] = np.random.default_rng(rng.integers(2**63))
                fresh = reset_bots(track, self.config.bots, rng, 1)
                for f in fields(BotCars):
                    value = getattr(fresh, f.name)
                    if isinstance(value, np.ndarray):
                        getattr(bots, f.name)[i] = value[0]
        return ObjectState(
            obstacles, obstacle_ndist, bots, reverse, crash_counter, last_crash_object
        )

    def start_position(
        self,
        objects: ObjectState,
        cars: np.ndarray,
        arc: np.ndarray,
        track: Track,
        training: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(lane, arc) to start at: lane 0 centre, +1 inner, -1 outer.

        Head-to-head: racecar i of a world starts 0.75 m * i behind the line, even slots on the
        outer lane, odd on the inner (DeepRacer's grid).

        Training: when an obstacle or bot lies within 1 m of the start along the centre line,
        start on the lane opposite to it (docs/deepracer.md 5.3).
        """
        lane = np.zeros(len(cars))
        if self.k_peers:
            slot = cars % self.config.cars_per_world
            grid_lane = np.where(slot % 2 == 0, OUTER_LANE, INNER_LANE).astype(float)
            return grid_lane, arc - GRID_SPACING * slot
        if not training or not (self.k_obstacles or self.k_bots):
            return lane, arc
        dists, lanes = [], []
        if self.k_obstacles:
            dists.append(objects.obstacles.dists[cars])
            lanes.append(objects.obstacles.lanes[cars])
        if self.k_bots:
            dists.append(bot_distances(objects.bots, 0.0)[cars])
            lanes.append(objects.bots.lane[cars])
        d = np.concatenate(dists, axis=1)
        ln = np.concatenate(lanes, axis=1).astype(float)
        gap = np.abs(d - arc[:, None])
        if track.closed:
            gap = np.minimum(gap, track.length - gap)
        near = gap < START_OBJECT_GAP
        first = np.argmax(near, axis=1)
        blocked = near.any(axis=1)
        return np.where(blocked, -ln[np.arange(len(cars)), first], lane), arc

    # ------------------------------------------------------------------ per step

    def place(
        self, objects: ObjectState, state: CarState, ndist: np.ndarray, sim_time: np.ndarray
    ) -> StepObjects:
        """Objects of every car's world at sim_time, the cars at `state` (lap positions `ndist`).
        Pure placement: the per-step state changes (lane changes, bot pauses) happen in
        `crashes`."""
        n = self.num_cars
        parts_pose, parts_len, parts_wid, parts_hgt, parts_nd, parts_kind, parts_owner = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        if self.k_obstacles:
            o = objects.obstacles
            parts_pose.append(o.poses)
            parts_len.append(o.lengths)
            parts_wid.append(o.widths)
            parts_hgt.append(o.heights)
            parts_nd.append(objects.obstacle_ndist)
            parts_kind.append(np.zeros((n, self.k_obstacles), dtype=np.int8))
            parts_owner.append(np.full((n, self.k_obstacles), -1))
        if self.k_bots:
            bots = objects.bots
            fwd = bot_poses(bots, self.splines[0], sim_time)
            rev = bot_poses(bots, self.splines[1], sim_time)
            parts_pose.append(np.where(objects.reverse[:, None, None], rev, fwd))
            parts_len.append(bots.lengths)
            parts_wid.append(bots.widths)
            parts_hgt.append(np.full((n, self.k_bots), CAR_HEIGHT))
            parts_nd.append(bot_distances(bots, sim_time) / self.tracks[0].length)
            parts_kind.append(np.ones((n, self.k_bots), dtype=np.int8))
            parts_owner.append(np.full((n, self.k_bots), -1))
        if self.k_peers:
            poses = np.stack([state.x, state.y, state.yaw], axis=1)
            parts_pose.append(poses[self.peers])
            parts_len.append(np.full((n, self.k_peers), self.car.body_length))
            parts_wid.append(np.full((n, self.k_peers), self.car.body_width))
            parts_hgt.append(np.full((n, self.k_peers), CAR_HEIGHT))
            parts_nd.append(ndist[self.peers])
            parts_kind.append(np.full((n, self.k_peers), 2, dtype=np.int8))
            parts_owner.append(self.peers)
        if not parts_pose:
            empty = np.zeros((n, 0))
            return StepObjects(
                np.zeros((n, 0, 3)),
                empty,
                empty,
                empty,
                empty,
                empty.astype(bool),
                empty.astype(bool),
                empty.astype(np.int64),
            )
        kind = np.concatenate(parts_kind, axis=1)
        return StepObjects(
            poses=np.concatenate(parts_pose, axis=1),
            lengths=np.concatenate(parts_len, axis=1),
            widths=np.concatenate(parts_wid, axis=1),
            heights=np.concatenate(parts_hgt, axis=1),
            ndist=np.concatenate(parts_nd, axis=1),
            is_static=kind == 0,
            is_bot=kind == 1,
            owner=np.concatenate(parts_owner, axis=1),
        )

    def crashes(
        self, objects: ObjectState, state: CarState, ndist: np.ndarray, sim_time: np.ndarray
    ) -> tuple[np.ndarray, ObjectState, StepObjects]:
        """Whether each car's crash counts this step (docs/deepracer.md 5.3), the objects' state after
        it (bots that ran into a car ahead of them pause) and where the objects were."""
        bots = objects.bots
        if self.k_bots:  # once per step, before the objects are placed for it
            bots = update_lane_changes(bots, self.lane_rngs, sim_time)
            objects = objects._replace(bots=bots)
        objs = self.place(objects, state, ndist, sim_time)
        if objs.poses.shape[1] == 0:
            return np.zeros(self.num_cars, dtype=bool), objects, objs
        car_poses = np.stack([state.x, state.y, state.yaw], axis=1)
        valid = np.ones(objs.is_static.shape, dtype=bool)
        hit = crash_matrix(
            car_poses,
            objs.poses,
            objs.lengths,
            objs.widths,
            valid,
            self.car.body_length,
            self.car.body_width,
        )
        closed = self.tracks[0].closed
        counted = crash_counts(hit, ndist, objs.ndist, objs.is_static, closed)
        if self.k_bots:
            hitting = bots_hitting_car_ahead(hit, ndist, objs.ndist, objs.is_bot, closed)
            lo = self.k_obstacles
            bots = bots_hit(bots, hitting[:, lo : lo + self.k_bots], sim_time)
        crashed = counted.any(axis=1)
        last_crash_object = np.where(crashed, np.argmax(counted, axis=1), -1)
        static_crash = crashed & objs.is_static[np.arange(self.num_cars), last_crash_object]
        objects = objects._replace(
            bots=bots,
            last_crash_object=last_crash_object,
            crash_counter=objects.crash_counter + static_crash,
        )
        return crashed, objects, objs

    def reward_quantities(
        self, objs: StepObjects | None, result, object_in_camera=None
    ) -> dict[str, np.ndarray] | None:
        """Object keys of the reward params for each car (None: no objects in any world);
        `objs`: the objects of the step (`StepResult.objects`).

        `object_in_camera(poses (N,3), next_object_xy (N,2)) -> (N,) bool` is supplied by the
        env's sensors (the camera frustum lives in the render layer).
        """
        if objs is None or objs.poses.shape[1] == 0:
            return None
        speed = self.config.bots.bot_car_speed if self.k_bots else 0.0
        valid = np.ones(objs.is_static.shape, dtype=bool)
        out: dict[str, Any] = {}
        for rev in (False, True):
            sel = np.flatnonzero(result.is_reversed == rev)
            if len(sel) == 0:
                continue
            q = object_reward_quantities(
                self.tracks[int(rev)],
                result.front[sel],
                result.ndist[sel],
                objs.poses[sel],
                valid[sel],
                np.full(valid[sel].shape, speed),
                np.full(valid[sel].shape, bool(self.k_bots)),
            )
            for key, value in q.items():
                if key not in out:
                    out[key] = np.zeros((self.num_cars, *value.shape[1:]), dtype=value.dtype)
                out[key][sel] = value
        nxt = out["closest_objects"][:, 1]
        if object_in_camera is not None:
            heading = np.radians(result.heading_deg)
            ahead = self.car.front_point_x * np.column_stack([np.cos(heading), np.sin(heading)])
            poses = np.column_stack([result.front - ahead, heading])  # base_link poses
            rows = np.arange(self.num_cars)
            corners = rectangle_corners(
                objs.poses[rows, nxt], objs.lengths[rows, nxt], objs.widths[rows, nxt]
            )  # (N, 4, 2): the next object's footprint intersects the frustum
            out["object_in_camera"] = object_in_camera(poses, corners).any(axis=1)
        else:
            out["object_in_camera"] = np.zeros(self.num_cars, dtype=bool)
        return out

    def reset_pose(
        self,
        objects: ObjectState,
        cars: np.ndarray,
        track: Track,
        status: np.ndarray,
        start_ndist: np.ndarray,
        prev_progress: np.ndarray,
        front: np.ndarray,
        reset_behind_dist: float,
        current: CarState | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pose (x, y, yaw) after a reset with penalty (docs/deepracer.md 5.3).

        Off track, reversed, immobilized: at the last progress point, on whichever lane (inner or
        outer) is nearer the car. DeepRacer measures that point as prev_progress * L from
        waypoint 0; Slipstream measures it from the episode's start line, which is the same when
        the start is waypoint 0 (as in evaluation) and right otherwise.
        Crash into an obstacle: RESET_BEHIND_DIST behind it on the other lane. Crash into a bot
        or another racecar: the car stays where it is (it is only held for the penalty).
        """
        from slipstream.sim import episode as ep

        arc = (start_ndist + prev_progress / 100.0) * track.length
        inner = track.lane_point_at(arc, 1.0)
        outer = track.lane_point_at(arc, -1.0)
        use_inner = np.linalg.norm(inner - front, axis=1) <= np.linalg.norm(outer - front, axis=1)
        xy = np.where(use_inner[:, None], inner, outer)
        _, yaw = track.point_at(arc)
        x, y = xy[:, 0], xy[:, 1]
        crashed = status == ep.CRASHED
        if crashed.any():
            obj = objects.last_crash_object[cars]
            static = crashed & (obj >= 0) & (obj < self.k_obstacles)
            if static.any():
                k = np.where(static, obj, 0)
                behind = obstacle_reset_poses(
                    track,
                    objects.obstacles.dists[cars, k],
                    objects.obstacles.lanes[cars, k],
                    offset=-reset_behind_dist,
                )
                x = np.where(static, behind[:, 0], x)
                y = np.where(static, behind[:, 1], y)
                yaw = np.where(static, behind[:, 2], yaw)
            moving = crashed & ~static
            if moving.any() and current is not None:
                x = np.where(moving, current.x[cars], x)
                y = np.where(moving, current.y[cars], y)
                yaw = np.where(moving, current.yaw[cars], yaw)
        return x, y, yaw
