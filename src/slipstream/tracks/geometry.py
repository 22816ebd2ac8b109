"""Batched plane geometry on polylines: pure functions over arrays of points.

Every function takes points of shape (N, 2) and works on all of them at once: against one
polyline, or each point against its own (`Polylines`: several tracks' lines in one array, for a
batch of cars on different tracks). The two kernels (projection, point in polygon) are numba
loops over points and segments, with no (N, M) temporaries.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np


class PolylineProjection(NamedTuple):
    """Nearest point on a polyline for each query point."""

    nearest: np.ndarray  # (N, 2) closest point on the polyline
    distance: np.ndarray  # (N,) Euclidean distance to it
    segment: np.ndarray  # (N,) index i of the segment [vertex i, vertex i+1]
    fraction: np.ndarray  # (N,) position along that segment, 0..1


class Polylines(NamedTuple):
    """Several polylines (or rings) in one array: polyline k is `vertices[start[k]:start[k] +
    count[k]]`. Queries take one polyline index per point, so a batch of cars on different
    tracks is answered in one call."""

    vertices: np.ndarray  # (V, 2) float64, all polylines one after the other
    start: np.ndarray  # (K,) int64
    count: np.ndarray  # (K,) int64, vertices of each (>= 2)

    @classmethod
    def of(cls, polylines: list[np.ndarray]) -> Polylines:
        arrays = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polylines]
        count = np.array([len(p) for p in arrays], dtype=np.int64)
        start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        return cls(np.ascontiguousarray(np.vstack(arrays)), start, count)


@numba.njit(cache=True)
def _project_kernel(points, vertices, start, count, which, nearest, distance, segment, fraction):
    for i in range(points.shape[0]):
        s0 = start[which[i]]
        m = count[which[i]]
        px, py = points[i, 0], points[i, 1]
        best_d2 = np.inf
        best_j = 0
        best_t = 0.0
        for j in range(m - 1):
            ax, ay = vertices[s0 + j, 0], vertices[s0 + j, 1]
            abx, aby = vertices[s0 + j + 1, 0] - ax, vertices[s0 + j + 1, 1] - ay
            len2 = abx * abx + aby * aby
            apx, apy = px - ax, py - ay
            t = (apx * abx + apy * aby) / (len2 if len2 > 0.0 else 1.0)
            t = min(max(t, 0.0), 1.0)
            dx, dy = apx - t * abx, apy - t * aby
            d2 = dx * dx + dy * dy
            if d2 < best_d2:
                best_d2, best_j, best_t = d2, j, t
        distance[i] = np.sqrt(best_d2)
        if best_t <= 0.0 and best_j > 0:  # on a vertex: report it at the end of the earlier segment
            ax, ay = vertices[s0 + best_j - 1, 0], vertices[s0 + best_j - 1, 1]
            abx, aby = vertices[s0 + best_j, 0] - ax, vertices[s0 + best_j, 1] - ay
            len2 = abx * abx + aby * aby
            t_prev = ((px - ax) * abx + (py - ay) * aby) / (len2 if len2 > 0.0 else 1.0)
            if t_prev >= 1.0:
                best_j -= 1
                best_t = 1.0
        segment[i] = best_j
        fraction[i] = best_t
        if best_t >= 1.0:
            nearest[i, 0] = vertices[s0 + best_j + 1, 0]
            nearest[i, 1] = vertices[s0 + best_j + 1, 1]
        else:
            ax, ay = vertices[s0 + best_j, 0], vertices[s0 + best_j, 1]
            nearest[i, 0] = ax + best_t * (vertices[s0 + best_j + 1, 0] - ax)
            nearest[i, 1] = ay + best_t * (vertices[s0 + best_j + 1, 1] - ay)


def project_on_polylines(
    points: np.ndarray, polylines: Polylines, which: np.ndarray
) -> PolylineProjection:
    """Project each point (N,2) onto its own polyline, `polylines` number `which[i]`.

    Ties between segments go to the lowest segment index (as a scan from vertex 0 would, like
    shapely's `project`). A point that projects onto a vertex (outside a corner) is reported on
    the segment that ends there, at fraction exactly 1, whichever of the two segments rounding
    made nearer, and its nearest point is the vertex itself.
    Zero-length segments are allowed; they behave like a single vertex.
    """
    points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(points)
    which = np.broadcast_to(np.asarray(which, dtype=np.int64), (n,))
    nearest = np.empty((n, 2))
    distance = np.empty(n)
    segment = np.empty(n, dtype=np.int64)
    fraction = np.empty(n)
    _project_kernel(
        points, polylines.vertices, polylines.start, polylines.count, which,
        nearest, distance, segment, fraction,
    )  # fmt: skip
    return PolylineProjection(nearest, distance, segment, fraction)


def project_on_polyline(points: np.ndarray, vertices: np.ndarray) -> PolylineProjection:
    """Project points (N,2) onto the polyline through vertices (M,2), M >= 2 (the rules of
    `project_on_polylines`)."""
    return project_on_polylines(points, Polylines.of([vertices]), 0)


@numba.njit(cache=True)
def _inside_kernel(points, vertices, start, count, which, inside):
    for i in range(points.shape[0]):
        s0 = start[which[i]]
        m = count[which[i]]
        px, py = points[i, 0], points[i, 1]
        crossings = 0
        for j in range(m):
            x0, y0 = vertices[s0 + j, 0], vertices[s0 + j, 1]
            k = s0 + (j + 1) % m
            x1, y1 = vertices[k, 0], vertices[k, 1]
            if (y0 > py) != (y1 > py):
                if px < x0 + (py - y0) * (x1 - x0) / (y1 - y0):
                    crossings += 1
        inside[i] = crossings % 2 == 1


def points_in_polygons(points: np.ndarray, rings: Polylines, which: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test of each point (N,2) against its own ring, `rings` number
    `which[i]`. A ring may or may not repeat its first vertex at the end. Points exactly on an
    edge may go either way (measure zero for the simulator)."""
    points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(points)
    which = np.broadcast_to(np.asarray(which, dtype=np.int64), (n,))
    inside = np.empty(n, dtype=np.bool_)
    _inside_kernel(points, rings.vertices, rings.start, rings.count, which, inside)
    return inside


def points_in_polygon(points: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test of points (N,2) against one closed ring (M,2)."""
    return points_in_polygons(points, Polylines.of([ring]), 0)


def signed_area(ring: np.ndarray) -> float:
    """Shoelace area of a ring (positive when the vertices run counter-clockwise)."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def cumulative_length(vertices: np.ndarray) -> np.ndarray:
    """Arc length at each vertex of a polyline, starting at 0."""
    seg = np.linalg.norm(np.diff(vertices, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def wrap_degrees(angle_deg: np.ndarray) -> np.ndarray:
    """Wrap angles to (-180, 180]."""
    a = np.mod(np.asarray(angle_deg, dtype=np.float64) + 180.0, 360.0) - 180.0
    return np.where(a == -180.0, 180.0, a)
