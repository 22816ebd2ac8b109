"""Actions of the model's action space -> commanded steering (deg) and speed (m/s), batched.

Discrete: the action is an index into the action list. Continuous: an array (N, 2) ordered
[steering, speed]; for Clipped PPO the network acts in [-1, 1] and the value is clipped then
rescaled linearly onto [low, high] (DeepRacer's ScalableBoxActionSpace); for SAC it is already in
[low, high] and is clipped to the box. The returned commands are what the reward function sees
(`steering_angle`, `speed`); the car clips them to its own limits when it executes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ActionTable:
    """Numeric form of an action space, independent of how it was loaded.

    Discrete: `steering` and `speed` hold one entry per action. Continuous: they hold
    [low, high] and `scaled` says whether actions arrive in [-1, 1] (PPO) or raw (SAC).
    """

    steering: np.ndarray
    speed: np.ndarray
    continuous: bool
    scaled: bool = True

    @classmethod
    def discrete(cls, steering_deg, speed) -> ActionTable:
        return cls(np.asarray(steering_deg, float), np.asarray(speed, float), continuous=False)

    @classmethod
    def continuous_box(cls, steering_range, speed_range, scaled: bool = True) -> ActionTable:
        return cls(np.asarray(steering_range, float), np.asarray(speed_range, float), True, scaled)

    @classmethod
    def from_metadata(cls, metadata) -> ActionTable:
        """From a `slipstream.config.ModelMetadata`."""
        if metadata.is_continuous:
            space = metadata.action_space
            return cls.continuous_box(
                (space.steering_low, space.steering_high),
                (space.speed_low, space.speed_high),
                scaled=metadata.training_algorithm != "sac",
            )
        return cls.discrete(
            [a.steering_angle for a in metadata.action_space],
            [a.speed for a in metadata.action_space],
        )

    @property
    def num_actions(self) -> int:
        return 0 if self.continuous else len(self.steering)

    def commands(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(steering_deg (N,), speed (N,)) for a batch of actions."""
        if not self.continuous:
            index = np.asarray(actions, dtype=np.int64).reshape(-1)
            if index.size and (index.min() < 0 or index.max() >= len(self.steering)):
                raise ValueError(
                    f"discrete action index out of range 0..{len(self.steering) - 1}: {index}"
                )
            return self.steering[index], self.speed[index]
        a = np.asarray(actions, dtype=np.float64).reshape(-1, 2)
        lows = np.array([self.steering[0], self.speed[0]])
        highs = np.array([self.steering[1], self.speed[1]])
        if self.scaled:
            a = (highs - lows) / 2.0 * (np.clip(a, -1.0, 1.0) + 1.0) + lows
        else:
            a = np.clip(a, lows, highs)
        return a[:, 0], a[:, 1]
