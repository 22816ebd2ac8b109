"""`DeepRacerCore`: the simulator, the model's sensors and the user's reward function, batched.

Both Gymnasium adapters (`DeepRacerEnv` for one car, `DeepRacerVectorEnv` for N) are thin layers
over this class, so one car of a batch and a single env run exactly the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from os import PathLike
from typing import Any

import numpy as np

from slipstream.config.errors import RewardFunctionError
from slipstream.config.model_metadata import ModelMetadata, load_model_metadata
from slipstream.config.reward_function import RewardFunction, as_reward_function
from slipstream.config.world import WorldConfig
from slipstream.env.sensors import SensorSuite
from slipstream.env.start_options import parse_start_options
from slipstream.env.world_settings import resolve_world, sim_config
from slipstream.render.augment import AugmentSpec
from slipstream.sim import episode as ep
from slipstream.sim.actions import ActionTable
from slipstream.sim.car import car_for_simapp, front_point
from slipstream.sim.params import WaypointLists, build_reward_params
from slipstream.sim.simulator import Simulator, StepResult, default_seeds, route_index
from slipstream.tracks import Track, load_track
from slipstream.tracks.registry import DEFAULT_TRACK


def resolve_model_metadata(
    model_metadata: str | PathLike | dict | ModelMetadata | None,
) -> ModelMetadata:
    if isinstance(model_metadata, ModelMetadata):
        return model_metadata
    return load_model_metadata(model_metadata)


@dataclass
class CoreStep:
    """One batched step: observations after the action, rewards and DeepRacer's view of the step."""

    obs: dict[str, np.ndarray]
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    result: StepResult
    params: list[dict[str, Any]]
    status: list[str]


class DeepRacerCore:
    """N cars with the sensors and reward function of one model, on one track or on several
    (`tracks`: one per slot; each car drives the slot `reset` gives it)."""

    def __init__(
        self,
        num_cars: int,
        track: str | PathLike | Track | Sequence[str | PathLike | Track] = DEFAULT_TRACK,
        model_metadata: str | PathLike | dict | ModelMetadata | None = None,
        reward_function: str | PathLike | Callable | RewardFunction | None = None,
        race_type: str | None = None,
        world: WorldConfig | Mapping[str, Any] | None = None,
        job_type: str = "TRAINING",
        max_steps: int | None = None,
        spread_starts: bool = False,
    ) -> None:
        """`track`: a track name, file or `Track`, or a list of them (one per slot; a reversed
        `Track` is driven reversed); `world`: a `WorldConfig`, or a dict of RoboMaker YAML keys
        (parsed here, once); `race_type`: overrides the world's RACE_TYPE when given."""
        self.world = resolve_world(world, race_type, job_type)
        named = [track] if isinstance(track, str | PathLike | Track) else list(track)
        slots = [t if isinstance(t, Track) else load_track(t) for t in named]
        self.metadata = resolve_model_metadata(model_metadata)
        self.actions = ActionTable.from_metadata(self.metadata)
        # each call gets its own deep copy of the params, as in DeepRacer (RewardFunction's default)
        self.reward_function = as_reward_function(reward_function)
        config = sim_config(self.world, spread_start_positions=spread_starts)
        if max_steps is not None:
            config = replace(config, max_steps=max_steps)
        self.sim = Simulator(slots, num_cars, config, car_for_simapp(self.world.SIMAPP_VERSION))
        self.sensors = SensorSuite(
            self.sim.slots,
            self.metadata,
            domain_randomization=self.world.ENABLE_DOMAIN_RANDOMIZATION,
            camera_augment=AugmentSpec() if self.world.CAMERA_AUGMENTATION else None,
        )
        self.sensors.seed(default_seeds(num_cars))
        self.waypoints = [WaypointLists(t) for t in self.sim.slots]
        self.num_cars = num_cars

    @property
    def track(self) -> Track:
        """Slot 0's track, in file order (the track of a single-track world)."""
        return self.sim.track

    def set_track(self, slot: int, track: str | PathLike | Track) -> Track:
        """Put a track in `slot` (a new slot when `slot` == the number of slots) for episodes
        started after this (`reset(..., slots=)`); returns it loaded."""
        loaded = track if isinstance(track, Track) else load_track(track)
        self.sim.set_track(slot, loaded)
        self.sensors.set_track(slot, self.sim.slots[slot])
        lists = WaypointLists(self.sim.slots[slot])
        if slot == len(self.waypoints):
            self.waypoints.append(lists)
        else:
            self.waypoints[slot] = lists
        return loaded

    def seed(self, seeds: list[int]) -> None:
        self.sim.seed(seeds)
        self.sensors.seed(seeds)

    def reset(
        self,
        mask: np.ndarray | None = None,
        options: Mapping[str, Any] | None = None,
        slots: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """New episodes for the cars in mask; returns observations of all cars.

        `options` (all cars only): start states, see `slipstream.env.start_options`.
        `slots`: the track slot of each car reset (default: the one it drove last)."""
        start = parse_start_options(options, self.num_cars, self.sim.car)
        if start is not None and mask is not None:
            raise ValueError("reset options apply to a reset of every car, not a masked one")
        self.sim.reset(mask, slots)
        cars = np.arange(self.num_cars) if mask is None else np.flatnonzero(mask)
        if start is not None:
            state = self.sim.state
            front = front_point(state, self.sim.car) if start.front is None else start.front
            yaw = state.yaw if start.heading_deg is None else np.radians(start.heading_deg)
            self.sim.start_from(cars, front, yaw, start.speed, start.steering_deg)
        self.sensors.new_episodes(cars, self.sim.current.track[cars])
        return self.observe(mask)

    def observe(self, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Render the model's sensors for all cars (mask: only re-render those; others kept)."""
        return self.sensors.observe(self.sim, mask)

    def step(
        self,
        actions: np.ndarray | None = None,
        commands: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> CoreStep:
        """Step every car with actions of this model's action space, or with explicit
        (steering_deg, speed) commands (e.g. two models with different action spaces racing).

        A car whose episode has ended is frozen until it is reset: not stepped, not rendered
        (its observation is kept), no reward function call, not done again.
        """
        steering, speed = self.actions.commands(actions) if commands is None else commands
        live = ~self.sim.finished
        result = self.sim.step(steering, speed)
        objects = self.sim.objects.reward_quantities(
            result.objects, result, self.sensors.object_in_camera
        )
        slots = result.track.tolist()
        params = build_reward_params(
            result,
            self.track_lengths(result),
            [self.waypoints[k] for k in slots],
            objects,
        )
        reward = np.zeros(self.num_cars)
        for i in np.flatnonzero(result.phase_was_run):
            try:
                reward[i] = self.reward_function(params[i])
            except RewardFunctionError as exc:
                exc.car = int(i)
                raise
        obs = self.observe(None if live.all() else live)
        status = [ep.STATUS_NAMES[s] for s in result.status]
        return CoreStep(obs, reward, result.terminated, result.truncated, result, params, status)

    def track_lengths(self, result: StepResult) -> np.ndarray:
        """Centre-line length (m) of each car's track in a step."""
        return self.sim.world.directions.length[route_index(result.track, result.is_reversed)]

    def closest_waypoint(self, result: StepResult) -> np.ndarray:
        """Simtrace's `closest_waypoint`: whichever of [prev, next] is nearer the front point."""
        routes = route_index(result.track, result.is_reversed)
        centre = self.sim.world.directions.center
        start = centre.start[routes]
        nxt = centre.vertices[start + result.closest_next]
        prv = centre.vertices[start + result.closest_prev]
        nearer_next = np.linalg.norm(result.front - nxt, axis=1) < np.linalg.norm(
            result.front - prv, axis=1
        )
        return np.where(nearer_next, result.closest_next, result.closest_prev)

    def render_topdown(
        self, follow: int | None = None, size: tuple[int, int] = (480, 640)
    ) -> np.ndarray:
        return self.sensors.topdown(self.sim, follow, size)
