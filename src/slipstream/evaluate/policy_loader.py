"""A run folder's model, ready to drive: metadata + policy from a checkpoint or an ONNX export.

Every policy used in evaluation has the `Policy` contract of `PolicyActor`:
``act(obs_dict_batched, deterministic=True) -> actions`` (discrete indices, or (N, 2) continuous
actions in the model's action space). The checkpoint path imports torch; the ONNX path
(`OnnxPolicy`) does not.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from slipstream.config.model_metadata import ModelMetadata, parse_model_metadata
from slipstream.runs import CheckpointIndex, CheckpointMissingError, RunLayout, RunStorage

log = logging.getLogger(__name__)


class Policy(Protocol):
    """What evaluation needs of a policy (`PolicyActor`, `OnnxPolicy`, scripted drivers).

    A policy that drives from the simulator's state rather than its observations (a scripted
    driver) may also define ``attach(core, cars)``: evaluation calls it once with the
    `DeepRacerCore` and the indices of the cars whose observation rows `act` will get.
    """

    def act(self, obs: Mapping[str, np.ndarray], deterministic: bool) -> np.ndarray: ...


class RunModelError(ValueError):
    """The run folder has no model that can be loaded as asked."""


@dataclass(frozen=True)
class LoadedModel:
    """A model to evaluate: its metadata, a policy and where it came from."""

    metadata: ModelMetadata
    policy: Policy
    source: str
    """e.g. ``checkpoint 12_Step-4356.pt`` or ``ONNX model.tar.gz``."""


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
        from slipstream.runs import list_checkpoints
        from slipstream.runs.checkpoints import parse_checkpoint_name

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
    from slipstream.rollout.policy import build_policy
    from slipstream.runs import load_checkpoint

    name = resolve_checkpoint(storage, checkpoint)
    state = load_checkpoint(storage, name)
    if "policy" not in state:
        raise RunModelError(f"checkpoint {name} holds no 'policy' weights (keys {sorted(state)})")
    policy = build_policy(metadata)
    policy.load_state_dict(state["policy"])
    return policy.eval(), name


def load_run_model(
    run: str | RunStorage | None,
    checkpoint: str = "best",
    onnx: str | Path | None = None,
) -> LoadedModel:
    """The model of a run folder from its ``best``/``last`` checkpoint, or from an ONNX export.

    With `onnx` (an ``.onnx`` file or ``model.tar.gz``) the metadata packed with the model is
    used (else the run's), and no torch is imported.
    """
    if onnx is not None:
        from slipstream.export.onnx_policy import OnnxPolicy
        from slipstream.export.package import read_model_file

        _, packed = read_model_file(onnx)
        if packed is not None:
            metadata = parse_model_metadata(packed, source=f"{onnx} (model_metadata.json)")
        elif run is not None:
            metadata = read_run_metadata(as_storage(run))
        else:
            raise RunModelError(f"{onnx} carries no model_metadata.json; give the run folder too")
        return LoadedModel(metadata, OnnxPolicy(onnx, metadata), f"ONNX {Path(onnx).name}")
    if run is None:
        raise RunModelError("give a run folder or an ONNX model to evaluate")
    from slipstream.rollout.policy import PolicyActor

    storage = as_storage(run)
    metadata = read_run_metadata(storage)
    module, name = load_policy_module(storage, metadata, checkpoint)
    actor = PolicyActor(metadata)
    actor.set_weights(module.state_dict(), 0)
    return LoadedModel(metadata, actor, f"checkpoint {name}")
