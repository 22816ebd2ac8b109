"""The typed world settings (`WorldConfig`) -> the simulator's `SimConfig`.

World settings are parsed once, at the edge, into a `WorldConfig` (config/world.py: DeepRacer's
RoboMaker YAML keys, docs/deepracer.md's defaults, job-dependent defaults for TRAINING and
EVALUATION). Here they are only mapped onto the simulator's own settings; nothing is parsed
again. A plain dict of YAML keys (the env's public ``world=`` argument) is turned into a
`WorldConfig` by `resolve_world` first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from slipstream.config.errors import WorldConfigError
from slipstream.config.world import JOB_TYPES, RACE_TYPES, WorldConfig
from slipstream.sim.bots import BotCarConfig
from slipstream.sim.objects import ObstacleConfig
from slipstream.sim.objects_world import WorldObjectsConfig
from slipstream.sim.simulator import SimConfig

"""Slipstream's key for racecars sharing one world (2 in a head-to-head race; default 1)."""


def resolve_world(
    world: WorldConfig | Mapping[str, Any] | None,
    race_type: str | None = None,
    job_type: str = "TRAINING",
) -> WorldConfig:
    """The `WorldConfig` of a job: `world` as given (a dict of YAML keys is parsed here), with
    JOB_TYPE `job_type` and RACE_TYPE `race_type` when given (DRfC's object counts for a race
    type with objects but none asked for)."""
    job = job_type.upper()
    if job not in JOB_TYPES:
        raise WorldConfigError(f"JOB_TYPE must be TRAINING or EVALUATION, got {job_type!r}")
    if world is None:
        config = WorldConfig.for_job(job)
    elif isinstance(world, WorldConfig):
        config = world if world.JOB_TYPE == job else world.with_overrides({"JOB_TYPE": job})
    else:
        config = WorldConfig.for_job(job).with_overrides(dict(world), source="world")
    if race_type is not None:
        if race_type not in RACE_TYPES:
            raise WorldConfigError(
                f"unknown race_type {race_type!r}; use one of {', '.join(RACE_TYPES)}"
            )
        config = config.with_race_type(race_type)
    return config


def objects_config(world: WorldConfig) -> WorldObjectsConfig:
    """Obstacles, bot cars and racecars per world of a `WorldConfig`."""
    obstacles = ObstacleConfig(
        number_of_obstacles=world.NUMBER_OF_OBSTACLES,
        min_distance_between_obstacles=world.MIN_DISTANCE_BETWEEN_OBSTACLES,
        randomize_obstacle_locations=world.RANDOMIZE_OBSTACLE_LOCATIONS,
        object_positions=world.OBJECT_POSITIONS,
        obstacle_type=world.OBSTACLE_TYPE,
        is_obstacle_bot_car=world.IS_OBSTACLE_BOT_CAR,
    )
    bots = BotCarConfig(
        number_of_bot_cars=world.NUMBER_OF_BOT_CARS,
        bot_car_speed=world.BOT_CAR_SPEED,
        min_distance_between_bot_cars=world.MIN_DISTANCE_BETWEEN_BOT_CARS,
        randomize_bot_car_locations=world.RANDOMIZE_BOT_CAR_LOCATIONS,
        is_lane_change=world.IS_LANE_CHANGE,
        lower_lane_change_time=world.LOWER_LANE_CHANGE_TIME,
        upper_lane_change_time=world.UPPER_LANE_CHANGE_TIME,
        lane_change_distance=world.LANE_CHANGE_DISTANCE,
        penalty_seconds=world.PENALTY_SECONDS,
    )
    return WorldObjectsConfig(obstacles=obstacles, bots=bots, cars_per_world=world.CARS_PER_WORLD)


def sim_config(world: WorldConfig, **overrides: Any) -> SimConfig:
    """The simulator's episode settings for a `WorldConfig` (keyword overrides on top)."""
    config = SimConfig(
        change_start_position=world.CHANGE_START_POSITION,
        round_robin_advance_dist=world.ROUND_ROBIN_ADVANCE_DIST,
        start_position_offset=world.START_POSITION_OFFSET,
        reverse_dir=world.REVERSE_DIR,
        alternate_driving_direction=world.ALTERNATE_DRIVING_DIRECTION,
        number_of_resets=world.NUMBER_OF_RESETS,
        off_track_penalty=world.OFF_TRACK_PENALTY,
        collision_penalty=world.COLLISION_PENALTY,
        is_continuous=world.IS_CONTINUOUS,
        number_of_trials=world.NUMBER_OF_TRIALS,
        number_of_reverse_counts=world.NUMBER_OF_REVERSE_COUNTS,
        reset_behind_dist=world.RESET_BEHIND_DIST,
        training=world.is_training,
        objects=objects_config(world),
    )
    return replace(config, **overrides)


__all__ = ["objects_config", "resolve_world", "sim_config"]
