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


def load_policy_module(
    storage: RunStorage, metadata: ModelMetadata, checkpoint: str = "best"
) -> tuple[Any, str]:
    """(policy tower with the checkpoint's weights, in eval mode; checkpoint name)."""
    from slipstream.model.policy import build_policy  # torch: only for checkpoints

    name = resolve_checkpoint(storage, checkpoint)
    state = load_checkpoint(storage, name)
    if "policy" not in state:
        raise RunModelError(f"checkpoint {name} holds no 'policy' weights (keys {sorted(state)})")
    policy = build_policy(metadata)
    policy.load_state_dict(state["policy"])
    return policy.eval(), name


__all__ = [
    "RunModelError",
    "as_storage",
    "load_policy_module",
    "read_run_metadata",
    "resolve_checkpoint",
]
