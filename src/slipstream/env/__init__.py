"""Gymnasium adapters: `slipstream/DeepRacer-v0` and the batched `make_vec_env`."""

from slipstream.env.single_env import DeepRacerEnv
from slipstream.env.vector_env import DeepRacerVectorEnv, make_vec_env

ENV_ID = "slipstream/DeepRacer-v0"

__all__ = ["ENV_ID", "DeepRacerEnv", "DeepRacerVectorEnv", "make_vec_env"]
