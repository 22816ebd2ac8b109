"""`hyperparameters.json`: DeepRacer's SageMaker hyperparameter names, typed and range-checked.

Names and meanings are DeepRacer's (docs/deepracer.md section 3). Defaults are those of DRfC's
`defaults/hyperparameters.json`; `Hyperparameters.sagemaker_defaults()` gives the values the
DeepRacer training code falls back to when a key is absent. Values may be given as text, as
SageMaker passes them ("64", "0.0003"); they are cast and range-checked when the object is made.

`to_processed_json(algorithm)` writes the dict the DeepRacer trainer uploads to
`{prefix}/ip/hyperparameters.json` (only the keys the algorithm uses, sorted, indent 2).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from slipstream.config.errors import (
    HyperparameterError,
    did_you_mean,
    parse_choice,
    parse_float,
    parse_int,
    read_json_object,
)

logger = logging.getLogger(__name__)

EXPLORATION_TYPES = ("categorical", "e-greedy")
LOSS_TYPES = ("huber", "mean squared error")
PRETRAINED_CHECKPOINTS = ("best", "last")
_EXPLORATION_ALIASES = {"e_greedy": "e-greedy", "egreedy": "e-greedy", "epsilon-greedy": "e-greedy"}
_LOSS_ALIASES = {"mean_squared_error": "mean squared error", "mse": "mean squared error"}
_ALGORITHM_ALIASES = {"ppo": "clipped_ppo", "clipped-ppo": "clipped_ppo"}

# Keys of the processed dict DeepRacer's trainer writes, per algorithm (docs/deepracer.md section 3).
_COMMON_PROCESSED_KEYS = (
    "batch_size",
    "discount_factor",
    "e_greedy_value",
    "epsilon_steps",
    "exploration_type",
    "loss_type",
    "lr",
    "num_episodes_between_training",
    "stack_size",
    "term_cond_avg_score",
    "term_cond_max_episodes",
)
PROCESSED_KEYS: dict[str, tuple[str, ...]] = {
    "clipped_ppo": tuple(sorted((*_COMMON_PROCESSED_KEYS, "beta_entropy", "num_epochs"))),
    "sac": tuple(sorted((*_COMMON_PROCESSED_KEYS, "sac_alpha"))),
}

# SageMaker hyperparameters that configure the job, not learning (docs/deepracer.md section 3).
# They may appear in a dumped SageMaker hyperparameter set; Slipstream ignores them.
IGNORED_SAGEMAKER_KEYS = frozenset(
    {
        "s3_bucket",
        "s3_prefix",
        "aws_region",
        "model_metadata_s3_key",
        "heartbeat_s3_location",
        "reward_function_s3_source",
        "s3_yaml_name",
        "simulation_launch_file",
        "track_direction_clockwise",
        "world_name",
        "s3_ros_log_bucket",
        "s3_kms_cmk_arn",
        "kinesis_stream_name",
    }
)


@dataclass(frozen=True)
class Hyperparameters:
    """DeepRacer training hyperparameters (SageMaker names). Defaults: DRfC's defaults file."""

    batch_size: int = 64
    """Minibatch size for every network update (steps)."""
    num_epochs: int = 5
    """PPO: passes over each iteration's experience."""
    stack_size: int = 1
    """Frames stacked per observation. DeepRacer parses it but always uses 1."""
    lr: float = 3e-4
    """Adam learning rate, all networks."""
    exploration_type: str = "categorical"
    """Discrete PPO exploration: "categorical" (sample the policy) or "e-greedy"."""
    e_greedy_value: float = 0.05
    """Final epsilon of e-greedy (epsilon decays linearly from 1.0)."""
    epsilon_steps: int = 10000
    """Steps over which e-greedy epsilon decays."""
    beta_entropy: float = 0.01
    """PPO entropy bonus coefficient."""
    discount_factor: float = 0.99
    """Reward discount gamma, in (0, 1]."""
    loss_type: str = "huber"
    """Value / Q loss: "huber" or "mean squared error"."""
    num_episodes_between_training: int = 20
    """Episodes collected (over all workers) per training iteration; SAC: target copy period."""
    term_cond_max_episodes: int = 1000
    """Stop after this many training iterations (DeepRacer's improve_steps; it counts
    iterations, not episodes, whatever the name says)."""
    term_cond_avg_score: float = 350.0
    """Parsed and written out by DeepRacer, not used to stop training (nor here)."""
    sac_alpha: float = 0.2
    """SAC fixed entropy temperature."""
    max_sample_count: int = 0
    """DeepRacer: transitions to pickle to S3 for inspection. Only 0 (off) is supported."""
    sampling_frequency: int = 1
    """Keep every n-th transition when sampling; does nothing while max_sample_count is 0."""
    pretrained_s3_bucket: str | None = None
    """Bucket (or run folder root) of a model to start from; None = train from scratch."""
    pretrained_s3_prefix: str | None = None
    """Prefix of the pretrained model inside `pretrained_s3_bucket`."""
    pretrained_checkpoint: str = "last"
    """Which pretrained checkpoint to start from: "best" or "last" (DRfC's default: last)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _FIELD_PARSERS[f.name](getattr(self, f.name)))
        _check_ranges(self)

    @classmethod
    def sagemaker_defaults(cls) -> Hyperparameters:
        """The values DeepRacer's training code uses when a key is absent.

        Differs from DRfC's file in num_epochs 10, discount_factor 0.999, loss_type
        "mean squared error", term_cond_max_episodes 100000, term_cond_avg_score 100000, and the
        pretrained checkpoint "best".
        """
        return cls(
            batch_size=64,
            num_epochs=10,
            stack_size=1,
            lr=3e-4,
            exploration_type="categorical",
            e_greedy_value=0.05,
            epsilon_steps=10000,
            beta_entropy=0.01,
            discount_factor=0.999,
            loss_type="mean squared error",
            num_episodes_between_training=20,
            term_cond_max_episodes=100000,
            term_cond_avg_score=100000.0,
            sac_alpha=0.2,
            max_sample_count=0,
            sampling_frequency=1,
            pretrained_s3_bucket=None,
            pretrained_s3_prefix=None,
            pretrained_checkpoint="best",
        )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @property
    def uses_huber_loss(self) -> bool:
        """True when loss_type is huber (DeepRacer uses MSE for anything else)."""
        return self.loss_type == "huber"

    @property
    def uses_pretrained(self) -> bool:
        """True when both pretrained bucket and prefix are set (as DeepRacer decides)."""
        return bool(self.pretrained_s3_bucket) and bool(self.pretrained_s3_prefix)

    def with_overrides(
        self, overrides: dict[str, Any], source: str = "<overrides>"
    ) -> Hyperparameters:
        """A copy with some values replaced (text values are cast); unknown names are errors."""
        values = {**self.to_dict(), **overrides}
        return parse_hyperparameters(values, source=source)

    def to_dict(self) -> dict[str, Any]:
        """Every hyperparameter by its SageMaker name (None for unset pretrained fields)."""
        return dataclasses.asdict(self)

    def to_processed_dict(self, algorithm: str) -> dict[str, Any]:
        """The dict DeepRacer's trainer builds for `algorithm` ("clipped_ppo" or "sac")."""
        algo = parse_choice(
            algorithm,
            "training_algorithm",
            tuple(PROCESSED_KEYS),
            HyperparameterError,
            aliases=_ALGORITHM_ALIASES,
        )
        values = self.to_dict()
        return {key: values[key] for key in PROCESSED_KEYS[algo]}

    def to_processed_json(self, algorithm: str) -> str:
        """`ip/hyperparameters.json` text as DeepRacer writes it (indent 2, keys sorted)."""
        return json.dumps(self.to_processed_dict(algorithm), indent=2, sort_keys=True)


def load_hyperparameters(source: str | Path | dict[str, Any] | None = None) -> Hyperparameters:
    """Read and validate a hyperparameters.json (path), a dict of its contents, or None.

    None gives the shipped default (DRfC's defaults). Keys left out take the DRfC defaults.
    Errors are `HyperparameterError` naming the file, the key, the value and the fix.
    """
    if source is None:
        text = resources.files("slipstream").joinpath("defaults", "hyperparameters.json")
        return parse_hyperparameters(
            json.loads(text.read_text(encoding="utf-8")),
            source="<shipped default hyperparameters.json>",
        )
    if isinstance(source, dict):
        return parse_hyperparameters(source, source="<hyperparameters dict>")
    data = read_json_object(source, HyperparameterError, "the training hyperparameters")
    return parse_hyperparameters(data, source=str(source))


def parse_hyperparameters(
    data: dict[str, Any], source: str = "<hyperparameters>"
) -> Hyperparameters:
    """Validate a dict of hyperparameters (SageMaker names; values typed or as text)."""
    names = Hyperparameters.field_names()
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in names:
            values[key] = value
        elif key in IGNORED_SAGEMAKER_KEYS:
            logger.info(
                "%s: ignoring SageMaker job setting %r (not a learning parameter)", source, key
            )
        else:
            raise HyperparameterError(
                f"unknown hyperparameter.{did_you_mean(str(key), names)}",
                source=source,
                key=str(key),
                value=value,
                fix=f"use DeepRacer's names: {', '.join(names)}",
            )
    try:
        return Hyperparameters(**values)
    except HyperparameterError as exc:
        raise exc.with_source(source) from None


# --- per-field parsing and ranges ---------------------------------------------------------------


def _int(name: str):
    return lambda v: parse_int(v, name, HyperparameterError)


def _float(name: str):
    return lambda v: parse_float(v, name, HyperparameterError)


def _optional_text(name: str):
    def parse(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise HyperparameterError(
                f"expected text, got a {type(value).__name__}",
                key=name,
                value=value,
                fix="write the name as a string, or leave it out",
            )
        text = value.strip()
        return text or None

    return parse


_FIELD_PARSERS = {
    "batch_size": _int("batch_size"),
    "num_epochs": _int("num_epochs"),
    "stack_size": _int("stack_size"),
    "lr": _float("lr"),
    "exploration_type": lambda v: parse_choice(
        v, "exploration_type", EXPLORATION_TYPES, HyperparameterError, aliases=_EXPLORATION_ALIASES
    ),
    "e_greedy_value": _float("e_greedy_value"),
    "epsilon_steps": _int("epsilon_steps"),
    "beta_entropy": _float("beta_entropy"),
    "discount_factor": _float("discount_factor"),
    "loss_type": lambda v: parse_choice(
        v, "loss_type", LOSS_TYPES, HyperparameterError, aliases=_LOSS_ALIASES
    ),
    "num_episodes_between_training": _int("num_episodes_between_training"),
    "term_cond_max_episodes": _int("term_cond_max_episodes"),
    "term_cond_avg_score": _float("term_cond_avg_score"),
    "sac_alpha": _float("sac_alpha"),
    "max_sample_count": _int("max_sample_count"),
    "sampling_frequency": _int("sampling_frequency"),
    "pretrained_s3_bucket": _optional_text("pretrained_s3_bucket"),
    "pretrained_s3_prefix": _optional_text("pretrained_s3_prefix"),
    "pretrained_checkpoint": lambda v: parse_choice(
        v, "pretrained_checkpoint", PRETRAINED_CHECKPOINTS, HyperparameterError
    ),
}

# name -> (test, the rule in words, a suggestion)
_RANGES = {
    "batch_size": (
        lambda v: v >= 1,
        "must be at least 1",
        "DeepRacer uses 32-512; 64 is the default",
    ),
    "num_epochs": (lambda v: v >= 1, "must be at least 1", "DeepRacer uses 3-10"),
    "stack_size": (lambda v: v >= 1, "must be at least 1", "use 1"),
    "lr": (
        lambda v: 0 < v <= 0.1,
        "must lie in (0, 0.1]",
        "DeepRacer uses 1e-8 to 1e-3; 0.0003 is the default",
    ),
    "e_greedy_value": (lambda v: 0 <= v <= 1, "must lie in [0, 1]", "use e.g. 0.05"),
    "epsilon_steps": (lambda v: v >= 1, "must be at least 1", "use e.g. 10000"),
    "beta_entropy": (lambda v: v >= 0, "must not be negative", "use e.g. 0.01"),
    "discount_factor": (lambda v: 0 < v <= 1, "must lie in (0, 1]", "use e.g. 0.99 or 0.999"),
    "num_episodes_between_training": (
        lambda v: v >= 1,
        "must be at least 1",
        "DeepRacer uses 1-100",
    ),
    "term_cond_max_episodes": (lambda v: v >= 1, "must be at least 1", "use e.g. 1000"),
    "sac_alpha": (lambda v: v >= 0, "must not be negative", "use e.g. 0.2"),
    "max_sample_count": (lambda v: v >= 0, "must not be negative", "use 0 to turn sampling off"),
    "sampling_frequency": (lambda v: v >= 1, "must be at least 1", "use 1"),
}


def _check_ranges(hp: Hyperparameters) -> None:
    for name, (ok, rule, suggestion) in _RANGES.items():
        value = getattr(hp, name)
        if not ok(value):
            raise HyperparameterError(f"{name} {rule}", key=name, value=value, fix=suggestion)
    if hp.max_sample_count > 0:
        raise HyperparameterError(
            "max_sample_count > 0 asks DeepRacer's trainer to pickle sample transitions to S3 "
            "(with sampling_frequency); Slipstream does not support that",
            key="max_sample_count",
            value=hp.max_sample_count,
            fix="remove max_sample_count (or set it to 0); the run folder's simtrace records "
            "every step",
        )


__all__ = [
    "EXPLORATION_TYPES",
    "LOSS_TYPES",
    "PROCESSED_KEYS",
    "Hyperparameters",
    "load_hyperparameters",
    "parse_hyperparameters",
]
