"""`DeepRacerVectorEnv`: N cars stepping together in one batched simulation.

Autoreset mode is SAME_STEP: when a car's episode ends, the observation returned for it is the
first observation of its next episode, and `info["final_obs"][i]` / `info["final_info"]` hold
the last observation and info of the episode that ended (Gymnasium 1.x conventions).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from slipstream.env.core import CoreStep, DeepRacerCore
from slipstream.env.spaces import action_space_for, observation_space_for

INFO_ARRAYS = (
    "progress",
    "sim_time",
    "pause_duration",
    "lap_count",
    "reset_count",
    "obstacle_crash_counter",
    "steps",
)


def step_info(
    step: CoreStep, closest_waypoint: np.ndarray, index: np.ndarray | slice = slice(None)
) -> dict[str, Any]:
    """The info dict of a step for the cars selected by index (arrays keep their batch dim)."""
    r = step.result
    info: dict[str, Any] = {name: getattr(r, name)[index] for name in INFO_ARRAYS}
    params = np.empty(len(step.params), dtype=object)
    params[:] = step.params
    info["reward_params"] = params[index]
    info["episode_status"] = np.asarray(step.status, dtype=object)[index]
    info["closest_waypoint"] = closest_waypoint[index]
    return info


class DeepRacerVectorEnv(VectorEnv):
    """## Description
    N DeepRacer cars, each in its own episode, simulated in one batch (see `DeepRacerEnv` for
    the observation, action, reward and episode-end specification of each car).

    ## Autoreset
    `metadata["autoreset_mode"] == AutoresetMode.SAME_STEP`.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["rgb_array"],
        "render_fps": 15,
        "autoreset_mode": AutoresetMode.SAME_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        spread_starts: bool = True,
        **kwargs: Any,
    ) -> None:
        """Keyword arguments as `DeepRacerEnv`. `spread_starts` (default True here) starts each
        car's round robin at a random point of the lap drawn from its seed, so the batch covers
        the whole lap; car i then matches `DeepRacerEnv(spread_starts=True)` seeded with seed+i."""
        self.core = DeepRacerCore(num_envs, spread_starts=spread_starts, **kwargs)
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.single_observation_space = observation_space_for(self.core.metadata)
        self.single_action_space = action_space_for(self.core.metadata)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._seeded = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset every car. `seed` s seeds car i with s + i (matching single envs seeded so)."""
        if seed is not None or not self._seeded:
            base = int(np.random.SeedSequence(seed).generate_state(1)[0]) if seed is None else seed
            self.core.seed([base + i for i in range(self.num_envs)])
            self._seeded = True
            self.single_action_space.seed(seed)
            self.action_space.seed(seed)
        obs = self.core.reset(options=options)
        return obs, {}

    def step(self, actions):
        step = self.core.step(np.asarray(actions))
        done = step.terminated | step.truncated
        infos = step_info(step, self.core.closest_waypoint(step.result))
        obs = step.obs
        if done.any():
            final_obs = np.empty(self.num_envs, dtype=object)
            for i in np.flatnonzero(done):
                final_obs[i] = {k: v[i].copy() for k, v in obs.items()}
            infos["final_info"] = dict(infos)  # the step's info, before the final_obs keys
            infos["_final_info"] = done.copy()
            infos["final_obs"] = final_obs
            infos["_final_obs"] = done.copy()
            obs = self.core.reset(done)
        return obs, step.reward, step.terminated.copy(), step.truncated.copy(), infos

    def render(self):
        if self.render_mode == "rgb_array":
            return self.core.render_topdown()
        return None

    def close_extras(self, **kwargs: Any) -> None:
        pass


def make_vec_env(num_envs: int, **kwargs: Any) -> DeepRacerVectorEnv:
    """`slipstream.make_vec_env(num_envs, track=..., model_metadata=..., reward_function=..., ...)`."""
    return DeepRacerVectorEnv(num_envs, **kwargs)


__all__ = ["DeepRacerVectorEnv", "make_vec_env", "step_info"]
