"""DeepRacer's track queries for a batch of cars, each on its own track.

A `TrackBatch` holds several `Track`s (each in one driving direction) with their lines in
`Polylines`, so that one call answers every car of a batch against its own track: car i asks
track `which[i]`. The single-track queries on `Track` are this with a batch of one; there is one
implementation of each DeepRacer rule (docs/deepracer.md 1 and 1.1):

- the car's position along the lap is the projection of its front point onto the centre line
  *of the direction it drives* (DeepRacer projects onto the reversed ring when driving in
  reverse), measured in that line's own arc lengths; a point on a waypoint ties with it exactly
  (`geometry.project_on_polylines`, `arc_at`);
- `closest_waypoints` is a `bisect_right` over the waypoints' normalised distances;
- `is_left_of_center`: nearer the inner border XOR (not counter-clockwise);
- `track_width`: between the inner and outer border points nearest the centre projection;
- on the road: inside the outer ring and outside the inner one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from slipstream.tracks.geometry import Polylines, points_in_polygons, project_on_polylines

if TYPE_CHECKING:
    from slipstream.tracks.track import Track


class CenterProjection(NamedTuple):
    """Where points fall on their track's centre line (DeepRacer section 1.1 quantities)."""

    arc: np.ndarray  # (N,) metres from waypoint 0 along the driving direction
    ndist: np.ndarray  # (N,) arc / length, 0..1
    distance: np.ndarray  # (N,) distance from the centre line (m)
    nearest: np.ndarray  # (N,2) the projected point
    segment: np.ndarray  # (N,) centre segment index
    fraction: np.ndarray  # (N,) position along that segment, 0..1


class TrackBatch:
    """Tracks answered together: every query takes `which`, one track index per point."""

    def __init__(self, tracks: Sequence[Track]) -> None:
        if not tracks:
            raise ValueError("a TrackBatch needs at least one track")
        self.tracks = tuple(tracks)
        self.center = Polylines.of([t.center for t in tracks])
        self.inner = Polylines.of([t.inner for t in tracks])
        self.outer = Polylines.of([t.outer for t in tracks])
        self.arc = np.concatenate([t.arc for t in tracks])
        self.length = np.array([t.length for t in tracks])
        self.closed = np.array([t.closed for t in tracks])
        self.is_ccw = np.array([t.is_ccw for t in tracks])
        # waypoint ndists padded with +inf, so a count of those <= x is bisect_right per track
        waypoints = self.center.count.max()
        self.waypoint_ndist = np.full((len(tracks), waypoints), np.inf)
        for k, t in enumerate(tracks):
            self.waypoint_ndist[k, : len(t.waypoint_ndist)] = t.waypoint_ndist
        self.has_hole = np.array([t.road_polygon[1] is not None for t in tracks])
        self.shell = Polylines.of([t.road_polygon[0] for t in tracks])
        self.hole = Polylines.of(
            [t.inner if t.road_polygon[1] is not None else t.inner[:2] for t in tracks]
        )

    def __len__(self) -> int:
        return len(self.tracks)

    def arc_at(self, which: np.ndarray, segment: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """Arc length (m) of the point `fraction` of the way along centre segment `segment` of
        track `which`. A point at a segment's end gets that waypoint's arc exactly, so a point
        that projects onto a waypoint ties with it exactly in `closest_waypoints` (DeepRacer's
        `bisect_right` then puts it at or past the waypoint)."""
        first = self.center.start[which] + segment
        start, end = self.arc[first], self.arc[first + 1]
        return np.where(fraction >= 1.0, end, start + fraction * (end - start))

    def project(self, points: np.ndarray, which: np.ndarray) -> CenterProjection:
        """Project points (N,2) onto the centre lines of their tracks."""
        which = np.broadcast_to(np.asarray(which, dtype=np.int64), (len(points),))
        p = project_on_polylines(points, self.center, which)
        arc = self.arc_at(which, p.segment, p.fraction)
        length = self.length[which]
        # the closing waypoint of a loop is waypoint 0, where DeepRacer's ring starts
        arc = np.where(self.closed[which] & (arc >= length), 0.0, arc)
        return CenterProjection(arc, arc / length, p.distance, p.nearest, p.segment, p.fraction)

    def closest_waypoints(
        self, ndist: np.ndarray, which: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """DeepRacer's `find_prev_next` over each track's waypoint ndists: ([prev], [next])."""
        ndist = np.asarray(ndist, dtype=np.float64)
        which = np.broadcast_to(np.asarray(which, dtype=np.int64), ndist.shape)
        count = self.center.count[which]
        nxt = np.count_nonzero(self.waypoint_ndist[which] <= ndist[..., None], axis=-1)
        prev = np.where(nxt == 0, count - 1, nxt - 1)
        nxt = np.where(nxt == count, 0, nxt)
        return prev, nxt

    def is_left_of_center(self, points: np.ndarray, which: np.ndarray) -> np.ndarray:
        """DeepRacer's rule: nearer the inner border XOR (not counter-clockwise)."""
        d_inner = project_on_polylines(points, self.inner, which).distance
        d_outer = project_on_polylines(points, self.outer, which).distance
        return (d_inner < d_outer) ^ ~self.is_ccw[which]

    def local_width(self, proj: CenterProjection, which: np.ndarray) -> np.ndarray:
        """Distance between the inner and outer border points nearest each centre projection."""
        a = project_on_polylines(proj.nearest, self.inner, which).nearest
        b = project_on_polylines(proj.nearest, self.outer, which).nearest
        return np.linalg.norm(a - b, axis=1)

    def on_road(self, points: np.ndarray, which: np.ndarray) -> np.ndarray:
        """Whether points (N, ..., 2) lie on the road of their car's track: `which` (N,), or one
        track for all. Keeps the leading shape."""
        points = np.asarray(points, dtype=np.float64)
        flat = points.reshape(-1, 2)
        which = np.asarray(which, dtype=np.int64)
        if which.ndim == 0:
            owner = np.full(len(flat), int(which))
        else:
            owner = np.repeat(which, int(np.prod(points.shape[1:-1], dtype=np.int64)))
        inside = points_in_polygons(flat, self.shell, owner)
        inside &= ~(self.has_hole[owner] & points_in_polygons(flat, self.hole, owner))
        return inside.reshape(points.shape[:-1])
