"""A run folder's model, ready to drive: metadata + policy from a checkpoint or an ONNX export.

Every policy used in evaluation has the `Policy` contract of `PolicyActor`:
``act(obs_dict_batched, deterministic=True) -> actions`` (discrete indices, or (N, 2) continuous
actions in the model's action space). The checkpoint path imports torch; the ONNX path
(`OnnxPolicy`) does not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from slipstream.config.model_metadata import ModelMetadata, parse_model_metadata
from slipstream.export.onnx_policy import OnnxPolicy
from slipstream.export.package import read_model_file
from slipstream.model.run_model import (
    RunModelError,
    as_storage,
    load_policy_module,
    read_run_metadata,
    resolve_checkpoint,
)
from slipstream.runs import RunStorage

log = logging.getLogger(__name__)


class Policy(Protocol):
    """What evaluation needs of a policy (`PolicyActor`, `OnnxPolicy`, scripted drivers).

    A policy that drives from the simulator's state rather than its observations (a scripted
    driver) may also define ``attach(core, cars)``: evaluation calls it once with the
    `DeepRacerCore` and the indices of the cars whose observation rows `act` will get.
    """

    def act(self, obs: Mapping[str, np.ndarray], deterministic: bool) -> np.ndarray: ...


@dataclass(frozen=True)
class LoadedModel:
    """A model to evaluate: its metadata, a policy and where it came from."""

    metadata: ModelMetadata
    policy: Policy
    source: str
    """e.g. ``checkpoint 12_Step-4356.pt`` or ``ONNX model.tar.gz``."""


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
    from slipstream.model.policy import PolicyActor

    storage = as_storage(run)
    metadata = read_run_metadata(storage)
    module, name = load_policy_module(storage, metadata, checkpoint)
    actor = PolicyActor(metadata)
    actor.set_weights(module.state_dict(), 0)
    return LoadedModel(metadata, actor, f"checkpoint {name}")


__all__ = [
    "LoadedModel",
    "Policy",
    "RunModelError",
    "as_storage",
    "load_policy_module",
    "load_run_model",
    "read_run_metadata",
    "resolve_checkpoint",
]
