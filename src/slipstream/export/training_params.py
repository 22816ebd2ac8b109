"""``training_params.yaml`` of an exported DeepRacer model prefix (docs/drfc.md "Export").

DeepRacer-on-AWS's model import (DRfC's ``scripts/droa/import_model.py``) reads the YAML of a
model prefix: the car (``BODY_SHELL_TYPE``, ``CAR_COLOR``, ``CAR_NAME``, ``DISPLAY_NAME``,
``RACER_NAME``), the track (``WORLD_NAME``, ``TRACK_DIRECTION_CLOCKWISE``, ``RACE_TYPE``), the
training settings (``ALTERNATE_DRIVING_DIRECTION``, ``CHANGE_START_POSITION``,
``ROUND_ROBIN_ADVANCE_DIST``, ``START_POSITION_OFFSET``, ``ENABLE_DOMAIN_RANDOMIZATION``,
``MIN_EVAL_TRIALS``) and where the model lives (``SAGEMAKER_SHARED_S3_BUCKET`` / ``_PREFIX``,
``MODEL_METADATA_FILE_S3_KEY``, ``REWARD_FILE_S3_KEY``, ``METRICS_S3_BUCKET`` / ``_OBJECT_KEY``).
Without ``TRACK_DIRECTION_CLOCKWISE`` it guesses clockwise unless DR_TRAIN_REVERSE_DIRECTION is
set, wrong for most tracks, so the export writes it from the track's geometry. DeepRacer then
loads ``WORLD_NAME_cw`` / ``_ccw``, so the key is written only for tracks that have those
variants (or whose name already carries the suffix).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

# DRfC's defaults (scripts/training/prepare-config.py) for keys a run may not carry
DEFAULTS = {
    "AWS_REGION": "us-east-1",
    "JOB_TYPE": "TRAINING",
    "BODY_SHELL_TYPE": "deepracer",
    "CAR_NAME": "MyCar",
    "DISPLAY_NAME": "racer1",
    "RACER_NAME": "racer1",
    "RACE_TYPE": "TIME_TRIAL",
    "ALTERNATE_DRIVING_DIRECTION": "False",
    "CHANGE_START_POSITION": "True",
    "ROUND_ROBIN_ADVANCE_DIST": "0.05",
    "START_POSITION_OFFSET": "0.0",
    "ENABLE_DOMAIN_RANDOMIZATION": "False",
    "MIN_EVAL_TRIALS": "5",
}
DEFAULT_CAR_COLOR = "Red"  # DRfC's, for the deepracer body shell


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def track_direction_clockwise(world_name: str, reverse: bool, is_ccw: bool | None) -> bool | None:
    """TRACK_DIRECTION_CLOCKWISE of a model trained on `world_name`.

    A ``_cw`` / ``_ccw`` suffix says it; otherwise the centre line's turning sense
    (`is_ccw`, None when the track is unknown) driven forwards or, with `reverse`, backwards.
    """
    if world_name.endswith("_cw"):
        return True
    if world_name.endswith("_ccw"):
        return False
    if is_ccw is None:
        return None
    return (not is_ccw) != bool(reverse)


def export_training_params(
    run_params: Mapping[str, Any],
    clockwise: bool | None,
    target: str | None = None,
) -> dict[str, Any]:
    """The exported prefix's YAML keys: the run's, DRfC's defaults for missing ones, the track
    direction, and (when `target` is ``s3://bucket/prefix``) where the model lives."""
    params: dict[str, Any] = {**DEFAULTS, **{str(k): v for k, v in run_params.items()}}
    if str(params["BODY_SHELL_TYPE"]) == "deepracer":
        params.setdefault("CAR_COLOR", DEFAULT_CAR_COLOR)
    if clockwise is not None:
        params["TRACK_DIRECTION_CLOCKWISE"] = bool(clockwise)
    if target is not None and target.startswith("s3://"):
        bucket, _, prefix = target[len("s3://") :].strip("/").partition("/")
        params.update(
            SAGEMAKER_SHARED_S3_BUCKET=bucket,
            SAGEMAKER_SHARED_S3_PREFIX=prefix,
            METRICS_S3_BUCKET=bucket,
            METRICS_S3_OBJECT_KEY=f"{prefix}/TrainingMetrics.json",
            MODEL_METADATA_FILE_S3_KEY=f"{prefix}/model/model_metadata.json",
            REWARD_FILE_S3_KEY=f"{prefix}/reward_function.py",
        )
    return params


def training_params_text(params: Mapping[str, Any]) -> str:
    """YAML text: strings stay strings (quoted where YAML would read them otherwise), the
    track direction a YAML boolean, keys sorted."""
    clean = {
        k: (v if isinstance(v, bool) else [str(x) for x in v] if isinstance(v, list) else str(v))
        for k, v in params.items()
    }
    return yaml.safe_dump(clean, default_flow_style=False, explicit_start=True, sort_keys=True)


def exported_training_params(run_yaml: bytes | str, target: str | None = None) -> bytes:
    """The exported prefix's training_params.yaml from the run's (`export_training_params`),
    the direction from the track's geometry (`slipstream.tracks.load_track`)."""
    from slipstream.config.world import world_name_with_direction
    from slipstream.tracks import TrackError, load_track

    run_params = yaml.safe_load(run_yaml) or {}
    if not isinstance(run_params, dict):
        raise ValueError("the run's training_params.yaml is not a mapping of KEY: value")
    world = str(run_params.get("WORLD_NAME", ""))
    reverse = _truthy(run_params.get("REVERSE_DIR", False))
    try:
        is_ccw: bool | None = load_track(world).is_ccw if world else None
    except TrackError:
        is_ccw = None
    clockwise = track_direction_clockwise(world, reverse, is_ccw)
    if clockwise is not None and not re.search(r"_c?cw$", world):
        try:  # DeepRacer then loads WORLD_NAME_cw / _ccw: only where that track exists
            load_track(world_name_with_direction(world, clockwise))
        except TrackError:
            clockwise = None
    return training_params_text(export_training_params(run_params, clockwise, target)).encode()


__all__ = [
    "export_training_params",
    "exported_training_params",
    "track_direction_clockwise",
    "training_params_text",
]
