"""custom_files/ folders and `--set KEY=VALUE` overrides."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

from slipstream.config import (
    ConfigError,
    CustomFilesError,
    HyperparameterError,
    Hyperparameters,
    WorldConfig,
    WorldConfigError,
    apply_overrides,
    load_custom_files,
    load_hyperparameters,
    load_model_metadata,
)

DEFAULTS = Path(str(resources.files("slipstream").joinpath("defaults")))


@pytest.fixture
def custom_files(tmp_path):
    folder = tmp_path / "custom_files"
    folder.mkdir()
    for name in ("hyperparameters.json", "model_metadata.json", "reward_function.py"):
        shutil.copy(DEFAULTS / name, folder / name)
    return folder


def test_default_files_load(custom_files):
    files = load_custom_files(custom_files)
    assert files.model_metadata == load_model_metadata(None)
    assert files.hyperparameters == load_hyperparameters(None)
    assert files.world == WorldConfig()
    assert files.reward_function_path == (custom_files / "reward_function.py").resolve()
    assert files.load_reward_function()({"all_wheels_on_track": False}) == 1e-3


@pytest.mark.parametrize(
    "missing", ["hyperparameters.json", "model_metadata.json", "reward_function.py"]
)
def test_missing_file_names_it_and_its_content(custom_files, missing):
    (custom_files / missing).unlink()
    with pytest.raises(CustomFilesError) as err:
        load_custom_files(custom_files)
    message = str(err.value)
    assert str(custom_files / missing) in message and "missing" in message and "DRfC" in message


def test_missing_folder(tmp_path):
    with pytest.raises(CustomFilesError, match="does not exist"):
        load_custom_files(tmp_path / "nope")


def test_bad_file_inside_is_reported(custom_files):
    (custom_files / "reward_function.py").write_text("def reward_function(params)\n    return 1\n")
    with pytest.raises(ConfigError, match=r"reward_function.py:1"):
        load_custom_files(custom_files)


def test_world_from_run_env_and_yaml(custom_files):
    (custom_files / "run.env").write_text(
        "DR_WORLD_NAME=reInvent2019_track\nDR_RACE_TYPE=TIME_TRIAL\nDR_TRAIN_ROUND_ROBIN_ADVANCE_DIST=0.2\n"
        "DR_EVAL_NUMBER_OF_TRIALS=4\n"
    )
    (custom_files / "system.env").write_text("DR_WORKERS=3\n")
    files = load_custom_files(custom_files)
    assert files.world.WORLD_NAME == "reInvent2019_track" and files.world.NUM_WORKERS == 3
    assert files.world.ROUND_ROBIN_ADVANCE_DIST == 0.2
    evaluation = load_custom_files(custom_files, "EVALUATION").world
    assert evaluation.NUMBER_OF_TRIALS == 4 and evaluation.CHANGE_START_POSITION is False

    (custom_files / "training_params.yaml").write_text(
        "---\n'WORLD_NAME': 'Oval_track'\n'NUMBER_OF_REVERSE_COUNTS': '20'\n"
    )
    world = load_custom_files(custom_files).world
    assert world.WORLD_NAME == "Oval_track"  # the YAML wins over run.env
    assert world.NUMBER_OF_REVERSE_COUNTS == 20 and world.NUM_WORKERS == 3


def test_world_yaml_error_names_yaml(custom_files):
    (custom_files / "training_params.yaml").write_text("NUMBER_OF_TRIALS: 'lots'\n")
    with pytest.raises(WorldConfigError, match=r"training_params.yaml: NUMBER_OF_TRIALS = 'lots'"):
        load_custom_files(custom_files)


# --- --set KEY=VALUE ------------------------------------------------------------------------------------


def test_apply_overrides_routes_by_case():
    hp, world = apply_overrides(
        Hyperparameters(),
        WorldConfig(),
        ["lr=0.001", "batch_size=128", "NUMBER_OF_OBSTACLES=3", "WORLD_NAME=reInvent2019_track"],
    )
    assert (hp.lr, hp.batch_size) == (0.001, 128)
    assert world.NUMBER_OF_OBSTACLES == 3 and world.WORLD_NAME == "reInvent2019_track"


@pytest.mark.parametrize(
    ("assignment", "suggestion"),
    [
        ("LR=0.1", "'lr'"),
        ("NUMBER_OF_OBSTACLE=3", "'NUMBER_OF_OBSTACLES'"),
        ("discount=0.9", "'discount_factor'"),
    ],
)
def test_apply_overrides_unknown_key_suggests(assignment, suggestion):
    with pytest.raises(ConfigError) as err:
        apply_overrides(Hyperparameters(), WorldConfig(), [assignment])
    assert f"Did you mean {suggestion}" in str(err.value) and "--set" in str(err.value)


def test_apply_overrides_bad_values():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        apply_overrides(Hyperparameters(), WorldConfig(), ["lr"])
    with pytest.raises(HyperparameterError, match=r"--set: lr = 2.0: lr must lie in"):
        apply_overrides(Hyperparameters(), WorldConfig(), ["lr=2"])
    with pytest.raises(WorldConfigError, match=r"--set: REVERSE_DIR = 'maybe'"):
        apply_overrides(Hyperparameters(), WorldConfig(), ["REVERSE_DIR=maybe"])
