"""Batched plane geometry on polylines: pure numpy functions over arrays of points.

Every function takes points of shape (N, 2) and works on all of them at once. Large inputs are
processed in chunks so memory stays bounded (N x M temporaries, M = polyline vertices).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

_CHUNK_ELEMENTS = 2_000_000  # points x segments per chunk


class PolylineProjection(NamedTuple):
    """Nearest point on a polyline for each query point."""

    nearest: np.ndarray  # (N, 2) closest point on the polyline
    distance: np.ndarray  # (N,) Euclidean distance to it
    segment: np.ndarray  # (N,) index i of the segment [vertex i, vertex i+1]
    fraction: np.ndarray  # (N,) position along that segment, 0..1


def _chunks(n_points: int, n_segments: int):
    step = max(1, _CHUNK_ELEMENTS // max(1, n_segments))
    for start in range(0, n_points, step):
        yield slice(start, min(n_points, start + step))


def project_on_polyline(points: np.ndarray, vertices: np.ndarray) -> PolylineProjection:
    """Project points (N,2) onto the polyline through vertices (M,2), M >= 2.

    Ties between segments go to the lowest segment index (as a scan from vertex 0 would, like
    shapely's `project`). A point that projects onto a vertex (outside a corner) is reported on
    the segment that ends there, at fraction exactly 1, whichever of the two segments rounding
    made nearer, and its nearest point is the vertex itself.
    Zero-length segments are allowed; they behave like a single vertex.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    vertices = np.asarray(vertices, dtype=np.float64)
    a = vertices[:-1]
    ab = vertices[1:] - a
    ab_len2 = np.einsum("ij,ij->i", ab, ab)
    safe_len2 = np.where(ab_len2 > 0.0, ab_len2, 1.0)
    n = len(points)
    nearest = np.empty((n, 2))
    distance = np.empty(n)
    segment = np.empty(n, dtype=np.int64)
    fraction = np.empty(n)
    for sl in _chunks(n, len(a)):
        p = points[sl]
        ap_x = p[:, None, 0] - a[None, :, 0]
        ap_y = p[:, None, 1] - a[None, :, 1]
        t = (ap_x * ab[None, :, 0] + ap_y * ab[None, :, 1]) / safe_len2
        np.clip(t, 0.0, 1.0, out=t)
        dx = ap_x - t * ab[None, :, 0]
        dy = ap_y - t * ab[None, :, 1]
        d2 = dx * dx + dy * dy
        best = np.argmin(d2, axis=1)
        rows = np.arange(len(p))
        tb = t[rows, best]
        distance[sl] = np.sqrt(d2[rows, best])
        on_vertex = (tb <= 0.0) & (best > 0)
        on_vertex[on_vertex] = t[rows[on_vertex], best[on_vertex] - 1] >= 1.0
        best = best - on_vertex
        tb = np.where(on_vertex, 1.0, tb)
        segment[sl] = best
        fraction[sl] = tb
        nearest[sl] = np.where(
            (tb >= 1.0)[:, None], vertices[best + 1], a[best] + tb[:, None] * ab[best]
        )
    return PolylineProjection(nearest, distance, segment, fraction)


def distance_to_polyline(points: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Distance from each point (N,2) to the polyline (M,2)."""
    return project_on_polyline(points, vertices).distance


def points_in_polygon(points: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test of points (N,2) against a closed ring (M,2).

    The ring may or may not repeat its first vertex at the end. Points exactly on an edge may
    go either way (measure zero for the simulator).
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    ring = np.asarray(ring, dtype=np.float64)
    x0, y0 = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    inside = np.zeros(len(points), dtype=bool)
    dy = y1 - y0
    safe_dy = np.where(dy != 0.0, dy, 1.0)
    for sl in _chunks(len(points), len(ring)):
        px = points[sl, 0][:, None]
        py = points[sl, 1][:, None]
        straddles = (y0[None, :] > py) != (y1[None, :] > py)
        x_cross = x0[None, :] + (py - y0[None, :]) * (x1 - x0)[None, :] / safe_dy[None, :]
        crossings = straddles & (px < x_cross)
        inside[sl] = (np.count_nonzero(crossings, axis=1) % 2) == 1
    return inside


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
