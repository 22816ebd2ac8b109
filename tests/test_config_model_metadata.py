"""model_metadata.json: DeepRacer samples parse, round-trip, and every kind of bad input fails clearly."""

from __future__ import annotations

import json
import logging

import pytest

from slipstream.config import (
    ContinuousActionSpace,
    DiscreteAction,
    LidarConfig,
    ModelMetadata,
    ModelMetadataError,
    load_model_metadata,
)

# DRfC defaults/model_metadata.json (docs/deepracer.md section 2), written here by hand.
DRFC_DISCRETE = """{
    "action_space": [
        {"steering_angle": -30, "speed": 0.6},
        {"steering_angle": -15, "speed": 0.6},
        {"steering_angle": 0, "speed": 0.6},
        {"steering_angle": 15, "speed": 0.6},
        {"steering_angle": 30, "speed": 0.6}
    ],
    "sensor": ["FRONT_FACING_CAMERA"],
    "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "training_algorithm": "clipped_ppo",
    "action_space_type": "discrete",
    "version": "5"
}"""
DRFC_SAC = """{
    "action_space": {"speed": {"high": 2, "low": 1}, "steering_angle": {"high": 30, "low": -30}},
    "sensor": ["FRONT_FACING_CAMERA"],
    "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "training_algorithm": "sac",
    "action_space_type": "continuous",
    "version": "4"
}"""
# Console style: numeric version, "index" on each action, stereo camera + lidar.
CONSOLE_STEREO_LIDAR = {
    "action_space": [
        {"steering_angle": -30.0, "speed": 1.0, "index": 0},
        {"steering_angle": 0.0, "speed": 2.0, "index": 1},
        {"steering_angle": 30.0, "speed": 1.0, "index": 2},
    ],
    "sensor": ["STEREO_CAMERAS", "SECTOR_LIDAR"],
    "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "training_algorithm": "clipped_ppo",
    "action_space_type": "discrete",
    "version": 6,
}


def write(tmp_path, text, name="model_metadata.json"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_defaults_load():
    m = load_model_metadata(None)
    assert [(a.steering_angle, a.speed) for a in m.action_space] == [
        (-30.0, 0.6),
        (-15.0, 0.6),
        (0.0, 0.6),
        (15.0, 0.6),
        (30.0, 0.6),
    ]
    assert m.sensor == ("FRONT_FACING_CAMERA",)
    assert m.camera == "FRONT_FACING_CAMERA" and m.lidar is None and m.camera_channels == 1
    assert m.training_algorithm == "clipped_ppo" and m.version == 5.0
    assert not m.is_continuous and m.num_actions == 5
    cont = load_model_metadata(None, default="continuous")
    assert cont.is_continuous and cont.training_algorithm == "clipped_ppo"
    assert cont.action_space == ContinuousActionSpace(-30, 30, 1, 2)
    sac = load_model_metadata(None, default="sac")
    assert sac.training_algorithm == "sac" and sac.version == 4.0 and sac.num_actions == 2


def test_drfc_samples_parse(tmp_path):
    m = load_model_metadata(write(tmp_path, DRFC_DISCRETE))
    assert m == load_model_metadata(None)
    sac = load_model_metadata(write(tmp_path, DRFC_SAC, "sac.json"))
    assert sac.action_space.low == (-30.0, 1.0) and sac.action_space.high == (30.0, 2.0)
    stereo = load_model_metadata(CONSOLE_STEREO_LIDAR)
    assert stereo.camera == "STEREO_CAMERAS" and stereo.camera_channels == 2
    assert stereo.lidar == "SECTOR_LIDAR" and stereo.lidar_config is None
    assert stereo.version == 6.0 and stereo.num_actions == 3


@pytest.mark.parametrize(
    "source",
    [DRFC_DISCRETE, DRFC_SAC, json.dumps(CONSOLE_STEREO_LIDAR)],
    ids=["discrete", "sac", "stereo-lidar"],
)
def test_json_round_trip(tmp_path, source):
    m = load_model_metadata(json.loads(source))
    out = m.to_json_dict()
    again = load_model_metadata(write(tmp_path, json.dumps(out)))
    assert again == m
    if not m.is_continuous:
        assert [a["index"] for a in out["action_space"]] == list(range(m.num_actions))
    assert isinstance(out["version"], str)


def test_version_semantics():
    space = [{"steering_angle": 0, "speed": 1}, {"steering_angle": 10, "speed": 1}]
    legacy = load_model_metadata({"action_space": space})
    assert legacy.version == 1.0 and legacy.sensor == ("observation",)
    assert load_model_metadata({"action_space": space, "sensor": ["LEFT_CAMERA"]}).version == 2.0
    forced = load_model_metadata({"action_space": space, "version": "1", "sensor": ["LIDAR"]})
    assert forced.sensor == ("observation",)  # < 2: sensor list ignored, as DeepRacer
    with pytest.raises(ModelMetadataError, match="needs a sensor list"):
        load_model_metadata({"action_space": space, "version": "3"})


def test_names_normalised_and_lidar_defaults():
    m = load_model_metadata(
        {
            "action_space": {
                "steering_angle": {"low": -20, "high": 25},
                "speed": {"low": 0.5, "high": 4},
            },
            "action_space_type": " Continuous ",
            "training_algorithm": "  SAC ",
            "neural_network": "deep_convolutional_network_deep",
            "sensor": ["front_facing_camera", "DISCRETIZED_SECTOR_LIDAR"],
            "version": "5",
        }
    )
    assert m.training_algorithm == "sac" and m.action_space_type == "continuous"
    assert m.neural_network == "DEEP_CONVOLUTIONAL_NETWORK_DEEP"
    assert m.sensor == ("FRONT_FACING_CAMERA", "DISCRETIZED_SECTOR_LIDAR")
    assert m.lidar_config == LidarConfig(8, 8, 2.0)


def test_direct_construction_derives_type():
    m = ModelMetadata(action_space=[DiscreteAction(-10, 1.0), DiscreteAction(10, 1.0)])
    assert m.action_space_type == "discrete" and isinstance(m.action_space, tuple)
    c = ModelMetadata(action_space=ContinuousActionSpace(), training_algorithm="sac")
    assert c.is_continuous


# --- wrong inputs ---------------------------------------------------------------------------------


def test_bad_json_names_line(tmp_path):
    text = (
        '{\n  "action_space": [\n    {"steering_angle": 0, "speed": 1},\n  ],\n  "version": "5"\n}'
    )
    path = write(tmp_path, text)
    with pytest.raises(ModelMetadataError) as err:
        load_model_metadata(path)
    message = str(err.value)
    assert f"{path}:4" in message and "line 4" in message and "trailing comma" in message


def test_missing_file_names_it(tmp_path):
    with pytest.raises(ModelMetadataError, match="does not exist"):
        load_model_metadata(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("action", "key", "value"),
    [
        ({"steering_angle": 35, "speed": 1.0}, "action_space[1].steering_angle", "35.0"),
        ({"steering_angle": -30.5, "speed": 1.0}, "action_space[1].steering_angle", "-30.5"),
        ({"steering_angle": 0, "speed": 4.5}, "action_space[1].speed", "4.5"),
        ({"steering_angle": 0, "speed": 0.05}, "action_space[1].speed", "0.05"),
    ],
)
def test_discrete_action_outside_car_limits(tmp_path, action, key, value):
    data = {
        "action_space": [{"steering_angle": 0, "speed": 1.0}, action],
        "sensor": ["FRONT_FACING_CAMERA"],
    }
    path = write(tmp_path, json.dumps(data))
    with pytest.raises(ModelMetadataError) as err:
        load_model_metadata(path)
    message = str(err.value)
    assert str(path) in message and f"{key} = {value}" in message and "Fix:" in message


@pytest.mark.parametrize(
    ("space", "key"),
    [
        (
            {"steering_angle": {"low": -40, "high": 30}, "speed": {"low": 1, "high": 2}},
            "steering_angle.low",
        ),
        (
            {"steering_angle": {"low": -30, "high": 31}, "speed": {"low": 1, "high": 2}},
            "steering_angle.high",
        ),
        (
            {"steering_angle": {"low": 5, "high": 30}, "speed": {"low": 1, "high": 2}},
            "steering_angle.low",
        ),
        (
            {"steering_angle": {"low": -30, "high": 30}, "speed": {"low": 0.2, "high": 2}},
            "speed.low",
        ),
        (
            {"steering_angle": {"low": -30, "high": 30}, "speed": {"low": 1, "high": 5}},
            "speed.high",
        ),
        (
            {"steering_angle": {"low": -30, "high": 30}, "speed": {"low": 2, "high": 1}},
            "action_space.speed",
        ),
        ({"steering_angle": {"low": -30, "high": 30}, "speed": {"low": 1}}, "action_space.speed"),
    ],
)
def test_continuous_action_outside_car_limits(space, key):
    data = {
        "action_space": space,
        "action_space_type": "continuous",
        "sensor": ["FRONT_FACING_CAMERA"],
    }
    with pytest.raises(ModelMetadataError) as err:
        load_model_metadata(data)
    assert key in str(err.value)


@pytest.mark.parametrize("count", [1, 31])
def test_discrete_action_count_limits(count):
    actions = [{"steering_angle": 0, "speed": 1.0}] * count
    with pytest.raises(ModelMetadataError, match="2 to 30 actions"):
        load_model_metadata({"action_space": actions, "sensor": ["FRONT_FACING_CAMERA"]})


def test_two_cameras():
    data = json.loads(DRFC_DISCRETE)
    data["sensor"] = ["FRONT_FACING_CAMERA", "STEREO_CAMERAS"]
    with pytest.raises(ModelMetadataError, match="exactly one camera sensor is required, found 2"):
        load_model_metadata(data)


def test_no_camera_and_two_lidars():
    data = json.loads(DRFC_DISCRETE)
    data["sensor"] = ["LIDAR"]
    with pytest.raises(ModelMetadataError, match="found 0"):
        load_model_metadata(data)
    data["sensor"] = ["FRONT_FACING_CAMERA", "LIDAR", "SECTOR_LIDAR"]
    with pytest.raises(ModelMetadataError, match="at most one lidar"):
        load_model_metadata(data)


def test_unknown_sensor_suggests():
    data = json.loads(DRFC_DISCRETE)
    data["sensor"] = ["FRONT_FACING_CAMERAS"]
    with pytest.raises(ModelMetadataError, match="Did you mean 'FRONT_FACING_CAMERA'"):
        load_model_metadata(data)


def test_sac_with_discrete_actions():
    data = json.loads(DRFC_DISCRETE)
    data["training_algorithm"] = "sac"
    with pytest.raises(ModelMetadataError) as err:
        load_model_metadata(data)
    assert "SAC only supports a continuous action space" in str(err.value)
    assert "training_algorithm = 'sac'" in str(err.value)


def test_type_and_shape_mismatch():
    data = json.loads(DRFC_SAC)
    data["action_space_type"] = "discrete"
    with pytest.raises(ModelMetadataError, match='"action_space_type": "continuous"'):
        load_model_metadata(data)
    data = json.loads(DRFC_DISCRETE)
    data["action_space_type"] = "continuous"
    with pytest.raises(ModelMetadataError, match="low/high ranges"):
        load_model_metadata(data)


def test_unknown_algorithm_and_network():
    data = json.loads(DRFC_DISCRETE)
    data["training_algorithm"] = "dqn"
    with pytest.raises(ModelMetadataError, match="training_algorithm = 'dqn'"):
        load_model_metadata(data)
    data = json.loads(DRFC_DISCRETE)
    data["neural_network"] = "DEEP_CONVOLUTIONAL_NETWORK_SHALOW"
    with pytest.raises(
        ModelMetadataError, match="Did you mean 'DEEP_CONVOLUTIONAL_NETWORK_SHALLOW'"
    ):
        load_model_metadata(data)


def test_non_numeric_action_value():
    data = json.loads(DRFC_DISCRETE)
    data["action_space"][2]["speed"] = "fast"
    with pytest.raises(ModelMetadataError, match=r"action_space\[2\].speed = 'fast'"):
        load_model_metadata(data)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"num_sectors": 7}, "num_sectors"),
        ({"num_values_per_sector": 0}, "num_values_per_sector"),
        ({"clipping_dist": 20.0}, "clipping_dist"),
        ({"clip": 2.0}, "clip"),
    ],
)
def test_lidar_config_rules(config, key):
    data = json.loads(DRFC_DISCRETE)
    data["sensor"] = ["FRONT_FACING_CAMERA", "DISCRETIZED_SECTOR_LIDAR"]
    data["lidar_config"] = config
    with pytest.raises(ModelMetadataError, match=f"lidar_config.{key}"):
        load_model_metadata(data)


def test_unknown_top_level_key_warns(caplog):
    data = json.loads(DRFC_DISCRETE)
    data["sensors"] = ["FRONT_FACING_CAMERA"]
    with caplog.at_level(logging.WARNING):
        load_model_metadata(data)
    assert "sensors" in caplog.text and "Did you mean 'sensor'" in caplog.text
