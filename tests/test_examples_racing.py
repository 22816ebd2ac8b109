"""The shipped racing example: its files load, its reward pays progress per step on the road."""

from __future__ import annotations

import argparse

import pytest

from slipstream.commands import train as train_command
from slipstream.config import load_custom_files, load_reward_function
from slipstream.examples import UnknownExampleError, example_dir, example_file


def params(**kw):
    base = {
        "all_wheels_on_track": True,
        "is_offtrack": False,
        "progress": 50.0,
        "steps": 66,
    }
    base.update(kw)
    return base


def test_racing_reward_pays_progress_per_step_and_nothing_off_the_road():
    reward = load_reward_function(example_file("racing", "reward_function.py"))
    assert reward(params()) == pytest.approx(50 / 66)
    assert reward(params(progress=25.0, steps=66)) == pytest.approx(25 / 66)  # slower pays less
    # a finished 132-step lap (8.8 s): the pace plus 100 steps' worth of it
    assert reward(params(progress=100.0, steps=132)) == pytest.approx(101 * 100 / 132)
    assert reward(params(all_wheels_on_track=False)) == pytest.approx(1e-3)
    assert reward(params(is_offtrack=True)) == pytest.approx(1e-3)
    assert reward(params(progress=0.0, steps=1)) == pytest.approx(1e-3)


def test_racing_example_files_and_train_cli():
    files = load_custom_files(example_dir("racing"))
    speeds = [a.speed for a in files.model_metadata.action_space]
    assert max(speeds) == 4.0 and min(speeds) >= 1.0
    assert files.model_metadata.training_algorithm == "clipped_ppo"
    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)
    args = parser.parse_args(["--example", "racing", "--iterations", "1", "--pipeline"])
    config = train_command.build_config(args)
    assert config.model_metadata == files.model_metadata
    assert config.pipeline and config.precision == "auto"
    assert config.reward_function(params()) == pytest.approx(50 / 66)
    with pytest.raises(UnknownExampleError, match="choose one of racing"):
        example_dir("drifting")


def test_racing_actions_turn_as_fast_as_the_car_grips():
    """Each action's held turn stays under the car's friction limit and, turning, uses at least
    two thirds of it (no needlessly slow corner); the tightest turns inside reInvent2019's
    tightest centre-line corner (radius 0.84 m)."""
    from slipstream.sim.calibration import steady_turn
    from slipstream.sim.car import GRAVITY, CarParams

    car = CarParams()
    limit = car.friction * GRAVITY
    actions = load_custom_files(example_dir("racing")).model_metadata.action_space
    turns = {a: steady_turn(car, a.speed, abs(a.steering_angle)) for a in actions}
    for action, (_speed, _radius, lateral) in turns.items():
        assert lateral < 0.96 * limit, action
        if action.steering_angle != 0:
            assert lateral > 0.66 * limit, action
    assert min(radius for _speed, radius, _lateral in turns.values()) < 0.84
