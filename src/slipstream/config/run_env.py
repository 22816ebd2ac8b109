"""DRfC's run.env (`DR_*` variables) -> `WorldConfig`, mapped as DRfC's prepare-config scripts do.

`read_env_file(path)` reads the variables; `world_from_run_env(path | dict, job_type)` maps them
onto RoboMaker YAML keys (DRfC's defaults where a variable is unset) and parses them once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slipstream.config.errors import WorldConfigError, did_you_mean, parse_choice
from slipstream.config.world import JOB_TYPES, WorldConfig, parse_world

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _EnvKey:
    names: tuple[str, ...]  # DR_ variables, first present wins
    key: str  # YAML key
    default: str | None  # DRfC's default when none is set (None: leave the code default)
    job: str | None = None  # only for this JOB_TYPE
    race: str | None = None  # only for this RACE_TYPE


# What DRfC's scripts/training/prepare-config.py and scripts/evaluation/prepare-config.py write.
_RUN_ENV_KEYS = (
    _EnvKey(("DR_WORLD_NAME",), "WORLD_NAME", "LGSWide"),
    _EnvKey(("DR_RACE_TYPE",), "RACE_TYPE", "TIME_TRIAL"),
    _EnvKey(("DR_ENABLE_DOMAIN_RANDOMIZATION",), "ENABLE_DOMAIN_RANDOMIZATION", "false"),
    _EnvKey(("DR_CAR_BODY_SHELL_TYPE",), "BODY_SHELL_TYPE", "deepracer"),
    _EnvKey(("DR_CAR_COLOR",), "CAR_COLOR", "Red"),
    _EnvKey(("DR_DISPLAY_NAME",), "DISPLAY_NAME", "racer1"),
    _EnvKey(("DR_RACER_NAME",), "RACER_NAME", "racer1"),
    _EnvKey(("DR_CAMERA_MAIN_ENABLE",), "CAMERA_MAIN_ENABLE", "True"),
    _EnvKey(("DR_CAMERA_SUB_ENABLE",), "CAMERA_SUB_ENABLE", "True"),
    # training
    _EnvKey(("DR_WORKERS",), "NUM_WORKERS", "1", job="TRAINING"),
    _EnvKey(("DR_CAR_NAME",), "CAR_NAME", "MyCar", job="TRAINING"),
    _EnvKey(("DR_TRAIN_REVERSE_DIRECTION",), "REVERSE_DIR", "False", job="TRAINING"),
    _EnvKey(
        ("DR_TRAIN_ALTERNATE_DRIVING_DIRECTION", "DR_ALTERNATE_DRIVING_DIRECTION"),
        "ALTERNATE_DRIVING_DIRECTION",
        "false",
        job="TRAINING",
    ),
    _EnvKey(
        ("DR_TRAIN_CHANGE_START_POSITION", "DR_CHANGE_START_POSITION"),
        "CHANGE_START_POSITION",
        "true",
        job="TRAINING",
    ),
    _EnvKey(
        ("DR_TRAIN_ROUND_ROBIN_ADVANCE_DIST",), "ROUND_ROBIN_ADVANCE_DIST", "0.05", job="TRAINING"
    ),
    _EnvKey(("DR_TRAIN_START_POSITION_OFFSET",), "START_POSITION_OFFSET", "0.00", job="TRAINING"),
    _EnvKey(("DR_TRAIN_MIN_EVAL_TRIALS",), "MIN_EVAL_TRIALS", "5", job="TRAINING"),
    _EnvKey(("DR_TRAIN_BEST_MODEL_METRIC",), "BEST_MODEL_METRIC", "progress", job="TRAINING"),
    # evaluation
    _EnvKey(("DR_EVAL_CHECKPOINT",), "EVAL_CHECKPOINT", "last", job="EVALUATION"),
    _EnvKey(("DR_EVAL_NUMBER_OF_TRIALS",), "NUMBER_OF_TRIALS", "5", job="EVALUATION"),
    _EnvKey(("DR_EVAL_RESET_BEHIND_DIST",), "RESET_BEHIND_DIST", "1.0", job="EVALUATION"),
    _EnvKey(("DR_EVAL_IS_CONTINUOUS",), "IS_CONTINUOUS", "True", job="EVALUATION"),
    _EnvKey(
        ("DR_EVAL_MAX_RESETS", "DR_EVAL_NUMBER_OF_RESETS"),
        "NUMBER_OF_RESETS",
        "0",
        job="EVALUATION",
    ),
    _EnvKey(("DR_EVAL_OFF_TRACK_PENALTY",), "OFF_TRACK_PENALTY", "5.0", job="EVALUATION"),
    # DRfC's script reads DR_COLLISION_PENALTY although its template sets DR_EVAL_COLLISION_PENALTY;
    # Slipstream honours the template's name first.
    _EnvKey(
        ("DR_EVAL_COLLISION_PENALTY", "DR_COLLISION_PENALTY"),
        "COLLISION_PENALTY",
        "5.0",
        job="EVALUATION",
    ),
    _EnvKey(("DR_EVAL_REVERSE_DIRECTION",), "REVERSE_DIR", "False", job="EVALUATION"),
    # object avoidance
    _EnvKey(("DR_OA_NUMBER_OF_OBSTACLES",), "NUMBER_OF_OBSTACLES", "6", race="OBJECT_AVOIDANCE"),
    _EnvKey(
        ("DR_OA_MIN_DISTANCE_BETWEEN_OBSTACLES",),
        "MIN_DISTANCE_BETWEEN_OBSTACLES",
        "2.0",
        race="OBJECT_AVOIDANCE",
    ),
    _EnvKey(
        ("DR_OA_RANDOMIZE_OBSTACLE_LOCATIONS",),
        "RANDOMIZE_OBSTACLE_LOCATIONS",
        "True",
        race="OBJECT_AVOIDANCE",
    ),
    _EnvKey(
        ("DR_OA_IS_OBSTACLE_BOT_CAR",), "IS_OBSTACLE_BOT_CAR", "false", race="OBJECT_AVOIDANCE"
    ),
    _EnvKey(("DR_OA_OBSTACLE_TYPE",), "OBSTACLE_TYPE", "box_obstacle", race="OBJECT_AVOIDANCE"),
    _EnvKey(("DR_OA_OBJECT_POSITIONS",), "OBJECT_POSITIONS", None, race="OBJECT_AVOIDANCE"),
    # head to bot
    _EnvKey(("DR_H2B_IS_LANE_CHANGE",), "IS_LANE_CHANGE", "False", race="HEAD_TO_BOT"),
    _EnvKey(
        ("DR_H2B_LOWER_LANE_CHANGE_TIME",), "LOWER_LANE_CHANGE_TIME", "3.0", race="HEAD_TO_BOT"
    ),
    _EnvKey(
        ("DR_H2B_UPPER_LANE_CHANGE_TIME",), "UPPER_LANE_CHANGE_TIME", "5.0", race="HEAD_TO_BOT"
    ),
    _EnvKey(("DR_H2B_LANE_CHANGE_DISTANCE",), "LANE_CHANGE_DISTANCE", "1.0", race="HEAD_TO_BOT"),
    _EnvKey(("DR_H2B_NUMBER_OF_BOT_CARS",), "NUMBER_OF_BOT_CARS", "0", race="HEAD_TO_BOT"),
    _EnvKey(
        ("DR_H2B_MIN_DISTANCE_BETWEEN_BOT_CARS",),
        "MIN_DISTANCE_BETWEEN_BOT_CARS",
        "2.0",
        race="HEAD_TO_BOT",
    ),
    _EnvKey(
        ("DR_H2B_RANDOMIZE_BOT_CAR_LOCATIONS",),
        "RANDOMIZE_BOT_CAR_LOCATIONS",
        "False",
        race="HEAD_TO_BOT",
    ),
    _EnvKey(("DR_H2B_BOT_CAR_SPEED",), "BOT_CAR_SPEED", "0.2", race="HEAD_TO_BOT"),
    _EnvKey(("DR_H2B_BOT_CAR_PENALTY",), "PENALTY_SECONDS", "2.0", race="HEAD_TO_BOT"),
)
_MAPPED_ENV_NAMES = frozenset(name for k in _RUN_ENV_KEYS for name in k.names)
# DRfC variables that configure docker, S3, uploads, video... not the world. Ignored.
_IGNORED_ENV_NAMES = frozenset(
    {
        "DR_RUN_ID",
        "DR_TARGET_REWARD_SCORE",
        "DR_EVAL_SAVE_MP4",
        "DR_EVAL_DEBUG_REWARD",
        "DR_EVAL_RTF",
        "DR_TRAIN_RTF",
        "DR_TRAIN_MULTI_CONFIG",
        "DR_TRAIN_MAX_STEPS_PER_ITERATION",
        "DR_CLOUD",
        "DR_AWS_APP_REGION",
        "DR_GUI_ENABLE",
        "DR_KINESIS_STREAM_NAME",
        "DR_CAMERA_KVS_ENABLE",
        "DR_ANALYSIS_IMAGE",
        "DR_COACH_IMAGE",
        "DR_HOST_X",
        "DR_WEBVIEWER_PORT",
        "DR_DISPLAY",
        "DR_DIR",
        "DR_DOCKER_STYLE",
    }
)
_IGNORED_ENV_PREFIXES = (
    "DR_LOCAL_",
    "DR_UPLOAD_",
    "DR_EVAL_OPP_",
    "DR_ROBOMAKER_",
    "DR_SAGEMAKER_",
    "DR_MINIO_",
    "DR_REMOTE_",
    "DR_CLOUD_",
    "DR_TELEGRAF_",
    "DR_SIMAPP_",
    "DR_DROA_",
)
# Prefixes of variables that set the world: an unknown one is most likely a typo.
_WORLD_ENV_PREFIXES = ("DR_TRAIN_", "DR_EVAL_", "DR_OA_", "DR_H2B_")


def read_env_file(path: str | Path) -> dict[str, str]:
    """KEY=VALUE lines of a shell env file (DRfC run.env / system.env) as a dict of text.

    Handles comments, blank lines, `export `, quotes and `$VAR` / `${VAR}` references to
    variables set earlier in the file (unset ones expand to "", as in the shell).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise WorldConfigError(
            "file does not exist", source=path, fix="give the path of a DRfC run.env file"
        ) from None
    values: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].strip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise WorldConfigError(
                f"line {number} is not NAME=VALUE (it reads {raw.strip()!r})",
                source=f"{path}:{number}",
                fix="write one NAME=VALUE per line, or start the line with # to comment it out",
            )
        values[name] = _env_value(value.strip(), values)
    return values


def world_from_run_env(
    run_env: str | Path | Mapping[str, str],
    job_type: str = "TRAINING",
    *,
    system_env: str | Path | Mapping[str, str] | None = None,
    strict: bool = True,
) -> WorldConfig:
    """A `WorldConfig` from DRfC `DR_*` variables, mapped to YAML keys as DRfC's scripts do.

    `run_env` (and the optional `system_env`, which holds DR_WORKERS) are env-file paths or
    mappings of variable -> text. Keys DRfC always writes take DRfC's script default when their
    variable is absent; the OBJECT_AVOIDANCE (DR_OA_*) and HEAD_TO_BOT (DR_H2B_*) blocks only apply
    to that race type, and DR_TRAIN_* / DR_EVAL_* only to that job type. An unknown DR_TRAIN_,
    DR_EVAL_, DR_OA_ or DR_H2B_ variable (likely a typo) is an error when `strict`, else a warning.
    """
    env: dict[str, str] = {}
    sources = []
    for part in (system_env, run_env):
        if part is None:
            continue
        if isinstance(part, Mapping):
            env.update({str(k): str(v) for k, v in part.items()})
            sources.append("<env mapping>")
        else:
            env.update(read_env_file(part))
            sources.append(str(part))
    source = " + ".join(sources)
    job = parse_choice(job_type, "JOB_TYPE", JOB_TYPES, WorldConfigError)
    _check_env_names(env, source, strict)

    race = env.get("DR_RACE_TYPE", "TIME_TRIAL").strip().upper()
    data: dict[str, Any] = {"JOB_TYPE": job}
    origin: dict[str, str] = {}
    for spec in _RUN_ENV_KEYS:
        if (spec.job and spec.job != job) or (spec.race and spec.race != race):
            continue
        name = next((n for n in spec.names if n in env), None)
        value = env[name] if name is not None else spec.default
        if value is None:
            continue
        if spec.key == "OBJECT_POSITIONS":
            value = value.replace('"', "").strip()
            if not value:
                continue
        data[spec.key] = value
        origin[spec.key] = name or f"{spec.names[0]} (unset; DRfC default {spec.default!r})"
    try:
        return parse_world(data, source=source, warn_unknown=False)
    except WorldConfigError as exc:
        key = exc.key
        base = re.split(r"[.\[]", key or "", maxsplit=1)[0]
        if base in origin:
            key = f"{origin[base]} -> {key}"
        kwargs: dict[str, Any] = {"source": source, "key": key, "fix": exc.fix}
        if exc.has_value:
            kwargs["value"] = exc.value
        raise WorldConfigError(exc.problem, **kwargs) from None


def _check_env_names(env: Mapping[str, str], source: str, strict: bool) -> None:
    for name in env:
        if not name.startswith("DR_") or name in _MAPPED_ENV_NAMES or name in _IGNORED_ENV_NAMES:
            continue
        if name.startswith(_IGNORED_ENV_PREFIXES):
            continue
        hint = did_you_mean(name, _MAPPED_ENV_NAMES)
        if name.startswith(_WORLD_ENV_PREFIXES):
            if strict:
                raise WorldConfigError(
                    f"unknown DRfC world variable.{hint}",
                    source=source,
                    key=name,
                    value=env[name],
                    fix="correct its name, remove it, or load with strict=False to ignore it",
                )
            logger.warning("%s: ignoring unknown DRfC variable %s.%s", source, name, hint)
        else:
            logger.debug("%s: ignoring DRfC variable %s (not a world setting)", source, name)


def _env_value(text: str, known: Mapping[str, str]) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        quote, text = text[0], text[1:-1]
        if quote == "'":
            return text
    else:
        text = re.split(r"\s+#", text, maxsplit=1)[0].strip()
    return re.sub(
        r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))",
        lambda m: known.get(m.group(1) or m.group(2), ""),
        text,
    )


# --- per-key parsing ------------------------------------------------------------------------------


__all__ = ["read_env_file", "world_from_run_env"]
