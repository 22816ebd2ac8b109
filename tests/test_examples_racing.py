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


def on_a_track(heading=0.0, speed=3.0, **kw):
    """On the road of a track running along +x then +y (waypoints 0-1-2 then 2-3), the car
    between waypoints 0 and 1 unless `closest_waypoints` says otherwise."""
    base = {
        "waypoints": [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (1.0, 2.0)],
        "closest_waypoints": [0, 1],
        "heading": heading,
        "speed": speed,
    }
    base.update(kw)
    return params(**base)


def test_any_track_reward_pays_pace_times_mean_of_pace_and_speed_along_the_track():
    reward = load_reward_function(example_file("racing", "reward_any_track.py"))
    # half of a 30 m lap in 75 steps (5 s): a pace of 3 m/s, 0.75 of the 4 m/s top speed; the
    # car drives 3 m/s along the track: 0.75 x (0.75 + 0.75) / 2
    assert reward(on_a_track(progress=50.0, steps=75, track_length=30.0)) == pytest.approx(0.5625)
    # the same pace and speed on a 60 m track pays the same
    assert reward(on_a_track(progress=25.0, steps=75, track_length=60.0)) == pytest.approx(0.5625)
    # flat out now (4 m/s along the track): 0.75 x (0.75 + 1) / 2
    fast = on_a_track(progress=50.0, steps=75, track_length=30.0, speed=4.0)
    assert reward(fast) == pytest.approx(0.65625)
    # 60 degrees off the track's direction: half the speed counts, 0.75 x (0.75 + 0.375) / 2
    askew = on_a_track(progress=50.0, steps=75, track_length=30.0, heading=60.0)
    assert reward(askew) == pytest.approx(0.421875)
    # pointing backwards: no speed along the track, 0.75 x 0.75 / 2
    back = on_a_track(progress=50.0, steps=75, track_length=30.0, heading=180.0)
    assert reward(back) == pytest.approx(0.28125)
    # the track's direction comes from the closest waypoints: here it runs along +y
    north = {"progress": 50.0, "steps": 75, "track_length": 30.0, "closest_waypoints": [2, 3]}
    assert reward(on_a_track(heading=90.0, **north)) == pytest.approx(0.5625)
    assert reward(on_a_track(heading=0.0, **north)) == pytest.approx(0.28125)
    # half the pace and half the speed pay a quarter per step: half as much per metre
    slow = on_a_track(progress=25.0, steps=150, track_length=60.0, speed=1.5)
    assert reward(slow) == pytest.approx(0.140625)
    # a finished 60 m lap in 300 steps (20 s, 3 m/s): the rate plus 100 steps of the pace squared
    done = on_a_track(progress=100.0, steps=300, track_length=60.0)
    assert reward(done) == pytest.approx(0.5625 + 100 * 0.5625)
    assert reward(on_a_track(all_wheels_on_track=False, track_length=60.0)) == pytest.approx(1e-3)


def test_any_track_hyperparameters_are_the_examples_with_three_epochs():
    import dataclasses

    from slipstream.config import load_hyperparameters

    own = load_hyperparameters(example_file("racing", "hyperparameters.json"))
    any_track = load_hyperparameters(example_file("racing", "hyperparameters_any_track.json"))
    assert (own.num_epochs, any_track.num_epochs) == (5, 3)
    assert any_track == dataclasses.replace(own, num_epochs=3)


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
    # the example's files for many tracks by their bare names: half of a 60 m lap in 150 steps
    # at 3 m/s along the track (pace 0.75) pays 0.75 x (0.75 + 0.75) / 2 per step
    named = ["--example", "racing", "--reward-function", "reward_any_track.py", "--iterations", "1"]
    named += ["--hyperparameters", "hyperparameters_any_track.json"]
    config = train_command.build_config(parser.parse_args(named))
    assert config.reward_function(on_a_track(progress=50.0, steps=150, track_length=60.0)) == (
        pytest.approx(0.5625)
    )
    assert config.hyperparameters.num_epochs == 3


def test_racing_actions_turn_as_fast_as_the_car_grips():
    """Every turning action but the hairpin ones pairs its angle with the fastest speed (0.1 m/s
    steps) whose steady turn stays within 3/4 of the default car's grip; the slower action at
    the sharpest angle is the fastest that turns inside reInvent2019's tightest centre-line corner
    (radius 0.84 m); straight ahead at full speed."""
    from slipstream.sim.calibration import fastest_turn_speed, lateral_grip, steady_turn
    from slipstream.sim.car import CarParams

    car = CarParams()
    cap = 0.75 * lateral_grip(car)
    actions = load_custom_files(example_dir("racing")).model_metadata.action_space
    by_angle: dict[float, list[float]] = {}
    for a in actions:
        by_angle.setdefault(abs(a.steering_angle), []).append(a.speed)
    assert by_angle[0.0] == [4.0]
    sharpest = max(by_angle)
    for angle, speeds in by_angle.items():
        if angle == 0.0:
            continue
        assert max(speeds) == pytest.approx(fastest_turn_speed(car, angle, cap)), angle
    hairpin = min(by_angle[sharpest])
    assert steady_turn(car, hairpin, sharpest)[1] < 0.84
    assert steady_turn(car, round(hairpin + 0.1, 1), sharpest)[1] >= 0.84
    # mirror image: every turn both ways
    assert sorted(a.steering_angle for a in actions) == sorted(-a.steering_angle for a in actions)
