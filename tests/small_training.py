"""A small, fast `TrainConfig` for the tests that run real trainings."""

from __future__ import annotations

from slipstream.config import as_reward_function, load_hyperparameters, load_model_metadata
from slipstream.rollout.trainer import TrainConfig


def small_config(run, episodes: int, **overrides) -> TrainConfig:
    """One serial worker on slipstream_oval, `episodes` per iteration, one 32-sample epoch, one
    iteration and one evaluation episode unless `overrides` say otherwise."""
    hyperparameters = load_hyperparameters(
        {"num_episodes_between_training": episodes, "num_epochs": 1, "batch_size": 32}
    )
    fields = dict(
        run=str(run),
        model_metadata=load_model_metadata(None),
        hyperparameters=hyperparameters,
        reward_function=as_reward_function(None),
        track="slipstream_oval",
        iterations=1,
        serial=True,
        eval_episodes=1,
    )
    fields.update(overrides)
    return TrainConfig.build(**fields)
