"""Domain randomisation: seeded, per car, and the identity when switched off."""

from __future__ import annotations

import math

import numpy as np
import pytest

from noise_bank import bank
from slipstream.render import (
    RandomizationSpec,
    TrackColours,
    TrackTexture,
    add_pixel_noise,
    render_cameras,
    sample_luts,
)
from slipstream.render.randomization import MATERIALS, RandomizationError
from slipstream.render.texture import grey_of
from slipstream.tracks import Track


@pytest.fixture(scope="module")
def scene():
    a = np.linspace(0, 2 * math.pi, 121)
    ring = np.column_stack([np.cos(a), np.sin(a)])
    track = Track.from_route(np.hstack([2.5 * ring, 1.965 * ring, 3.035 * ring]), "circle")
    poses = np.array([[2.5, 0.0, math.pi / 2], [0.0, 2.5, math.pi], [-2.4, 0.1, -math.pi / 2]])
    return TrackTexture.from_track(track), poses


def randomised(tex, poses, seed):
    rng = np.random.default_rng(seed)
    luts = sample_luts(rng, len(poses), tex.colours)
    frames = render_cameras(tex, poses, lut=luts)
    return add_pixel_noise(frames, RandomizationSpec().noise_sigma, bank(frames, seed))


def test_same_seed_same_frames_different_seed_different(scene):
    tex, poses = scene
    a = randomised(tex, poses, 7)
    b = randomised(tex, poses, 7)
    c = randomised(tex, poses, 8)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    plain = render_cameras(tex, poses)
    assert np.abs(a.astype(int) - plain).mean() > 2  # it does change the picture
    # cars get different looks
    assert not np.array_equal(
        sample_luts(np.random.default_rng(1), 2)[0], sample_luts(np.random.default_rng(1), 2)[1]
    )


def test_zero_spec_is_identity(scene):
    tex, poses = scene
    off = RandomizationSpec(colour_jitter=0, brightness=0, contrast=0, noise_sigma=0)
    luts = sample_luts(np.random.default_rng(0), len(poses), tex.colours, off)
    assert np.array_equal(luts, np.broadcast_to(np.arange(256, dtype=np.uint8), (3, 256)))
    plain = render_cameras(tex, poses)
    assert np.array_equal(render_cameras(tex, poses, lut=luts), plain)
    assert np.array_equal(add_pixel_noise(plain, 0.0, bank(plain)), plain)


def test_lut_maps_each_material_to_its_jittered_grey():
    spec = RandomizationSpec(colour_jitter=20.0, brightness=0.0, contrast=0.0)
    colours = TrackColours()
    luts = sample_luts(np.random.default_rng(5), 4, colours, spec)
    # redo the draw by hand: the road's jittered colour -> its grey
    rng = np.random.default_rng(5)
    jitter = rng.normal(0.0, 1.0, (4, len(MATERIALS), 3)) * 20.0
    road_rgb = np.clip(np.array(colours.road) + jitter[:, 1], 0, 255)
    road = math.floor(grey_of(colours.road) + 1e-6)
    assert luts[:, road].tolist() == np.floor(grey_of(road_rgb)).astype(int).tolist()


def test_pixel_noise_statistics():
    flat = np.full((4, 120, 160), 100, dtype=np.uint8)
    noisy = add_pixel_noise(flat, 5.0, bank(flat)).astype(float)
    assert noisy.mean() == pytest.approx(100.0, abs=0.1)
    assert noisy.std() == pytest.approx(5.0, abs=0.15)
    assert not np.array_equal(noisy[0], noisy[1])
    bright = np.full((1, 4, 4), 254, np.uint8)
    assert add_pixel_noise(bright, 50, bank(bright)).max() == 255
    with pytest.raises(RandomizationError, match="frame_noise_offsets"):
        add_pixel_noise(bright, 5.0, np.array([-1]))
