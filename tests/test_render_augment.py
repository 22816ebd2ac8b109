"""Real-car camera augmentation: each effect checked against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from noise_bank import bank
from slipstream.render.augment import AugmentError, AugmentSpec, apply, blur_weights, sample_episode
from slipstream.render.randomization import frame_noise_offsets

OFF = AugmentSpec(
    translation=0,
    barrel=0,
    exposure=0,
    shadows=0,
    shadow_strength=0,
    texture=0,
    blur=0,
    noise_sigma=0,
)


def ramp(n=2):
    """Images whose grey is 1.5 x column (+ 10): a horizontal ramp."""
    img = 10.0 + 1.5 * np.arange(160)[None, None, :] + np.zeros((n, 120, 1))
    return img.astype(np.uint8)


def only(**kw):
    return AugmentSpec(**{**OFF.__dict__, **kw})


def test_zero_spec_is_identity():
    rng = np.random.default_rng(0)
    img = np.random.default_rng(1).integers(0, 256, (3, 120, 160), dtype=np.uint8)
    ep = sample_episode(rng, 3, OFF)
    assert np.array_equal(apply(img, ep, bank(img), 0.0), img)


def test_same_seed_same_frames_and_cars_differ():
    img = ramp(3)
    a = apply(img, sample_episode(np.random.default_rng(4), 3), bank(img, 9))
    b = apply(img, sample_episode(np.random.default_rng(4), 3), bank(img, 9))
    c = apply(img, sample_episode(np.random.default_rng(5), 3), bank(img, 9))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a[0], a[1])


def test_translation_shifts_the_ramp_by_the_drawn_amount():
    img = ramp()
    ep = sample_episode(np.random.default_rng(2), 2, only(translation=4.0))
    out = apply(img, ep, bank(img, 0), 0.0).astype(float)
    for n in range(2):
        dx = ep.shift[n, 0]
        assert abs(dx) <= 4.0
        # interior columns: grey = 10 + 1.5 (column - dx), truncated
        cols = np.arange(10, 150)
        want = np.floor(10.0 + 1.5 * (cols - dx) + 1e-4)
        assert np.all(np.abs(out[n, 60, cols] - want) <= 1.0)


def test_barrel_distortion_keeps_the_centre_and_pulls_in_the_corners():
    ep = sample_episode(np.random.default_rng(3), 1, only(barrel=0.3))
    k = ep.barrel_k[0]
    assert 0.0 < k <= 0.3
    # the corner pixel (0, 0): centre (-79.5, -59.5) from the middle, r^2 = that / half-diagonal^2
    r2 = (79.5**2 + 59.5**2) / (0.25 * (160**2 + 120**2))
    assert ep.src_x[0, 0, 0] == pytest.approx(80 - 79.5 * (1 + k * r2) - 0.5, abs=1e-4)
    assert ep.src_y[0, 0, 0] == pytest.approx(60 - 59.5 * (1 + k * r2) - 0.5, abs=1e-4)
    # pixels next to the centre hardly move
    assert ep.src_x[0, 60, 80] == pytest.approx(80.0, abs=0.01)


def test_exposure_gain_and_shadows_darken_within_bounds():
    flat = np.full((8, 120, 160), 100, dtype=np.uint8)
    ep = sample_episode(np.random.default_rng(6), 8, only(exposure=0.5))
    out = apply(flat, ep, bank(flat, 0), 0.0)
    for n in range(8):
        g = ep.exposure_gain[n]
        assert 2**-0.5 <= g <= 2**0.5
        assert np.all(out[n] == math.floor(100 * np.float32(g) + 1e-4))
    ep = sample_episode(np.random.default_rng(7), 8, only(shadows=3, shadow_strength=0.6))
    out = apply(flat, ep, bank(flat, 0), 0.0)
    assert out.min() >= math.floor(100 * (1 - 0.6) ** 3)  # at most three overlapping bands
    assert out.max() == 100
    assert (out < 100).any()


def test_blur_spreads_an_impulse_with_gaussian_weights():
    w = blur_weights(1.0)
    e = np.exp(-0.5 * np.arange(3) ** 2)
    assert w == pytest.approx(e / (e[0] + 2 * e[1:].sum()), rel=1e-6)
    img = np.zeros((1, 120, 160), dtype=np.uint8)
    img[0, 60, 80] = 250
    ep = sample_episode(np.random.default_rng(8), 1, only(blur=1.0))
    taps = ep.blur_taps[0]
    out = apply(img, ep, bank(img, 0), 0.0).astype(float)
    for dr in range(3):
        for dc in range(3):
            want = math.floor(250 * taps[dr] * taps[dc] + 1e-4)
            assert abs(out[0, 60 + dr, 80 + dc] - want) <= 1


def test_texture_pattern_has_the_requested_strength():
    flat = np.full((4, 120, 160), 120, dtype=np.uint8)
    ep = sample_episode(np.random.default_rng(9), 4, only(texture=5.0))
    out = apply(flat, ep, bank(flat, 0), 0.0).astype(float)
    assert out.std(axis=(1, 2)) == pytest.approx([5.0] * 4, rel=0.1)


def test_bad_settings_raise():
    with pytest.raises(AugmentError, match="blur"):
        AugmentSpec(blur=5.0)
    with pytest.raises(AugmentError, match="translation"):
        AugmentSpec(translation=-1.0)
    with pytest.raises(AugmentError, match="match"):
        apply(ramp(2), sample_episode(np.random.default_rng(0), 3), bank(ramp(2)))


def test_hashed_noise_is_each_cars_own_and_gaussian():
    from slipstream.render.randomization import add_pixel_noise

    pixels = 120 * 160
    alone = frame_noise_offsets(np.array([17]), np.array([4]), pixels)
    batch = frame_noise_offsets(np.array([3, 17, 99]), np.array([0, 4, 8]), pixels)
    assert batch[1] == alone[0]  # a car's offset ignores the rest of its batch
    later = frame_noise_offsets(np.full(50, 17), np.arange(50), pixels)
    assert len(set(later.tolist())) == 50  # a new draw every frame
    assert later.min() >= 0 and later.max() < (1 << 20) - pixels
    grey = np.full((2, 120, 160), 128, dtype=np.uint8)
    noisy = add_pixel_noise(grey, 3.0, batch[:2]).astype(float) - 128.0
    assert noisy.mean() == pytest.approx(0.0, abs=0.1)
    assert noisy.std() == pytest.approx(3.0, rel=0.05)
    with pytest.raises(Exception, match="one offset per image"):
        add_pixel_noise(grey, 3.0, batch)
