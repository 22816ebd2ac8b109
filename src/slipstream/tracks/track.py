"""The `Track` value: centre line, borders, arc length, widths, direction, and batched queries.

A track is stored in its *driving direction*: waypoint 0 is where DeepRacer's waypoint list starts
and the rows run the way the car drives. `Track.reversed()` gives the other direction (rows
reversed, as DeepRacer does for REVERSE_DIR). "inner" is always the geometric inside of the loop.

All queries take points of shape (N, 2) and answer for all N at once; they are the queries of
`slipstream.tracks.batch.TrackBatch` (many cars on many tracks) with a batch of this one track.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from slipstream.tracks.batch import CenterProjection, TrackBatch
from slipstream.tracks.geometry import cumulative_length, project_on_polyline, signed_area

# A loop file that lacks its closing row is closed when the gap is at most this many times the
# median waypoint spacing (China_eval_track, New_York_Eval_Track); Straight_track's gap is ~60x.
_CLOSE_GAP_FACTOR = 4.0


class TrackError(ValueError):
    """A track file or track name that cannot be used."""


@dataclass(frozen=True, eq=False)
class Track:
    """A DeepRacer track in one driving direction.

    Arrays are float64, shape (M, 2), metres. For a closed track the last row repeats the first.
    Derived fields are computed once in `__post_init__`.
    """

    name: str
    center: np.ndarray
    inner: np.ndarray
    outer: np.ndarray
    closed: bool
    is_reversed: bool = False
    arc: np.ndarray = field(init=False, repr=False)
    """(M,) cumulative centre-line length at each waypoint; arc[-1] == length."""
    length: float = field(init=False)
    is_ccw: bool = field(init=False)
    """Whether the centre line runs counter-clockwise in this driving direction."""
    inner_opposite: np.ndarray = field(init=False, repr=False)
    """(M,2) nearest inner-border point to each centre waypoint."""
    outer_opposite: np.ndarray = field(init=False, repr=False)
    """(M,2) nearest outer-border point to each centre waypoint."""
    width: np.ndarray = field(init=False, repr=False)
    """(M,) road width at each waypoint: distance from the centre point to both borders, summed."""
    waypoint_ndist: np.ndarray = field(init=False, repr=False)
    """(M,) normalised distance of each waypoint (last = 1.0 for loops), for closest_waypoints."""

    def __post_init__(self) -> None:
        for key in ("center", "inner", "outer"):
            arr = np.ascontiguousarray(getattr(self, key), dtype=np.float64)
            arr.setflags(write=False)
            object.__setattr__(self, key, arr)
        arc = cumulative_length(self.center)
        length = float(arc[-1])
        inner_p = project_on_polyline(self.center, self.inner)
        outer_p = project_on_polyline(self.center, self.outer)
        ndist = arc / length
        if self.closed:
            ndist[-1] = 1.0
        derived = {
            "arc": arc,
            "length": length,
            "is_ccw": signed_area(self.center) > 0.0 if self.closed else not self.is_reversed,
            "inner_opposite": inner_p.nearest,
            "outer_opposite": outer_p.nearest,
            "width": inner_p.distance + outer_p.distance,
            "waypoint_ndist": ndist,
        }
        for key, value in derived.items():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, key, value)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_route(cls, route: np.ndarray, name: str = "track") -> Track:
        """Build a track from a DeepRacer route array (N, 6): centre, inner, outer x/y columns.

        Handles the quirks of the official files: repeated rows are dropped (as DeepRacer's
        `_sanitize_waypoints` does), loops without the closing row are closed, and an open
        track (Straight_track) stays open.
        """
        route = np.asarray(route)
        if route.ndim != 2 or route.shape[1] != 6:
            raise TrackError(
                f"track {name!r}: expected a DeepRacer route array of shape (N, 6) "
                f"[centre_x, centre_y, inner_x, inner_y, outer_x, outer_y], got shape {route.shape}"
            )
        if not np.issubdtype(route.dtype, np.number):
            raise TrackError(
                f"track {name!r}: route array must be numeric, got dtype {route.dtype}"
            )
        route = route.astype(np.float64)
        if not np.all(np.isfinite(route)):
            bad = int(np.argwhere(~np.isfinite(route))[0, 0])
            raise TrackError(f"track {name!r}: row {bad} has NaN or infinite values")
        closed = bool(np.array_equal(route[0], route[-1])) and len(route) > 3
        body = route[:-1] if closed else route
        keep = np.ones(len(body), dtype=bool)
        keep[1:] = np.linalg.norm(np.diff(body[:, :2], axis=0), axis=1) > 0.0
        body = body[keep]
        if len(body) < 2:
            raise TrackError(f"track {name!r}: needs at least 2 distinct centre points")
        if not closed:
            spacing = np.median(np.linalg.norm(np.diff(body[:, :2], axis=0), axis=1))
            gap = float(np.linalg.norm(body[-1, :2] - body[0, :2]))
            closed = len(body) > 3 and gap <= _CLOSE_GAP_FACTOR * spacing
        if closed:
            if len(body) < 3:
                raise TrackError(f"track {name!r}: a loop needs at least 3 distinct points")
            body = np.vstack([body, body[:1]])
        return cls(
            name=name, center=body[:, 0:2], inner=body[:, 2:4], outer=body[:, 4:6], closed=closed
        )

    def to_route(self) -> np.ndarray:
        """The DeepRacer route array (M, 6) of this track in its driving direction."""
        return np.hstack([self.center, self.inner, self.outer])

    def reversed(self) -> Track:
        """The same road driven the other way round (rows reversed, inner stays inner)."""
        return Track(
            name=self.name,
            center=self.center[::-1],
            inner=self.inner[::-1],
            outer=self.outer[::-1],
            closed=self.closed,
            is_reversed=not self.is_reversed,
        )

    # ------------------------------------------------------------------ queries

    @property
    def waypoints(self) -> np.ndarray:
        """Centre waypoints (M,2) in driving order (loops repeat the first point at the end)."""
        return self.center

    @property
    def road_polygon(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(shell, hole) rings of the road surface; hole is None for an open track."""
        if self.closed:
            return self.outer, self.inner
        return np.vstack([self.outer, self.inner[::-1]]), None

    @cached_property
    def batch(self) -> TrackBatch:
        """This track as a batch of one: the queries below are the batched ones with track 0."""
        return TrackBatch([self])

    def project(self, points: np.ndarray) -> CenterProjection:
        """Project points (N,2) onto the centre line."""
        return self.batch.project(points, 0)

    def closest_waypoints(self, ndist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """DeepRacer's `find_prev_next` over waypoint ndists: ([prev], [next]) index arrays."""
        return self.batch.closest_waypoints(ndist, 0)

    def is_left_of_center(self, points: np.ndarray) -> np.ndarray:
        """DeepRacer's rule: nearer the inner border XOR (not counter-clockwise)."""
        return self.batch.is_left_of_center(points, 0)

    def local_width(self, points: np.ndarray) -> np.ndarray:
        """Distance between the nearest inner and outer border points to each point's centre projection."""
        return self.batch.local_width(self.project(points), 0)

    def on_road(self, points: np.ndarray) -> np.ndarray:
        """Whether each point (..., 2) lies on the road surface. Keeps the leading shape."""
        return self.batch.on_road(points, 0)

    def point_at(self, arc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre-line point (N,2) and direction (N,) in radians at arc lengths (wrapped on loops).

        The direction is that of the segment the point lies on (DeepRacer's start pose uses the
        direction toward the next waypoint).
        """
        s = self._wrap_arc(arc)
        seg = np.clip(np.searchsorted(self.arc, s, side="right") - 1, 0, len(self.arc) - 2)
        seg_len = self.arc[seg + 1] - self.arc[seg]
        t = (s - self.arc[seg]) / np.where(seg_len > 0, seg_len, 1.0)
        a, b = self.center[seg], self.center[seg + 1]
        xy = a + t[:, None] * (b - a)
        d = b - a
        return xy, np.arctan2(d[:, 1], d[:, 0])

    def lane_point_at(self, arc: np.ndarray, lane: np.ndarray) -> np.ndarray:
        """Points (N,2) on a lane at arc lengths: lane +1 = inner lane, -1 = outer lane, 0 = centre.

        A lane is the midpoint between the centre line and a border (DeepRacer's inner/outer lanes).
        Fractional values interpolate (+0.5 is a quarter of the way to the inner border).
        """
        s = self._wrap_arc(arc)
        seg = np.clip(np.searchsorted(self.arc, s, side="right") - 1, 0, len(self.arc) - 2)
        seg_len = self.arc[seg + 1] - self.arc[seg]
        t = ((s - self.arc[seg]) / np.where(seg_len > 0, seg_len, 1.0))[:, None]

        def interp(arr: np.ndarray) -> np.ndarray:
            return arr[seg] + t * (arr[seg + 1] - arr[seg])

        c = interp(self.center)
        lane = np.broadcast_to(np.asarray(lane, dtype=np.float64), s.shape)[:, None]
        border = np.where(lane >= 0, interp(self.inner_opposite), interp(self.outer_opposite))
        return c + 0.5 * np.abs(lane) * (border - c)

    def _wrap_arc(self, arc: np.ndarray) -> np.ndarray:
        s = np.atleast_1d(np.asarray(arc, dtype=np.float64))
        if self.closed:
            return np.mod(s, self.length)
        return np.clip(s, 0.0, self.length)


def progress_percent(
    ndist: np.ndarray, start_ndist: np.ndarray, prev_progress: np.ndarray
) -> np.ndarray:
    """Lap progress in percent exactly as DeepRacer computes it (docs/deepracer.md section 1.1).

    All arguments broadcast. `prev_progress` is the previous step's progress (0 at episode start
    and after a step that reached 100).
    """
    prog = 100.0 * (np.asarray(ndist, dtype=np.float64) - start_ndist)
    prog = np.where(prog <= 0.0, prog + 100.0, prog)
    prog = np.where(prev_progress > prog + 50.0, prog + 100.0, prog)
    prog = np.where(prog > prev_progress + 50.0, prog - 100.0, prog)
    return np.minimum(prog, 100.0)
