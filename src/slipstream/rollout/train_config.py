"""`TrainConfig`: everything a training run needs, validated before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slipstream.config.hyperparameters import Hyperparameters
from slipstream.config.model_metadata import ModelMetadata
from slipstream.config.reward_function import RewardFunction


class TrainingError(ValueError):
    """A training run that cannot start as asked (the message says how to fix it)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs, validated before anything is written."""

    run: str
    model_metadata: ModelMetadata
    hyperparameters: Hyperparameters
    reward_function: RewardFunction
    world: dict[str, Any] = field(default_factory=dict)
    """RoboMaker YAML keys (training_params.yaml) shared by all workers."""
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

    def track_of(self, worker: int) -> str:
        """The track worker `worker` trains on."""
        return self.worker_tracks[worker] if self.worker_tracks else self.track


__all__ = ["TrainConfig", "TrainingError"]
