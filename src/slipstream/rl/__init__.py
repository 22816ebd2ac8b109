"""Learning algorithms: DeepRacer's networks, Clipped PPO, SAC, GAE and exploration schedules.

Modules: `networks` (embedders, middleware, PPO and SAC networks), `distributions` (categorical and
diagonal Gaussian), `gae` (`compute_gae`), `ppo` (losses, `PPOHyperparameters`, `PPOLearner`),
`sac` (losses, `SACHyperparameters`, `SACLearner`, `ReplayBuffer`), `exploration` (e-greedy).
"""

from slipstream.rl.exploration import action_selection, epsilon_schedule
from slipstream.rl.gae import compute_gae
from slipstream.rl.networks import (
    PPOPolicy,
    PPOValue,
    SACPolicy,
    SACQNetwork,
    SACValue,
    build_embedder,
    build_ppo_networks,
    middleware,
)
from slipstream.rl.ppo import PPOHyperparameters, PPOLearner
from slipstream.rl.sac import ReplayBuffer, SACHyperparameters, SACLearner

__all__ = [
    "PPOHyperparameters",
    "PPOLearner",
    "PPOPolicy",
    "PPOValue",
    "ReplayBuffer",
    "SACHyperparameters",
    "SACLearner",
    "SACPolicy",
    "SACQNetwork",
    "SACValue",
    "action_selection",
    "build_embedder",
    "build_ppo_networks",
    "compute_gae",
    "epsilon_schedule",
    "middleware",
]
