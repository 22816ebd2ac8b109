"""The exported prefix's training_params.yaml carries what DeepRacer-on-AWS's import reads."""

from __future__ import annotations

import pytest
import yaml

from slipstream.export.training_params import (
    export_training_params,
    exported_training_params,
    track_direction_clockwise,
    training_params_text,
)
from slipstream.tracks import TrackError, load_track


@pytest.mark.parametrize(
    ("name", "reverse", "is_ccw", "expected"),
    [
        ("2022_reinvent_champ", False, True, False),  # a counter-clockwise loop driven forwards
        ("2022_reinvent_champ", True, True, True),  # ... and backwards
        ("some_track", False, False, True),
        ("some_track", True, False, False),
        ("2022_april_open_cw", False, None, True),  # the suffix says it, geometry not needed
        ("2022_april_open_ccw", True, None, False),
        ("unknown", False, None, None),
    ],
)
def test_track_direction(name: str, reverse: bool, is_ccw: bool | None, expected) -> None:
    assert track_direction_clockwise(name, reverse, is_ccw) is expected


def test_keys_of_the_import_and_the_s3_locations() -> None:
    params = export_training_params(
        {"WORLD_NAME": "x", "CAR_NAME": "Speedy"}, False, "s3://models/racers/speedy"
    )
    assert params["TRACK_DIRECTION_CLOCKWISE"] is False
    assert (params["BODY_SHELL_TYPE"], params["CAR_COLOR"], params["CAR_NAME"]) == (
        "deepracer",
        "Red",
        "Speedy",
    )
    assert params["SAGEMAKER_SHARED_S3_BUCKET"] == "models"
    assert params["SAGEMAKER_SHARED_S3_PREFIX"] == "racers/speedy"
    assert params["MODEL_METADATA_FILE_S3_KEY"] == "racers/speedy/model/model_metadata.json"
    assert params["REWARD_FILE_S3_KEY"] == "racers/speedy/reward_function.py"
    local = export_training_params({"BODY_SHELL_TYPE": "f1_2021"}, None, "/tmp/out")
    assert "CAR_COLOR" not in local and "TRACK_DIRECTION_CLOCKWISE" not in local
    assert "SAGEMAKER_SHARED_S3_BUCKET" not in local
    text = training_params_text({"A": "True", "TRACK_DIRECTION_CLOCKWISE": True, "L": ["1,2"]})
    assert yaml.safe_load(text) == {"A": "True", "TRACK_DIRECTION_CLOCKWISE": True, "L": ["1,2"]}


def _has_track(name: str) -> bool:
    try:
        load_track(name)
    except TrackError:
        return False
    return True


@pytest.mark.skipif(
    not _has_track("2022_reinvent_champ_ccw"), reason="the official tracks are not installed"
)
def test_direction_from_the_tracks_geometry() -> None:
    def exported(params: dict) -> dict:
        return yaml.safe_load(exported_training_params(yaml.safe_dump(params)))

    # 2022_reinvent_champ runs counter-clockwise (its _ccw variant is the same loop)
    assert load_track("2022_reinvent_champ").is_ccw
    champ = exported({"WORLD_NAME": "2022_reinvent_champ", "CAR_COLOR": "Black"})
    assert champ["TRACK_DIRECTION_CLOCKWISE"] is False and champ["CAR_COLOR"] == "Black"
    backwards = exported({"WORLD_NAME": "2022_reinvent_champ", "REVERSE_DIR": "True"})
    assert backwards["TRACK_DIRECTION_CLOCKWISE"] is True
    # a track without _cw/_ccw variants: DeepRacer would look for one, so the key is left out
    assert "TRACK_DIRECTION_CLOCKWISE" not in exported({"WORLD_NAME": "slipstream_oval"})
