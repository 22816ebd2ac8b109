"""The built-in tracks, designed here from a few control points, and the code that builds them.

A design is a list of control points (metres, counter-clockwise, point 0 = waypoint 0 on a
straight) and a road width. The track is the periodic cubic spline through the points
(chord-length parameter), resampled to about `SPACING` metres between waypoints, with the inner
and outer borders offset by +-width/2 along the spline normal. The result is a DeepRacer route
array (N, 6) [centre x, y, inner x, y, outer x, y], rows counter-clockwise, the last row repeating
the first, rounded to micrometres so the files are reproducible.

The same building blocks (`route_from_curve`, `layout_problems`) are used by the procedural
generator in `slipstream.tracks.generate`.

Regenerate the shipped files with `python -m slipstream.tracks.builtin_design` (deterministic).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline

from slipstream.tracks.geometry import signed_area
from slipstream.tracks.track import TrackError

logger = logging.getLogger(__name__)

SPACING = 0.15
"""Target distance between centre waypoints (m), as on the official tracks."""
DECIMALS = 6
"""Route coordinates are rounded to this many decimals (micrometres)."""
DENSE_SAMPLES = 20_000
"""Spline samples used to measure arc length before resampling."""

Curve = Callable[[np.ndarray, int], np.ndarray]
"""A closed plane curve: curve(u, k) is the k-th derivative (k = 0, 1, 2) at parameters u in
[0, 1), shape (len(u), 2). The curve is periodic with period 1."""


class TrackDesignError(TrackError):
    """A track design or generated layout that does not give a valid road."""


@dataclass(frozen=True)
class TrackDesign:
    """One built-in track: control points (m, CCW, point 0 on a straight) and road width (m)."""

    name: str
    control_points: tuple[tuple[float, float], ...]
    width: float
    description: str


@dataclass(frozen=True)
class LayoutLimits:
    """What a valid layout must satisfy (metres)."""

    min_radius: float
    """Smallest centre-line radius of curvature allowed."""
    clearance: float = 0.2
    """Smallest gap between the borders of two different parts of the road (and how far
    beyond the border the offset curve must still be free of folds)."""


# --------------------------------------------------------------------------- the designs

DESIGNS: tuple[TrackDesign, ...] = (
    TrackDesign(
        name="slipstream_default",
        width=1.07,
        description="teardrop loop: fast sweepers, an S-bend and one tight hairpin (R 0.73 m)",
        control_points=(
            (4.7, -0.09),  # start, on the bottom straight heading east
            (6.38, 0.01),
            (7.73, 0.53),  # long left sweeper up the right side
            (8.73, 1.57),
            (8.96, 2.92),
            (8.4, 4.07),
            (7.17, 4.8),
            (5.71, 4.9),  # top, heading west
            (4.48, 4.38),  # S-bend: left then right
            (3.47, 3.65),
            (2.35, 3.39),
            (1.34, 3.29),
            (0.55, 2.95),  # hairpin (left)
            (0.2, 2.3),
            (0.45, 1.65),
            (1.01, 1.21),  # exit, sweeping back down onto the straight
            (2.13, 0.38),
            (3.25, -0.04),
        ),
    ),
    TrackDesign(
        name="slipstream_oval",
        width=1.30,
        description="wide stadium oval for smoke tests",
        control_points=(
            (0.0, 0.0),  # start, middle of the bottom straight heading east
            (1.5, 0.0),
            (2.9, 0.3),
            (3.6, 1.5),
            (2.9, 2.7),
            (1.5, 3.0),
            (0.0, 3.0),
            (-1.5, 3.0),
            (-2.9, 2.7),
            (-3.6, 1.5),
            (-2.9, 0.3),
            (-1.5, 0.0),
        ),
    ),
    TrackDesign(
        name="slipstream_technical",
        width=1.07,
        description="technical circuit: two chicanes, a deep U-shaped dent, mixed-radius corners",
        control_points=(
            (3.5, 0.0),  # start, on the bottom straight heading east
            (5.0, 0.0),
            (6.0, 0.1),  # chicane 1: left, right
            (6.9, 0.55),
            (7.8, 0.85),
            (8.8, 0.9),
            (10.0, 1.1),  # right-hand end: long left
            (10.9, 1.9),
            (11.2, 3.1),
            (11.0, 4.4),
            (10.6, 5.6),
            (9.7, 6.5),
            (8.6, 6.8),  # top, heading west
            (7.5, 6.7),
            (6.9, 6.0),  # U-shaped dent: left down, right, right, left up
            (6.75, 5.1),
            (6.1, 4.4),
            (5.0, 4.3),
            (4.3, 4.9),
            (4.1, 5.9),
            (3.5, 6.6),
            (2.5, 6.8),
            (1.3, 6.7),
            (0.3, 6.1),  # left-hand end, heading south
            (-0.1, 5.0),
            (0.05, 4.0),  # chicane 2: left, right
            (0.6, 3.2),
            (0.8, 2.3),
            (0.9, 1.2),
            (1.3, 0.3),  # left onto the straight
            (2.0, 0.0),
        ),
    ),
)

DESIGN_LIMITS = LayoutLimits(min_radius=0.6, clearance=0.2)
"""Limits every built-in design must meet (the hairpin of slipstream_default is the tightest)."""


# --------------------------------------------------------------------------- curves


def spline_through_points(control_points: np.ndarray) -> Curve:
    """Periodic cubic spline through closed control points (K, 2), chord-length parameter.

    The parameter is rescaled to [0, 1); u = 0 is control point 0.
    """
    pts = np.asarray(control_points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 4:
        raise TrackDesignError(f"need at least 4 control points of shape (K, 2), got {pts.shape}")
    if np.array_equal(pts[0], pts[-1]):
        pts = pts[:-1]
    loop = np.vstack([pts, pts[:1]])
    chord = np.linalg.norm(np.diff(loop, axis=0), axis=1)
    if np.any(chord <= 0.0):
        raise TrackDesignError("control points must be distinct (two consecutive points coincide)")
    t = np.concatenate([[0.0], np.cumsum(chord)])
    t /= t[-1]
    spline = CubicSpline(t, loop, bc_type="periodic", axis=0)

    def curve(u: np.ndarray, k: int = 0) -> np.ndarray:
        return spline(np.mod(u, 1.0), k)

    return curve


def curvature_radius(curve: Curve, u: np.ndarray) -> np.ndarray:
    """Signed radius of curvature (m) at parameters u: positive where the curve turns left."""
    d1 = curve(u, 1)
    d2 = curve(u, 2)
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    speed3 = np.linalg.norm(d1, axis=1) ** 3
    with np.errstate(divide="ignore"):
        return np.where(cross != 0.0, speed3 / cross, np.inf)


def curve_length(curve: Curve, samples: int = DENSE_SAMPLES) -> float:
    """Length of the closed curve (m), measured on a dense polyline."""
    u = np.linspace(0.0, 1.0, samples + 1)
    return float(np.sum(np.linalg.norm(np.diff(curve(u, 0), axis=0), axis=1)))


@dataclass(frozen=True)
class BuiltRoute:
    """A route array and the curve facts it was built from."""

    route: np.ndarray
    """(N+1, 6) DeepRacer route, rows CCW, last row = first row."""
    min_radius: float
    """Smallest centre-line radius of curvature at the waypoints (m, unsigned)."""
    curve_length: float
    """Length of the smooth curve (m) (the polyline is a little shorter)."""


def route_from_curve(
    curve: Curve,
    width: float,
    *,
    scale: float = 1.0,
    start_u: float = 0.0,
    spacing: float = SPACING,
) -> BuiltRoute:
    """Resample a closed CCW curve to ~`spacing` m steps and offset the borders by +-width/2.

    `scale` multiplies the curve's coordinates; `start_u` is the parameter of waypoint 0.
    The centre point of each row is the exact midpoint of its inner and outer points (before
    rounding); the inner border is on the left (the curve must run counter-clockwise).
    """
    if width <= 0.0:
        raise TrackDesignError(f"road width must be positive, got {width}")
    u_dense = np.linspace(0.0, 1.0, DENSE_SAMPLES + 1)
    p_dense = curve(u_dense + start_u, 0) * scale
    if signed_area(p_dense[:-1]) <= 0.0:
        raise TrackDesignError(
            "the curve runs clockwise; give the control points in counter-clockwise order"
        )
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p_dense, axis=0), axis=1))])
    length = float(arc[-1])
    n = max(8, round(length / spacing))
    u = start_u + np.interp(np.arange(n) * (length / n), arc, u_dense)
    centre = curve(u, 0) * scale
    tangent = curve(u, 1)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    left = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    inner = centre + 0.5 * width * left
    outer = centre - 0.5 * width * left
    body = np.round(np.hstack([centre, inner, outer]), DECIMALS) + 0.0  # +0.0 drops -0.0
    route = np.vstack([body, body[:1]])
    radius = np.abs(curvature_radius(curve, u)) * scale
    return BuiltRoute(route=route, min_radius=float(np.min(radius)), curve_length=length)


# --------------------------------------------------------------------------- validation


def _segments_cross(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    """Whether segments a (P,2) cross segments b (Q,2): (P, Q) bool, touching counts."""

    def orient(p, q, r):
        return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (
            r[..., 0] - p[..., 0]
        )

    A0, A1 = a0[:, None, :], a1[:, None, :]
    B0, B1 = b0[None, :, :], b1[None, :, :]
    o1 = orient(A0, A1, B0)
    o2 = orient(A0, A1, B1)
    o3 = orient(B0, B1, A0)
    o4 = orient(B0, B1, A1)
    return (o1 * o2 <= 0.0) & (o3 * o4 <= 0.0)


def ring_self_crossings(ring: np.ndarray) -> int:
    """Number of pairs of non-adjacent edges of a closed ring (M+1, 2; last = first) that touch."""
    a0, a1 = ring[:-1], ring[1:]
    hits = _segments_cross(a0, a1, a0, a1)
    m = len(a0)
    i, j = np.triu_indices(m, k=2)
    adjacent = (i == 0) & (j == m - 1)
    return int(np.count_nonzero(hits[i, j] & ~adjacent))


def rings_cross(ring_a: np.ndarray, ring_b: np.ndarray) -> bool:
    """Whether two closed rings (last row = first) touch or cross anywhere."""
    return bool(np.any(_segments_cross(ring_a[:-1], ring_a[1:], ring_b[:-1], ring_b[1:])))


def layout_problems(route: np.ndarray, min_radius: float, limits: LayoutLimits) -> list[str]:
    """What is wrong with a closed CCW route built by `route_from_curve` (empty list = valid).

    Checks: the centre's smallest radius of curvature (which, above width/2, also rules out
    folded borders); the road keeps `limits.clearance` from other parts of itself
    (`other_part_gaps`: centre lines of two parts of the lap at least a road width plus the
    clearance apart); then, if those pass, inner and outer borders are simple and do not touch.
    """
    problems: list[str] = []
    centre, inner, outer = route[:, 0:2], route[:, 2:4], route[:, 4:6]
    if min_radius < limits.min_radius:
        problems.append(
            f"tightest centre-line radius {min_radius:.3f} m is below {limits.min_radius:.3f} m"
        )
    if signed_area(centre) <= 0.0:
        problems.append("centre line does not run counter-clockwise")
    width = float(np.linalg.norm(inner - outer, axis=1).max())
    gaps = other_part_gaps(centre, width)
    short = gaps < width + limits.clearance
    if np.any(short):
        worst = int(np.argmin(gaps))
        problems.append(
            f"road comes within {limits.clearance:.2f} m of another part of itself "
            f"near waypoint {worst} ({np.count_nonzero(short)} waypoints affected)"
        )
    if problems:  # the border checks below cost O(M^2) and only matter for a layout that passed
        return problems
    for label, ring in (("inner", inner), ("outer", outer)):
        crossings = ring_self_crossings(ring)
        if crossings:
            problems.append(f"{label} border crosses itself ({crossings} edge pairs)")
    if rings_cross(inner, outer):
        problems.append("inner and outer borders touch or cross")
    return problems


def other_part_gaps(centre: np.ndarray, width: float) -> np.ndarray:
    """(M,) distance from each centre waypoint (closed ring, last = first) to the nearest centre
    point of *another* part of the lap, for a road `width` m wide.

    Points closer along the line than a tightest possible hairpin (a half-turn at radius
    width/2) plus two road widths for its legs to open up are the waypoint's own part of the
    road, however tight its corner, and do not count.
    """
    points = centre[:-1]
    step = np.linalg.norm(np.diff(centre, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(step[:-1])])
    length = float(step.sum())
    along = np.abs(arc[:, None] - arc[None, :])
    along = np.minimum(along, length - along)
    dist = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=2)
    dist[along <= np.pi * 0.5 * width + 2.0 * width] = np.inf
    return dist.min(axis=1)


# --------------------------------------------------------------------------- build and save


def build_design(design: TrackDesign) -> BuiltRoute:
    """The route of one design; raises TrackDesignError when it breaks `DESIGN_LIMITS`."""
    built = route_from_curve(spline_through_points(np.array(design.control_points)), design.width)
    problems = layout_problems(built.route, built.min_radius, DESIGN_LIMITS)
    if problems:
        raise TrackDesignError(f"design {design.name!r} is invalid: " + "; ".join(problems))
    return built


def design_by_name(name: str) -> TrackDesign:
    """The design of a built-in track by name."""
    for design in DESIGNS:
        if design.name == name:
            return design
    raise TrackDesignError(
        f"no built-in design named {name!r}; choose from {', '.join(d.name for d in DESIGNS)}"
    )


def write_builtin_tracks(dest: Path | None = None) -> list[Path]:
    """Build every design and save `<dest>/<name>.npy` (default: the package's data folder)."""
    from slipstream.tracks.registry import BUILTIN_DIR

    folder = Path(dest) if dest is not None else BUILTIN_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for design in DESIGNS:
        built = build_design(design)
        path = folder / f"{design.name}.npy"
        np.save(path, built.route, allow_pickle=False)
        logger.info(
            "%s: %d waypoints, %.2f m, width %.2f m, min radius %.2f m -> %s",
            design.name,
            len(built.route) - 1,
            float(np.sum(np.linalg.norm(np.diff(built.route[:, :2], axis=0), axis=1))),
            design.width,
            built.min_radius,
            path,
        )
        written.append(path)
    return written


def main() -> None:
    """Regenerate src/slipstream/tracks/data/*.npy from the designs."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_builtin_tracks()


if __name__ == "__main__":
    main()
