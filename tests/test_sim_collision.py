"""Footprints, the crash rule and who-is-behind (docs/deepracer.md 5.2, 5.3), and the object reward
params (section 1) against hand cases and shapely."""

from __future__ import annotations

import numpy as np
import pytest

from slipstream.sim.collision import (
    CAR_LENGTH,
    CAR_WIDTH,
    bots_hitting_car_ahead,
    crash_counts,
    crash_matrix,
    is_behind,
    points_in_rectangles,
    rectangle_corners,
)
from slipstream.sim.object_params import (
    closest_objects,
    object_geometry,
    object_reward_quantities,
)
from slipstream.sim.objects import BOX_LENGTH, BOX_WIDTH, ObstacleConfig, place_obstacles
from slipstream.tracks import load_track

S2 = np.sqrt(0.5)


def test_rectangle_corners_rotated_45_degrees():
    corners = rectangle_corners(np.array([1.0, 2.0, np.pi / 4]), 2.0, 1.0)
    # local (+-1, +-0.5) rotated by 45 degrees: (x - y, x + y) / sqrt(2)
    local = np.array([[1, 0.5], [-1, 0.5], [-1, -0.5], [1, -0.5]])
    expected = np.array([1.0, 2.0]) + S2 * np.stack(
        [local[:, 0] - local[:, 1], local[:, 0] + local[:, 1]], axis=1
    )
    np.testing.assert_allclose(corners, expected, atol=1e-12)
    batch = rectangle_corners(np.zeros((3, 5, 3)), np.full((3, 5), 2.0), 1.0)
    assert batch.shape == (3, 5, 4, 2)


def test_points_in_rectangles_rotated_45_degrees():
    rects = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, np.pi / 4]])  # 2 x 2 square, and as a diamond
    points = np.array([[1.2, 0.0], [1.5, 0.0], [0.9, 0.9], [0.0, 0.0], [0.0, -1.38]])
    inside = points_in_rectangles(points, rects, [2.0, 2.0], [2.0, 2.0])
    # diamond: |x| + |y| < sqrt(2)
    expected = np.array([[False, True], [False, False], [True, False], [True, True], [False, True]])
    np.testing.assert_array_equal(inside, expected)
    batched = points_in_rectangles(
        np.broadcast_to(points, (4, 5, 2)),
        np.broadcast_to(rects, (4, 2, 3)),
        np.full((4, 2), 2.0),
        2.0,
    )
    assert batched.shape == (4, 5, 2)
    np.testing.assert_array_equal(batched[2], expected)


def box_world(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One axis-aligned box at the origin in each of n worlds."""
    return (
        np.zeros((n, 1, 3)),
        np.full((n, 1), BOX_LENGTH),
        np.full((n, 1), BOX_WIDTH),
        np.ones((n, 1), dtype=bool),
    )


def test_car_driving_into_a_box_crashes_exactly_at_contact():
    x = np.linspace(-2.0, 0.0, 2001)
    cars = np.stack([x, np.zeros_like(x), np.zeros_like(x)], axis=1)
    crash = crash_matrix(cars, *box_world(len(x)))[:, 0]
    contact = -(BOX_LENGTH + CAR_LENGTH) / 2  # front corners reach the box's rear face
    np.testing.assert_array_equal(crash, x > contact + 1e-12)
    assert crash.any() and not crash.all()


@pytest.mark.parametrize("offset", [0.31, -0.31, 0.5])
def test_car_passing_beside_a_box_does_not_crash(offset):
    x = np.linspace(-2.0, 2.0, 801)
    cars = np.stack([x, np.full_like(x, offset), np.zeros_like(x)], axis=1)
    assert not crash_matrix(cars, *box_world(len(x))).any()


def test_car_clipping_a_box_edge_crashes():
    # lateral clearance is (0.4 + 0.1961) / 2 = 0.298 m
    x = np.linspace(-2.0, 2.0, 801)
    cars = np.stack([x, np.full_like(x, 0.29), np.zeros_like(x)], axis=1)
    assert crash_matrix(cars, *box_world(len(x))).any()


def test_box_corner_in_car_flank_needs_the_converse_check():
    # a box turned 45 degrees whose lowest corner pokes 3 cm into the car's left flank,
    # halfway along the car, while no car corner is inside the box
    box_yaw = np.pi / 4
    lowest = rectangle_corners(np.array([0.0, 0.0, box_yaw]), BOX_LENGTH, BOX_WIDTH)
    corner = lowest[np.argmin(lowest[:, 1])]
    target = np.array([0.0, CAR_WIDTH / 2 - 0.03])
    box = np.array([[[*(target - corner), box_yaw]]])
    car = np.zeros((1, 3))
    args = (
        car,
        box,
        np.full((1, 1), BOX_LENGTH),
        np.full((1, 1), BOX_WIDTH),
        np.ones((1, 1), bool),
    )
    assert not crash_matrix(*args, include_object_corners=False)[0, 0]
    assert crash_matrix(*args)[0, 0]


def test_crash_matrix_respects_valid_mask_and_car_dims():
    cars = np.zeros((2, 3))
    objs = np.zeros((2, 2, 3))
    objs[:, 0, 1] = 0.1  # level beside the car, overlapping 10 cm: corners on the edges
    objs[:, 1, 0] = 0.4  # car-sized object 0.4 m ahead: clear of a car, not of a longer car
    valid = np.array([[True, True], [False, True]])
    lengths, widths = np.full((2, 2), CAR_LENGTH), np.full((2, 2), CAR_WIDTH)
    np.testing.assert_array_equal(
        crash_matrix(cars, objs, lengths, widths, valid), [[True, False], [False, False]]
    )
    np.testing.assert_array_equal(
        crash_matrix(cars, objs, lengths, widths, valid, car_length=0.6),
        [[True, True], [False, True]],
    )
    assert crash_matrix(
        cars, np.zeros((2, 0, 3)), np.zeros((2, 0)), np.zeros((2, 0)), np.zeros((2, 0), bool)
    ).shape == (2, 0)


def test_behind_rule_with_lap_seam():
    car = np.array([0.40, 0.60, 0.995, 0.005, 0.50])
    other = np.array([[0.45], [0.55], [0.005], [0.995], [0.50]])
    crash = np.ones((5, 1), dtype=bool)
    dynamic = np.zeros((5, 1), dtype=bool)
    # behind, ahead, behind across the seam, ahead across the seam, level
    np.testing.assert_array_equal(crash_counts(crash, car, other, dynamic)[:, 0], [1, 0, 1, 0, 0])
    np.testing.assert_array_equal(
        crash_counts(crash, car, other, dynamic, naive_seam=True)[:, 0], [1, 0, 0, 1, 0]
    )
    np.testing.assert_array_equal(
        crash_counts(crash, car, other, dynamic, closed=False)[:, 0], [1, 0, 0, 1, 0]
    )
    # static obstacles always count, misses never do
    assert crash_counts(crash, car, other, ~dynamic).all()
    assert not crash_counts(~crash, car, other, ~dynamic).any()
    # the bot that ran into the car from behind pauses: cases 2 and 4
    np.testing.assert_array_equal(
        bots_hitting_car_ahead(crash, car, other, ~dynamic)[:, 0], [0, 1, 0, 1, 0]
    )
    assert not bots_hitting_car_ahead(crash, car, other, dynamic).any()
    assert is_behind(0.9, 0.1) and not is_behind(0.1, 0.9)


def test_closest_objects_wrap_around_hand_case():
    objs = np.tile([[0.5, 0.1, 0.9]], (5, 1))
    car = np.array([0.95, 0.05, 0.3, 0.5, 0.7])
    valid = np.ones((5, 3), dtype=bool)
    np.testing.assert_array_equal(
        closest_objects(car, objs, valid), [[2, 1], [2, 1], [1, 0], [0, 2], [0, 2]]
    )
    valid[:, 2] = False  # without the object at 0.9
    np.testing.assert_array_equal(
        closest_objects(car, objs, valid), [[0, 1], [0, 1], [1, 0], [0, 1], [0, 1]]
    )
    np.testing.assert_array_equal(closest_objects(car, objs, np.zeros((5, 3), bool)), 0)


def test_object_params_against_shapely(official_tracks_dir):
    pytest.importorskip("shapely")
    from shapely.geometry import LinearRing, Point, Polygon

    for reverse in (False, True):
        track = load_track("reInvent2019_track", reverse=reverse)
        obs = place_obstacles(
            track, ObstacleConfig(number_of_obstacles=4), np.random.default_rng(0), 1
        )
        rng = np.random.default_rng(1)
        loose = track.center[rng.integers(0, len(track.center), 4)] + rng.normal(0, 0.3, (4, 2))
        poses = np.concatenate([obs.poses[0], np.c_[loose, rng.uniform(-3, 3, 4)]])[None]
        is_bot = np.array([[False] * 4 + [True] * 4])
        valid = np.ones((1, 8), dtype=bool)
        car_front = track.center[[40]]
        car_ndist = track.project(car_front).ndist
        out = object_reward_quantities(
            track, car_front, car_ndist, poses, valid, np.full((1, 8), 0.2), is_bot
        )
        centre = LinearRing(track.center[:-1])
        # DeepRacer's inner_poly: the area between the centre line and the inner border
        inner_poly = Polygon(track.center[:-1], [track.inner[:-1]])
        # ... and as DeepRacer builds it: one ring, centre line then the inner border reversed
        raw_poly = Polygon(np.vstack([track.center, track.inner[::-1]]))
        for k, (x, y, yaw) in enumerate(poses[0]):
            p = Point(x, y)
            assert out["objects_distance"][0, k] == pytest.approx(centre.project(p), abs=1e-9)
            assert out["objects_distance_from_center"][0, k] == pytest.approx(
                centre.distance(p), abs=1e-9
            )
            assert out["objects_left_of_center"][0, k] == (
                inner_poly.contains(p) ^ (not centre.is_ccw)
            )
            assert inner_poly.contains(p) == raw_poly.contains(p)
            assert out["objects_heading"][0, k] == yaw
            np.testing.assert_array_equal(out["objects_location"][0, k], [x, y])
        np.testing.assert_array_equal(out["objects_speed"], 0.2)
        # obstacles alternate inner, outer lanes: left of centre when inner on a CCW loop
        np.testing.assert_array_equal(
            out["objects_left_of_center"][0, :4], (obs.lanes[0] == 1) ^ (not track.is_ccw)
        )
        order = np.argsort([centre.project(Point(p)) for p in poses[0, :, :2]])
        pd = np.sort([centre.project(Point(p)) for p in poses[0, :, :2]])
        nxt = int(np.searchsorted(pd, centre.project(Point(car_front[0])), side="right"))
        expected = [order[(nxt - 1) % 8], order[nxt % 8]]
        np.testing.assert_array_equal(out["closest_objects"][0], expected)
        # no bot cars: speed and heading are 0.0
        plain = object_reward_quantities(
            track, car_front, None, poses, valid, np.full((1, 8), 0.2), np.zeros((1, 8), bool)
        )
        assert not plain["objects_speed"].any() and not plain["objects_heading"].any()
        np.testing.assert_array_equal(plain["closest_objects"], out["closest_objects"])
        # precomputed geometry (static obstacles) gives the same answer
        cached = object_reward_quantities(
            track,
            car_front,
            car_ndist,
            poses,
            valid,
            np.full((1, 8), 0.2),
            is_bot,
            geometry=object_geometry(track, poses[..., :2]),
        )
        for key, value in out.items():
            np.testing.assert_array_equal(cached[key], value)
