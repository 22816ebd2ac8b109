"""reward_function.py: loading, DeepRacer's return-value contract, errors pointing into the user file."""

from __future__ import annotations

import logging
import math
import pickle

import pytest

from slipstream.config import (
    REWARD_PARAMS_KEYS,
    RewardFunction,
    RewardFunctionError,
    as_reward_function,
    check_reward_function,
    copy_params,
    default_reward_function_path,
    load_reward_function,
)

TRACK_WIDTH = 1.067  # reInvent2019_track, metres


def sample_params(**changes):
    """A realistic DeepRacer params dict (all 27 keys, the types DeepRacer passes)."""
    waypoints = [
        (math.cos(a / 20 * 2 * math.pi) * 3, math.sin(a / 20 * 2 * math.pi) * 2) for a in range(21)
    ]
    params = {
        "all_wheels_on_track": True,
        "x": 2.95,
        "y": 0.31,
        "heading": 84.2,
        "distance_from_center": 0.0,
        "projection_distance": 0.31,
        "is_left_of_center": False,
        "progress": 1.34,
        "steps": 3.0,
        "speed": 1.2,
        "steering_angle": -15.0,
        "track_width": TRACK_WIDTH,
        "track_length": 15.87,
        "waypoints": waypoints,
        "closest_waypoints": [0, 1],
        "is_reversed": False,
        "is_offtrack": False,
        "is_crashed": False,
        "closest_objects": [0, 0],
        "objects_location": [],
        "objects_left_of_center": [],
        "objects_speed": [],
        "objects_heading": [],
        "objects_distance_from_center": [],
        "objects_distance": [],
        "object_in_camera": False,
        "sim_time": 12.4,
    }
    assert set(params) == set(REWARD_PARAMS_KEYS) and len(params) == 27
    params.update(changes)
    return params


def user_file(tmp_path, body, name="reward_function.py"):
    path = tmp_path / name
    path.write_text(body)
    return path


# --- the shipped default ----------------------------------------------------------------------


def test_default_reward_is_sensible():
    reward = load_reward_function(default_reward_function_path())
    centre = reward(sample_params(distance_from_center=0.0))
    near = reward(sample_params(distance_from_center=0.2 * TRACK_WIDTH))
    edge = reward(sample_params(distance_from_center=0.49 * TRACK_WIDTH))
    off = reward(sample_params(distance_from_center=0.6 * TRACK_WIDTH, all_wheels_on_track=False))
    wheel_off = reward(sample_params(distance_from_center=0.0, all_wheels_on_track=False))
    assert (centre, near, edge) == (1.0, 0.5, 0.1)
    assert centre > near > edge > off and off == pytest.approx(0.0, abs=1e-2) and wheel_off == off
    assert check_reward_function(None, sample_params()) == 1.0


def test_params_are_deep_copied(tmp_path):
    body = (
        "def reward_function(params):\n"
        "    params['waypoints'].clear()\n"
        "    params['objects_location'][0][0] = 99.0\n"
        "    params['closest_waypoints'][1] = 7\n"
        "    return 1.0\n"
    )
    path = user_file(tmp_path, body)
    params = sample_params(objects_location=[[1.0, 2.0]], objects_heading=[0.5])
    assert load_reward_function(path)(params) == 1.0
    assert len(params["waypoints"]) == 21
    assert params["objects_location"] == [[1.0, 2.0]] and params["closest_waypoints"] == [0, 1]
    assert copy_params(params) == params


def test_each_load_is_a_fresh_module(tmp_path):
    path = user_file(
        tmp_path,
        "calls = []\n\ndef reward_function(params):\n    calls.append(1)\n    return float(len(calls))\n",
    )
    first, second = load_reward_function(path), load_reward_function(path)
    assert [first(sample_params()) for _ in range(3)] == [1.0, 2.0, 3.0]
    assert second(sample_params()) == 1.0


def test_pickles_by_source_text(tmp_path):
    path = user_file(
        tmp_path, "K = 0.25\n\ndef reward_function(params):\n    return K * params['speed']\n"
    )
    reward = load_reward_function(path)
    blob = pickle.dumps(reward)
    path.unlink()  # a remote worker does not have the file
    again = pickle.loads(blob)
    assert again(sample_params(speed=2.0)) == 0.5 and again.path == reward.path


def test_plain_callable():
    reward = RewardFunction.from_callable(lambda p: p["progress"] / 100)
    assert reward(sample_params(progress=50.0)) == 0.5
    assert as_reward_function(reward) is reward
    with pytest.raises(RewardFunctionError, match="exactly one argument"):
        RewardFunction.from_callable(lambda p, q: 1.0)
    with pytest.raises(RewardFunctionError, match="expected a callable"):
        RewardFunction.from_callable(3.0)


# --- loading errors --------------------------------------------------------------------------------


def test_syntax_error_names_file_and_line(tmp_path):
    path = user_file(tmp_path, "def reward_function(params):\n    x = 1\n    return x +\n")
    with pytest.raises(RewardFunctionError) as err:
        load_reward_function(path)
    message = str(err.value)
    assert f"{path.resolve()}:3" in message and "syntax error at line 3" in message
    assert "return x +" in message


def test_missing_function_suggests(tmp_path):
    path = user_file(tmp_path, "def reward_fn(params):\n    return 1.0\n")
    with pytest.raises(RewardFunctionError) as err:
        load_reward_function(path)
    assert "defines no reward_function" in str(err.value) and "reward_fn" in str(err.value)


def test_not_callable_and_wrong_arity(tmp_path):
    with pytest.raises(RewardFunctionError, match="not a function"):
        load_reward_function(user_file(tmp_path, "reward_function = 1.0\n"))
    with pytest.raises(RewardFunctionError, match="exactly one argument"):
        load_reward_function(
            user_file(tmp_path, "def reward_function():\n    return 1.0\n", "b.py")
        )


def test_error_at_import_names_line(tmp_path):
    path = user_file(
        tmp_path, "import math\nSCALE = 1 / 0\n\ndef reward_function(params):\n    return 1.0\n"
    )
    with pytest.raises(RewardFunctionError, match=r"ZeroDivisionError.*at line 2"):
        load_reward_function(path)


def test_missing_file():
    with pytest.raises(RewardFunctionError, match="does not exist"):
        load_reward_function("/nonexistent/reward_function.py")


# --- call errors and return values ----------------------------------------------------------------------


def test_raising_names_line_in_user_file_and_params(tmp_path):
    body = (
        "def helper(params):\n"
        "    return params['speedd']\n"
        "\n"
        "def reward_function(params):\n"
        "    return helper(params) * 2\n"
    )
    path = user_file(tmp_path, body)
    with pytest.raises(RewardFunctionError) as err:
        load_reward_function(path)(sample_params())
    message = str(err.value)
    assert f"{path.resolve()}:2" in message and "KeyError" in message and "speedd" in message
    assert (
        "at line 2" in message and "progress=1.34" in message and "waypoints=<21 items>" in message
    )
    assert isinstance(err.value.__cause__, KeyError)


@pytest.mark.parametrize(
    ("returned", "problem"),
    [
        ("float('nan')", "non-finite"),
        ("float('inf')", "non-finite"),
        ("-float('inf')", "non-finite"),
        ("'abc'", "text that is not a number"),
        ("None", "NoneType, not a number"),
        ("[1.0]", "list, not a number"),
        ("2e5", r"outside \[-1e5, 1e5\]"),
        ("-100001", r"outside \[-1e5, 1e5\]"),
    ],
)
def test_bad_return_values(tmp_path, returned, problem):
    path = user_file(tmp_path, f"def reward_function(params):\n    return {returned}\n")
    with pytest.raises(RewardFunctionError, match=problem) as err:
        load_reward_function(path)(sample_params())
    assert str(path.resolve()) in str(err.value) and "for params {" in str(err.value)


def test_numeric_text_is_cast_as_deepracer_does(tmp_path, caplog):
    path = user_file(tmp_path, "def reward_function(params):\n    return '1.5'\n")
    reward = load_reward_function(path)
    with caplog.at_level(logging.WARNING):
        assert reward(sample_params()) == 1.5
        assert reward(sample_params()) == 1.5
    assert caplog.text.count("float()-cast") == 1


def test_numbers_of_other_types_are_cast(tmp_path):
    path = user_file(
        tmp_path,
        "import numpy as np\n\ndef reward_function(params):\n"
        "    return np.float32(0.25) if params['steps'] > 1 else True\n",
    )
    reward = load_reward_function(path)
    assert reward(sample_params()) == 0.25 and type(reward(sample_params())) is float
    assert reward(sample_params(steps=1.0)) == 1.0
    assert reward(sample_params(steps=2.0)) == 0.25


def test_check_reward_function_needs_all_keys():
    params = sample_params()
    del params["sim_time"]
    with pytest.raises(ValueError, match="sim_time"):
        check_reward_function(lambda p: 1.0, params)
