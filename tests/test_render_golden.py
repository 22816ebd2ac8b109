"""Golden camera frames on reInvent2019_track: a straight, a tight corner, a box ahead, a car ahead.

The frames are compared with tests/golden/render_camera.npz (mean absolute difference below one
grey level). PNG copies go to /tmp/slipstream_frames/ for people to look at. After a deliberate
change to the renderer, regenerate with SLIPSTREAM_UPDATE_GOLDEN=1 and look at the PNGs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slipstream.render import BoxSet, CameraSpec, TrackTexture, render_cameras, render_stereo
from slipstream.tracks import load_track

GOLDEN = Path(__file__).with_name("golden") / "render_camera.npz"
FRAMES_DIR = Path("/tmp/slipstream_frames")
NAMES = ("straight", "hairpin", "box_ahead", "car_ahead")


def golden_scene(track):
    arcs = np.array([2.0, 10.6, 2.0, 2.0])
    xy, heading = track.point_at(arcs)
    poses = np.column_stack([xy, heading])
    box_arc = np.array([3.5, 3.0])  # a box 1.5 m ahead on the centre, a car 1 m ahead inside
    box_xy = np.stack(
        [track.lane_point_at(box_arc[:1], 0.0)[0], track.lane_point_at(box_arc[1:], 1.0)[0]]
    )
    _, box_yaw = track.point_at(box_arc)
    centers = np.zeros((4, 2, 2))
    centers[:] = box_xy
    valid = np.zeros((4, 2), dtype=bool)
    valid[2, 0] = True
    valid[3, 1] = True
    boxes = BoxSet(
        centers=centers,
        yaw=np.broadcast_to(box_yaw, (4, 2)),
        size=np.broadcast_to(np.array([[0.5, 0.4, 0.3], [0.32352, 0.1961, 0.2]]), (4, 2, 3)),
        shade=np.broadcast_to(np.array([170.0, 110.0]), (4, 2)),
        valid=valid,
        owner=np.full((4, 2), -1),
    )
    return poses, boxes


def test_golden_frames(official_tracks_dir):
    track = load_track("reInvent2019_track")
    texture = TrackTexture.from_track(track)
    poses, boxes = golden_scene(track)
    frames = render_cameras(texture, poses, CameraSpec(), boxes)
    stereo = render_stereo(texture, poses[3:], CameraSpec(), boxes=_one_world(boxes, 3))
    FRAMES_DIR.mkdir(parents=True, exist_ok=True)
    for name, frame in zip(NAMES, frames, strict=True):
        Image.fromarray(frame).resize((640, 480), Image.NEAREST).save(
            FRAMES_DIR / f"golden_{name}.png"
        )
    Image.fromarray(np.concatenate([stereo[0, ..., 0], stereo[0, ..., 1]], axis=1)).save(
        FRAMES_DIR / "golden_car_ahead_stereo.png"
    )
    if os.environ.get("SLIPSTREAM_UPDATE_GOLDEN") == "1":
        np.savez_compressed(GOLDEN, frames=frames, stereo=stereo)
    if not GOLDEN.exists():
        pytest.fail(f"{GOLDEN} is missing; run with SLIPSTREAM_UPDATE_GOLDEN=1 to create it")
    stored = np.load(GOLDEN)
    for name, new, old in zip(NAMES, frames, stored["frames"], strict=True):
        diff = np.abs(new.astype(float) - old).mean()
        assert diff < 1.0, f"{name}: mean abs difference {diff:.2f} grey levels"
    assert np.abs(stereo.astype(float) - stored["stereo"]).mean() < 1.0


def _one_world(boxes: BoxSet, n: int) -> BoxSet:
    return BoxSet(
        boxes.centers[n : n + 1],
        boxes.yaw[n : n + 1],
        boxes.size[n : n + 1],
        boxes.shade[n : n + 1],
        boxes.valid[n : n + 1],
        boxes.owner[n : n + 1],
    )
