"""Videos: frames streamed to H.264 in chunks, read back frame by frame; trial and race MP4s."""

from __future__ import annotations

import json

import imageio.v2 as imageio
import numpy as np
import pytest

from slipstream.config import parse_model_metadata
from slipstream.evaluate import LoadedModel, evaluate_model, evaluation_world
from slipstream.evaluate.race import race_models, race_world
from slipstream.evaluate.video import PIP_SCALE, VIEW_SIZE, Mp4Writer, ViewText, compose_view
from slipstream.render.topdown import CAR_PALETTE
from slipstream.runs import RunLayout, RunStorage

TRACK = "reInvent2019_track"
METADATA = parse_model_metadata(
    {
        "action_space": [{"steering_angle": s, "speed": 1.0} for s in (-15, 0, 15)],
        "sensor": ["FRONT_FACING_CAMERA"],
        "training_algorithm": "clipped_ppo",
        "action_space_type": "discrete",
        "version": "5",
    }
)


class Straight:
    """Always the straight-ahead action (index 1)."""

    def act(self, obs, deterministic=True):
        return np.ones(len(obs["FRONT_FACING_CAMERA"]), dtype=np.int64)


def read_frames(path):
    reader = imageio.get_reader(str(path))
    meta = reader.get_meta_data()
    frames = [np.asarray(f) for f in reader]
    reader.close()
    return meta, frames


def test_frames_stream_in_chunks_and_read_back_in_order(tmp_path) -> None:
    storage = RunStorage(str(tmp_path))
    camera = np.tile(np.linspace(0, 255, 160).astype(np.uint8), (120, 1))[..., None]
    with Mp4Writer(storage, "videos/test.mp4", VIEW_SIZE, chunk=8) as writer:
        for i in range(20):
            background = np.full((*VIEW_SIZE, 3), 10 * i, dtype=np.uint8)
            writer.add(compose_view(background, camera, ViewText((f"frame {i}",))))
        assert writer.frames_written == 16  # two chunks of 8 sent, 4 frames still buffered
    assert writer.frames_written == 20
    meta, frames = read_frames(tmp_path / "videos" / "test.mp4")
    assert meta["fps"] == 15.0 and meta["codec"] == "h264"
    assert len(frames) == 20 and frames[0].shape == (*VIEW_SIZE, 3)
    # background brightness (bottom-left, away from overlay and PIP) follows the frame order
    levels = [float(f[400:470, 20:200].mean()) for f in frames]
    assert levels == pytest.approx([10.0 * i for i in range(20)], abs=3.0)
    # the camera gradient sits top right, scaled 1.5x, in grey
    pip_w = round(160 * PIP_SCALE)
    x0 = VIEW_SIZE[1] - pip_w - 8
    row = frames[5][8 + 90, x0 : x0 + pip_w].astype(float)
    assert np.abs(row[:, 0] - row[:, 2]).max() < 12  # grey
    assert row[10, 0] < 40 and row[-10, 0] > 215  # dark on the left, bright on the right


def test_trial_video_shows_the_car_its_camera_and_the_overlay(tmp_path, official_tracks_dir):
    (tmp_path / "training-simtrace").mkdir()
    layout = RunLayout(RunStorage(str(tmp_path)))
    world = evaluation_world({}, trials=2, track=TRACK)
    model = LoadedModel(METADATA, Straight(), "straight")
    result = evaluate_model(model, world, layout=layout, video=True, max_steps=24)
    assert [r.steps for r in result.records] == [24, 24]
    assert result.videos == [
        f"videos/evaluation-{result.written.timestamp}-trial-1.mp4",
        f"videos/evaluation-{result.written.timestamp}-trial-2.mp4",
    ]
    meta, frames = read_frames(tmp_path / result.videos[0])
    assert len(frames) == 24  # one frame per simtrace row
    assert meta["duration"] == pytest.approx(24 / 15, abs=0.07)
    for i in (0, 12, 23):
        imageio.imwrite(tmp_path / f"frame_{i}.png", frames[i])
    frame = imageio.imread(tmp_path / "frame_12.png")
    h, w = VIEW_SIZE
    centre = frame[h // 2 - 6 : h // 2 + 6, w // 2 - 6 : w // 2 + 6].reshape(-1, 3).astype(int)
    red = np.array(CAR_PALETTE[0])
    assert (np.abs(centre - red).sum(axis=1) < 60).mean() > 0.5  # the followed car, centred
    pip = frame[10:180, w - 248 : w - 10].astype(int)
    assert np.abs(pip[..., 0] - pip[..., 2]).mean() < 6  # the grey camera picture
    text_box = frame[8:130, 8:150].astype(int)
    assert (text_box.min(axis=2) > 200).sum() > 100  # white overlay text
    rows = (tmp_path / result.written.simtrace).read_text().splitlines()
    assert len(rows) == 1 + 48


def test_race_video_has_both_views_in_both_runs(tmp_path, official_tracks_dir) -> None:
    layouts = []
    for name in ("a", "b"):
        (tmp_path / name / "training-simtrace").mkdir(parents=True)
        layouts.append(RunLayout(RunStorage(str(tmp_path / name))))
    a = LoadedModel(METADATA, Straight(), "A")
    b = LoadedModel(METADATA, Straight(), "B")
    world = race_world({"WORLD_NAME": TRACK}, laps=1)
    result = race_models(a, b, world, layouts=tuple(layouts), video=True, max_steps=10)
    assert len(result.videos) == 2
    for path in result.videos:
        _, frames = read_frames(path)
        assert len(frames) == 10 and frames[0].shape == (VIEW_SIZE[0], 2 * VIEW_SIZE[1], 3)
    stamps = [r.written.timestamp for r in result.racers]
    assert result.videos[1].endswith(f"b/videos/race-{stamps[1]}.mp4")
    metrics = json.loads((tmp_path / "a" / result.racers[0].written.metrics).read_text())
    assert metrics["metrics"][0]["episode_status"] == "In progress"
