"""Slipstream's inputs: a user's DeepRacer files turned into validated, typed objects.

    model_metadata.json   -> ModelMetadata        load_model_metadata(path | dict | None)
    hyperparameters.json  -> Hyperparameters      load_hyperparameters(path | dict | None)
    training_params.yaml  -> WorldConfig          load_world_yaml(path)
    DRfC run.env          -> WorldConfig          world_from_run_env(path | dict, job_type)
    reward_function.py    -> RewardFunction       load_reward_function(path)
    custom_files/         -> CustomFiles          load_custom_files(dir, job_type)
    --set KEY=VALUE       -> (Hyperparameters, WorldConfig)  apply_overrides(hp, world, [...])

All errors subclass `ConfigError` (a `ValueError`) and name the file, the key, the value and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slipstream.config.custom_files import REQUIRED_FILES, CustomFiles, load_custom_files
from slipstream.config.errors import (
    ConfigError,
    CustomFilesError,
    HyperparameterError,
    ModelMetadataError,
    RewardFunctionError,
    WorldConfigError,
    did_you_mean,
)
from slipstream.config.hyperparameters import (
    PROCESSED_KEYS,
    Hyperparameters,
    load_hyperparameters,
    parse_hyperparameters,
)
from slipstream.config.model_metadata import (
    CAMERA_SENSORS,
    LIDAR_SENSORS,
    ContinuousActionSpace,
    DiscreteAction,
    LidarConfig,
    ModelMetadata,
    load_model_metadata,
    parse_model_metadata,
)
from slipstream.config.reward_function import (
    REWARD_LIMIT,
    REWARD_PARAMS_KEYS,
    RewardFunction,
    as_reward_function,
    check_reward_function,
    copy_params,
    default_reward_function_path,
    load_reward_function,
)
from slipstream.config.run_env import read_env_file, world_from_run_env
from slipstream.config.world import (
    KNOWN_UNUSED_KEYS,
    RACE_TYPES,
    WorldConfig,
    load_world_yaml,
    parse_world,
    read_world_yaml,
    world_name_with_direction,
)


def apply_overrides(
    hyperparameters: Hyperparameters,
    world: WorldConfig,
    assignments: Iterable[str],
    source: str = "--set",
) -> tuple[Hyperparameters, WorldConfig]:
    """Apply `KEY=VALUE` assignments (the CLI's `--set`) to hyperparameters and world settings.

    Lower-case keys are hyperparameters (`lr=0.001`), upper-case keys world YAML keys
    (`NUMBER_OF_OBSTACLES=3`). Values are text, cast like values in the files. An unknown key is
    a `ConfigError` with a did-you-mean; a bad value the usual typed error naming `source`.
    """
    hp_names = Hyperparameters.field_names()
    world_names = WorldConfig.keys()
    hp_values: dict[str, Any] = {}
    world_values: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                "expected KEY=VALUE",
                source=source,
                value=assignment,
                fix="write e.g. --set lr=0.0001 or --set NUMBER_OF_OBSTACLES=3",
            )
        value = value.strip()
        if key in hp_names:
            hp_values[key] = value
        elif key in world_names or key in KNOWN_UNUSED_KEYS:
            world_values[key] = value
        else:
            raise ConfigError(
                f"unknown setting.{did_you_mean(key, (*hp_names, *world_names))}",
                source=source,
                key=key,
                value=value,
                fix="use a hyperparameter name in lower case (e.g. lr, batch_size, "
                "discount_factor) or a world YAML key in upper case (e.g. WORLD_NAME, "
                "NUMBER_OF_OBSTACLES, CHANGE_START_POSITION)",
            )
    if hp_values:
        hyperparameters = hyperparameters.with_overrides(hp_values, source=source)
    if world_values:
        world = world.with_overrides(world_values, source=source)
    return hyperparameters, world


__all__ = [
    "CAMERA_SENSORS",
    "KNOWN_UNUSED_KEYS",
    "LIDAR_SENSORS",
    "PROCESSED_KEYS",
    "RACE_TYPES",
    "REQUIRED_FILES",
    "REWARD_LIMIT",
    "REWARD_PARAMS_KEYS",
    "ConfigError",
    "ContinuousActionSpace",
    "CustomFiles",
    "CustomFilesError",
    "DiscreteAction",
    "HyperparameterError",
    "Hyperparameters",
    "LidarConfig",
    "ModelMetadata",
    "ModelMetadataError",
    "RewardFunction",
    "RewardFunctionError",
    "WorldConfig",
    "WorldConfigError",
    "apply_overrides",
    "as_reward_function",
    "check_reward_function",
    "copy_params",
    "default_reward_function_path",
    "load_custom_files",
    "load_hyperparameters",
    "load_model_metadata",
    "load_reward_function",
    "load_world_yaml",
    "parse_hyperparameters",
    "parse_model_metadata",
    "parse_world",
    "read_env_file",
    "read_world_yaml",
    "world_from_run_env",
    "world_name_with_direction",
]
