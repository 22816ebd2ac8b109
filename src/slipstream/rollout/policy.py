"""Networks for a model_metadata.json, and `PolicyActor`: batched inference for rollouts.

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
from slipstream.config.model_metadata import LidarConfig, ModelMetadata
from slipstream.rl.networks import PPOPolicy, SACPolicy, build_ppo_networks
from slipstream.rl.ppo import PPOHyperparameters, PPOLearner, obs_to_device
from slipstream.rl.sac import SACHyperparameters, SACLearner


def lidar_dim(metadata: ModelMetadata) -> int | None:
    if metadata.lidar == "DISCRETIZED_SECTOR_LIDAR":
        cfg = metadata.lidar_config or LidarConfig()
        return cfg.num_sectors * cfg.num_values_per_sector
    return None


def build_policy(metadata: ModelMetadata) -> PPOPolicy | SACPolicy:
    """The policy tower DeepRacer builds for this metadata (what gets exported)."""
    sensors, network = metadata.sensor, metadata.neural_network
    if metadata.training_algorithm == "sac":
        space = metadata.action_space
        return SACPolicy(
            sensors,
            network,
            (space.steering_low, space.speed_low),
            (space.steering_high, space.speed_high),
            lidar_dim=lidar_dim(metadata),
        )
    return PPOPolicy(
        sensors,
        network,
        None if metadata.is_continuous else metadata.num_actions,
        continuous=metadata.is_continuous,
        lidar_dim=lidar_dim(metadata),
    )


def build_learner(
    metadata: ModelMetadata,
    hp: Hyperparameters,
    *,
    device: str = "auto",
    seed: int | None = None,
    shared_trunk: bool = False,
    precision: str = "auto",
) -> PPOLearner | SACLearner:
    """The trainer's learner for a model: Clipped PPO or SAC with DeepRacer's constants.

    With a `seed` the networks' initial weights come from it (torch's global generator is left
    as it was), so the same seed gives the same initial model. `precision` applies to PPO (bf16
    autocast, see `slipstream.rl.precision`); SAC trains in float32 (its tanh-squashed
    log-probabilities and soft targets are left at full precision).
    """
    if seed is None:
        return _build_learner(metadata, hp, device, seed, shared_trunk, precision)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _build_learner(metadata, hp, device, seed, shared_trunk, precision)


def _build_learner(
    metadata: ModelMetadata,
    hp: Hyperparameters,
    device: str,
    seed: int | None,
    shared_trunk: bool,
    precision: str,
) -> PPOLearner | SACLearner:
    if metadata.training_algorithm == "sac":
        from slipstream.rl.networks import SACQNetwork, SACValue

        sac_hp = SACHyperparameters(
            lr=hp.lr,
            batch_size=hp.batch_size,
            discount_factor=hp.discount_factor,
            sac_alpha=hp.sac_alpha,
            loss_type=hp.loss_type,
        )
        dim = lidar_dim(metadata)
        policy = build_policy(metadata)
        space = metadata.action_space
        q = SACQNetwork(
            metadata.sensor,
            metadata.neural_network,
            (space.steering_low, space.speed_low),
            (space.steering_high, space.speed_high),
            lidar_dim=dim,
        )
        v = SACValue(metadata.sensor, metadata.neural_network, lidar_dim=dim)
        return SACLearner(policy, q, v, sac_hp, device=device, seed=seed)
    ppo_hp = PPOHyperparameters(
        lr=hp.lr,
        batch_size=hp.batch_size,
        num_epochs=hp.num_epochs,
        beta_entropy=hp.beta_entropy,
        discount_factor=hp.discount_factor,
        loss_type=hp.loss_type,
        exploration_type=hp.exploration_type,
        e_greedy_value=hp.e_greedy_value,
        epsilon_steps=hp.epsilon_steps,
    )
    policy, value = build_ppo_networks(
        metadata.sensor,
        metadata.neural_network,
        None if metadata.is_continuous else metadata.num_actions,
        continuous=metadata.is_continuous,
        lidar_dim=lidar_dim(metadata),
        shared_trunk=shared_trunk,
    )
    return PPOLearner(policy, value, ppo_hp, device=device, seed=seed, precision=precision)


class PolicyActor:
    """Batched action selection with a copy of the current policy (CPU, no gradients)."""

    def __init__(self, metadata: ModelMetadata, seed: int = 0, device: str = "cpu") -> None:
        self.metadata = metadata
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
        if isinstance(self.policy, SACPolicy):
            if deterministic:
                action = self.policy(tensors)
            else:
                action, _ = self.policy.sample(tensors, generator=self.generator)
            action = action.cpu().numpy()
            return action, np.zeros(len(action), dtype=np.float32)
        distribution = self.policy.distribution(tensors)
        actions = distribution.mode() if deterministic else distribution.sample(self.generator)
        if epsilon > 0.0 and not self.policy.continuous:
            batch = actions.shape[0]
            explore = torch.rand(batch, generator=self.generator) < epsilon
            uniform = torch.randint(self.policy.num_actions, (batch,), generator=self.generator)
            actions = torch.where(explore, uniform, actions)
        log_probs = distribution.log_prob(actions).float()
        return actions.cpu().numpy(), log_probs.cpu().numpy()
