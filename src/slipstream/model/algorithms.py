"""What "the model" is for each DeepRacer training algorithm, looked up instead of branched on.

`ALGORITHMS` maps model_metadata.json's `training_algorithm` to an `Algorithm`: how to build its
policy tower (what rollouts run and the car gets) and its learner, its sampling rule, whether its
update learns from a replay buffer, and the rl_coach scope its exported graph uses
(docs/deepracer.md 4.3). Callers write `algorithm_of(metadata).build_policy(metadata)`; adding an
algorithm is one more entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from slipstream.config.hyperparameters import Hyperparameters
from slipstream.config.model_metadata import LidarConfig, ModelMetadata
from slipstream.model.graph_names import GRAPH_NAMES
from slipstream.rl import ppo, sac
from slipstream.rl.networks import PPOPolicy, SACPolicy, build_ppo_networks


def lidar_dim(metadata: ModelMetadata) -> int | None:
    """Width of the sector-lidar input (None without DISCRETIZED_SECTOR_LIDAR)."""
    if metadata.lidar == "DISCRETIZED_SECTOR_LIDAR":
        cfg = metadata.lidar_config or LidarConfig()
        return cfg.num_sectors * cfg.num_values_per_sector
    return None


Sample = Callable[
    [nn.Module, Mapping[str, torch.Tensor], bool, float, torch.Generator],
    tuple[np.ndarray, np.ndarray],
]
"""(policy, observations on its device, deterministic, epsilon, generator) -> (actions,
log-probabilities) as float32 numpy arrays; log-probabilities are zeros where the update does not
use them (SAC)."""


@dataclass(frozen=True)
class Algorithm:
    """One training algorithm: the parts of a model that differ between PPO and SAC."""

    name: str
    """model_metadata.json's `training_algorithm`."""
    build_policy: Callable[[ModelMetadata], nn.Module]
    """The policy tower DeepRacer builds for a metadata (what gets exported)."""
    build_learner: Callable[[ModelMetadata, Hyperparameters, str, int | None, bool, str], Any]
    """(metadata, hyperparameters, device, seed, shared_trunk, precision) -> the learner."""
    sample: Sample
    replay: bool
    """The update learns from a replay buffer (off-policy) instead of this iteration's episodes."""
    scope: str
    """rl_coach's TF scope of the policy's input placeholders."""
    output_node: str
    """The frozen graph's output node (DeepRacer's FROZEN_HEAD_OUTPUT_GRAPH_FORMAT_MAPPING)."""
    value_tower: bool
    """The checkpoint has a PPO value tower (`network_0`) beside the policy."""


# ------------------------------------------------------------------------- Clipped PPO
def _ppo_policy(metadata: ModelMetadata) -> PPOPolicy:
    return PPOPolicy(
        metadata.sensor,
        metadata.neural_network,
        None if metadata.is_continuous else metadata.num_actions,
        continuous=metadata.is_continuous,
        lidar_dim=lidar_dim(metadata),
    )


def _ppo_learner(
    metadata: ModelMetadata,
    hp: Hyperparameters,
    device: str,
    seed: int | None,
    shared_trunk: bool,
    precision: str,
) -> ppo.PPOLearner:
    ppo_hp = ppo.PPOHyperparameters(
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
    return ppo.PPOLearner(policy, value, ppo_hp, device=device, seed=seed, precision=precision)


def _ppo_sample(
    policy: PPOPolicy,
    obs: Mapping[str, torch.Tensor],
    deterministic: bool,
    epsilon: float,
    generator: torch.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    actions, log_probs = ppo.sample_actions(
        policy.distribution(obs), deterministic, epsilon, generator
    )
    return actions.cpu().numpy(), log_probs.cpu().numpy()


# ------------------------------------------------------------------------- SAC
def _sac_bounds(metadata: ModelMetadata) -> tuple[tuple[float, float], tuple[float, float]]:
    space = metadata.action_space
    return (space.steering_low, space.speed_low), (space.steering_high, space.speed_high)


def _sac_policy(metadata: ModelMetadata) -> SACPolicy:
    low, high = _sac_bounds(metadata)
    return SACPolicy(
        metadata.sensor, metadata.neural_network, low, high, lidar_dim=lidar_dim(metadata)
    )


def _sac_learner(
    metadata: ModelMetadata,
    hp: Hyperparameters,
    device: str,
    seed: int | None,
    shared_trunk: bool,
    precision: str,
) -> sac.SACLearner:
    """SAC trains in float32 (`precision` and `shared_trunk` apply to PPO only): its
    tanh-squashed log-probabilities and soft targets are left at full precision."""
    from slipstream.rl.networks import SACQNetwork, SACValue

    sac_hp = sac.SACHyperparameters(
        lr=hp.lr,
        batch_size=hp.batch_size,
        discount_factor=hp.discount_factor,
        sac_alpha=hp.sac_alpha,
        loss_type=hp.loss_type,
    )
    dim = lidar_dim(metadata)
    low, high = _sac_bounds(metadata)
    policy = _sac_policy(metadata)
    q = SACQNetwork(metadata.sensor, metadata.neural_network, low, high, lidar_dim=dim)
    v = SACValue(metadata.sensor, metadata.neural_network, lidar_dim=dim)
    return sac.SACLearner(policy, q, v, sac_hp, device=device, seed=seed)


def _sac_sample(
    policy: SACPolicy,
    obs: Mapping[str, torch.Tensor],
    deterministic: bool,
    epsilon: float,
    generator: torch.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    actions = sac.sample_actions(policy, obs, deterministic, generator).cpu().numpy()
    return actions, np.zeros(len(actions), dtype=np.float32)


ALGORITHMS: dict[str, Algorithm] = {
    "clipped_ppo": Algorithm(
        name="clipped_ppo",
        build_policy=_ppo_policy,
        build_learner=_ppo_learner,
        sample=_ppo_sample,
        replay=False,
        scope=GRAPH_NAMES["clipped_ppo"].scope,
        output_node=GRAPH_NAMES["clipped_ppo"].output_node,
        value_tower=True,
    ),
    "sac": Algorithm(
        name="sac",
        build_policy=_sac_policy,
        build_learner=_sac_learner,
        sample=_sac_sample,
        replay=True,
        scope=GRAPH_NAMES["sac"].scope,
        output_node=GRAPH_NAMES["sac"].output_node,
        value_tower=False,
    ),
}


def algorithm_of(metadata: ModelMetadata | str) -> Algorithm:
    """The `Algorithm` of a model (its metadata, or a `training_algorithm` name)."""
    name = metadata if isinstance(metadata, str) else metadata.training_algorithm
    return ALGORITHMS[name]
