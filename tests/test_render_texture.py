"""The pre-rasterised track texture: what is painted where, and the grey mip pyramid."""

from __future__ import annotations

import math

import numpy as np
import pytest

from slipstream.render import TextureError, TrackColours, TrackMarkings, TrackTexture
from slipstream.render.looks import Speckle, TrackLook
from slipstream.render.texture import grey_of, grey_pyramid
from slipstream.tracks import Track

RADIUS, HALF_WIDTH = 2.5, 0.535


@pytest.fixture(scope="module")
def circle():
    a = np.linspace(0, 2 * math.pi, 181)
    ring = np.column_stack([np.cos(a), np.sin(a)])
    route = np.hstack([RADIUS * ring, (RADIUS - HALF_WIDTH) * ring, (RADIUS + HALF_WIDTH) * ring])
    track = Track.from_route(route, "circle")
    return track, TrackTexture.from_track(track, look=TrackLook("test"))


def grey(name):
    return math.floor(grey_of(getattr(TrackColours(), name)) + 1e-6)


def at_radius(r, angle):
    return np.array([[r * math.cos(angle), r * math.sin(angle)]])


def test_grey_is_deepracer_luma():
    assert grey_of((240, 240, 240)) == pytest.approx(0.9999 * 240)
    assert grey_of((10, 20, 30)) == pytest.approx(0.2989 * 10 + 0.5870 * 20 + 0.1140 * 30)


def test_extent_and_memory(circle):
    _, tex = circle
    x0, y0, x1, y1 = tex.extent
    outer = RADIUS + HALF_WIDTH
    assert x0 == pytest.approx(-outer - 1.0, abs=0.01) and y0 == pytest.approx(
        -outer - 1.0, abs=0.01
    )
    assert x1 >= outer + 1.0 - 1e-9 and y1 >= outer + 1.0 - 1e-9
    assert tex.grey_levels[0].shape == (
        math.ceil((y1 - y0) / 0.005 - 1e-6),
        math.ceil((x1 - x0) / 0.005 - 1e-6),
    )
    assert tex.rgb.shape[:2] == (
        round(tex.grey_levels[0].shape[0] / 2),
        round(tex.grey_levels[0].shape[1] / 2),
    )
    assert tex.nbytes == tex.rgb.nbytes + tex.flat.nbytes


@pytest.mark.parametrize("angle", [0.7, 2.0, 4.0])
def test_painted_materials_at_known_points(circle, angle):
    _, tex = circle
    markings = TrackMarkings()
    # road between the centre line and the border lines
    assert tex.sample_grey(at_radius(RADIUS + 0.25, angle))[0] == grey("road")
    assert tex.sample_grey(at_radius(RADIUS - 0.25, angle))[0] == grey("road")
    # white lines painted inside the road along both borders (centre of the 5 cm line)
    inset = markings.border_width / 2
    assert tex.sample_grey(at_radius(RADIUS + HALF_WIDTH - inset, angle))[0] == grey("border_line")
    assert tex.sample_grey(at_radius(RADIUS - HALF_WIDTH + inset, angle))[0] == grey("border_line")
    # grass outside the road, inside the loop and beyond the texture
    assert tex.sample_grey(at_radius(RADIUS + 0.8, angle))[0] == grey("grass")
    assert tex.sample_grey(at_radius(0.3, angle))[0] == grey("grass")
    assert tex.sample_grey(np.array([[50.0, 50.0]]))[0] == grey("grass")


def test_dashed_centre_line_and_start_line(circle):
    track, tex = circle
    m = TrackMarkings()
    period = m.dash_length + m.dash_gap
    # arc lengths in the middle of dashes and of gaps (waypoint 0 at angle 0, CCW)
    dash_mid = np.array([5 * period + m.dash_length / 2, 9 * period + m.dash_length / 2])
    gap_mid = dash_mid + period / 2
    for s, want in [(dash_mid, "centre_line"), (gap_mid, "road")]:
        xy, _ = track.point_at(s)
        # the 2.54 cm line is about 5 texels wide: its middle texel may be partly anti-aliased
        assert np.all(np.abs(tex.sample_grey(xy).astype(int) - grey(want)) <= 6)
    # the start line crosses the road at waypoint 0 (angle 0), between the border lines
    across = np.array([[RADIUS + d, 0.0] for d in (-0.3, 0.0, 0.3)])
    assert np.all(tex.sample_grey(across) == grey("start_line"))
    assert tex.sample_grey(np.array([[RADIUS + 0.3, 0.2]]))[0] == grey("road")


def test_colour_image_matches_colours(circle):
    _, tex = circle
    res, (x0, y0) = tex.rgb_resolution, tex.origin

    def rgb_at(x, y):
        return tuple(tex.rgb[int((y - y0) / res), int((x - x0) / res)])

    assert rgb_at(RADIUS + 0.25, 0.8) == TrackColours().road
    assert rgb_at(0.0, 0.0) == TrackColours().grass


def test_pyramid_halves_and_averages():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (37, 50)).astype(np.float32)
    levels = grey_pyramid(img, 4, grass=100.0, blur=0)
    assert [lv.shape for lv in levels] == [(37, 50), (19, 25), (10, 13), (5, 7)]
    assert np.array_equal(levels[0], np.floor(img + 1e-4).astype(np.uint8))
    expected = np.floor(img[:2, :2].mean() + 1e-4)
    assert levels[1][0, 0] == expected
    # odd sizes are padded with grass before halving
    assert levels[1][18, 0] == np.floor((img[36, 0] + img[36, 1] + 200.0) / 4 + 1e-4)
    whole = img[:36].reshape(18, 2, 25, 2).mean(axis=(1, 3))  # every 2x2 mean, numpy's way
    assert np.array_equal(levels[1][:18], np.floor(whole + 1e-4).astype(np.uint8))
    flat_img = np.full((16, 16), 80.0, dtype=np.float32)
    assert all(np.all(lv == 80) for lv in grey_pyramid(flat_img, 3, grass=80.0, blur=1))


def test_pyramid_blur_is_a_121_filter_with_grass_beyond_the_edge():
    img = np.random.default_rng(1).uniform(0, 255, (23, 30)).astype(np.float32)
    padded = np.pad(img.astype(np.float64), 1, constant_values=100.0)
    rows = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
    both = 0.25 * rows[:, :-2] + 0.5 * rows[:, 1:-1] + 0.25 * rows[:, 2:]
    level = grey_pyramid(img, 1, grass=100.0, blur=1)[0].astype(np.int64)
    # float32 against float64 arithmetic: the truncated grey may differ by one level, rarely
    diff = level - np.floor(both + 1e-4)
    assert np.abs(diff).max() <= 1 and np.mean(diff != 0) < 0.01


def test_bad_settings_raise(circle):
    track, _ = circle
    with pytest.raises(TextureError, match="resolution"):
        TrackTexture.from_track(track, resolution=0.5)
    with pytest.raises(TextureError, match="supersample"):
        TrackTexture.from_track(track, supersample=0)
    with pytest.raises(TextureError, match="colour"):
        TrackColours(road=(300, 0, 0))


def test_speckle_is_seeded_per_material_noise_of_the_predicted_strength(circle):
    track, flat = circle
    look = TrackLook("test", speckle=Speckle(road=6.0, field=0.0, lines=0.0, grain=0.0025))
    tex = TrackTexture.from_track(track, look=look, mip_blur=0)
    again = TrackTexture.from_track(track, look=look, mip_blur=0)
    assert np.array_equal(tex.grey_levels[0], again.grey_levels[0])  # same track, same noise
    # road texels 0.1-0.2 m from the centre line, away from every painted line
    angles = np.linspace(0.3, 6.0, 400)
    radii = RADIUS + np.array([-0.2, -0.1, 0.1, 0.2])
    pts = np.stack(
        [np.outer(radii, np.cos(angles)).ravel(), np.outer(radii, np.sin(angles)).ravel()], 1
    )
    road = tex.sample_grey(pts).astype(float)
    # grain 2.5 mm on 5 mm texels: std 6 * 2.5 / 5 = 3 grey levels, zero mean (before truncation
    # to uint8, which lowers the mean by 0.5)
    assert road.std() == pytest.approx(3.0, rel=0.15)
    assert road.mean() == pytest.approx(grey_of(TrackColours().road) - 0.5, abs=0.4)
    # no speckle on the field
    grass = tex.sample_grey(np.array([[0.3, 0.0], [0.0, 0.4], [RADIUS + 0.8, 0.0]]))
    assert np.all(grass == grey("grass"))
    assert np.array_equal(flat.rgb, tex.rgb)  # the top-down colour image has no speckle


def test_kerbs_alternate_red_and_white_stripes_outside_both_borders(circle):
    track, _ = circle
    markings = TrackMarkings(kerb_width=0.076, kerb_stripe=0.24)
    tex = TrackTexture.from_track(track, look=TrackLook("kerbs", markings=markings))
    for r in (RADIUS + HALF_WIDTH + 0.038, RADIUS - HALF_WIDTH - 0.038):
        # stripes start at waypoint 0 (angle 0) and run CCW: red 0-0.24 m, white 0.24-0.48 m
        for arc, name in ((0.12, "kerb_red"), (0.36, "kerb_white"), (0.60, "kerb_red")):
            assert tex.sample_grey(at_radius(r, arc / r))[0] == grey(name), (r, arc)
    # the road's own border line is still inside the road
    inset = markings.border_width / 2
    assert tex.sample_grey(at_radius(RADIUS + HALF_WIDTH - inset, 1.0))[0] == grey("border_line")
