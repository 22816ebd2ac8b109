"""A batch of cars on different tracks gets, car by car, what each track alone answers (those
single-track queries are checked against shapely in test_tracks_geometry.py)."""

from __future__ import annotations

import numpy as np

from slipstream.tracks import load_track
from slipstream.tracks.batch import TrackBatch
from slipstream.tracks.generate import generate_track


def _tracks():
    default = load_track("slipstream_default")
    return [
        default,
        default.reversed(),
        load_track("slipstream_oval"),
        generate_track(3, width=0.93, clockwise=True),  # clockwise rows, a narrower road
        generate_track(4).reversed(),
        load_track("slipstream_technical"),
    ]


def _points_near(track, rng, n):
    arc = rng.uniform(0.0, track.length, n)
    xy, heading = track.point_at(arc)
    side = rng.uniform(-0.8, 0.8, n)[:, None] * np.column_stack([-np.sin(heading), np.cos(heading)])
    return xy + side


def test_mixed_batch_answers_each_car_as_its_own_track():
    rng = np.random.default_rng(0)
    tracks = _tracks()
    batch = TrackBatch(tracks)
    which = rng.integers(0, len(tracks), 300)
    which[: len(tracks)] = np.arange(len(tracks))  # every track at least once
    points = np.vstack([_points_near(tracks[k], rng, 1) for k in which])
    wheels = points[:, None, :] + rng.normal(0.0, 0.3, (len(points), 4, 2))

    proj = batch.project(points, which)
    prev, nxt = batch.closest_waypoints(proj.ndist, which)
    left = batch.is_left_of_center(points, which)
    width = batch.local_width(proj, which)
    on_road = batch.on_road(wheels, which)
    for k, track in enumerate(tracks):
        cars = which == k
        own = track.project(points[cars])
        for got, want in zip(proj, own, strict=True):
            np.testing.assert_array_equal(got[cars], want)
        own_prev, own_next = track.closest_waypoints(own.ndist)
        np.testing.assert_array_equal(prev[cars], own_prev)
        np.testing.assert_array_equal(nxt[cars], own_next)
        np.testing.assert_array_equal(left[cars], track.is_left_of_center(points[cars]))
        np.testing.assert_array_equal(width[cars], track.local_width(points[cars]))
        np.testing.assert_array_equal(on_road[cars], track.on_road(wheels[cars]))
    assert on_road.any() and not on_road.all()


def test_a_car_gets_its_own_tracks_answer_not_another_ones():
    """The same point asked on two tracks: each answer is that track's."""
    default, oval = load_track("slipstream_default"), load_track("slipstream_oval")
    point = default.center[10:11]
    batch = TrackBatch([oval, default])
    proj = batch.project(np.vstack([point, point]), np.array([1, 0]))
    assert proj.distance[0] < 1e-9 < proj.distance[1]
    assert proj.arc[0] == default.arc[10]
