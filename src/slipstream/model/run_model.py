"""A run folder's trained policy: its model_metadata.json and a checkpoint's policy tower.

No torch until a checkpoint is loaded. Used by evaluation (to drive), export (to write ONNX) and the trainer (a pretrained start).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slipstream.config.model_metadata import ModelMetadata, parse_model_metadata
from slipstream.runs import (
    CheckpointIndex,
    CheckpointMissingError,
    RunLayout,
    RunStorage,
    list_checkpoints,
    load_checkpoint,
)
from slipstream.runs.checkpoints import parse_checkpoint_name

log = logging.getLogger(__name__)


AVERAGED = "averaged"
"""`--checkpoint averaged`: the last checkpoint's moving average of the policy's weights
(kept by `slipstream train --policy-average`) in place of its policy weights."""
CHECKPOINT_CHOICES = ("best", "last", AVERAGED)
"""What `--checkpoint` takes where a run's policy is evaluated or exported."""
POLICY_AVERAGE = "policy_average"
"""The checkpoint key of that moving average (`rollout.update.LearnerUpdate` writes it)."""


class RunModelError(ValueError):
    """The run folder has no model that can be loaded as asked."""


def as_storage(run: str | RunStorage) -> RunStorage:
    return run if isinstance(run, RunStorage) else RunStorage(str(run))


def read_run_metadata(storage: RunStorage) -> ModelMetadata:
    """The run's ``model/model_metadata.json``."""
    key = RunLayout(storage).model_metadata
    if not storage.exists(key):
        raise RunModelError(
            f"{storage.path(key)} does not exist: {storage.root} is not a trained run folder "
            "(train one with `slipstream train --run DIR`)"
        )
    return parse_model_metadata(json.loads(storage.read_text(key)), source=storage.path(key))


def resolve_checkpoint(storage: RunStorage, which: str = "best") -> str:
    """Name of the ``best`` or ``last`` checkpoint, or of checkpoint number ``N`` (a digit
    string); ``best`` falls back to ``last`` when the run records no best one (with a warning)."""
    if str(which).isdigit():
        present = list_checkpoints(storage)
        for name in present:
            if parse_checkpoint_name(name)[0] == int(which):
                return name
        numbers = [parse_checkpoint_name(n)[0] for n in present]
        raise CheckpointMissingError(
            f"{storage.root} has no checkpoint number {which}; present: {numbers or 'none'} "
            "(or use best / last)"
        )
    index = CheckpointIndex(storage)
    try:
        return index.resolve(which)
    except CheckpointMissingError:
        if which != "best":
            raise
        name = index.resolve("last")
        log.warning("%s records no best checkpoint; using the last one, %s", storage.root, name)
        return name


def load_run_checkpoint(storage: RunStorage, checkpoint: str = "best") -> tuple[str, dict]:
    """(name, state) of a run's ``best``, ``last`` or number-N checkpoint, or of ``averaged``:
    the last checkpoint, with its moving average of the policy in place of its policy weights."""
    averaged = checkpoint == AVERAGED
    name = resolve_checkpoint(storage, "last" if averaged else checkpoint)
    state = load_checkpoint(storage, name)
    if averaged:
        if POLICY_AVERAGE not in state:
            raise RunModelError(
                f"checkpoint {name} of {storage.root} holds no averaged policy: train with "
                "`slipstream train --policy-average STEPS` (or --resume with it) to keep one, "
                "or use --checkpoint best / last"
            )
        state = {**state, "policy": state[POLICY_AVERAGE]}
    if "policy" not in state:
        raise RunModelError(f"checkpoint {name} holds no 'policy' weights (keys {sorted(state)})")
    return name, state


def checkpoint_label(name: str, checkpoint: str) -> str:
    """How to name what was loaded: the checkpoint's name, `, averaged policy` added for
    ``--checkpoint averaged``."""
    return f"{name}, averaged policy" if checkpoint == AVERAGED else name


def load_policy_module(
    storage: RunStorage, metadata: ModelMetadata, checkpoint: str = "best"
) -> tuple[Any, str]:
    """(policy tower with the checkpoint's weights, in eval mode; `checkpoint_label`)."""
    from slipstream.model.policy import build_policy  # torch: only for checkpoints

    name, state = load_run_checkpoint(storage, checkpoint)
    policy = build_policy(metadata)
    policy.load_state_dict(state["policy"])
    return policy.eval(), checkpoint_label(name, checkpoint)


__all__ = [
    "AVERAGED",
    "CHECKPOINT_CHOICES",
    "POLICY_AVERAGE",
    "RunModelError",
    "as_storage",
    "checkpoint_label",
    "load_policy_module",
    "load_run_checkpoint",
    "read_run_metadata",
    "resolve_checkpoint",
]
