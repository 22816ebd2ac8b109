"""World settings are parsed once into a WorldConfig; the env maps its typed fields, nothing more."""

from __future__ import annotations

import pytest

from slipstream.config.errors import WorldConfigError
from slipstream.config.world import RACE_TYPES, WorldConfig
from slipstream.env.core import DeepRacerCore
from slipstream.env.world_settings import resolve_world, sim_config


def test_a_dict_of_yaml_text_and_the_typed_config_give_the_same_simulator():
    text = {"NUMBER_OF_RESETS": "3", "OFF_TRACK_PENALTY": "1.5", "IS_LANE_CHANGE": "true"}
    typed = WorldConfig(NUMBER_OF_RESETS=3, OFF_TRACK_PENALTY=1.5, IS_LANE_CHANGE=True)
    a = DeepRacerCore(1, track="slipstream_oval", world=text, race_type="HEAD_TO_BOT")
    b = DeepRacerCore(1, track="slipstream_oval", world=typed, race_type="HEAD_TO_BOT")
    assert a.sim.config == b.sim.config
    assert a.sim.config.number_of_resets == 3 and a.sim.config.off_track_penalty == 1.5
    # HEAD_TO_BOT without a count: DRfC's 3 bot cars, lane changes as asked
    assert a.sim.config.objects.bots.number_of_bot_cars == 3
    assert a.sim.config.objects.bots.is_lane_change


def test_defaults_are_the_world_configs_for_each_job():
    training = sim_config(resolve_world(None))
    evaluation = sim_config(resolve_world(None, job_type="EVALUATION"))
    # docs/deepracer.md section 6: NUMBER_OF_TRIALS 10; penalties and start line by job type
    assert training.number_of_trials == evaluation.number_of_trials == 10
    assert training.change_start_position and not evaluation.change_start_position
    assert (training.off_track_penalty, evaluation.off_track_penalty) == (0.0, 2.0)
    assert (training.collision_penalty, evaluation.collision_penalty) == (0.0, 5.0)
    assert training.training and not evaluation.training


def test_one_race_type_list_and_f1_is_refused_with_a_message():
    assert "F1" not in RACE_TYPES
    for race_type in RACE_TYPES:
        resolve_world(None, race_type)  # every race type config accepts, the env runs
    with pytest.raises(WorldConfigError, match=r"F1 race type .* not supported"):
        WorldConfig(RACE_TYPE="F1")
    with pytest.raises(WorldConfigError, match="unknown race_type"):
        DeepRacerCore(1, track="slipstream_oval", race_type="DRAG_RACE")
