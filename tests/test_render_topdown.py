"""The top-down colour view for people."""

from __future__ import annotations

import math

import numpy as np
import pytest

from slipstream.render import BoxSet, TrackColours, TrackTexture, render_topdown
from slipstream.render.topdown import CAR_PALETTE, FOLLOW_SPAN, TrackView
from slipstream.tracks import Track


@pytest.fixture(scope="module")
def texture():
    a = np.linspace(0, 2 * math.pi, 121)
    ring = np.column_stack([np.cos(a), np.sin(a)])
    track = Track.from_route(np.hstack([2.5 * ring, 1.965 * ring, 3.035 * ring]), "circle")
    return TrackTexture.from_track(track)


def test_track_view_draws_cars_and_boxes_where_they_are(texture):
    poses = np.array([[2.5, 0.0, math.pi / 2], [-2.5, 0.0, -math.pi / 2]])
    boxes = BoxSet.from_poses(
        np.array([[[0.0, 2.5, math.pi], [0.0, -2.5, 0.0]]]).repeat(2, 0),
        (0.5, 0.4, 0.3),
        shade=150.0,
    )
    img = render_topdown(texture, poses, boxes, size=(480, 640))
    assert img.shape == (480, 640, 3) and img.dtype == np.uint8
    x0, y0, x1, y1 = texture.extent
    scale = min(640 / (x1 - x0), 480 / (y1 - y0))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    def px(x, y):
        return int(240 + (cy - y) * scale), int(320 + (x - cx) * scale)

    r, c = px(2.5 - 0.06, 0.0)  # a little behind the centre (the heading mark is at the nose)
    assert tuple(img[r, c]) == CAR_PALETTE[0]
    r, c = px(-2.5 + 0.06, 0.0)
    assert tuple(img[r, c]) == CAR_PALETTE[1]
    r, c = px(0.0, 2.5)
    assert tuple(img[r, c]) == (150, 150, 150)
    assert tuple(img[5, 5]) == TrackColours().grass
    assert tuple(img[px(0.0, 0.0)]) == TrackColours().grass  # inside the loop


def test_track_view_object_draws_the_same_picture_from_its_cached_background(texture):
    poses = np.array([[2.5, 0.0, math.pi / 2], [-2.5, 0.0, -math.pi / 2]])
    boxes = BoxSet.from_poses(np.array([[[0.0, 2.5, math.pi]]]).repeat(2, 0), (0.5, 0.4, 0.3))
    view = TrackView(texture, (120, 160))
    for moved in (poses, poses + np.array([0.0, 0.3, 0.0])):
        np.testing.assert_array_equal(
            view.render(moved, boxes), render_topdown(texture, moved, boxes, size=(120, 160))
        )


def test_follow_view_is_centred_on_the_followed_car(texture):
    poses = np.array([[2.5, 0.0, math.pi / 2], [0.0, 2.5, math.pi]])
    img = render_topdown(texture, poses, view="follow", follow_index=1, zoom=2.0, size=(200, 300))
    assert img.shape == (200, 300, 3)
    assert tuple(img[100, 150 + 5]) == CAR_PALETTE[1]  # just behind the nose (heading -x)
    # the window is FOLLOW_SPAN / zoom metres wide: the road's outer edge 0.535 m away
    per_m = 300 / (FOLLOW_SPAN / 2.0)
    assert tuple(img[100 - int(0.7 * per_m), 150]) == TrackColours().grass
    assert tuple(img[100 - int(0.3 * per_m), 150]) == TrackColours().road
    with pytest.raises(ValueError, match="follow_index"):
        render_topdown(texture, poses, view="follow", follow_index=5)
    with pytest.raises(ValueError, match="view"):
        render_topdown(texture, poses, view="side")
