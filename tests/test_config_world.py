"""World settings: RoboMaker YAML keys, DRfC run.env mapping, job defaults, YAML out."""

from __future__ import annotations

import dataclasses
import logging

import pytest
import yaml

from slipstream.config import (
    WorldConfig,
    WorldConfigError,
    load_world_yaml,
    read_env_file,
    world_from_run_env,
    world_name_with_direction,
)
from slipstream.config.world import _PARSERS

# A training_params.yaml as DRfC writes it: every value a quoted string (default_style="'").
DRFC_TRAINING_YAML = """---
'AWS_REGION': 'us-east-1'
'JOB_TYPE': 'TRAINING'
'METRICS_S3_BUCKET': 'bucket'
'METRICS_S3_OBJECT_KEY': 'rl-deepracer-sagemaker/metrics/TrainingMetrics.json'
'NUM_WORKERS': '3'
'SAGEMAKER_SHARED_S3_PREFIX': 'rl-deepracer-sagemaker'
'BODY_SHELL_TYPE': 'deepracer'
'CAR_COLOR': 'Red'
'RACE_TYPE': 'OBJECT_AVOIDANCE'
'WORLD_NAME': 'reInvent2019_track'
'REVERSE_DIR': 'False'
'ALTERNATE_DRIVING_DIRECTION': 'true'
'CHANGE_START_POSITION': 'false'
'ROUND_ROBIN_ADVANCE_DIST': '0.1'
'START_POSITION_OFFSET': '0.00'
'ENABLE_DOMAIN_RANDOMIZATION': 'false'
'MIN_EVAL_TRIALS': '5'
'BEST_MODEL_METRIC': 'reward'
'NUMBER_OF_OBSTACLES': '3'
'MIN_DISTANCE_BETWEEN_OBSTACLES': '2.0'
'RANDOMIZE_OBSTACLE_LOCATIONS': 'True'
'IS_OBSTACLE_BOT_CAR': 'false'
'OBSTACLE_TYPE': 'box_obstacle'
'OBJECT_POSITIONS':
- '0.2,1'
- '0.5, -1'
- '0.8,1'
"""

DRFC_RUN_ENV = """DR_RUN_ID=0
DR_WORLD_NAME=2022_april_open
DR_RACE_TYPE=OBJECT_AVOIDANCE
DR_CAR_NAME=FastCar
DR_CAR_COLOR=Red
DR_DISPLAY_NAME=$DR_CAR_NAME
DR_ENABLE_DOMAIN_RANDOMIZATION=False
DR_EVAL_NUMBER_OF_TRIALS=3
DR_EVAL_IS_CONTINUOUS=True
DR_EVAL_MAX_RESETS=100
DR_EVAL_OFF_TRACK_PENALTY=3.0
DR_EVAL_COLLISION_PENALTY=4.0
DR_EVAL_CHECKPOINT=last
DR_EVAL_REVERSE_DIRECTION=True
# DR_EVAL_RTF=1.0
DR_TRAIN_CHANGE_START_POSITION=True
DR_TRAIN_REVERSE_DIRECTION=False
DR_TRAIN_ALTERNATE_DRIVING_DIRECTION=True
DR_TRAIN_START_POSITION_OFFSET=0.25
DR_TRAIN_ROUND_ROBIN_ADVANCE_DIST=0.1
DR_TRAIN_MULTI_CONFIG=False
DR_TRAIN_MIN_EVAL_TRIALS=4
DR_TRAIN_BEST_MODEL_METRIC=progress
DR_LOCAL_S3_MODEL_PREFIX=rl-deepracer-sagemaker
DR_OA_NUMBER_OF_OBSTACLES=6
DR_OA_MIN_DISTANCE_BETWEEN_OBSTACLES=2.0
DR_OA_RANDOMIZE_OBSTACLE_LOCATIONS=False
DR_OA_IS_OBSTACLE_BOT_CAR=False
DR_OA_OBSTACLE_TYPE=box_obstacle
DR_OA_OBJECT_POSITIONS="0.23,-1;0.46,1"
DR_H2B_NUMBER_OF_BOT_CARS=3
DR_H2B_BOT_CAR_SPEED=0.2
"""


def test_field_names_match_parsers():
    names = [f.name for f in dataclasses.fields(WorldConfig)]
    assert names[-1] == "extra" and tuple(names[:-1]) == tuple(_PARSERS)


def test_job_type_defaults():
    train, evaluation = WorldConfig(), WorldConfig(JOB_TYPE="EVALUATION")
    assert train.CHANGE_START_POSITION is True and evaluation.CHANGE_START_POSITION is False
    assert (train.PENALTY_SECONDS, train.OFF_TRACK_PENALTY, train.COLLISION_PENALTY) == (0, 0, 0)
    assert (evaluation.PENALTY_SECONDS, evaluation.OFF_TRACK_PENALTY) == (2.0, 2.0)
    assert evaluation.COLLISION_PENALTY == 5.0
    assert train.NUMBER_OF_RESETS == 0 and train.NUMBER_OF_REVERSE_COUNTS == 15
    assert train.ROUND_ROBIN_ADVANCE_DIST == 0.05 and train.BOT_CAR_SPEED == 0.2
    assert WorldConfig(NUMBER_OF_BOT_CARS=2).PENALTY_SECONDS == 2.0


def test_drfc_yaml_strings_parsed_to_types(tmp_path, caplog):
    path = tmp_path / "training_params.yaml"
    path.write_text(DRFC_TRAINING_YAML)
    with caplog.at_level(logging.WARNING):
        w = load_world_yaml(path)
    assert caplog.text == ""  # S3 keys and CAR_COLOR are known DeepRacer keys: no warning
    assert w.NUM_WORKERS == 3 and isinstance(w.NUM_WORKERS, int)
    assert w.ALTERNATE_DRIVING_DIRECTION is True and w.CHANGE_START_POSITION is False
    assert w.REVERSE_DIR is False and w.RANDOMIZE_OBSTACLE_LOCATIONS is True
    assert w.ROUND_ROBIN_ADVANCE_DIST == 0.1 and w.BEST_MODEL_METRIC == "reward"
    assert w.OBJECT_POSITIONS == ((0.2, 1), (0.5, -1), (0.8, 1)) and w.NUMBER_OF_OBSTACLES == 3
    assert w.RACE_TYPE == "OBJECT_AVOIDANCE" and w.WORLD_NAME == "reInvent2019_track"
    assert w.extra["CAR_COLOR"] == "Red" and w.extra["AWS_REGION"] == "us-east-1"


def test_yaml_native_types_and_job_override(tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_text(
        "JOB_TYPE: TRAINING\nNUMBER_OF_TRIALS: 4\nIS_CONTINUOUS: true\nOBJECT_POSITIONS: []\n"
    )
    w = load_world_yaml(path, job_type="EVALUATION")
    assert w.JOB_TYPE == "EVALUATION" and w.OFF_TRACK_PENALTY == 2.0
    assert w.NUMBER_OF_TRIALS == 4 and w.IS_CONTINUOUS is True and w.OBJECT_POSITIONS == ()


def test_object_positions_forms():
    a = WorldConfig(OBJECT_POSITIONS="0.25,1;0.75,-1")
    b = WorldConfig(OBJECT_POSITIONS=[[0.25, 1], (0.75, "-1")])
    assert a.OBJECT_POSITIONS == b.OBJECT_POSITIONS == ((0.25, 1), (0.75, -1))
    assert a.NUMBER_OF_OBSTACLES == 2  # the positions give the count, as in DeepRacer
    for bad in (["0.5"], ["1.5,1"], ["0.5,left"], 7):
        with pytest.raises(WorldConfigError, match="OBJECT_POSITIONS"):
            WorldConfig(OBJECT_POSITIONS=bad)


def test_broken_yaml_names_line(tmp_path):
    path = tmp_path / "training_params.yaml"
    path.write_text("WORLD_NAME: 'reInvent2019_track'\nRACE_TYPE: 'TIME_TRIAL\nNUM_WORKERS: '1'\n")
    with pytest.raises(WorldConfigError) as err:
        load_world_yaml(path)
    assert f"{path}:" in str(err.value) and "invalid YAML" in str(err.value)
    path.write_text("- a\n- b\n")
    with pytest.raises(WorldConfigError, match="not a mapping"):
        load_world_yaml(path)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("NUMBER_OF_OBSTACLES", "many", "whole number"),
        ("CHANGE_START_POSITION", "sometimes", "true or false"),
        ("BOT_CAR_SPEED", "fast", "expected a number"),
        ("RACE_TYPE", "DRAG_RACE", "not a valid value"),
        ("NUMBER_OF_RESETS", "1", "at least 2"),
        ("START_POSITION_OFFSET", "1.5", r"\[0, 1\]"),
        ("NUM_WORKERS", "0", "at least 1"),
        ("OFF_TRACK_PENALTY", "-1", "must not be negative"),
    ],
)
def test_wrong_types_and_ranges(tmp_path, key, value, problem):
    path = tmp_path / "training_params.yaml"
    path.write_text(f"{key}: '{value}'\n")
    with pytest.raises(WorldConfigError, match=problem) as err:
        load_world_yaml(path)
    assert str(path) in str(err.value) and key in str(err.value)


def test_unknown_key_kept_with_warning(caplog):
    with caplog.at_level(logging.WARNING):
        w = WorldConfig().with_overrides({"NUMBER_OF_OBSTACLE": "3"})
    assert w.extra == {"NUMBER_OF_OBSTACLE": "3"} and w.NUMBER_OF_OBSTACLES == 0
    assert "Did you mean 'NUMBER_OF_OBSTACLES'" in caplog.text


def test_with_overrides_and_job_change():
    w = WorldConfig().with_overrides({"NUMBER_OF_OBSTACLES": "4", "REVERSE_DIR": "true"})
    assert w.NUMBER_OF_OBSTACLES == 4 and w.REVERSE_DIR is True
    e = w.with_overrides({"JOB_TYPE": "EVALUATION"})
    assert e.CHANGE_START_POSITION is False and e.COLLISION_PENALTY == 5.0  # re-derived
    assert e.NUMBER_OF_OBSTACLES == 4
    kept = WorldConfig(OFF_TRACK_PENALTY=1.0).with_overrides({"JOB_TYPE": "EVALUATION"})
    assert kept.OFF_TRACK_PENALTY == 1.0  # explicitly set values stay
    assert WorldConfig().with_overrides({"NUMBER_OF_BOT_CARS": 2}).PENALTY_SECONDS == 2.0


def test_yaml_dict_all_strings_and_round_trip(tmp_path):
    w = WorldConfig(
        WORLD_NAME="reInvent2019_track",
        OBJECT_POSITIONS="0.3,1;0.6,-1",
        TRACK_DIRECTION_CLOCKWISE=False,
        extra={"CAR_COLOR": "Blue"},
    )
    out = w.to_yaml_dict()
    assert out["OBJECT_POSITIONS"] == ["0.3,1", "0.6,-1"] and out["CHANGE_START_POSITION"] == "True"
    assert all(isinstance(v, str) for k, v in out.items() if k != "OBJECT_POSITIONS")
    path = tmp_path / "out.yaml"
    path.write_text(w.to_yaml_text())
    assert path.read_text().startswith("---\n'JOB_TYPE': 'TRAINING'")
    assert load_world_yaml(path) == w


def test_track_direction_rule():
    assert world_name_with_direction("2022_april_open", True) == "2022_april_open_cw"
    assert world_name_with_direction("2022_april_open", False) == "2022_april_open_ccw"
    assert world_name_with_direction("2022_april_open", None) == "2022_april_open"
    assert world_name_with_direction("2022_april_open_ccw", True) == "2022_april_open_cw"
    w = WorldConfig(WORLD_NAME="arctic_open", TRACK_DIRECTION_CLOCKWISE="false")
    assert w.track_name == "arctic_open_ccw" and w.WORLD_NAME == "arctic_open"


# --- DRfC run.env -------------------------------------------------------------------------------


def test_read_env_file(tmp_path):
    path = tmp_path / "run.env"
    path.write_text(
        "# comment\n\nexport DR_A=1\nDR_B='x y'\nDR_C=$DR_A-${DR_B} # note\nDR_D=\"q\"\n"
    )
    assert read_env_file(path) == {"DR_A": "1", "DR_B": "x y", "DR_C": "1-x y", "DR_D": "q"}
    path.write_text("DR_A=1\nnot an assignment\n")
    with pytest.raises(WorldConfigError, match=r"run.env:2"):
        read_env_file(path)


def test_run_env_training_mapping(tmp_path):
    run_env = tmp_path / "run.env"
    run_env.write_text(DRFC_RUN_ENV)
    system_env = tmp_path / "system.env"
    system_env.write_text(
        "DR_WORKERS=4\nDR_SAGEMAKER_IMAGE=5.1.0-gpu\nDR_CAMERA_SUB_ENABLE=False\n"
    )
    w = world_from_run_env(run_env, system_env=system_env)
    assert w.JOB_TYPE == "TRAINING" and w.WORLD_NAME == "2022_april_open"
    assert w.RACE_TYPE == "OBJECT_AVOIDANCE" and w.NUM_WORKERS == 4
    assert w.CHANGE_START_POSITION is True and w.ALTERNATE_DRIVING_DIRECTION is True
    assert w.REVERSE_DIR is False and w.START_POSITION_OFFSET == 0.25
    assert w.ROUND_ROBIN_ADVANCE_DIST == 0.1 and w.MIN_EVAL_TRIALS == 4
    assert w.OBJECT_POSITIONS == ((0.23, -1), (0.46, 1)) and w.NUMBER_OF_OBSTACLES == 2
    assert w.RANDOMIZE_OBSTACLE_LOCATIONS is False and w.OBSTACLE_TYPE == "box_obstacle"
    assert w.NUMBER_OF_BOT_CARS == 0  # DR_H2B_* only apply to HEAD_TO_BOT
    assert w.NUMBER_OF_TRIALS == 10  # DR_EVAL_* only apply to evaluation
    assert w.extra["DISPLAY_NAME"] == "FastCar" and w.extra["CAMERA_SUB_ENABLE"] == "False"


def test_run_env_evaluation_mapping(tmp_path):
    run_env = tmp_path / "run.env"
    run_env.write_text(DRFC_RUN_ENV)
    w = world_from_run_env(run_env, "EVALUATION")
    assert w.JOB_TYPE == "EVALUATION" and w.CHANGE_START_POSITION is False
    assert (w.NUMBER_OF_TRIALS, w.IS_CONTINUOUS, w.NUMBER_OF_RESETS) == (3, True, 100)
    assert (w.OFF_TRACK_PENALTY, w.COLLISION_PENALTY) == (3.0, 4.0)
    assert w.REVERSE_DIR is True and w.EVAL_CHECKPOINT == "last"
    assert w.START_POSITION_OFFSET == 0.0  # DR_TRAIN_* ignored in evaluation


def test_run_env_head_to_bot_and_drfc_defaults():
    w = world_from_run_env(
        {
            "DR_RACE_TYPE": "HEAD_TO_BOT",
            "DR_H2B_NUMBER_OF_BOT_CARS": "3",
            "DR_H2B_IS_LANE_CHANGE": "True",
        }
    )
    assert w.NUMBER_OF_BOT_CARS == 3 and w.IS_LANE_CHANGE is True
    assert w.PENALTY_SECONDS == 2.0 and w.BOT_CAR_SPEED == 0.2  # DRfC script defaults
    assert w.WORLD_NAME == "LGSWide"  # DRfC's default when DR_WORLD_NAME is unset
    oa = world_from_run_env({"DR_RACE_TYPE": "OBJECT_AVOIDANCE"})
    assert oa.NUMBER_OF_OBSTACLES == 6 and oa.RANDOMIZE_OBSTACLE_LOCATIONS is True


def test_run_env_wrong_type_names_variable(tmp_path):
    run_env = tmp_path / "run.env"
    run_env.write_text("DR_WORLD_NAME=reInvent2019_track\nDR_TRAIN_MIN_EVAL_TRIALS=five\n")
    with pytest.raises(WorldConfigError) as err:
        world_from_run_env(run_env)
    message = str(err.value)
    assert str(run_env) in message and "DR_TRAIN_MIN_EVAL_TRIALS -> MIN_EVAL_TRIALS" in message
    assert "'five'" in message and "whole number" in message


def test_run_env_unknown_world_variable(caplog):
    env = {"DR_WORLD_NAME": "reInvent2019_track", "DR_TRAIN_CHANGE_START_POSTION": "False"}
    with pytest.raises(WorldConfigError, match="Did you mean 'DR_TRAIN_CHANGE_START_POSITION'"):
        world_from_run_env(env)
    with caplog.at_level(logging.WARNING):
        w = world_from_run_env(env, strict=False)
    assert "DR_TRAIN_CHANGE_START_POSTION" in caplog.text and w.CHANGE_START_POSITION is True


def test_run_env_yaml_matches_drfc_yaml():
    """The world from run.env writes YAML whose keys parse back to the same world."""
    w = world_from_run_env({"DR_WORLD_NAME": "reInvent2019_track", "DR_WORKERS": "2"})
    again = WorldConfig().with_overrides(yaml.safe_load(w.to_yaml_text()))
    assert again == w


def test_cars_per_world_is_a_typed_key_left_out_of_the_yaml_at_its_default():
    world = WorldConfig().with_overrides({"CARS_PER_WORLD": "2"})
    assert world.CARS_PER_WORLD == 2 and "CARS_PER_WORLD" not in world.extra
    assert world.to_yaml_dict()["CARS_PER_WORLD"] == "2"
    assert "CARS_PER_WORLD" not in WorldConfig().to_yaml_dict()
    with pytest.raises(WorldConfigError, match="CARS_PER_WORLD"):
        WorldConfig(CARS_PER_WORLD=0)
