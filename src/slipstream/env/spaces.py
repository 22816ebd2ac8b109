"""Gymnasium spaces of a model: observations keyed by DeepRacer sensor name, and actions."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from slipstream.config.model_metadata import LidarConfig, ModelMetadata

CAMERA_SHAPE = (120, 160)


def sensor_space(name: str, metadata: ModelMetadata) -> spaces.Space:
    """The observation space of one DeepRacer sensor (docs/deepracer.md 4.1)."""
    if name in ("FRONT_FACING_CAMERA", "LEFT_CAMERA", "observation"):
        return spaces.Box(0, 255, (*CAMERA_SHAPE, 1), dtype=np.uint8)
    if name == "STEREO_CAMERAS":
        return spaces.Box(0, 255, (*CAMERA_SHAPE, 2), dtype=np.uint8)
    if name == "LIDAR":
        return spaces.Box(0.15, 1.0, (64,), dtype=np.float32)
    if name == "SECTOR_LIDAR":
        return spaces.Box(0.0, 1.0, (8,), dtype=np.float32)
    if name == "DISCRETIZED_SECTOR_LIDAR":
        cfg = metadata.lidar_config or LidarConfig()
        size = cfg.num_sectors * cfg.num_values_per_sector
        return spaces.Box(0.0, 1.0, (size,), dtype=np.float32)
    raise ValueError(f"unknown sensor {name!r}")


def observation_space_for(metadata: ModelMetadata) -> spaces.Dict:
    return spaces.Dict({name: sensor_space(name, metadata) for name in metadata.sensor})


def action_space_for(metadata: ModelMetadata) -> spaces.Space:
    """Discrete(n); continuous PPO acts in [-1, 1]^2; SAC in [low, high] ([steering, speed])."""
    if not metadata.is_continuous:
        return spaces.Discrete(metadata.num_actions)
    space = metadata.action_space
    if metadata.training_algorithm == "sac":
        low = np.array([space.steering_low, space.speed_low], dtype=np.float32)
        high = np.array([space.steering_high, space.speed_high], dtype=np.float32)
        return spaces.Box(low, high, dtype=np.float32)
    return spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
