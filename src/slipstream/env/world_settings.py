"""RoboMaker world settings (YAML keys) and race type -> the simulator's `SimConfig`.

Defaults are DeepRacer's, which differ between training and evaluation jobs (DEEPRACER.md 6).
A race type with objects but a count of 0 (or none) gets DRfC's defaults (6 obstacles, 3 bot
cars); obstacles and bot cars otherwise follow their counts whatever the race type, as in DeepRacer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slipstream.config.errors import WorldConfigError, parse_bool, parse_float, parse_int
from slipstream.sim.objects_world import WorldObjectsConfig, objects_config_from_world
from slipstream.sim.simulator import SimConfig

RACE_TYPES = ("TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT", "HEAD_TO_MODEL")
DRFC_DEFAULT_OBSTACLES = 6
DRFC_DEFAULT_BOT_CARS = 3


def sim_config_from_world(
    world: Mapping[str, Any],
    race_type: str,
    job_type: str = "TRAINING",
) -> SimConfig:
    """Build the simulator's episode settings from YAML keys (strings or typed values)."""
    job = job_type.upper()
    if job not in ("TRAINING", "EVALUATION"):
        raise WorldConfigError(f"JOB_TYPE must be TRAINING or EVALUATION, got {job_type!r}")
    training = job == "TRAINING"

    def get(key: str, parse, default):
        return parse(world[key], key, WorldConfigError) if key in world else default

    world = dict(world)
    if race_type == "OBJECT_AVOIDANCE" and not get("NUMBER_OF_OBSTACLES", parse_int, 0):
        if not world.get("OBJECT_POSITIONS"):
            world["NUMBER_OF_OBSTACLES"] = DRFC_DEFAULT_OBSTACLES
    if race_type == "HEAD_TO_BOT" and not get("NUMBER_OF_BOT_CARS", parse_int, 0):
        world["NUMBER_OF_BOT_CARS"] = DRFC_DEFAULT_BOT_CARS
    objects: WorldObjectsConfig = objects_config_from_world(world, training)
    return SimConfig(
        change_start_position=get("CHANGE_START_POSITION", parse_bool, training),
        round_robin_advance_dist=get("ROUND_ROBIN_ADVANCE_DIST", parse_float, 0.05),
        start_position_offset=get("START_POSITION_OFFSET", parse_float, 0.0),
        reverse_dir=get("REVERSE_DIR", parse_bool, False),
        alternate_driving_direction=get("ALTERNATE_DRIVING_DIRECTION", parse_bool, False),
        number_of_resets=get("NUMBER_OF_RESETS", parse_int, 0),
        off_track_penalty=get("OFF_TRACK_PENALTY", parse_float, 0.0 if training else 2.0),
        collision_penalty=get("COLLISION_PENALTY", parse_float, 0.0 if training else 5.0),
        is_continuous=get("IS_CONTINUOUS", parse_bool, False),
        number_of_trials=get("NUMBER_OF_TRIALS", parse_int, 1),
        number_of_reverse_counts=get("NUMBER_OF_REVERSE_COUNTS", parse_int, 15),
        reset_behind_dist=get("RESET_BEHIND_DIST", parse_float, 1.0),
        training=training,
        objects=objects,
    )
