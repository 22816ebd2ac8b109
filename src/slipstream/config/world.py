"""World settings: DeepRacer's RoboMaker YAML keys (training_params.yaml / eval_params.yaml).

`WorldConfig` has one typed field per YAML key the simulator uses. The fields are named exactly
as the YAML keys, in upper case (WORLD_NAME, NUMBER_OF_OBSTACLES, ...), so a key in a user's file,
in `--set KEY=VALUE` and in this class is spelled the same way. Defaults are the simapp's code
defaults (docs/deepracer.md section 6); a few depend on JOB_TYPE and are left None when constructing,
then filled in:

    key                    TRAINING   EVALUATION
    CHANGE_START_POSITION  True       False
    PENALTY_SECONDS        0.0 (2.0 with bot cars)  2.0
    OFF_TRACK_PENALTY      0.0        2.0
    COLLISION_PENALTY      0.0        5.0

Values may be typed or text as DRfC writes them ("True", "false", "0.2", "5"); OBJECT_POSITIONS
entries are "ndist,lane" text ("0.5,1"), [ndist, lane] pairs, or one "0.2,1;0.5,-1" string
(lane -1 = outer lane, anything else = inner lane). Keys the simulator does not use are kept in
`extra`: known DeepRacer keys (S3 locations, car colour, ...) silently, unknown keys with a
logged warning, as RoboMaker tolerates them. A value of the wrong type is an error.

Loaders: `load_world_yaml(path)`, `WorldConfig.with_overrides({...})` (DRfC's run.env: see
`slipstream.config.run_env`); writers `to_yaml_dict()` (every value a string, as DRfC writes)
and `to_yaml_text()`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from slipstream.config.errors import (
    WorldConfigError,
    did_you_mean,
    parse_bool,
    parse_choice,
    parse_float,
    parse_int,
    parse_str,
)
from slipstream.tracks.registry import DEFAULT_TRACK

logger = logging.getLogger(__name__)

JOB_TYPES = ("TRAINING", "EVALUATION")
SIMAPP_MAJORS = (4, 5)
"""Simapp major versions with a car of their own (sim/car.py `car_for_simapp`)."""
RACE_TYPES = ("TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT", "HEAD_TO_MODEL")
"""The race types the simulator runs (DeepRacer's F1 race type is refused with a message)."""
DRFC_DEFAULT_OBSTACLES = 6
"""Obstacles of an OBJECT_AVOIDANCE race that asks for none (DRfC's DR_OA_NUMBER_OF_OBSTACLES)."""
DRFC_DEFAULT_BOT_CARS = 3
"""Bot cars of a HEAD_TO_BOT race that asks for none (DRfC's DR_H2B_NUMBER_OF_BOT_CARS)."""
BEST_MODEL_METRICS = ("progress", "reward", "laptime")
EVAL_CHECKPOINTS = ("best", "last")
DONE_CONDITIONS = ("any", "all")
OBSTACLE_TYPES = ("box_obstacle", "deepracer_box_obstacle", "amazon_box_obstacle")
MIN_RESET_COUNT = 2  # a non-zero NUMBER_OF_RESETS must be at least this (simapp rule)

# DeepRacer YAML keys that Slipstream does not use (S3 locations, car looks, cameras, streaming).
# They are kept in WorldConfig.extra without a warning.
KNOWN_UNUSED_KEYS = frozenset(
    {
        "AWS_REGION",
        "S3_ENDPOINT_URL",
        "SAGEMAKER_SHARED_S3_BUCKET",
        "SAGEMAKER_SHARED_S3_PREFIX",
        "MODEL_S3_BUCKET",
        "MODEL_S3_PREFIX",
        "MODEL_METADATA_FILE_S3_KEY",
        "REWARD_FILE_S3_KEY",
        "METRICS_S3_BUCKET",
        "METRICS_S3_OBJECT_KEY",
        "METRICS_S3_PREFIX",
        "SIMTRACE_S3_BUCKET",
        "SIMTRACE_S3_PREFIX",
        "SIMTRACE_EPISODE_S3_PREFIX",
        "MP4_S3_BUCKET",
        "MP4_S3_OBJECT_PREFIX",
        "KINESIS_VIDEO_STREAM_NAME",
        "CAR_COLOR",
        "BODY_SHELL_TYPE",
        "CAR_NAME",
        "RACER_NAME",
        "DISPLAY_NAME",
        "MODEL_NAME",
        "VIDEO_JOB_TYPE",
        "LEADERBOARD_TYPE",
        "LEADERBOARD_NAME",
        "CAMERA_MAIN_ENABLE",
        "CAMERA_SUB_ENABLE",
        "MAIN_CAMERA",
        "SUB_CAMERA",
        "PARK_POSITIONS",
        "PARK_LOCATION",
        "NUM_SECTORS",
        "SQS_QUEUE_URL",
        "ENABLE_EPISODE_SIMTRACE",
        "ENABLE_FIREHOSE_UPLOAD",
        "ENABLE_EXTRA_KVS_OVERLAY",
        "TARGET_REWARD_SCORE",
        "NUMBER_OF_EPISODES",
        "TRAINING_JOB_ARN",
        "ROBOMAKER_SIMULATION_JOB_ACCOUNT_ID",
        "METRIC_NAME",
        "METRIC_NAMESPACE",
        "MULTI_CONFIG",
    }
)
_KNOWN_UNUSED_PREFIXES = ("FIREHOSE_",)


@dataclass(frozen=True)
class WorldConfig:
    """RoboMaker world settings, one field per YAML key (upper-case names, as in the YAML).

    Distances in metres, times in seconds, START_POSITION_OFFSET / ROUND_ROBIN_ADVANCE_DIST /
    OBJECT_POSITIONS ndist as fractions of the lap (0-1). MIN_DISTANCE_BETWEEN_OBSTACLES is, as in
    DeepRacer, a percent of track length; MIN_DISTANCE_BETWEEN_BOT_CARS is metres.
    """

    JOB_TYPE: str = "TRAINING"
    WORLD_NAME: str = DEFAULT_TRACK
    RACE_TYPE: str = "TIME_TRIAL"
    NUM_WORKERS: int = 1
    TRACK_DIRECTION_CLOCKWISE: bool | None = None
    # start position and direction
    REVERSE_DIR: bool = False
    ALTERNATE_DRIVING_DIRECTION: bool = False
    CHANGE_START_POSITION: bool | None = None  # job default: True training, False evaluation
    ROUND_ROBIN_ADVANCE_DIST: float = 0.05
    START_POSITION_OFFSET: float = 0.0
    START_POS_OFFSET: float = 0.75
    # resets, penalties, trials
    NUMBER_OF_RESETS: int = 0
    PENALTY_SECONDS: float | None = None  # job default (see module doc)
    OFF_TRACK_PENALTY: float | None = None  # job default
    COLLISION_PENALTY: float | None = None  # job default
    IS_CONTINUOUS: bool = False
    NUMBER_OF_TRIALS: int = 10
    NUMBER_OF_REVERSE_COUNTS: int = 15
    RESET_BEHIND_DIST: float = 1.0
    RESET_AHEAD_DIST: float = 1.0
    ENABLE_MERCY_RESET: bool = False
    MAX_RESETS_AFTER_CRASH: int = 3
    MIN_EVAL_TRIALS: int = 5
    BEST_MODEL_METRIC: str = "progress"
    EVAL_CHECKPOINT: str = "best"
    RACE_DURATION: float = 180.0
    DONE_CONDITION: str = "any"
    ENABLE_DOMAIN_RANDOMIZATION: bool = False
    CAMERA_AUGMENTATION: bool = False
    """Slipstream's key: real-car camera augmentation of the front camera (render/augment.py)."""
    # obstacles
    NUMBER_OF_OBSTACLES: int = 0
    MIN_DISTANCE_BETWEEN_OBSTACLES: float = 2.0
    RANDOMIZE_OBSTACLE_LOCATIONS: bool = False
    IS_OBSTACLE_BOT_CAR: bool = False
    OBSTACLE_TYPE: str = "box_obstacle"
    OBJECT_POSITIONS: tuple[tuple[float, int], ...] = ()
    # bot cars
    NUMBER_OF_BOT_CARS: int = 0
    BOT_CAR_SPEED: float = 0.2
    MIN_DISTANCE_BETWEEN_BOT_CARS: float = 2.0
    RANDOMIZE_BOT_CAR_LOCATIONS: bool = False
    IS_LANE_CHANGE: bool = False
    LOWER_LANE_CHANGE_TIME: float = 3.0
    UPPER_LANE_CHANGE_TIME: float = 5.0
    LANE_CHANGE_DISTANCE: float = 1.0
    # Slipstream's own
    CARS_PER_WORLD: int = 1
    """Slipstream's key: racecars sharing one world (2 in a head-to-head race of two models);
    left out of the YAML at its default."""
    # the car
    SIMAPP_VERSION: int = 5
    """Slipstream's key: the simapp major version whose car to simulate (5, or 4 for simapp 4.x:
    other wheel and hinge controllers, docs/car.md); "5.3.3"-style text gives its major version
    (DRfC's DR_SIMAPP_VERSION sets it)."""
    # everything else from the YAML, values as read
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, parse in _PARSERS.items():
            value = getattr(self, name)
            if value is None and name in _OPTIONAL:
                continue
            object.__setattr__(self, name, parse(value, name))
        for name, default in _job_defaults(self).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        if self.OBJECT_POSITIONS and self.NUMBER_OF_OBSTACLES != len(self.OBJECT_POSITIONS):
            if self.NUMBER_OF_OBSTACLES:
                logger.info(
                    "OBJECT_POSITIONS lists %d obstacles; NUMBER_OF_OBSTACLES=%d is replaced by "
                    "that count, as DeepRacer does",
                    len(self.OBJECT_POSITIONS),
                    self.NUMBER_OF_OBSTACLES,
                )
            object.__setattr__(self, "NUMBER_OF_OBSTACLES", len(self.OBJECT_POSITIONS))
        if not (0.0 <= self.START_POS_OFFSET <= 1.0):
            clamped = min(max(self.START_POS_OFFSET, 0.0), 1.0)
            logger.warning(
                "START_POS_OFFSET=%s is clamped to %s m, as DeepRacer does",
                self.START_POS_OFFSET,
                clamped,
            )
            object.__setattr__(self, "START_POS_OFFSET", clamped)
        object.__setattr__(self, "extra", dict(self.extra))
        _check_ranges(self)

    # --- derived ----------------------------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        return self.JOB_TYPE == "TRAINING"

    @property
    def track_name(self) -> str:
        """WORLD_NAME with the `_cw` / `_ccw` suffix TRACK_DIRECTION_CLOCKWISE asks for."""
        return world_name_with_direction(self.WORLD_NAME, self.TRACK_DIRECTION_CLOCKWISE)

    @property
    def has_obstacles(self) -> bool:
        return self.NUMBER_OF_OBSTACLES > 0

    @property
    def has_bot_cars(self) -> bool:
        return self.NUMBER_OF_BOT_CARS > 0

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The typed YAML keys (field names without `extra`)."""
        return tuple(_PARSERS)

    def with_race_type(self, race_type: str) -> WorldConfig:
        """RACE_TYPE `race_type`; a race type with objects but none asked for gets DRfC's
        counts (6 obstacles, 3 bot cars). Objects otherwise follow their counts, as in DeepRacer."""
        changes: dict[str, Any] = {}
        if race_type != self.RACE_TYPE:
            changes["RACE_TYPE"] = race_type
        if race_type == "OBJECT_AVOIDANCE" and not self.NUMBER_OF_OBSTACLES:
            changes["NUMBER_OF_OBSTACLES"] = DRFC_DEFAULT_OBSTACLES
        if race_type == "HEAD_TO_BOT" and not self.NUMBER_OF_BOT_CARS:
            changes["NUMBER_OF_BOT_CARS"] = DRFC_DEFAULT_BOT_CARS
        return self.with_overrides(changes, source="RACE_TYPE") if changes else self

    @classmethod
    def for_job(cls, job_type: str) -> WorldConfig:
        """Code defaults for a JOB_TYPE ("TRAINING" or "EVALUATION")."""
        return cls(JOB_TYPE=job_type)

    def with_overrides(
        self, overrides: Mapping[str, Any], source: str = "<overrides>"
    ) -> WorldConfig:
        """A copy with some keys replaced (values typed or text). Unknown keys go to `extra`.

        Job-dependent keys still at their default follow the new JOB_TYPE / NUMBER_OF_BOT_CARS.
        """
        values: dict[str, Any] = {name: getattr(self, name) for name in _PARSERS}
        values.update(self.extra)
        for name, default in _job_defaults(self).items():
            if name not in overrides and getattr(self, name) == default:
                values[name] = None
        for key in overrides:
            if key not in _PARSERS and key not in self.extra and not _is_known_unused(str(key)):
                logger.warning(
                    "%s: unknown world key %r kept but not used (RoboMaker ignores it too).%s",
                    source,
                    key,
                    did_you_mean(str(key), _PARSERS),
                )
        values.update(overrides)
        return parse_world(values, source=source, warn_unknown=False)

    # --- writers -------------------------------------------------------------------------------
    def to_yaml_dict(self) -> dict[str, Any]:
        """All keys with values as strings (lists of strings for OBJECT_POSITIONS), as DRfC writes.

        TRACK_DIRECTION_CLOCKWISE (when None), an empty OBJECT_POSITIONS and CARS_PER_WORLD 1
        are left out;
        `extra` keys follow the typed keys.
        """
        out: dict[str, Any] = {}
        for name in _PARSERS:
            value = getattr(self, name)
            if value is None or (name == "CARS_PER_WORLD" and value == 1):
                continue
            if name == "OBJECT_POSITIONS":
                if value:
                    out[name] = [f"{_number_text(p)},{lane}" for p, lane in value]
            else:
                out[name] = _yaml_text(value)
        for key, value in self.extra.items():
            out[key] = _yaml_text(value)
        return out

    def to_yaml_text(self) -> str:
        """YAML text of `to_yaml_dict()`, every value quoted, as DRfC's training_params.yaml."""
        return yaml.safe_dump(
            self.to_yaml_dict(),
            default_flow_style=False,
            default_style="'",
            explicit_start=True,
            sort_keys=False,
        )


def world_name_with_direction(world_name: str, clockwise: bool | None) -> str:
    """DeepRacer's rule: with TRACK_DIRECTION_CLOCKWISE set, WORLD_NAME gets `_cw` or `_ccw`.

    None leaves the name as is. A name that already ends in `_cw`/`_ccw` has that suffix replaced
    (DeepRacer would append a second one, naming a track that does not exist).
    """
    if clockwise is None:
        return world_name
    base = re.sub(r"_c?cw$", "", world_name)
    return f"{base}_cw" if clockwise else f"{base}_ccw"


# --- loaders ------------------------------------------------------------------------------------


def load_world_yaml(path: str | Path, job_type: str | None = None) -> WorldConfig:
    """Read a RoboMaker YAML (training_params.yaml, eval_params.yaml) into a `WorldConfig`.

    `job_type`, when given, overrides the file's JOB_TYPE (the job-dependent defaults follow it).
    """
    data = read_world_yaml(path)
    if job_type is not None:
        data["JOB_TYPE"] = job_type
    return parse_world(data, source=str(path))


def read_world_yaml(path: str | Path) -> dict[str, Any]:
    """The raw KEY: value mapping of a RoboMaker YAML file, with errors naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorldConfigError(
            "file does not exist", source=path, fix="give the path of a RoboMaker YAML file"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        lines = text.splitlines()
        line = ""
        if mark is not None and mark.line < len(lines):
            line = f" (the line reads: {lines[mark.line].strip()!r})"
        raise WorldConfigError(
            f"invalid YAML: {problem}{line}",
            source=where,
            fix="correct the YAML syntax there; each line should read KEY: 'value'",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise WorldConfigError(
            f"the file holds a YAML {type(data).__name__}, not a mapping of KEY: value",
            source=path,
            fix="write one KEY: 'value' per line",
        )
    return {str(k): v for k, v in data.items()}


def parse_world(
    data: Mapping[str, Any], source: str = "<world>", warn_unknown: bool = True
) -> WorldConfig:
    """A `WorldConfig` from a mapping of YAML keys (typed values or text)."""
    typed: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key)
        if key in _PARSERS:
            typed[key] = value
            continue
        extra[key] = value
        if warn_unknown and not _is_known_unused(key):
            logger.warning(
                "%s: unknown world key %r kept but not used (RoboMaker ignores it too).%s",
                source,
                key,
                did_you_mean(key, _PARSERS),
            )
    try:
        return WorldConfig(**typed, extra=extra)
    except WorldConfigError as exc:
        raise exc.with_source(source) from None


# --- DRfC run.env --------------------------------------------------------------------------------


def _bool(value: Any, key: str) -> bool:
    return parse_bool(value, key, WorldConfigError)


def _int(value: Any, key: str) -> int:
    return parse_int(value, key, WorldConfigError)


def _float(value: Any, key: str) -> float:
    return parse_float(value, key, WorldConfigError)


def _text(value: Any, key: str) -> str:
    return parse_str(value, key, WorldConfigError)


def _choice(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    def parse(value: Any, key: str) -> str:
        return parse_choice(value, key, choices, WorldConfigError)

    return parse


def parse_simapp_version(value: Any, key: str = "SIMAPP_VERSION") -> int:
    """The major version (4 or 5) of a simapp version such as 5, "4", "5.3.3" or "v5.0"."""
    text = str(value).strip().lower().removeprefix("v")
    major = text.split(".")[0]
    if isinstance(value, bool) or not major.isdigit() or int(major) not in SIMAPP_MAJORS:
        raise WorldConfigError(
            "is not a simapp version Slipstream has a car for",
            key=key,
            value=value,
            fix="use 5 (simapp 5.x, the default) or 4 (simapp 4.x); e.g. 5.3.3 counts as 5",
        )
    return int(major)


def _race_type(value: Any, key: str) -> str:
    if str(value).strip().upper() == "F1":
        raise WorldConfigError(
            "the F1 race type (several models racing for a grid position) is not supported",
            key=key,
            value=value,
            fix=f"use one of {', '.join(RACE_TYPES)}; race two models with `slipstream race`",
        )
    return parse_choice(value, key, RACE_TYPES, WorldConfigError)


def _obstacle_type(value: Any, key: str) -> str:
    text = parse_str(value, key, WorldConfigError)
    if text not in OBSTACLE_TYPES:
        logger.warning(
            "%s=%r is not one of DeepRacer's obstacle models %s; the simulator draws a box",
            key,
            text,
            ", ".join(OBSTACLE_TYPES),
        )
    return text


def _object_positions(value: Any, key: str) -> tuple[tuple[float, int], ...]:
    fix = 'write a list of "ndist,lane" entries such as ["0.25,1", "0.5,-1"] (lane -1 = outer)'
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items: list[Any] = [p for p in value.split(";") if p.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise WorldConfigError(
            f"expected a list of positions, got a {type(value).__name__}",
            key=key,
            value=value,
            fix=fix,
        )
    positions = []
    for i, item in enumerate(items):
        item_key = f"{key}[{i}]"
        if isinstance(item, str):
            parts: list[Any] = [p for p in item.replace('"', "").split(",")]
        elif isinstance(item, list | tuple):
            parts = list(item)
        else:
            raise WorldConfigError(
                f"expected 'ndist,lane', got a {type(item).__name__}",
                key=item_key,
                value=item,
                fix=fix,
            )
        if len(parts) != 2:
            raise WorldConfigError(
                "an obstacle position needs exactly two values, ndist and lane",
                key=item_key,
                value=item,
                fix=fix,
            )
        ndist = parse_float(parts[0], item_key, WorldConfigError)
        lane = parse_int(parts[1], item_key, WorldConfigError)
        if not 0.0 <= ndist <= 1.0:
            raise WorldConfigError(
                "ndist is a fraction of the lap and must lie in [0, 1]",
                key=item_key,
                value=item,
                fix="use e.g. 0.25 for a quarter of the way round",
            )
        positions.append((ndist, lane))
    return tuple(positions)


_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "JOB_TYPE": _choice(JOB_TYPES),
    "WORLD_NAME": _text,
    "RACE_TYPE": _race_type,
    "NUM_WORKERS": _int,
    "TRACK_DIRECTION_CLOCKWISE": _bool,
    "REVERSE_DIR": _bool,
    "ALTERNATE_DRIVING_DIRECTION": _bool,
    "CHANGE_START_POSITION": _bool,
    "ROUND_ROBIN_ADVANCE_DIST": _float,
    "START_POSITION_OFFSET": _float,
    "START_POS_OFFSET": _float,
    "NUMBER_OF_RESETS": _int,
    "PENALTY_SECONDS": _float,
    "OFF_TRACK_PENALTY": _float,
    "COLLISION_PENALTY": _float,
    "IS_CONTINUOUS": _bool,
    "NUMBER_OF_TRIALS": _int,
    "NUMBER_OF_REVERSE_COUNTS": _int,
    "RESET_BEHIND_DIST": _float,
    "RESET_AHEAD_DIST": _float,
    "ENABLE_MERCY_RESET": _bool,
    "MAX_RESETS_AFTER_CRASH": _int,
    "MIN_EVAL_TRIALS": _int,
    "BEST_MODEL_METRIC": _choice(BEST_MODEL_METRICS),
    "EVAL_CHECKPOINT": _choice(EVAL_CHECKPOINTS),
    "RACE_DURATION": _float,
    "DONE_CONDITION": _choice(DONE_CONDITIONS),
    "ENABLE_DOMAIN_RANDOMIZATION": _bool,
    "CAMERA_AUGMENTATION": _bool,
    "NUMBER_OF_OBSTACLES": _int,
    "MIN_DISTANCE_BETWEEN_OBSTACLES": _float,
    "RANDOMIZE_OBSTACLE_LOCATIONS": _bool,
    "IS_OBSTACLE_BOT_CAR": _bool,
    "OBSTACLE_TYPE": _obstacle_type,
    "OBJECT_POSITIONS": _object_positions,
    "NUMBER_OF_BOT_CARS": _int,
    "BOT_CAR_SPEED": _float,
    "MIN_DISTANCE_BETWEEN_BOT_CARS": _float,
    "RANDOMIZE_BOT_CAR_LOCATIONS": _bool,
    "IS_LANE_CHANGE": _bool,
    "LOWER_LANE_CHANGE_TIME": _float,
    "UPPER_LANE_CHANGE_TIME": _float,
    "LANE_CHANGE_DISTANCE": _float,
    "CARS_PER_WORLD": _int,
    "SIMAPP_VERSION": parse_simapp_version,
}
_OPTIONAL = frozenset(
    {
        "TRACK_DIRECTION_CLOCKWISE",
        "CHANGE_START_POSITION",
        "PENALTY_SECONDS",
        "OFF_TRACK_PENALTY",
        "COLLISION_PENALTY",
    }
)


def _job_defaults(world: WorldConfig) -> dict[str, Any]:
    """Defaults of the job-dependent keys for this world's JOB_TYPE (and bot cars)."""
    if world.JOB_TYPE == "EVALUATION":
        return {
            "CHANGE_START_POSITION": False,
            "PENALTY_SECONDS": 2.0,
            "OFF_TRACK_PENALTY": 2.0,
            "COLLISION_PENALTY": 5.0,
        }
    return {
        "CHANGE_START_POSITION": True,
        "PENALTY_SECONDS": 2.0 if world.NUMBER_OF_BOT_CARS > 0 else 0.0,
        "OFF_TRACK_PENALTY": 0.0,
        "COLLISION_PENALTY": 0.0,
    }


def _check_ranges(w: WorldConfig) -> None:
    def need(ok: bool, key: str, rule: str, fix: str) -> None:
        if not ok:
            raise WorldConfigError(rule, key=key, value=getattr(w, key), fix=fix)

    need(w.NUM_WORKERS >= 1, "NUM_WORKERS", "must be at least 1", "use 1 or more rollout workers")
    need(
        w.CARS_PER_WORLD >= 1,
        "CARS_PER_WORLD",
        "must be at least 1",
        "use 1 (each car alone) or 2 (a head-to-head race of two models)",
    )
    need(
        0.0 <= w.ROUND_ROBIN_ADVANCE_DIST <= 1.0,
        "ROUND_ROBIN_ADVANCE_DIST",
        "is a fraction of the lap and must lie in [0, 1]",
        "use e.g. 0.05 (advance the start 5 % of the lap per episode)",
    )
    need(
        0.0 <= w.START_POSITION_OFFSET <= 1.0,
        "START_POSITION_OFFSET",
        "is a fraction of the lap and must lie in [0, 1]",
        "use e.g. 0.0 (start at waypoint 0)",
    )
    need(
        w.NUMBER_OF_RESETS == 0 or w.NUMBER_OF_RESETS >= MIN_RESET_COUNT,
        "NUMBER_OF_RESETS",
        f"must be 0 (end at the first off-track) or at least {MIN_RESET_COUNT}",
        "use 0, or e.g. 10000 to let the car be reset as often as needed",
    )
    for key in (
        "PENALTY_SECONDS",
        "OFF_TRACK_PENALTY",
        "COLLISION_PENALTY",
        "RESET_BEHIND_DIST",
        "RESET_AHEAD_DIST",
        "MIN_DISTANCE_BETWEEN_OBSTACLES",
        "MIN_DISTANCE_BETWEEN_BOT_CARS",
        "BOT_CAR_SPEED",
        "LOWER_LANE_CHANGE_TIME",
        "UPPER_LANE_CHANGE_TIME",
        "LANE_CHANGE_DISTANCE",
    ):
        need(getattr(w, key) >= 0.0, key, "must not be negative", "use 0 or a positive number")
    for key in ("NUMBER_OF_OBSTACLES", "NUMBER_OF_BOT_CARS", "MIN_EVAL_TRIALS"):
        need(getattr(w, key) >= 0, key, "must not be negative", "use 0 or a positive whole number")
    for key in ("NUMBER_OF_TRIALS", "NUMBER_OF_REVERSE_COUNTS", "MAX_RESETS_AFTER_CRASH"):
        need(getattr(w, key) >= 1, key, "must be at least 1", "use a positive whole number")
    need(w.RACE_DURATION > 0, "RACE_DURATION", "must be positive", "use seconds, e.g. 180")
    need(
        w.LOWER_LANE_CHANGE_TIME <= w.UPPER_LANE_CHANGE_TIME,
        "LOWER_LANE_CHANGE_TIME",
        f"must not exceed UPPER_LANE_CHANGE_TIME ({w.UPPER_LANE_CHANGE_TIME})",
        "make LOWER <= UPPER, e.g. 3.0 and 5.0",
    )


def _is_known_unused(key: str) -> bool:
    return key in KNOWN_UNUSED_KEYS or key.startswith(_KNOWN_UNUSED_PREFIXES)


def _number_text(value: float) -> str:
    return repr(float(value))


def _yaml_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, list | tuple):
        return [_yaml_text(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _yaml_text(v) for k, v in value.items()}
    return "" if value is None else str(value)


__all__ = [
    "JOB_TYPES",
    "RACE_TYPES",
    "WorldConfig",
    "load_world_yaml",
    "parse_world",
    "read_world_yaml",
    "world_name_with_direction",
]
