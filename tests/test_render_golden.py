"""Camera frames checked pixel by pixel against geometry worked out here by hand.

A straight road along world x (centre y = 0, 1.07 m wide) with DeepRacer's standard look: for
each image pixel, the rays of its whole filter footprint (DeepRacer's bilinear shrink of
640x480: +-4 native pixels) are traced here, independently of slipstream.render.camera, to the
ground and to the wall box (track bounding box + 0.762 m, 1 m high). Pixels whose footprint sees
one material only must show that material's grey: road, border line, field, the wall face the
rays hit, or the void above the walls. PNG copies go to /tmp/slipstream_frames/.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slipstream.render import CameraSpec, TrackTexture, render_cameras
from slipstream.render.looks import FACE_GAINS, STANDARD, look_for, plain
from slipstream.render.texture import grey_of
from slipstream.tracks import Track

FRAMES_DIR = Path("/tmp/slipstream_frames")
HALF_WIDTH, X0, X1 = 0.535, -5.0, 15.0
MARGIN = 0.762
CAM = (0.14529, 0.0, 0.13033)
PITCH, HFOV = 0.2618, 1.13


@pytest.fixture(scope="module")
def straight():
    x = np.linspace(X0, X1, 201)
    zero = np.zeros_like(x)
    route = np.column_stack([x, zero, x, zero + HALF_WIDTH, x, zero - HALF_WIDTH])
    return Track.from_route(route, "straight_golden")


def footprint_rays(rows, cols):
    """Car-frame ray directions (R, C, 9, 3) of a 3x3 grid over each pixel's +-4 native px."""
    f = 320.0 / math.tan(HFOV / 2)
    off = np.array([-3.9, 0.0, 3.9])
    u = (cols[None, :, None, None] + 0.5) * 4.0 + off[None, None, None, :]
    v = (rows[:, None, None, None] + 0.5) * 4.0 + off[None, None, :, None]
    u, v = np.broadcast_arrays(u, v)
    a = (u - 320.0) / f
    b = (v - 240.0) / f
    cp, sp = math.cos(PITCH), math.sin(PITCH)
    d = np.stack([cp - sp * b, -a, -sp - cp * b], axis=-1)
    return d.reshape(len(rows), len(cols), 9, 3)


def classify(pose, rect):
    """Per pixel: material code of its whole footprint, or -1 where it sees several.

    0 road, 1 border line, 2 field, 3 void, 10 + k wall face k (x_min, x_max, y_min, y_max).
    """
    x, y, yaw = pose
    d = footprint_rays(np.arange(120), np.arange(160))
    c, s = math.cos(yaw), math.sin(yaw)
    ox, oy, oz = x + c * CAM[0], y + s * CAM[0], CAM[2]
    dx = c * d[..., 0] - s * d[..., 1]
    dy = s * d[..., 0] + c * d[..., 1]
    dz = d[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ground = np.where(dz < 0, -oz / dz, np.inf)
        tx = np.where(dx > 0, (rect[2] - ox) / dx, np.where(dx < 0, (rect[0] - ox) / dx, np.inf))
        ty = np.where(dy > 0, (rect[3] - oy) / dy, np.where(dy < 0, (rect[1] - oy) / dy, np.inf))
    t_wall = np.minimum(tx, ty)
    face = np.where(tx < ty, np.where(dx > 0, 1, 0), np.where(dy > 0, 3, 2))
    z_wall = oz + t_wall * dz
    gx = ox + t_ground * dx
    gy = np.abs(oy + t_ground * dy)
    border = HALF_WIDTH - 0.0762
    ground_code = np.where(
        (gy < border - 0.01) & (gy > 0.03) & (gx < X1 - 0.2) & (gx > X0 + 0.2),
        0,
        np.where((gy > border + 0.005) & (gy < HALF_WIDTH - 0.005), 1, -1),
    )
    ground_code = np.where((gy > HALF_WIDTH + 0.01) | (gx > X1 + 0.01), 2, ground_code)
    code = np.where(
        t_ground < t_wall,
        ground_code,
        np.where(
            (z_wall > 0.02) & (z_wall < 0.98),
            10 + face,
            np.where(z_wall >= 1.02, 3, -1),
        ),
    )
    same = np.all(code == code[..., :1], axis=-1)
    return np.where(same, code[..., 0], -1)


POSES = {
    "ahead": (0.0, 0.0, 0.0),  # down the straight: road, lines, field, far wall x_max
    "left": (2.0, 0.1, 1.2),  # towards the wall along y_max, 1.3 m away (black in DeepRacer)
    "back": (4.0, -0.1, math.pi - 0.2),  # towards x_min
    "right": (3.0, 0.0, -1.3),  # towards y_min
}


@pytest.mark.parametrize("name", list(POSES))
def test_every_single_material_pixel_shows_its_computed_grey(straight, name):
    look = plain(STANDARD)
    texture = TrackTexture.from_track(straight, look=look)
    pts = np.vstack([straight.center, straight.inner, straight.outer])
    rect = (
        pts[:, 0].min() - MARGIN,
        pts[:, 1].min() - MARGIN,
        pts[:, 0].max() + MARGIN,
        pts[:, 1].max() + MARGIN,
    )
    assert texture.walls == pytest.approx(rect)
    pose = POSES[name]
    frame = render_cameras(texture, np.array([pose]), CameraSpec())[0].astype(float)
    FRAMES_DIR.mkdir(parents=True, exist_ok=True)
    Image.fromarray(frame.astype(np.uint8)).resize((640, 480), Image.NEAREST).save(
        FRAMES_DIR / f"golden_{name}.png"
    )
    code = classify(pose, rect)
    wall = grey_of(look.colours.wall)
    expected = {
        0: grey_of(look.colours.road),
        1: grey_of(look.colours.border_line),
        2: grey_of(look.colours.grass),
        3: grey_of(look.colours.void),
        **{10 + k: wall * FACE_GAINS[k] for k in range(4)},
    }
    seen = set()
    for material, grey in expected.items():
        mask = code == material
        if not mask.any():
            continue
        seen.add(material)
        # truncation to uint8 (texture and image) loses up to 2 grey levels; the mip pyramid's
        # smoothing blends a line's edge into pixels whose own footprint misses it
        err = np.abs(frame[mask] - math.floor(grey))
        assert np.median(err) <= 1.0, (name, material)
        assert np.mean(err <= 3.0) > 0.97, (name, material, frame[mask][err > 3.0][:10])
    wanted = {"ahead": {0, 1, 2, 11}, "left": {2, 13}, "back": {0, 2, 10}, "right": {2, 12}}
    assert wanted[name] <= seen, (name, seen)


def test_wall_foot_row_matches_the_pinhole_projection(straight):
    """The side wall's foot in the centre column lies where the pinhole model puts it."""
    texture = TrackTexture.from_track(straight, look=plain(STANDARD))
    y_car = 0.1
    frame = render_cameras(texture, np.array([[2.0, y_car, math.pi / 2]]))[0].astype(float)
    distance = HALF_WIDTH + MARGIN - y_car - CAM[0]  # camera to the y_max face, straight ahead
    f = 80.0 / math.tan(HFOV / 2)
    foot = 60.0 - f * math.tan(PITCH - math.atan2(CAM[2], distance))  # continuous image row
    column = frame[:, 80]
    field_grey = math.floor(grey_of(STANDARD.colours.grass))
    wall_grey = grey_of(STANDARD.colours.wall) * FACE_GAINS[3]
    # the row where the column crosses halfway from field to wall, interpolated
    half = 0.5 * (field_grey + wall_grey)
    rows = np.arange(120) + 0.5
    k = int(np.flatnonzero(column[:80] <= half)[-1])  # wall above, field below
    crossing = rows[k] + (half - column[k]) / (column[k + 1] - column[k])
    assert crossing == pytest.approx(foot, abs=0.35)


def test_reinvent_base_look_is_derived_from_the_simapp_textures():
    """reinvent_base's materials: the simapp texture means under the measured light."""
    look = look_for("reinvent_base")
    assert look.family == "reinvent_base"
    # road.png mean (36.1, 48.5, 64.0) x 1.03; DeepRacer's frames show about (36, 50, 66)
    assert look.colours.road == (37, 50, 66)
    assert look.colours.grass == (98, 140, 107)
    assert look.colours.centre_line == (233, 140, 0)  # orange, not white
    assert look.colours.void == (0, 0, 0)
    assert look.walls.rect == (-0.587, -0.613, 8.575, 5.795)
    assert look_for("some_generated_track").family == "standard"
    # generated tracks take every family's look in turn, by seed
    families = [look_for(f"generated:{seed}").family for seed in range(6)]
    assert families[:3] == families[3:]
    assert set(families) == {"standard", "reinvent_base", "city_2019"}
    assert look_for("2022_summit_speedway_ccw").walls.rect is None  # bounding box + 0.762 m
