"""The front camera: geometry against hand pinhole formulas, rendering of synthetic scenes,
boxes against a slab-test reference, stereo disparity, the frustum test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from render_reference import reference_box_layer, reference_frame
from slipstream.render import (
    BoxSet,
    BoxSetError,
    CameraSpec,
    CameraSpecError,
    TrackTexture,
    object_in_camera,
    render_cameras,
    render_stereo,
)
from slipstream.render.camera import ground_hits, project_car_points
from slipstream.render.camera_table import ray_table
from slipstream.render.looks import look_for, plain
from slipstream.tracks import Track

CAM_X, CAM_Z, PITCH, HFOV = 0.14529, 0.13033, 0.2618, 1.13
F_NATIVE = 320.0 / math.tan(HFOV / 2)  # 505.2 native pixels
F_IMAGE = F_NATIVE / 4.0
ROAD = (50, 50, 50)
WHITE = (250, 250, 250)


def flat_texture(paint=None, resolution=0.005, extent=(-2.0, -4.0, 14.0, 4.0)):
    """A road-grey texture over `extent` (x0, y0, x1, y1) with `paint(x, y) -> bool` white."""
    x0, y0, x1, y1 = extent
    cols = round((x1 - x0) / resolution)
    rows = round((y1 - y0) / resolution)
    rgb = np.empty((rows, cols, 3), dtype=np.uint8)
    rgb[...] = ROAD
    if paint is not None:
        xs = x0 + (np.arange(cols) + 0.5) * resolution
        ys = y0 + (np.arange(rows) + 0.5) * resolution
        mask = paint(xs[None, :], ys[:, None])
        rgb[mask] = WHITE
    return TrackTexture.from_arrays(rgb, (x0, y0), resolution)


def straight_track(length=20.0, width=1.07):
    x = np.linspace(-2.0, length, 45)
    half = width / 2
    route = np.column_stack([x, 0 * x, x, 0 * x + half, x, 0 * x - half])
    return Track.from_route(route, name="straight")


def pinhole_row(distance_ahead: float) -> float:
    """Continuous image row of a ground point straight ahead of base_link (hand trigonometry)."""
    below = math.atan2(CAM_Z, distance_ahead - CAM_X)  # angle below the horizontal
    return 60.0 + F_IMAGE * math.tan(below - PITCH)


def pinhole_column(forward: float, left: float, up: float = 0.0) -> float:
    """Continuous image column of a car-frame point (hand trigonometry)."""
    dx, dz = forward - CAM_X, up - CAM_Z
    depth = dx * math.cos(PITCH) - dz * math.sin(PITCH)  # along the tilted optical axis
    return 80.0 - F_IMAGE * left / depth


# ---------------------------------------------------------------------- geometry


def test_spec_numbers():
    spec = CameraSpec()
    assert spec.focal_native == pytest.approx(F_NATIVE)
    assert spec.focal == pytest.approx(F_IMAGE)
    assert spec.horizon_row == pytest.approx(60.0 - F_IMAGE * math.tan(PITCH))
    assert spec.horizon_row == pytest.approx(26.19, abs=0.01)
    with pytest.raises(CameraSpecError, match="aspect"):
        CameraSpec(image_size=(160, 100))
    with pytest.raises(CameraSpecError, match="max_ground_taps"):
        CameraSpec(max_ground_taps=0)


@pytest.mark.parametrize("d", [0.4, 0.7, 1.0, 2.0, 5.0])
def test_ground_point_ahead_projects_to_centre_column_at_pitch_row(d):
    spec = CameraSpec()
    col, row, _ = project_car_points(spec, np.array([d, 0.0, 0.0]))
    assert col == pytest.approx(80.0)
    assert row == pytest.approx(pinhole_row(d), abs=1e-9)
    # and the ray through that (native) pixel meets the ground at d
    pts, hit = ground_hits(spec, np.array(320.0), np.array(row * 4.0))
    assert hit
    assert pts[0] == pytest.approx(d, rel=1e-9)
    assert pts[1] == pytest.approx(0.0, abs=1e-12)


def test_ray_table_ground_points_and_horizon():
    spec = CameraSpec()
    table = ray_table(spec, 0.0, 0.005, 9)
    pts = table.ground_points.reshape(120, 160, 2)
    horizon = 60.0 - F_IMAGE * math.tan(PITCH)
    for row in range(120):
        v = row + 0.5
        below = PITCH + math.atan((v - 60.0) / F_IMAGE)  # centre-line ray angle below level
        if v <= horizon:
            assert np.all(np.isnan(pts[row])), row
            continue
        # pixel-centre rays: forward distance from the vertical angle, lateral from the column
        forward = CAM_X + CAM_Z / math.tan(below)
        assert pts[row, :, 0] == pytest.approx(np.full(160, forward), rel=1e-9)
        slant = math.hypot(CAM_Z, forward - CAM_X)  # distance along the centre-column ray
        depth = slant * math.cos(below - PITCH)
        lateral = -(np.arange(160) + 0.5 - 80.0) / F_IMAGE * depth
        assert pts[row, :, 1] == pytest.approx(lateral, abs=1e-9)
    counts = table.tap_count.reshape(120, 160)
    assert np.all(counts[: math.floor(horizon) - 1] == 0)  # rows wholly above the horizon
    assert np.all(counts[math.ceil(horizon) + 1 :] >= 1)  # rows wholly below


def test_transverse_line_appears_at_the_predicted_row():
    d = 1.0
    tex = flat_texture(lambda x, y: np.abs(x - d) < 0.01 + 0 * y)
    img = render_cameras(tex, np.zeros((1, 3)))[0].astype(float)
    profile = img[:, 70:90].mean(axis=1) - 50.0
    profile[profile < 0] = 0
    profile[:30] = 0  # sky
    rows = np.arange(120) + 0.5
    measured = (profile * rows).sum() / profile.sum()
    assert measured == pytest.approx(pinhole_row(d), abs=0.5)


@pytest.mark.parametrize("left", [0.3, -0.25])
def test_parallel_line_appears_at_the_predicted_columns(left):
    tex = flat_texture(lambda x, y: np.abs(y - left) < 0.0125 + 0 * x)
    img = render_cameras(tex, np.zeros((1, 3)))[0].astype(float)
    for row in (36, 44, 52):
        forward = CAM_X + CAM_Z / math.tan(PITCH + math.atan((row + 0.5 - 60.0) / F_IMAGE))
        expected = pinhole_column(forward, left)
        profile = np.clip(img[row] - 50.0, 0, None)
        measured = (profile * (np.arange(160) + 0.5)).sum() / profile.sum()
        assert measured == pytest.approx(expected, abs=0.6), row


def test_straight_road_is_symmetric_and_shifts_when_the_car_moves_left():
    track = straight_track()
    tex = TrackTexture.from_track(track)
    poses = np.array([[1.0, 0.0, 0.0], [1.0, 0.1, 0.0]])
    img = render_cameras(tex, poses).astype(float)
    border = tex.grey_value("border_line")

    def line_columns(frame, row):
        bright = frame[row] > 0.5 * (border + tex.grey_value("road"))
        bright[64:96] = False  # the dashed centre line
        cols = np.flatnonzero(bright)
        left = cols[cols < 80]
        right = cols[cols >= 80]
        return left.mean(), right.mean()

    for row in (36, 38, 40, 42):
        left, right = line_columns(img[0], row)
        assert left + right == pytest.approx(159.0, abs=1.0)  # symmetric about 79.5
        moved_left, moved_right = line_columns(img[1], row)
        assert moved_left > left + 1 and moved_right > right + 1
    # the whole image is mirror-symmetric up to the dashes on the centre line and the sky band
    ground = img[0, 40:]
    assert np.abs(ground - ground[:, ::-1]).mean() < 4.0


def test_fast_camera_matches_slow_reference():
    """Within a grey level or so of 640x480 supersampled rendering + PIL bilinear shrink."""
    a = np.linspace(0, 2 * math.pi, 181)
    ring = np.column_stack([np.cos(a), np.sin(a)])
    track = Track.from_route(np.hstack([2.5 * ring, 1.965 * ring, 3.035 * ring]), "circle")
    look = plain(look_for("circle"))
    tex = TrackTexture.from_track(track, look=look)
    sharp = TrackTexture.from_track(track, look=look, mip_blur=0)
    poses = np.array([[2.5, 0.0, math.pi / 2], [0.0, 2.4, math.pi + 0.3], [2.2, -2.5, 0.0]])
    fast = render_cameras(tex, poses).astype(float)
    for n, pose in enumerate(poses):
        ref = reference_frame(sharp, pose, ss=2).astype(float)
        assert np.abs(fast[n] - ref).mean() < 1.5
        assert np.abs(fast[n, 40:] - ref[40:]).mean() < 1.2  # near ground


# ---------------------------------------------------------------------- boxes


def box_set(rows, n_worlds=1):
    """Boxes from rows (x, y, yaw, length, width, height, shade, owner), same in every world."""
    arr = np.array(rows, dtype=float)
    k = len(arr)
    return BoxSet(
        centers=np.broadcast_to(arr[:, :2], (n_worlds, k, 2)),
        yaw=np.broadcast_to(arr[:, 2], (n_worlds, k)),
        size=np.broadcast_to(arr[:, 3:6], (n_worlds, k, 3)),
        shade=np.broadcast_to(arr[:, 6], (n_worlds, k)),
        valid=np.ones((n_worlds, k), dtype=bool),
        owner=np.broadcast_to(arr[:, 7].astype(int), (n_worlds, k)),
    )


def test_box_ahead_covers_predicted_rectangle_and_hides_the_road():
    near_face, width, height, shade = 1.0, 0.4, 0.3, 200.0
    tex = flat_texture(lambda x, y: np.abs(x - 2.0) < 0.2 + 0 * y)  # a band behind the box
    boxes = box_set([(near_face + 0.25, 0.0, 0.0, 0.5, width, height, shade, -1)])
    pose = np.zeros((1, 3))
    plain = render_cameras(tex, pose)[0].astype(int)
    img = render_cameras(tex, pose, boxes=boxes)[0].astype(int)
    face = int(shade * 0.82)  # only the front face is seen: the camera is lower than the top
    # the front face's vertical edges lean out with height (nearer to the camera higher up)
    left_low, right_low = (
        pinhole_column(near_face, width / 2),
        pinhole_column(near_face, -width / 2),
    )
    left_high = pinhole_column(near_face, width / 2, up=height)
    right_high = pinhole_column(near_face, -width / 2, up=height)
    bottom = pinhole_row(near_face)
    inner = img[0 : math.floor(bottom) - 1, math.ceil(left_low) + 1 : math.floor(right_low) - 1]
    assert inner.size > 1000 and np.all(inner == face)
    # the white band 1 m behind the box is hidden inside it and still visible beside it
    line_row = 28 + int(np.argmax(plain[28:45, 80]))
    assert abs(line_row + 0.5 - pinhole_row(2.0)) < 1.5
    assert line_row < bottom - 3
    assert plain[line_row, 80] > 150 and img[line_row, 80] == face
    assert img[line_row, 10] == plain[line_row, 10] > 150
    outside = np.ones_like(img, dtype=bool)
    outside[:, math.floor(left_high) - 1 : math.ceil(right_high) + 1] = False
    outside[math.ceil(bottom) + 1 :, :] = True
    assert np.array_equal(img[outside], plain[outside])


def test_boxes_match_slab_test_reference_and_nearest_wins():
    rows = [
        (1.6, 0.25, 0.5, 0.5, 0.4, 0.1, 180.0, -1),  # low, turned: the top face shows
        (2.4, 0.05, -0.3, 0.5, 0.4, 0.3, 60.0, -1),  # farther, partly behind the first
        (1.2, -0.35, 0.2, 0.32, 0.2, 0.2, 120.0, -1),
    ]
    boxes = box_set(rows)
    tex = flat_texture()
    pose = np.zeros((1, 3))
    img = render_cameras(tex, pose, boxes=boxes)[0].astype(float)
    cover, grey = reference_box_layer(pose, boxes, ss=4)
    ground = render_cameras(tex, pose)[0].astype(float)
    expected = cover[0] * grey[0] + (1 - cover[0]) * ground
    assert np.abs(img - expected).mean() < 0.3
    full = cover[0] == 1.0
    assert full.sum() > 500
    # inside faces equal up to truncation (pixels on an edge between faces may mix)
    assert np.percentile(np.abs(img - expected)[full], 95) <= 1.0
    # edges: 2 sample lines per row against 4x4 rays: coverage may differ by about 1/4
    assert np.percentile(np.abs(img - expected), 99) < 25
    # swapping the order of the boxes changes nothing
    swapped = box_set(rows[::-1])
    assert np.array_equal(render_cameras(tex, pose, boxes=swapped)[0], img.astype(np.uint8))


def test_nearer_box_occludes_farther_box():
    tex = flat_texture()
    far = (2.0, 0.0, 0.0, 0.5, 0.6, 0.3, 60.0, -1)
    near = (1.2, 0.0, 0.0, 0.3, 0.2, 0.3, 220.0, -1)
    img = render_cameras(tex, np.zeros((1, 3)), boxes=box_set([far, near]))[0]
    row = 30  # both boxes span this row
    assert img[row, 80] == int(220 * 0.82)
    side = math.floor(pinhole_column(2.0 - 0.25, 0.25))  # the far box, left of the near one
    assert img[row, side] == int(60 * 0.82)


def test_own_body_is_skipped_but_other_cars_see_it():
    tex = flat_texture()
    poses = np.array([[0.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    body = (0.0, 0.0, 0.0, 0.32352, 0.1961, 0.2, 90.0, 0)  # car 0's body, owned by car 0
    boxes = box_set([body], n_worlds=2)
    img = render_cameras(tex, poses, boxes=boxes)
    plain = render_cameras(tex, poses)
    assert np.array_equal(img[0], plain[0])  # car 0 does not see its own body
    assert (img[1] != plain[1]).sum() > 200  # car 1, 1 m behind, sees it
    # a box the camera sits inside is not drawn either
    inside = box_set([(0.1, 0.0, 0.0, 0.6, 0.4, 0.5, 90.0, -1)])
    assert np.array_equal(render_cameras(tex, poses[:1], boxes=inside)[0], plain[0])


def test_invalid_boxes_are_ignored_and_shapes_are_checked():
    tex = flat_texture()
    boxes = box_set([(1.5, 0.0, 0.0, 0.5, 0.4, 0.3, 200.0, -1)], n_worlds=2)
    hidden = BoxSet(
        boxes.centers, boxes.yaw, boxes.size, boxes.shade, np.zeros((2, 1), bool), boxes.owner
    )
    poses = np.zeros((2, 3))
    assert np.array_equal(render_cameras(tex, poses, boxes=hidden), render_cameras(tex, poses))
    with pytest.raises(BoxSetError, match="2 worlds but 3 cars"):
        render_cameras(tex, np.zeros((3, 3)), boxes=boxes)
    with pytest.raises(CameraSpecError, match="poses"):
        render_cameras(tex, np.zeros((3, 2)))


def test_out_buffer_and_batch_consistency():
    tex = flat_texture(lambda x, y: (np.abs(y) < 0.02) & (x > 0))
    poses = np.array([[0.0, 0.0, 0.0], [0.5, 0.3, 0.4], [2.0, -0.5, -0.2]])
    out = np.zeros((3, 120, 160, 1), dtype=np.uint8)
    render_cameras(tex, poses, out=out[..., 0])
    single = np.stack([render_cameras(tex, poses[i : i + 1])[0] for i in range(3)])
    assert np.array_equal(out[..., 0], single)
    strided = np.zeros((3, 120, 160, 2), dtype=np.uint8)
    render_cameras(tex, poses, out=strided[..., 1])
    assert np.array_equal(strided[..., 1], single)


# ---------------------------------------------------------------------- stereo


def test_stereo_disparity_of_a_box():
    tex = flat_texture()
    distance = 1.2  # front face, metres ahead of base_link
    boxes = box_set([(distance + 0.25, 0.0, 0.0, 0.5, 0.4, 0.3, 220.0, -1)])
    pair = render_stereo(tex, np.zeros((1, 3)), boxes=boxes)[0].astype(float)
    assert pair.shape == (120, 160, 2)
    row = int(pinhole_row(distance)) - 6

    def left_edge(line):  # sub-pixel column where the box starts (50% coverage)
        ground, face = line[5], 220 * 0.82
        frac = np.clip((line - ground) / (face - ground), 0, 1)
        return float(np.argmax(frac > 0) + (1 - frac[np.argmax(frac > 0)]))

    depth = (distance - CAM_X) * math.cos(PITCH) - (0.05 - CAM_Z) * math.sin(PITCH)
    disparity = F_IMAGE * 0.06 / depth  # ~ 7.3 px
    # the left camera (+y) sees the box further right
    measured = left_edge(pair[row, :, 0]) - left_edge(pair[row, :, 1])
    assert measured == pytest.approx(disparity, abs=0.5)
    mono = render_cameras(tex, np.zeros((1, 3)), boxes=boxes)[0]
    assert np.array_equal(
        pair[..., 0], render_cameras(tex, np.zeros((1, 3)), boxes=boxes, lateral_offset=0.03)[0]
    )
    assert not np.array_equal(pair[..., 0], mono)


# ---------------------------------------------------------------------- frustum


def test_object_in_camera_frustum():
    spec = CameraSpec()
    poses = np.array([[1.0, 2.0, math.pi / 2]])  # facing +y
    half = spec.hfov / 2
    ahead = lambda dist, ang: [1.0 - dist * math.sin(ang), 2.0 + dist * math.cos(ang)]  # noqa: E731
    points = np.array(
        [
            [
                ahead(1.0, 0.0),  # straight ahead
                [1.0, 1.0],  # behind
                ahead(0.25, 0.0),  # on the ground 0.25 m ahead: below the image
                ahead(3.0, half - 0.05),  # just inside the left edge
                ahead(3.0, half + 0.05),  # just outside
                ahead(400.0, 0.0),  # beyond the far plane
            ]
        ]
    )
    got = object_in_camera(poses, points, spec)
    assert got.tolist() == [[True, False, False, True, False, False]]
    high = np.concatenate([points[:, 2:3], [[[0.0]]]], axis=2)
    high[..., 2] = 0.13  # at camera height 0.25 m ahead: depth 0.1 < near plane 0.2
    assert not object_in_camera(poses, high, spec)[0, 0]
    assert object_in_camera(poses, points[:, 0], spec).tolist() == [True]
