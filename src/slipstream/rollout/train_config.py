"""`TrainConfig`: everything a training run needs, validated before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from slipstream.config.hyperparameters import Hyperparameters
from slipstream.config.model_metadata import ModelMetadata
from slipstream.config.reward_function import RewardFunction
from slipstream.config.world import WorldConfig


class TrainingError(ValueError):
    """A training run that cannot start as asked (the message says how to fix it)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs, validated before anything is written."""

    run: str
    model_metadata: ModelMetadata
    hyperparameters: Hyperparameters
    reward_function: RewardFunction
    world: WorldConfig = field(default_factory=WorldConfig)
    """The world settings shared by all workers (a dict of RoboMaker YAML keys is parsed into a
    `WorldConfig` when the config is made)."""
    track: str = "slipstream_default"
    worker_tracks: tuple[str, ...] = ()
    """One track per worker (DRfC multi-config, or a list of tracks); empty = `track` for all."""
    race_type: str = "TIME_TRIAL"
    workers: int = 1
    cars_per_worker: int | None = None
    """Cars simulated together by one worker (default: its episodes per iteration, at most 16)."""
    iterations: int | None = None
    minutes: float | None = None
    until_lap: bool = False
    """Stop after the first iteration whose evaluation (of the updated policy) completes a lap."""
    eval_episodes: int = 5
    seed: int = 0
    device: str = "auto"
    address: str | None = None
    serial: bool = False
    resume: bool = False
    pretrained: str | None = None
    pretrained_checkpoint: str = "last"
    shared_trunk: bool = False
    best_model_metric: str = "progress"
    precision: str = "auto"
    """Learner arithmetic: 'auto' (bf16 where the CPU or GPU has it), 'bf16' or 'fp32'."""
    pipeline: bool = False
    """Workers collect iteration k+1 with policy k while the learner trains on k."""
    cores: int | None = None
    """Cores to plan threads for (default: the cores this process may run on)."""

    def __post_init__(self) -> None:
        if isinstance(self.world, Mapping):
            world = WorldConfig().with_overrides(dict(self.world), source="TrainConfig.world")
            object.__setattr__(self, "world", world)

    def track_of(self, worker: int) -> str:
        """The track worker `worker` trains on."""
        return self.worker_tracks[worker] if self.worker_tracks else self.track


def check_inputs(config: TrainConfig) -> None:
    """Load every track and call the reward function once on a real params dict, as DeepRacer
    does before any training starts (`Trainer` does this before it writes anything)."""
    from slipstream.env.core import DeepRacerCore

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


__all__ = ["TrainConfig", "TrainingError", "check_inputs"]
