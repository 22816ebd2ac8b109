"""Slipstream: DeepRacer-style reinforcement-learning training with a batched simulator.

`import slipstream` registers the Gymnasium id `slipstream/DeepRacer-v0`; heavy modules (torch,
Ray) are imported only where they are used.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

__version__ = "0.1.0"
ENV_ID = "slipstream/DeepRacer-v0"


def make_vec_env(num_envs: int, **kwargs: Any):
    """N cars in one batched simulation, as a `gymnasium.vector.VectorEnv` (see docs/architecture.md)."""
    from slipstream.env.vector_env import DeepRacerVectorEnv

    return DeepRacerVectorEnv(num_envs, **kwargs)


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="slipstream.env.single_env:DeepRacerEnv")

__all__ = ["ENV_ID", "__version__", "make_vec_env"]
