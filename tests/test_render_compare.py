"""`camera compare`: pose fit recovers known poses; the image statistics by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from slipstream.commands import camera
from slipstream.render import TrackTexture, render_cameras
from slipstream.render.compare import (
    fit_poses,
    grey_frames,
    histogram_distance,
    poses_at,
    row_profile_error,
)
from slipstream.render.looks import STANDARD, TrackLook, plain
from slipstream.tracks import Track


@pytest.fixture(scope="module")
def bean():
    """A closed loop that is not a circle (so position along it is observable)."""
    a = np.linspace(0, 2 * math.pi, 241)
    r = 2.5 + 0.6 * np.cos(2 * a) + 0.3 * np.sin(3 * a)
    ring = np.column_stack([np.cos(a), np.sin(a)])
    route = np.hstack([r[:, None] * ring, (r[:, None] - 0.53) * ring, (r[:, None] + 0.53) * ring])
    track = Track.from_route(route, "bean")
    return track, TrackTexture.from_track(track, look=plain(STANDARD))


def test_row_profile_and_histogram_distance_by_hand():
    a = np.zeros((2, 4, 3), dtype=np.uint8)
    b = np.zeros((2, 4, 3), dtype=np.uint8)
    a[:, 0] = 10  # row 0 differs by 10, row 1 by 4 in one of two frames (mean 2)
    a[0, 1] = 4
    assert row_profile_error(a, b) == pytest.approx((10 + 2 + 0 + 0) / 4)
    # all pixels 0 vs all pixels 7: the whole histogram moves by 7 grey levels
    assert histogram_distance(np.zeros((1, 2, 2), np.uint8), np.full((1, 2, 2), 7, np.uint8)) == (
        pytest.approx(7.0)
    )
    # half the pixels move by 20: W1 = 10
    c = np.zeros((1, 2, 2), np.uint8)
    d = c.copy()
    d[0, 0] = 20
    assert histogram_distance(c, d) == pytest.approx(10.0)


def test_fit_recovers_the_poses_of_rendered_frames(bean):
    track, texture = bean
    s = np.array([3.0, 3.12])
    d = np.array([0.1, 0.12])
    psi = np.radians([5.0, 4.0])
    truth = poses_at(track, s, d, psi)
    frames = render_cameras(texture, truth)
    fits = fit_poses(track, texture, frames)
    for f, s0, d0, p0 in zip(fits, s, d, psi, strict=True):
        assert f.residual < 2.0
        assert abs((f.s - s0 + 0.5 * track.length) % track.length - 0.5 * track.length) < 0.05
        assert f.d == pytest.approx(d0, abs=0.03)
        assert f.psi == pytest.approx(p0, abs=math.radians(2.0))


def test_grey_frames_use_deepracer_luma(tmp_path):
    rgb = np.zeros((120, 160, 3), dtype=np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 36, 50, 66
    Image.fromarray(rgb).save(tmp_path / "a.png")
    g = grey_frames([tmp_path / "a.png"])
    assert g.shape == (1, 120, 160)
    assert g[0, 0, 0] == math.floor(0.2989 * 36 + 0.5870 * 50 + 0.1140 * 66)


def test_command_writes_report_and_side_by_side(tmp_path, bean, monkeypatch):
    track, texture = bean
    poses = poses_at(track, np.array([5.0, 5.1]), np.zeros(2), np.zeros(2))
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    for i, img in enumerate(render_cameras(texture, poses)):
        Image.fromarray(np.repeat(img[..., None], 3, axis=2)).save(frames_dir / f"f{i}.png")
    monkeypatch.setattr("slipstream.tracks.load_track", lambda name: track)
    monkeypatch.setattr(
        "slipstream.render.looks.look_for", lambda name: TrackLook("t", **_plain_parts())
    )
    import argparse

    parser = argparse.ArgumentParser()
    camera.add_arguments(parser)
    out = tmp_path / "out"
    args = parser.parse_args(["compare", str(frames_dir), "--track", "bean", "--out", str(out)])
    assert camera.run(args) == 0
    side = Image.open(out / "worst_frames.png")
    assert side.size == (2 * 3 * 160, 2 * 2 * 120)  # real | render | difference, 2 frames, x2
    report = (out / "compare.json").read_text()
    assert '"residual_median"' in report and '"histogram_w1"' in report


def _plain_parts():
    look = plain(STANDARD)
    return {"colours": look.colours, "markings": look.markings, "walls": look.walls}
