"""`TrainConfig`: everything a training run needs, validated before anything is written."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from slipstream.config.hyperparameters import Hyperparameters
from slipstream.config.model_metadata import ModelMetadata, parse_model_metadata
from slipstream.config.reward_function import (
    RewardFunction,
    load_reward_function,
    reward_function_from_source,
)
from slipstream.config.world import WorldConfig
from slipstream.runs import RunLayout, RunStorage
from slipstream.tracks.track_set import TrackRotation, TrackSet


class TrainingError(ValueError):
    """A training run that cannot start as asked (the message says how to fix it)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs, validated before anything is written.

    The world settings live once, in `world`: the track (WORLD_NAME), RACE_TYPE, NUM_WORKERS,
    MIN_EVAL_TRIALS (evaluation episodes per iteration) and BEST_MODEL_METRIC are read from it
    (`track`, `race_type`, `workers`, `eval_episodes`, `best_model_metric`). Make one with the
    training settings as keywords through `TrainConfig.build`.
    """

    run: str
    model_metadata: ModelMetadata
    hyperparameters: Hyperparameters
    reward_function: RewardFunction
    world: WorldConfig = field(default_factory=WorldConfig)
    """The world settings shared by all workers (a dict of RoboMaker YAML keys is parsed into a
    `WorldConfig` when the config is made)."""
    worker_tracks: tuple[str, ...] = ()
    """One track per worker (DRfC multi-config, or a list of tracks); empty = `track` for all."""
    track_set: TrackSet | None = None
    """Train on a set of tracks (`--tracks`): every car of every worker drives its own track,
    drawn from the set every `episodes_per_track` of its episodes (docs/tracks.md)."""
    episodes_per_track: int = 10

    cars_per_worker: int | None = None
    """Cars simulated together by one worker (default: its episodes per iteration, at most 16)."""
    iterations: int | None = None
    minutes: float | None = None
    until_lap: bool = False
    """Stop after the first iteration whose evaluation (of the updated policy) completes a lap."""
    seed: int = 0
    device: str = "auto"
    address: str | None = None
    serial: bool = False
    resume: bool = False
    pretrained: str | None = None
    pretrained_checkpoint: str = "last"
    shared_trunk: bool = False
    precision: str = "auto"
    """Learner arithmetic: 'auto' (bf16 where the CPU or GPU has it), 'bf16' or 'fp32'."""
    pipeline: bool = False
    """Workers collect iteration k+1 with policy k while the learner trains on k."""
    cores: int | None = None
    """Cores to plan threads for (default: the cores this process may run on)."""
    policy_average: int | None = None
    """Keep a moving average of the policy's weights, with this half-life in environment
    steps, in every checkpoint (`--policy-average`; `--checkpoint averaged` evaluates and
    exports it). None: none, as DeepRacer."""

    def __post_init__(self) -> None:
        if isinstance(self.world, Mapping):
            world = WorldConfig().with_overrides(dict(self.world), source="TrainConfig.world")
            object.__setattr__(self, "world", world)
        if self.policy_average is not None and self.policy_average <= 0:
            raise TrainingError(
                f"--policy-average takes a half-life in environment steps above 0, got "
                f"{self.policy_average} (e.g. 75000; leave it out to keep no average)"
            )

    @classmethod
    def build(
        cls,
        *,
        world: WorldConfig | Mapping[str, Any] | None = None,
        track: str | None = None,
        race_type: str | None = None,
        workers: int | None = None,
        eval_episodes: int | None = None,
        best_model_metric: str | None = None,
        **fields: Any,
    ) -> TrainConfig:
        """A config whose world takes the given track, race type, workers, evaluation episodes
        and best-model metric (None: the world's own); `fields` are the other settings."""
        if world is None:
            world = WorldConfig()
        elif isinstance(world, Mapping):
            world = WorldConfig().with_overrides(dict(world), source="TrainConfig.world")
        keys = {
            "WORLD_NAME": track,
            "RACE_TYPE": race_type,
            "NUM_WORKERS": workers,
            "MIN_EVAL_TRIALS": eval_episodes,
            "BEST_MODEL_METRIC": best_model_metric,
        }
        changes = {k: v for k, v in keys.items() if v is not None and v != getattr(world, k)}
        if changes:
            world = world.with_overrides(changes, source="training settings")
        return cls(world=world, **fields)

    @property
    def track(self) -> str:
        """The track all workers train on (unless `worker_tracks`): WORLD_NAME."""
        return self.world.WORLD_NAME

    @property
    def race_type(self) -> str:
        return self.world.RACE_TYPE

    @property
    def workers(self) -> int:
        return self.world.NUM_WORKERS

    @property
    def eval_episodes(self) -> int:
        """Evaluation episodes after each iteration (MIN_EVAL_TRIALS)."""
        return self.world.MIN_EVAL_TRIALS

    @property
    def best_model_metric(self) -> str:
        return self.world.BEST_MODEL_METRIC

    def rotation_of(self, worker: int, start_iteration: int = 0) -> TrackRotation | None:
        """How worker `worker`'s cars change tracks from iteration `start_iteration` on (None:
        they stay on `track_of(worker)`)."""
        if self.track_set is None:
            return None
        return TrackRotation(
            self.track_set, self.seed, worker, self.episodes_per_track, start_iteration
        )

    def track_of(self, worker: int) -> str:
        """The track worker `worker` trains on."""
        return self.worker_tracks[worker] if self.worker_tracks else self.track


def inputs_from_run(config, keep_reward_function: bool = False):
    """On --resume, use the inputs saved in the run folder (what the model was trained with):
    the model metadata, the reward function, and a run on many tracks its track set (unless
    `config` names one: `--tracks` given again).

    `keep_reward_function`: a --reward-function was given; it replaces the run's (e.g. one fixed
    after it failed mid-run).
    """
    storage = RunStorage(config.run)
    layout = RunLayout(storage)
    metadata = parse_model_metadata(json.loads(storage.read_text(layout.model_metadata)))
    reward = config.reward_function
    if keep_reward_function:
        pass
    elif storage.is_local and storage.exists(layout.reward_function):
        reward = load_reward_function(Path(storage.path(layout.reward_function)))
    elif storage.exists(layout.reward_function):
        key = layout.reward_function
        reward = reward_function_from_source(storage.read_text(key), storage.path(key))
    config = replace(config, model_metadata=metadata, reward_function=reward)
    if config.track_set is None and storage.exists(layout.track_set):
        saved = json.loads(storage.read_text(layout.track_set))
        config = replace(
            config,
            track_set=TrackSet.from_json_dict(saved),
            episodes_per_track=int(saved["episodes_per_track"]),
            world=replace(config.world, WORLD_NAME=str(saved["evaluation_track"])),
        )
    return config


def check_inputs(config: TrainConfig) -> None:
    """Load every track and call the reward function once on a real params dict, as DeepRacer
    does before any training starts (`Trainer` does this before it writes anything)."""
    from slipstream.env.core import DeepRacerCore

    if config.track_set is not None:
        from slipstream.tracks import load_track

        for name in config.track_set.names:
            load_track(name)
    for track in {config.track, *config.worker_tracks}:
        core = DeepRacerCore(
            1,
            track=track,
            model_metadata=config.model_metadata,
            reward_function=config.reward_function,
            race_type=config.race_type,
            world=config.world,
        )
        core.reset()
        for _ in range(2):  # the prepare step, then a run step that calls the reward function
            core.step(commands=(np.zeros(1), np.ones(1)))


__all__ = ["TrainConfig", "TrainingError", "check_inputs", "inputs_from_run"]
