"""Obstacle placement (docs/deepracer.md section 6) against hand computations on a circle and shapely."""

from __future__ import annotations

import numpy as np
import pytest

from circle import R_INNER_LANE, R_OUTER_LANE, M, R, circle_track
from slipstream.sim.objects import (
    BOX_LENGTH,
    BOX_WIDTH,
    INNER_LANE,
    OUTER_LANE,
    ObjectConfigError,
    ObstacleConfig,
    lane_polyline,
    obstacle_reset_poses,
    parse_object_positions,
    place_obstacles,
    spread_distances,
)
from slipstream.tracks import Track, load_track


def expected_lane_pose(track: Track, dist: np.ndarray, lane: np.ndarray) -> np.ndarray:
    """Pose on a circle lane at centre distance `dist`: same angle, lane radius, tangent yaw."""
    theta = 2 * np.pi * np.asarray(dist) / track.length
    r = np.where(np.asarray(lane) == OUTER_LANE, R_OUTER_LANE, R_INNER_LANE)
    return np.stack([r * np.cos(theta), r * np.sin(theta), theta + np.pi / 2], axis=-1)


def assert_poses_close(actual: np.ndarray, expected: np.ndarray, xy_tol=2e-3, yaw_tol=1e-2):
    np.testing.assert_allclose(actual[..., :2], expected[..., :2], atol=xy_tol)
    dyaw = np.angle(np.exp(1j * (actual[..., 2] - expected[..., 2])))
    assert np.abs(dyaw).max() < yaw_tol


def test_fixed_count_linspace_and_alternating_lanes():
    track = circle_track()
    length = track.length
    assert length == pytest.approx(M * 2 * R * np.sin(np.pi / M))
    cfg = ObstacleConfig(number_of_obstacles=3, min_distance_between_obstacles=2.0)
    obs = place_obstacles(track, cfg, np.random.default_rng(0), n_worlds=2)
    expected_d = np.array([0.02 * length, (0.02 * length + length - 1.0) / 2, length - 1.0])
    assert obs.poses.shape == (2, 3, 3) and obs.lanes.shape == (2, 3)
    np.testing.assert_allclose(obs.dists, np.tile(expected_d, (2, 1)))
    np.testing.assert_array_equal(obs.lanes, [[1, -1, 1], [1, -1, 1]])
    assert_poses_close(obs.poses, expected_lane_pose(track, obs.dists, obs.lanes))
    np.testing.assert_array_equal(obs.lengths, BOX_LENGTH)
    np.testing.assert_array_equal(obs.widths, BOX_WIDTH)


def test_object_positions_override_count_and_lane_rule():
    track = circle_track()
    cfg = ObstacleConfig(
        number_of_obstacles=7, object_positions=(("0.25,-1"), ("0.5, 1"), ("0.75,0"))
    )
    obs = place_obstacles(track, cfg, np.random.default_rng(0), n_worlds=1)
    assert obs.count == 3
    np.testing.assert_array_equal(obs.lanes[0], [OUTER_LANE, INNER_LANE, INNER_LANE])
    np.testing.assert_allclose(obs.dists[0], np.array([0.25, 0.5, 0.75]) * track.length)
    expected = np.array(
        [[0.0, R_OUTER_LANE, np.pi], [-R_INNER_LANE, 0.0, 1.5 * np.pi], [0.0, -R_INNER_LANE, 0.0]]
    )
    assert_poses_close(obs.poses[0], expected)


def test_parse_object_positions_forms():
    assert parse_object_positions(["0.1,-1", "0.6,1"]) == ((0.1, -1), (0.6, 1))
    assert parse_object_positions("0.1,-1;0.6,2") == ((0.1, -1), (0.6, 2))
    assert parse_object_positions([(0.3, 1)]) == ((0.3, 1),)
    with pytest.raises(ObjectConfigError, match="ndist,lane"):
        parse_object_positions(["0.1"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"number_of_obstacles": -1},
        {"number_of_obstacles": 1.5},
        {"obstacle_type": "pyramid"},
        {"min_distance_between_obstacles": 60.0},
    ],
)
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ObjectConfigError):
        ObstacleConfig(**kwargs)


def circular_gaps(dists: np.ndarray, length: float) -> np.ndarray:
    s = np.sort(dists, axis=1)
    return np.diff(np.concatenate([s, s[:, :1] + length], axis=1), axis=1)


def test_randomised_placement_keeps_spacing_and_is_deterministic():
    track = circle_track()
    cfg = ObstacleConfig(
        number_of_obstacles=6, min_distance_between_obstacles=5.0, randomize_obstacle_locations=True
    )
    a = place_obstacles(track, cfg, np.random.default_rng(42), n_worlds=300)
    b = place_obstacles(track, cfg, np.random.default_rng(42), n_worlds=300)
    c = place_obstacles(track, cfg, np.random.default_rng(43), n_worlds=300)
    np.testing.assert_array_equal(a.poses, b.poses)
    np.testing.assert_array_equal(a.lanes, b.lanes)
    assert not np.array_equal(a.dists, c.dists)
    min_gap = 0.05 * track.length
    assert circular_gaps(a.dists, track.length).min() >= min_gap - 1e-9
    assert np.all((a.dists >= 0) & (a.dists < track.length))
    # worlds differ and the whole loop gets used
    assert len({tuple(np.round(row, 6)) for row in a.dists}) == 300
    assert np.histogram(a.dists, bins=10, range=(0, track.length))[0].min() > 0
    assert set(np.unique(a.lanes)) == {INNER_LANE, OUTER_LANE}
    assert_poses_close(a.poses, expected_lane_pose(track, a.dists, a.lanes))


def test_single_randomised_object_stays_min_gap_from_its_start():
    dists = spread_distances(10.0, 1, 2.0, True, np.random.default_rng(1), 500)
    gap = np.mod(dists[:, 0] - 2.0, 10.0)  # linspace(2, 9, 1) = [2]
    assert gap.min() >= 2.0 and gap.max() <= 8.0


def test_open_track_randomised_stays_inside():
    x = np.linspace(0.0, 20.0, 41)
    centre = np.stack([x, np.zeros_like(x)], axis=1)
    route = np.hstack([centre, centre + np.array([0, 0.5]), centre - np.array([0, 0.5])])
    track = Track.from_route(route, "straight")
    assert not track.closed
    cfg = ObstacleConfig(
        number_of_obstacles=4, min_distance_between_obstacles=5.0, randomize_obstacle_locations=True
    )
    obs = place_obstacles(track, cfg, np.random.default_rng(3), n_worlds=100)
    s = np.sort(obs.dists, axis=1)
    assert s.min() >= 1.0 - 1e-9 and s.max() <= 19.0 + 1e-9
    assert np.diff(s, axis=1).min() >= 1.0 - 1e-9
    # inner lane is y = +0.25, outer y = -0.25, yaw along +x
    np.testing.assert_allclose(obs.poses[..., 1], np.where(obs.lanes == 1, 0.25, -0.25))
    np.testing.assert_allclose(obs.poses[..., 2], 0.0, atol=1e-12)


def test_bot_car_obstacles_use_car_footprint():
    track = circle_track()
    cfg = ObstacleConfig(number_of_obstacles=2, is_obstacle_bot_car=True)
    obs = place_obstacles(track, cfg, np.random.default_rng(0), 1)
    np.testing.assert_array_equal(obs.lengths, 0.32352)
    np.testing.assert_array_equal(obs.widths, 0.1961)


def test_replace_worlds():
    track = circle_track()
    cfg = ObstacleConfig(number_of_obstacles=3, randomize_obstacle_locations=True)
    a = place_obstacles(track, cfg, np.random.default_rng(0), 3)
    b = place_obstacles(track, cfg, np.random.default_rng(1), 3)
    mixed = a.replace_worlds(np.array([True, False, True]), b)
    np.testing.assert_array_equal(mixed.poses[[0, 2]], b.poses[[0, 2]])
    np.testing.assert_array_equal(mixed.poses[1], a.poses[1])


def test_poses_match_shapely_on_reinvent(official_tracks_dir):
    pytest.importorskip("shapely")
    from shapely.geometry import LinearRing, LineString, Point

    for track in (load_track("reInvent2019_track"), load_track("reInvent2019_track", reverse=True)):
        cfg = ObstacleConfig(number_of_obstacles=6)
        obs = place_obstacles(track, cfg, np.random.default_rng(0), 1)
        centre = LinearRing(track.center[:-1])
        assert centre.length == pytest.approx(track.length)
        for d, lane, pose in zip(obs.dists[0], obs.lanes[0], obs.poses[0], strict=True):
            lane_line = LineString(lane_polyline(track, int(lane)))
            c = centre.interpolate(d)
            s = lane_line.project(c)
            p = lane_line.interpolate(s)
            ahead, behind = lane_line.interpolate(s + 1e-4), lane_line.interpolate(s - 1e-4)
            assert pose[0] == pytest.approx(p.x, abs=1e-7)
            assert pose[1] == pytest.approx(p.y, abs=1e-7)
            # lane direction; on a vertex the bisector of its two segments
            yaw = np.arctan2(ahead.y - behind.y, ahead.x - behind.x)
            assert np.angle(np.exp(1j * (pose[2] - yaw))) == pytest.approx(0.0, abs=1e-6)
            # on the named side of the centre line, a quarter road width from it
            assert centre.distance(Point(p)) == pytest.approx(1.067 / 4, abs=0.03)


def test_reset_behind_obstacle_on_opposite_lane():
    track = circle_track()
    dists = np.array([0.5, 10.0, 20.0])
    lanes = np.array([INNER_LANE, OUTER_LANE, INNER_LANE])
    poses = obstacle_reset_poses(track, dists, lanes, offset=-1.0)
    expected = expected_lane_pose(track, np.mod(dists - 1.0, track.length), -lanes)
    assert_poses_close(poses, expected)
    ahead = obstacle_reset_poses(track, dists, lanes, offset=1.0)
    assert_poses_close(ahead, expected_lane_pose(track, dists + 1.0, -lanes))
