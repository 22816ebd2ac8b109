"""Track geometry against independent references: the MANIFEST table, shapely, hand-worked numbers.

The shapely references follow DeepRacer's own recipe (docs/deepracer.md 1.1 and 10): centre line and
borders as LinearRing (loops) or LineString (open), reversed direction = rows reversed, road =
Polygon(outer, [inner]), is_left_of_center from the border points nearest to the centre-line
projection, closest waypoints from a bisect over the waypoints' normalised distances.
"""

from __future__ import annotations

import bisect
import math
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import LinearRing, LineString, Polygon

from slipstream.tracks import Track, load_track, progress_percent

# Tracks compared point by point with shapely: CCW and CW, the 2019 files whose border rows
# are not opposite each other (Tokyo, AWS, Bowtie, China), loops missing their closing row,
# the open Straight_track, and several sizes and widths.
SAMPLE_TRACKS = [
    "reInvent2019_track",
    "reInvent2019_track_cw",
    "Albert",
    "Spain_track",
    "Monaco",
    "2024_reinvent_champ_cw",
    "Tokyo_Training_track",
    "AWS_track",
    "Bowtie_track",
    "China_track",
    "China_eval_track",
    "New_York_Eval_Track",
    "reinvent_base",
    "Straight_track",
]
LOOPS_WITHOUT_CLOSING_ROW = {"China_eval_track", "New_York_Eval_Track"}
POINTS_PER_TRACK = 300


# --------------------------------------------------------------------------- MANIFEST


def _manifest_rows(folder: Path) -> dict[str, dict]:
    text = (folder / "MANIFEST.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 14 or not cells[0].endswith(".npy"):
            continue
        loop = re.search(r"loop length ([0-9.]+) m", cells[13])
        rows[cells[0]] = {
            "closed": cells[2] == "yes",
            "dir": cells[3],
            "length": float(cells[4]),
            "loop_length": float(loop.group(1)) if loop else None,
        }
    return rows


def test_every_official_track_loads_with_manifest_length_and_direction(official_tracks_dir):
    rows = _manifest_rows(official_tracks_dir)
    files = sorted(official_tracks_dir.glob("*.npy"))
    assert len(files) == 135
    assert len(rows) == 135
    for path in files:
        row = rows[path.name]
        track = load_track(path)
        assert track.name == path.stem
        if row["closed"]:
            assert track.closed, path.name
            assert abs(track.length - row["length"]) <= 0.02, (path.name, track.length)
            assert track.is_ccw == (row["dir"] == "CCW"), path.name
            assert np.array_equal(track.center[0], track.center[-1])
        elif path.stem in LOOPS_WITHOUT_CLOSING_ROW:
            assert track.closed, path.name
            assert abs(track.length - row["loop_length"]) <= 0.02, (path.name, track.length)
        else:
            assert path.stem == "Straight_track"
            assert not track.closed
            assert abs(track.length - row["length"]) <= 0.02
        # Arc length is the running sum of centre segments; widths are positive and sane.
        assert track.arc[0] == 0.0 and track.arc[-1] == pytest.approx(track.length)
        assert np.all(np.diff(track.arc) > 0.0), "zero-length segments must be dropped"
        assert 0.5 < float(np.min(track.width)) and float(np.max(track.width)) < 1.6


def test_reversed_official_track_is_the_same_road_backwards(official_tracks_dir):
    fwd = load_track("reInvent2019_track")
    rev = load_track("reInvent2019_track", reverse=True)
    assert rev.is_reversed and not fwd.is_reversed
    assert rev.length == pytest.approx(fwd.length)
    assert rev.is_ccw != fwd.is_ccw
    np.testing.assert_array_equal(rev.center, fwd.center[::-1])
    np.testing.assert_array_equal(rev.inner, fwd.inner[::-1])
    assert load_track(rev, reverse=False).is_reversed is False


# --------------------------------------------------------------------------- shapely references


def _reference_rows(folder: Path, name: str, reverse: bool) -> tuple[np.ndarray, bool]:
    """Route rows as DeepRacer would use them: consecutive duplicates dropped, loops closed,
    then reversed for the other direction."""
    raw = np.load(folder / f"{name}.npy", allow_pickle=False)
    closed = name != "Straight_track"
    if closed and not np.array_equal(raw[0], raw[-1]):
        raw = np.vstack([raw, raw[:1]])
    keep = np.ones(len(raw), dtype=bool)
    keep[1:] = np.any(raw[1:, :2] != raw[:-1, :2], axis=1)
    rows = raw[keep]
    return (rows[::-1] if reverse else rows), closed


def _points_near_road(rows: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Random points within ~0.9 m either side of the centre line."""
    c = rows[:, :2]
    seg = rng.integers(0, len(c) - 1, n)
    d = c[seg + 1] - c[seg]
    length = np.linalg.norm(d, axis=1)[:, None]
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / length
    t = rng.uniform(0.0, 1.0, (n, 1))
    return c[seg] + t * d + rng.uniform(-0.9, 0.9, (n, 1)) * normal


def _find_prev_next(ndists: list[float], x: float) -> tuple[int, int]:
    """DeepRacer's find_prev_next, written out with bisect."""
    nxt = bisect.bisect_right(ndists, x)
    prev = nxt - 1
    if prev == -1:
        prev = len(ndists) - 1
    if nxt == len(ndists):
        nxt = 0
    return prev, nxt


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
@pytest.mark.parametrize("name", SAMPLE_TRACKS)
def test_queries_match_shapely(official_tracks_dir, name, reverse):
    rows, closed = _reference_rows(official_tracks_dir, name, reverse)
    track = load_track(name, reverse=reverse)
    assert track.closed == closed
    line = LinearRing if closed else LineString
    centre, inner, outer = line(rows[:, 0:2]), line(rows[:, 2:4]), line(rows[:, 4:6])
    if closed:
        road = Polygon(rows[:, 4:6], [rows[:, 2:4]])
        forward_rows, _ = _reference_rows(official_tracks_dir, name, False)
        is_ccw = LinearRing(forward_rows[:, :2]).is_ccw ^ reverse
    else:
        road = Polygon(np.vstack([rows[:, 4:6], rows[::-1, 2:4]]))
        is_ccw = True ^ reverse
    rng = np.random.default_rng([zlib.crc32(name.encode()), int(reverse)])
    pts = _points_near_road(rows, rng, POINTS_PER_TRACK)
    geoms = shapely.points(pts)

    # project: normalised distance along the centre line and distance from it.
    proj = track.project(pts)
    ref_ndist = shapely.line_locate_point(centre, geoms, normalized=True)
    ref_dist = shapely.distance(centre, geoms)
    np.testing.assert_allclose(proj.distance, ref_dist, atol=1e-9)
    gap = np.abs(proj.ndist - ref_ndist)
    if closed:
        gap = np.minimum(gap, 1.0 - gap)  # 0 and 1 are the same place on a loop
    np.testing.assert_array_less(gap, 1e-9)
    np.testing.assert_allclose(proj.arc, proj.ndist * track.length, atol=1e-9)
    assert track.length == pytest.approx(centre.length, abs=1e-9)

    # on_road: inside the outer ring and outside the inner ring.
    np.testing.assert_array_equal(
        track.on_road(pts), shapely.contains_xy(road, pts[:, 0], pts[:, 1])
    )

    # is_left_of_center, DeepRacer's formula: the border points nearest the centre projection.
    near_c = shapely.line_interpolate_point(centre, ref_ndist, normalized=True)
    near_in = shapely.line_interpolate_point(inner, shapely.line_locate_point(inner, near_c))
    near_out = shapely.line_interpolate_point(outer, shapely.line_locate_point(outer, near_c))
    ref_left = (shapely.distance(geoms, near_in) < shapely.distance(geoms, near_out)) ^ (not is_ccw)
    assert track.is_ccw == is_ccw
    np.testing.assert_array_equal(track.is_left_of_center(pts), ref_left)

    # closest_waypoints: bisect over the ndists of the waypoints (closing point -> 1.0).
    coords = list(centre.coords)
    ndists = [centre.project(shapely.Point(p), normalized=True) for p in coords[:-1]] + [1.0]
    np.testing.assert_allclose(track.waypoint_ndist, ndists, atol=1e-12)
    prev, nxt = track.closest_waypoints(ref_ndist)
    expected = np.array([_find_prev_next(ndists, x) for x in ref_ndist])
    np.testing.assert_array_equal(prev, expected[:, 0])
    np.testing.assert_array_equal(nxt, expected[:, 1])


def test_reversed_open_track_left_of_center_follows_deepracer(official_tracks_dir):
    """DeepRacer: is_ccw = True ^ reverse_dir for an open track, so driving Straight_track
    backwards (towards -x) a point at y=1.0 (below the centre at y~1.2) is on the LEFT."""
    track = load_track("Straight_track", reverse=True)
    pts = np.array([[3.0, 1.0], [3.0, 1.4]])
    np.testing.assert_array_equal(track.is_left_of_center(pts), [True, False])


# --------------------------------------------------------------------------- progress


def test_progress_percent_hand_worked_forward_lap_from_mid_track():
    start = 0.5
    ndists = [0.51, 0.90, 0.99, 0.02, 0.45, 0.50]
    expected = [1.0, 40.0, 49.0, 52.0, 95.0, 100.0]  # crosses the finish line between 3 and 4
    prev = 0.0
    for ndist, want in zip(ndists, expected, strict=True):
        got = float(progress_percent(ndist, start, prev))
        assert got == pytest.approx(want, abs=1e-9)
        prev = 0.0 if got == 100.0 else got


def test_progress_percent_hand_worked_driving_backwards():
    start = 0.5
    ndists = [0.49, 0.30, 0.01, 0.99, 0.80]
    expected = [-1.0, -20.0, -49.0, -51.0, -70.0]  # crosses the finish backwards at step 4
    prev = 0.0
    for ndist, want in zip(ndists, expected, strict=True):
        got = float(progress_percent(ndist, start, prev))
        assert got == pytest.approx(want, abs=1e-9)
        prev = got


def test_progress_percent_from_the_start_line_reaches_exactly_100():
    # Evaluation starts at ndist 0: just before the line 99.9, just after it capped at 100.
    assert float(progress_percent(0.999, 0.0, 99.5)) == pytest.approx(99.9)
    assert float(progress_percent(0.001, 0.0, 99.9)) == 100.0
    # Batched: arrays broadcast.
    out = progress_percent(np.array([0.6, 0.4]), np.array([0.5, 0.5]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(out, [10.0, -10.0])


def test_progress_along_projected_points_on_a_circle():
    # Start line at waypoint 0 (angle 0); the episode starts half way round (ndist 0.5).
    track = _circle_track(radius=2.0, width=0.8, n=400)
    angles = np.array([181.0, 270.0, 359.0, 1.0, 90.0, 179.0])
    rad = np.deg2rad(angles)
    ndist = track.project(2.0 * np.column_stack([np.cos(rad), np.sin(rad)])).ndist
    expected = [100 * d / 360 for d in (1.0, 90.0, 179.0, 181.0, 270.0, 359.0)]
    prev, got = 0.0, []
    for nd in ndist:
        prev = float(progress_percent(nd, 0.5, prev))
        got.append(prev)
    np.testing.assert_allclose(got, expected, atol=1e-3)


# --------------------------------------------------------------------------- hand-built tracks


def _circle_track(radius: float, width: float, n: int, name: str = "circle") -> Track:
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    unit = np.column_stack([np.cos(theta), np.sin(theta)])
    body = np.hstack([radius * unit, (radius - width / 2) * unit, (radius + width / 2) * unit])
    return Track.from_route(np.vstack([body, body[:1]]), name=name)


def test_circle_track_length_width_projection_and_sides():
    radius, width, n = 3.0, 1.0, 720
    track = _circle_track(radius, width, n)
    assert track.closed and track.is_ccw
    polygon_perimeter = 2 * n * radius * math.sin(math.pi / n)
    assert track.length == pytest.approx(polygon_perimeter, rel=1e-12)
    assert track.length == pytest.approx(2 * math.pi * radius, rel=1e-5)
    # Width to the border polylines: chords of the outer ring lean in by ~R (pi/n)^2 / 2.
    np.testing.assert_allclose(track.width, width, atol=1e-5)

    # At waypoint angles a point at radius r projects to ndist = angle / 360, distance |r - R|.
    k = np.array([0, 90, 180, 359, 600])
    ang = 2 * np.pi * k / n
    # On or outside the centre polygon the nearest point is the waypoint itself.
    for r in (3.0, 3.4):
        pts = r * np.column_stack([np.cos(ang), np.sin(ang)])
        proj = track.project(pts)
        np.testing.assert_allclose(proj.ndist, k / n, atol=1e-12)
        np.testing.assert_allclose(proj.distance, abs(r - radius), atol=1e-12)
    # bisect_right: exactly on waypoint k -> (k, k+1); half way to the next one -> (k, k+1).
    for nd in (track.waypoint_ndist[k], (k + 0.5) / n):
        prev, nxt = track.closest_waypoints(nd)
        np.testing.assert_array_equal(prev, k)
        np.testing.assert_array_equal(nxt, k + 1)
    prev, nxt = track.closest_waypoints(np.array([1.0, 0.0]))
    np.testing.assert_array_equal(prev, [n, 0])
    np.testing.assert_array_equal(nxt, [0, 1])
    # Inside, the two chords meeting at the waypoint are nearer, by the factor cos(pi / n).
    pts = 2.7 * np.column_stack([np.cos(ang), np.sin(ang)])
    proj = track.project(pts)
    np.testing.assert_allclose(proj.distance, 0.3 * math.cos(math.pi / n), atol=1e-12)
    assert np.all(np.abs(proj.ndist - k / n) < 0.5 / n)

    ang = np.deg2rad([10.0, 100.0, 200.0, 300.0])
    inside = 2.8 * np.column_stack([np.cos(ang), np.sin(ang)])  # nearer the inner border
    outside = 3.2 * np.column_stack([np.cos(ang), np.sin(ang)])
    off = 3.7 * np.column_stack([np.cos(ang), np.sin(ang)])
    hole = 2.3 * np.column_stack([np.cos(ang), np.sin(ang)])
    # Counter-clockwise the centre of the circle is on the driver's left.
    assert track.is_left_of_center(inside).all()
    assert not track.is_left_of_center(outside).any()
    assert track.on_road(np.stack([inside, outside])).all()
    assert not track.on_road(off).any() and not track.on_road(hole).any()

    rev = track.reversed()
    assert not rev.is_ccw and rev.length == pytest.approx(track.length)
    assert not rev.is_left_of_center(inside).any()
    assert rev.is_left_of_center(outside).all()
    # Driving clockwise from the same start (angle 0), waypoint 20 (10 degrees) is 350 degrees on.
    at_10_degrees = radius * np.array(
        [[math.cos(2 * np.pi * 20 / n), math.sin(2 * np.pi * 20 / n)]]
    )
    assert float(rev.project(at_10_degrees).ndist[0]) == pytest.approx(700 / 720, abs=1e-12)
    np.testing.assert_array_equal(rev.center[0], track.center[0])


def test_straight_open_track_hand_worked():
    x = np.linspace(0.0, 10.0, 11)
    body = np.column_stack([x, 0 * x, x, 0 * x + 0.5, x, 0 * x - 0.5])
    track = Track.from_route(body, name="straight")
    assert not track.closed and track.length == pytest.approx(10.0)
    np.testing.assert_allclose(track.width, 1.0)
    pts = np.array([[3.3, 0.2], [12.0, 0.0], [-1.0, -0.3], [5.0, -0.45], [5.0, 0.6]])
    proj = track.project(pts)
    np.testing.assert_allclose(proj.arc, [3.3, 10.0, 0.0, 5.0, 5.0], atol=1e-12)
    np.testing.assert_allclose(proj.distance, [0.2, 2.0, np.hypot(1.0, 0.3), 0.45, 0.6], atol=1e-12)
    np.testing.assert_array_equal(track.on_road(pts), [True, False, False, True, False])
    # Driving towards +x the inner border (y = +0.5) is on the left.
    np.testing.assert_array_equal(track.is_left_of_center(pts[[0, 3]]), [True, False])
    prev, nxt = track.closest_waypoints(proj.ndist)
    np.testing.assert_array_equal(prev, [3, 10, 0, 5, 5])
    np.testing.assert_array_equal(nxt, [4, 0, 1, 6, 6])
    xy, heading = track.point_at(np.array([2.5, 11.0]))
    np.testing.assert_allclose(xy, [[2.5, 0.0], [10.0, 0.0]])
    np.testing.assert_allclose(heading, 0.0)


# --------------------------------------------------------------------------- waypoint ties


def _outside_corner_points(centre: np.ndarray, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the turning waypoints of a centre line (driving order, loop closed) and a
    point `offset` m outside each corner, on the bisector: both neighbouring segments' nearest
    point to it is the waypoint itself, so it projects exactly onto the waypoint."""
    before = centre[1:-1] - centre[:-2]
    after = centre[2:] - centre[1:-1]
    turn = before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]
    idx = np.flatnonzero(np.abs(turn) > 1e-6 * np.linalg.norm(before, axis=1) ** 2) + 1

    def right_normal(d: np.ndarray) -> np.ndarray:
        return np.column_stack([d[:, 1], -d[:, 0]]) / np.linalg.norm(d, axis=1)[:, None]

    outward = (right_normal(before) + right_normal(after))[idx - 1]
    outward *= np.sign(turn[idx - 1])[:, None]  # a left turn's outside is on the right
    outward /= np.linalg.norm(outward, axis=1)[:, None]
    return idx, centre[idx] + offset * outward


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
@pytest.mark.parametrize("name", ["slipstream_default", "reInvent2019_track"])
def test_front_point_on_a_waypoint_ties_as_deepracer(request, name, reverse):
    """A car whose front point projects exactly onto waypoint k (outside a corner) is at or past
    it: DeepRacer's bisect_right over the ndists measured on the line the car drives gives
    [k, k+1], in both directions (the reverse ndist is not 1 - the forward one)."""
    from slipstream.sim.simulator import SimConfig, Simulator

    if name != "slipstream_default":
        request.getfixturevalue("official_tracks_dir")
    forward = load_track(name)
    centre = forward.center[::-1] if reverse else forward.center
    idx, points = _outside_corner_points(centre, offset=0.05)
    assert len(idx) > 20

    ring = LinearRing(centre)
    ndists = [ring.project(shapely.Point(p), normalized=True) for p in centre[:-1]] + [1.0]
    expected = [
        _find_prev_next(ndists, ring.project(shapely.Point(p), normalized=True)) for p in points
    ]
    np.testing.assert_array_equal([e[0] for e in expected], idx)  # the reference ties too

    sim = Simulator(forward, len(idx), SimConfig(reverse_dir=reverse, change_start_position=False))
    sim.reset()
    heading = centre[idx + 1] - centre[idx]
    yaw = np.arctan2(heading[:, 1], heading[:, 0])
    zeros = np.zeros(len(idx))
    sim.start_from(np.arange(len(idx)), points, yaw, zeros, zeros)
    result = sim.step(zeros, zeros + 1.0)
    np.testing.assert_array_equal(result.closest_prev, idx)
    np.testing.assert_array_equal(result.closest_next, [e[1] for e in expected])
    if name == "reInvent2019_track" and reverse:  # the case DeepRacer's log shows
        assert [result.closest_prev[idx == 15][0], result.closest_next[idx == 15][0]] == [15, 16]
