"""The objects of each car's world — obstacles, bot cars — as seen by the simulator.

`ObjectWorld` keeps per-car object state (arrays (N, K, ...)) and answers the simulator's
questions: where objects are now, whether a car crashed, where a car restarts after a rule fired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slipstream.sim.car import CarParams, CarState
from slipstream.tracks.track import Track


@dataclass(frozen=True)
class WorldObjectsConfig:
    """Obstacle and bot-car settings (RoboMaker YAML keys, lower case). Empty = time trial."""

    number_of_obstacles: int = 0
    number_of_bot_cars: int = 0


class ObjectWorld:
    """Objects of N independent worlds on one track (time trial: none)."""

    def __init__(self, track: Track, num_cars: int, config: WorldObjectsConfig, car: CarParams):
        self.track = track
        self.config = config
        self.car = car
        self.num_cars = num_cars
        self.crash_counter = np.zeros(num_cars, dtype=np.int64)

    @property
    def count(self) -> int:
        return 0

    def reset(self, cars: np.ndarray, track: Track, rngs: list[np.random.Generator]) -> None:
        """Place objects for a new episode of the given cars."""
        self.crash_counter[cars] = 0

    def start_lane(
        self, cars: np.ndarray, arc: np.ndarray, track: Track, training: bool
    ) -> np.ndarray:
        """Lane to start on (0 centre, +1 inner, -1 outer)."""
        return np.zeros(len(cars))

    def crashes(
        self, state: CarState, ndist: np.ndarray, sim_time: np.ndarray, reverse: np.ndarray
    ) -> np.ndarray:
        """Whether each car crashed into an object this step (crash rule of DEEPRACER.md 5.3)."""
        return np.zeros(self.num_cars, dtype=bool)

    def reset_pose(
        self,
        cars: np.ndarray,
        track: Track,
        status: np.ndarray,
        start_ndist: np.ndarray,
        prev_progress: np.ndarray,
        front: np.ndarray,
        reset_behind_dist: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pose (x, y, yaw) after a reset with penalty.

        Off track, reversed, immobilized: at the last progress point, on whichever lane (inner or
        outer) is nearer the car. DeepRacer measures that point as prev_progress * L from
        waypoint 0; Slipstream measures it from the episode's start line, which is the same when
        the start is waypoint 0 (as in evaluation) and right otherwise.
        """
        arc = (start_ndist + prev_progress / 100.0) * track.length
        inner = track.lane_point_at(arc, 1.0)
        outer = track.lane_point_at(arc, -1.0)
        use_inner = np.linalg.norm(inner - front, axis=1) <= np.linalg.norm(outer - front, axis=1)
        xy = np.where(use_inner[:, None], inner, outer)
        _, yaw = track.point_at(arc)
        del status  # obstacle crashes use the same rule until obstacles are placed
        return xy[:, 0], xy[:, 1], yaw
