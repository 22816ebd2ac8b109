"""`DeepRacerCore`: the simulator, the model's sensors and the user's reward function, batched.

Both Gymnasium adapters (`DeepRacerEnv` for one car, `DeepRacerVectorEnv` for N) are thin layers
over this class, so one car of a batch and a single env run exactly the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from os import PathLike
from typing import Any

import numpy as np

from slipstream.config.model_metadata import ModelMetadata, load_model_metadata
from slipstream.config.reward_function import RewardFunction, as_reward_function
from slipstream.env.sensors import SensorSuite
from slipstream.env.world_settings import RACE_TYPES, sim_config_from_world
from slipstream.render.augment import AugmentSpec
from slipstream.sim import episode as ep
from slipstream.sim.actions import ActionTable
from slipstream.sim.params import WaypointLists, build_reward_params
from slipstream.sim.simulator import Simulator, StepResult
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
    """N cars on one track with the sensors and reward function of one model."""

    def __init__(
        self,
        num_cars: int,
        track: str | PathLike | Track = DEFAULT_TRACK,
        model_metadata: str | PathLike | dict | ModelMetadata | None = None,
        reward_function: str | PathLike | Callable | RewardFunction | None = None,
        race_type: str = "TIME_TRIAL",
        world: Mapping[str, Any] | None = None,
        job_type: str = "TRAINING",
        max_steps: int | None = None,
        spread_starts: bool = False,
    ) -> None:
        if race_type not in RACE_TYPES:
            raise ValueError(f"unknown race_type {race_type!r}; use one of {', '.join(RACE_TYPES)}")
        world = dict(world or {})
        self.track = track if isinstance(track, Track) else load_track(track)
        # the simulator keeps the track in file order; a reversed Track flips REVERSE_DIR
        flip = self.track.is_reversed
        if flip:
            self.track = self.track.reversed()
        self.metadata = resolve_model_metadata(model_metadata)
        self.actions = ActionTable.from_metadata(self.metadata)
        self.reward_function = as_reward_function(reward_function)
        # build_reward_params makes fresh dicts and lists every step, so the per-call deep copy
        # DeepRacer makes (a large share of a step's cost) protects nothing here
        self.reward_function.copy_params = False
        config = sim_config_from_world(world, race_type, job_type)
        config = replace(
            config,
            reverse_dir=config.reverse_dir ^ flip,
            spread_start_positions=spread_starts,
        )
        if max_steps is not None:
            config = replace(config, max_steps=max_steps)
        self.sim = Simulator(self.track, num_cars, config)
        self.sensors = SensorSuite(
            self.track,
            self.metadata,
            domain_randomization=_truthy(world.get("ENABLE_DOMAIN_RANDOMIZATION")),
            camera_augment=AugmentSpec() if _truthy(world.get("CAMERA_AUGMENTATION")) else None,
        )
        self.waypoints = WaypointLists(self.track)
        self.num_cars = num_cars

    def seed(self, seeds: list[int]) -> None:
        self.sim.seed(seeds)
        self.sensors.seed(seeds)

    def reset(self, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """New episodes for the cars in mask; returns observations of all cars."""
        self.sim.reset(mask)
        cars = np.arange(self.num_cars) if mask is None else np.flatnonzero(mask)
        self.sensors.new_episodes(cars)
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
        (steering_deg, speed) commands (e.g. two models with different action spaces racing)."""
        steering, speed = self.actions.commands(actions) if commands is None else commands
        result = self.sim.step(steering, speed)
        objects = self.sim.objects.reward_quantities(result, self.sensors.object_in_camera)
        params = build_reward_params(result, self.track.length, self.waypoints, objects)
        reward = np.zeros(self.num_cars)
        for i in np.flatnonzero(result.phase_was_run):
            reward[i] = self.reward_function(params[i])
        obs = self.observe()
        status = [ep.STATUS_NAMES[s] for s in result.status]
        return CoreStep(obs, reward, result.terminated, result.truncated, result, params, status)

    def closest_waypoint(self, result: StepResult) -> np.ndarray:
        """Simtrace's `closest_waypoint`: whichever of [prev, next] is nearer the front point."""
        fwd, rev = self.sim.tracks
        rv = result.is_reversed[:, None]
        nxt = np.where(rv, rev.center[result.closest_next], fwd.center[result.closest_next])
        prv = np.where(rv, rev.center[result.closest_prev], fwd.center[result.closest_prev])
        nearer_next = np.linalg.norm(result.front - nxt, axis=1) < np.linalg.norm(
            result.front - prv, axis=1
        )
        return np.where(nearer_next, result.closest_next, result.closest_prev)

    def render_topdown(
        self, follow: int | None = None, size: tuple[int, int] = (480, 640)
    ) -> np.ndarray:
        return self.sensors.topdown(self.sim, follow, size)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")
