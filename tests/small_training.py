"""A small, fast `TrainConfig` for the tests that run real trainings."""

from __future__ import annotations

import sys

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


def train_arguments(*extra: str, iterations: int = 1, episodes: int = 2) -> list[str]:
    """`slipstream train` arguments of a small run on slipstream_oval: `episodes` per iteration,
    one epoch, one evaluation episode; `extra` (e.g. --run, --workers) come last."""
    return [
        "train",
        "--track",
        "slipstream_oval",
        "--iterations",
        str(iterations),
        "--set",
        f"num_episodes_between_training={episodes}",
        "--set",
        "num_epochs=1",
        "--set",
        "MIN_EVAL_TRIALS=1",
        *extra,
    ]


def train_command(*extra: str, iterations: int = 1, episodes: int = 2) -> list[str]:
    """`train_arguments` as a command line of this Python (`python -m slipstream.cli train ...`)."""
    return [
        sys.executable,
        "-m",
        "slipstream.cli",
        *train_arguments(*extra, iterations=iterations, episodes=episodes),
    ]
