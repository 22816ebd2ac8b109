"""`slipstream/DeepRacer-v0`: one DeepRacer car as a Gymnasium env."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from slipstream.env.core import DeepRacerCore
from slipstream.env.spaces import action_space_for, observation_space_for
from slipstream.env.vector_env import step_info


class DeepRacerEnv(gym.Env):
    """## Description
    One AWS DeepRacer car on a track, stepped 15 times per simulated second, with DeepRacer's
    observations, action space, reward-function contract and episode rules.

    ## Action Space
    From `model_metadata`: `Discrete(n)` indexes the action list; a continuous space is
    `Box(-1, 1, (2,))` ([steering, speed], rescaled onto the metadata's ranges) for Clipped PPO,
    or `Box([steer_low, speed_low], [steer_high, speed_high])` for SAC.

    ## Observation Space
    A `Dict` keyed by the model's sensors:

    | key | shape | dtype | range |
    |---|---|---|---|
    | FRONT_FACING_CAMERA / LEFT_CAMERA | (120, 160, 1) | uint8 | 0-255 grey |
    | STEREO_CAMERAS | (120, 160, 2) | uint8 | left, right |
    | LIDAR | (64,) | float32 | 0.15-1.0 m |
    | SECTOR_LIDAR | (8,) | float32 | 0 or 1 |

    The observation returned by `step` is taken *after* the action; the reward and `info`
    describe the pose *before* it, as in DeepRacer.

    ## Rewards
    The user's `reward_function(params)` on the DeepRacer params dict (`info["reward_params"]`).
    The first step of every episode is DeepRacer's `prepare` step: reward 0, action not executed.

    ## Episode End
    Terminated: `lap_complete`, `off_track` (no wheel on the road), `crashed`, `immobilized`,
    `reversed` (`info["episode_status"]`). Truncated: the step cap (`max_steps`).

    ## Version History
    * v0: first version.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        self.core = DeepRacerCore(1, **kwargs)
        self.render_mode = render_mode
        self.observation_space = observation_space_for(self.core.metadata)
        self.action_space = action_space_for(self.core.metadata)
        self._seeded = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None or not self._seeded:
            car_seed = seed if seed is not None else int(self.np_random.integers(2**31))
            self.core.seed([car_seed])
            self._seeded = True
        obs = self.core.reset(options=options)
        return _unbatch(obs), {}

    def step(self, action):
        batched = np.asarray(action)[None, ...]
        step = self.core.step(batched)
        info = {
            k: (v[0].item() if hasattr(v[0], "item") else v[0])
            for k, v in step_info(step, self.core.closest_waypoint(step.result)).items()
        }
        return (
            _unbatch(step.obs),
            float(step.reward[0]),
            bool(step.terminated[0]),
            bool(step.truncated[0]),
            info,
        )

    def render(self):
        if self.render_mode == "rgb_array":
            return self.core.render_topdown(follow=0)
        return None


def _unbatch(obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v[0] for k, v in obs.items()}
