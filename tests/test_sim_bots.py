"""Bot cars (docs/deepracer.md section 6): lane splines, motion, pauses and lane changes on a circle."""

from __future__ import annotations

import numpy as np
import pytest

from circle import R_INNER_LANE, R_OUTER_LANE, R, circle_track
from slipstream.sim.bots import (
    BotCarConfig,
    LaneSplines,
    bot_distances,
    bot_is_paused,
    bot_poses,
    bot_travel,
    bots_hit,
    lane_change_progress,
    reset_bots,
    update_lane_changes,
)
from slipstream.sim.objects import INNER_LANE, OUTER_LANE, ObjectConfigError, lane_polyline
from slipstream.tracks import Track, load_track
from slipstream.tracks.geometry import project_on_polyline


@pytest.fixture(scope="module")
def circle():
    track = circle_track()
    return track, LaneSplines.from_track(track)


def polar(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radius and angle of pose positions."""
    return np.hypot(poses[..., 0], poses[..., 1]), np.arctan2(poses[..., 1], poses[..., 0])


def wrapped(a: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * np.asarray(a)))


def test_lane_splines_follow_circle_lanes(circle):
    track, splines = circle
    arc = np.linspace(0.0, 3 * track.length, 97).reshape(97, 1) * np.ones((1, 2))
    lanes = np.tile([INNER_LANE, OUTER_LANE], (97, 1))
    poses = splines.poses(arc, lanes)
    assert poses.shape == (97, 2, 3)
    r, theta = polar(poses)
    np.testing.assert_allclose(
        r, np.where(lanes == INNER_LANE, R_INNER_LANE, R_OUTER_LANE), atol=1e-4
    )
    assert np.abs(wrapped(theta - 2 * np.pi * arc / track.length)).max() < 1e-3
    # yaw tangent to the lane, counter-clockwise (inner-lane vertices project onto the polygon
    # centre line up to 1 mm off their angle, hence the looser bound)
    assert np.abs(wrapped(poses[..., 2] - (theta + np.pi / 2))).max() < 2e-3


def test_bots_start_on_linspace_and_move_at_bot_car_speed(circle):
    track, splines = circle
    cfg = BotCarConfig(number_of_bot_cars=3, bot_car_speed=0.3, min_distance_between_bot_cars=2.0)
    state = reset_bots(track, cfg, np.random.default_rng(0), n_worlds=2, t_reset=[0.0, 10.0])
    expected_d0 = np.linspace(2.0, track.length - 1.0, 3)
    np.testing.assert_allclose(state.d0, np.tile(expected_d0, (2, 1)))
    np.testing.assert_array_equal(state.lane, [[1, -1, 1], [1, -1, 1]])
    t = np.array([7.0, 17.0])  # 7 s after each world's reset
    poses0 = bot_poses(state, splines, [0.0, 10.0])
    poses7 = bot_poses(state, splines, t)
    r, theta7 = polar(poses7)
    _, theta0 = polar(poses0)
    np.testing.assert_allclose(r, np.where(state.lane == 1, R_INNER_LANE, R_OUTER_LANE), atol=1e-4)
    # centre-line arc covered = speed * t  <=>  angle advanced = 2 pi speed t / L
    advance = wrapped(theta7 - theta0)
    np.testing.assert_allclose(advance, 2 * np.pi * 0.3 * 7.0 / track.length, atol=1e-4)
    np.testing.assert_allclose(
        theta0[0], wrapped(2 * np.pi * expected_d0 / track.length), atol=1e-3
    )
    # arc along the lane itself scales with the lane radius
    lane_arc = np.where(state.lane == 1, R_INNER_LANE, R_OUTER_LANE) * advance
    np.testing.assert_allclose(
        lane_arc, 0.3 * 7.0 * np.where(state.lane == 1, 0.95, 1.05), atol=1e-3
    )
    np.testing.assert_allclose(bot_travel(state, t), 2.1)
    np.testing.assert_allclose(
        bot_distances(state, 1000.0)[0], np.mod(expected_d0 + 300.0, track.length)
    )
    assert np.abs(wrapped(poses7[..., 2] - (theta7 + np.pi / 2))).max() < 2e-3


def test_pause_before_start_delays_motion(circle):
    track, _ = circle
    cfg = BotCarConfig(number_of_bot_cars=1, bot_car_speed=0.5)
    state = reset_bots(track, cfg, np.random.default_rng(0), 1, t_reset=1.0, pause_before_start=2.0)
    np.testing.assert_allclose(bot_travel(state, [2.5]), 0.0)
    np.testing.assert_allclose(bot_travel(state, [5.0]), 1.0)


def test_penalty_pause_after_hitting_a_car_ahead(circle):
    track, splines = circle
    cfg = BotCarConfig(number_of_bot_cars=2, bot_car_speed=0.2, penalty_seconds=2.0)
    state = reset_bots(track, cfg, np.random.default_rng(0), n_worlds=2)
    hit = np.array([[True, False], [False, False]])
    state = bots_hit(state, hit, 3.0)
    np.testing.assert_array_equal(state.crash_count, [[1, 0], [0, 0]])
    assert bot_is_paused(state, 4.0)[0, 0] and not bot_is_paused(state, 5.0)[0, 0]
    # frozen during the pause, no jump back
    frozen = bot_poses(state, splines, 3.0)[0, 0]
    np.testing.assert_allclose(bot_poses(state, splines, 4.9)[0, 0], frozen, atol=1e-12)
    # hits while paused do not add pauses
    again = bots_hit(state, hit, 4.0)
    np.testing.assert_array_equal(again.crash_count, state.crash_count)
    # afterwards DeepRacer's formula: speed * (t - crash_count * penalty)
    travel = bot_travel(state, 10.0)
    np.testing.assert_allclose(travel, [[0.2 * 8.0, 0.2 * 10.0], [2.0, 2.0]])
    state2 = bots_hit(state, hit, 6.0)
    np.testing.assert_allclose(bot_travel(state2, 10.0)[0, 0], 0.2 * 6.0)


def test_lane_change_blends_to_other_lane_over_distance(circle):
    track, splines = circle
    cfg = BotCarConfig(
        number_of_bot_cars=2,
        bot_car_speed=0.5,
        is_lane_change=True,
        lower_lane_change_time=1.0,
        upper_lane_change_time=1.0,
        lane_change_distance=1.0,
    )
    rng = np.random.default_rng(0)
    state = reset_bots(track, cfg, rng, n_worlds=1)
    # scheduled at reset + U(1, 1) + distance / speed = 3 s
    np.testing.assert_allclose(state.next_change_time, 3.0)
    assert update_lane_changes(state, rng, 2.9) is state
    state = update_lane_changes(state, rng, 3.0)
    np.testing.assert_array_equal(state.from_lane, [[INNER_LANE, OUTER_LANE]])
    np.testing.assert_array_equal(state.lane, [[OUTER_LANE, INNER_LANE]])
    np.testing.assert_allclose(state.next_change_time, 6.0)
    radius = {t: polar(bot_poses(state, splines, t))[0][0] for t in (3.0, 4.0, 5.0, 5.5)}
    np.testing.assert_allclose(radius[3.0], [R_INNER_LANE, R_OUTER_LANE], atol=1e-4)
    np.testing.assert_allclose(radius[4.0], [R, R], atol=1e-3)  # half way: smoothstep(0.5)
    np.testing.assert_allclose(radius[5.0], [R_OUTER_LANE, R_INNER_LANE], atol=1e-4)
    np.testing.assert_allclose(radius[5.5], [R_OUTER_LANE, R_INNER_LANE], atol=1e-4)
    np.testing.assert_allclose(lane_change_progress(state, 3.5), 0.25)
    # yaw mid-change matches the direction of motion (finite difference)
    dt = 1e-4
    a, b = bot_poses(state, splines, 3.6 - dt), bot_poses(state, splines, 3.6 + dt)
    motion = np.arctan2(b[..., 1] - a[..., 1], b[..., 0] - a[..., 0])
    mid = bot_poses(state, splines, 3.6)
    assert np.abs(wrapped(mid[..., 2] - motion)).max() < 1e-4
    assert np.abs(wrapped(mid[..., 2] - (polar(mid)[1] + np.pi / 2))).max() > 1e-3
    # the next change goes back
    state = update_lane_changes(state, rng, 6.0)
    np.testing.assert_array_equal(state.lane, [[INNER_LANE, OUTER_LANE]])


def test_randomised_bots_keep_metre_spacing(circle):
    track, _ = circle
    cfg = BotCarConfig(
        number_of_bot_cars=4, min_distance_between_bot_cars=3.0, randomize_bot_car_locations=True
    )
    a = reset_bots(track, cfg, np.random.default_rng(5), 200)
    b = reset_bots(track, cfg, np.random.default_rng(5), 200)
    np.testing.assert_array_equal(a.d0, b.d0)
    s = np.sort(a.d0, axis=1)
    gaps = np.diff(np.concatenate([s, s[:, :1] + track.length], axis=1), axis=1)
    assert gaps.min() >= 3.0 - 1e-9
    assert set(np.unique(a.lane)) == {INNER_LANE, OUTER_LANE}


def test_replace_worlds(circle):
    track, _ = circle
    cfg = BotCarConfig(number_of_bot_cars=2)
    old = bots_hit(reset_bots(track, cfg, np.random.default_rng(0), 2), np.ones((2, 2), bool), 1.0)
    new = reset_bots(track, cfg, np.random.default_rng(0), 2, t_reset=5.0)
    mixed = old.replace_worlds(np.array([False, True]), new)
    np.testing.assert_array_equal(mixed.crash_count, [[1, 1], [0, 0]])
    np.testing.assert_array_equal(mixed.t_reset, [0.0, 5.0])


def test_open_track_refused():
    x = np.linspace(0.0, 20.0, 41)
    centre = np.stack([x, np.zeros_like(x)], axis=1)
    track = Track.from_route(
        np.hstack([centre, centre + np.array([0, 0.5]), centre - np.array([0, 0.5])]), "straight"
    )
    rng = np.random.default_rng(0)
    assert reset_bots(track, BotCarConfig(), rng, 1).count == 0
    with pytest.raises(ObjectConfigError, match="closed track"):
        reset_bots(track, BotCarConfig(number_of_bot_cars=1), rng, 1)
    with pytest.raises(ObjectConfigError, match="closed track"):
        LaneSplines.from_track(track)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"number_of_bot_cars": -2},
        {"bot_car_speed": -0.1},
        {"lower_lane_change_time": 5.0, "upper_lane_change_time": 3.0},
        {"lane_change_distance": 0.0},
    ],
)
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ObjectConfigError):
        BotCarConfig(**kwargs)


def test_bots_stay_on_reinvent_lanes(official_tracks_dir):
    track = load_track("reInvent2019_track")
    splines = LaneSplines.from_track(track)
    cfg = BotCarConfig(number_of_bot_cars=3, bot_car_speed=0.4)
    state = reset_bots(track, cfg, np.random.default_rng(0), 1)
    for t in np.linspace(0.0, 60.0, 7):
        poses = bot_poses(state, splines, t)[0]
        d = bot_distances(state, t)[0]
        for lane in (INNER_LANE, OUTER_LANE):
            sel = state.lane[0] == lane
            off = project_on_polyline(poses[sel, :2], lane_polyline(track, lane)).distance
            assert off.max() < 0.03
        # the spline parameter is the centre-line projection distance
        proj = track.project(poses[:, :2]).arc
        gap = np.mod(proj - d + track.length / 2, track.length) - track.length / 2
        assert np.abs(gap).max() < 0.05
