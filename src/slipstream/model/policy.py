"""A model's networks and learner (looked up in `ALGORITHMS`), and `PolicyActor`: batched
inference for rollouts, evaluation and races.

The trainer owns a learner (policy + value/Q networks + optimiser); rollout workers and
evaluation only need the policy tower, which is what `PolicyActor` holds. Weights travel as the
policy's `state_dict()` (tensors only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from slipstream.config.hyperparameters import Hyperparameters
from slipstream.config.model_metadata import ModelMetadata
from slipstream.model.algorithms import algorithm_of
from slipstream.rl.common import obs_to_device


def build_policy(metadata: ModelMetadata) -> torch.nn.Module:
    """The policy tower DeepRacer builds for this metadata (what gets exported)."""
    return algorithm_of(metadata).build_policy(metadata)


def build_learner(
    metadata: ModelMetadata,
    hp: Hyperparameters,
    *,
    device: str = "auto",
    seed: int | None = None,
    shared_trunk: bool = False,
    precision: str = "auto",
):
    """The trainer's learner for a model: Clipped PPO or SAC with DeepRacer's constants.

    With a `seed` the networks' initial weights come from it (torch's global generator is left
    as it was), so the same seed gives the same initial model. `precision` applies to PPO (bf16
    autocast, see `slipstream.rl.precision`); SAC trains in float32.
    """
    build = algorithm_of(metadata).build_learner
    if seed is None:
        return build(metadata, hp, device, seed, shared_trunk, precision)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(metadata, hp, device, seed, shared_trunk, precision)


class PolicyActor:
    """Batched action selection with a copy of the current policy (CPU, no gradients)."""

    def __init__(self, metadata: ModelMetadata, seed: int = 0, device: str = "cpu") -> None:
        self.metadata = metadata
        self.algorithm = algorithm_of(metadata)
        self.device = torch.device(device)
        self.policy = build_policy(metadata).to(self.device).eval()
        self.sensors = self.policy.input_sensors
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.version = -1

    def set_weights(self, state: Mapping[str, Any], version: int) -> None:
        self.policy.load_state_dict(state)
        self.version = version

    @torch.no_grad()
    def act(
        self, obs: Mapping[str, np.ndarray], deterministic: bool, epsilon: float = 0.0
    ) -> np.ndarray:
        """Actions in the env's action format for a batch of observations.

        Discrete: sample from the policy's probabilities (argmax when deterministic), with
        probability `epsilon` a uniform random action instead (e-greedy). Continuous PPO: the
        Gaussian sample (mean when deterministic) in [-1, 1] network space. SAC: the squashed
        sample (scaled tanh(mean) when deterministic) in environment units.
        """
        return self.act_with_log_probs(obs, deterministic, epsilon)[0]

    @torch.no_grad()
    def act_with_log_probs(
        self, obs: Mapping[str, np.ndarray], deterministic: bool, epsilon: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """`act`'s actions and, for PPO, each action's log-probability under the policy's
        distribution (as `PPOLearner.act` gives them; zeros for SAC). PPO's update clips
        against them when the policy that drew the actions is older than the one it trains
        (`--pipeline`)."""
        tensors = obs_to_device(obs, self.sensors, self.device)
        return self.algorithm.sample(self.policy, tensors, deterministic, epsilon, self.generator)
