"""A DRfC `custom_files/` folder: the three files a DeepRacer model is defined by, plus world settings.

Required (as DRfC uploads them to `s3://bucket/custom_files/`):

    hyperparameters.json   training hyperparameters (SageMaker names)
    model_metadata.json    action space, sensors, network, algorithm
    reward_function.py     def reward_function(params) -> float

Optional world settings, applied in this order (later wins):

    system.env             DRfC system settings (DR_WORKERS)
    run.env                DRfC run settings (DR_WORLD_NAME, DR_RACE_TYPE, DR_TRAIN_*, DR_EVAL_*, DR_OA_*, DR_H2B_*)
    training_params.yaml   RoboMaker YAML (evaluation: evaluation_params.yaml or eval_params.yaml first)

Everything is validated when loaded; the reward function is executed once (its top level) so a
syntax error shows up before training starts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from slipstream.config.errors import CustomFilesError, parse_choice
from slipstream.config.hyperparameters import Hyperparameters, load_hyperparameters
from slipstream.config.model_metadata import ModelMetadata, load_model_metadata
from slipstream.config.reward_function import RewardFunction, load_reward_function
from slipstream.config.run_env import world_from_run_env
from slipstream.config.world import JOB_TYPES, WorldConfig, read_world_yaml

logger = logging.getLogger(__name__)

REQUIRED_FILES = {
    "hyperparameters.json": "the training hyperparameters, e.g. "
    '{"batch_size": 64, "lr": 0.0003, "num_epochs": 5, ...} (DRfC copies defaults/hyperparameters.json)',
    "model_metadata.json": "the action space and sensors, e.g. "
    '{"action_space": [{"steering_angle": 0, "speed": 1.0}, ...], "sensor": ["FRONT_FACING_CAMERA"]} '
    "(DRfC copies defaults/model_metadata.json)",
    "reward_function.py": "`def reward_function(params):` returning a float "
    "(DRfC copies defaults/reward_function.py)",
}
WORLD_YAML_NAMES = {
    "TRAINING": ("training_params.yaml",),
    "EVALUATION": ("evaluation_params.yaml", "eval_params.yaml", "training_params.yaml"),
}


@dataclass(frozen=True)
class CustomFiles:
    """The validated contents of a custom_files folder (and its world settings)."""

    model_metadata: ModelMetadata
    hyperparameters: Hyperparameters
    reward_function_path: Path
    world: WorldConfig

    def load_reward_function(self) -> RewardFunction:
        """A fresh `RewardFunction` from `reward_function_path` (own module, own state)."""
        return load_reward_function(self.reward_function_path)


def load_custom_files(
    directory: str | Path,
    job_type: str = "TRAINING",
    *,
    run_env: str | Path | None = None,
    system_env: str | Path | None = None,
) -> CustomFiles:
    """Read and validate a DRfC custom_files folder.

    `run_env` / `system_env` point at DRfC's env files when they are not inside `directory`
    (DRfC keeps them in its root folder). Errors name the file and what belongs in it.
    """
    folder = Path(directory)
    job = parse_choice(job_type, "job_type", JOB_TYPES, CustomFilesError)
    if not folder.is_dir():
        raise CustomFilesError(
            "the custom_files folder does not exist",
            source=folder,
            fix="give the folder holding hyperparameters.json, model_metadata.json and "
            "reward_function.py (DRfC's custom_files)",
        )
    for name, content in REQUIRED_FILES.items():
        if not (folder / name).is_file():
            raise CustomFilesError(
                f"{name} is missing",
                source=folder / name,
                fix=f"create it with {content}",
            )
    metadata = load_model_metadata(folder / "model_metadata.json")
    hyperparameters = load_hyperparameters(folder / "hyperparameters.json")
    reward_path = (folder / "reward_function.py").resolve()
    load_reward_function(reward_path)  # fail now on a syntax error or a missing function

    world = _load_world(folder, job, run_env, system_env)
    return CustomFiles(
        model_metadata=metadata,
        hyperparameters=hyperparameters,
        reward_function_path=reward_path,
        world=world,
    )


def _load_world(
    folder: Path, job: str, run_env: str | Path | None, system_env: str | Path | None
) -> WorldConfig:
    run_env_path = Path(run_env) if run_env is not None else folder / "run.env"
    system_env_path = Path(system_env) if system_env is not None else folder / "system.env"
    for given, path in ((run_env, run_env_path), (system_env, system_env_path)):
        if given is not None and not path.is_file():
            raise CustomFilesError("the env file does not exist", source=path)
    world = WorldConfig.for_job(job)
    if run_env_path.is_file() or system_env_path.is_file():
        world = world_from_run_env(
            run_env_path if run_env_path.is_file() else {},
            job,
            system_env=system_env_path if system_env_path.is_file() else None,
        )
        logger.info(
            "world settings from %s", run_env_path if run_env_path.is_file() else system_env_path
        )
    for name in WORLD_YAML_NAMES[job]:
        yaml_path = folder / name
        if yaml_path.is_file():
            raw = read_world_yaml(yaml_path)
            raw["JOB_TYPE"] = job
            world = world.with_overrides(raw, source=str(yaml_path))
            logger.info("world settings from %s", yaml_path)
            break
    return world


__all__ = ["REQUIRED_FILES", "CustomFiles", "load_custom_files"]
