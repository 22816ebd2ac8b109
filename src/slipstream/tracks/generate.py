"""Seeded procedural tracks that span what the official DeepRacer tracks span.

A generated track is built the way the official ones are drawn: straights joined by circular
corners. `generate_route(seed)` first draws the track's size from the seed (centre-line length
15-90 m and road width 0.61-1.07 m, each spread as the official tracks' are; counter-clockwise
or clockwise; `TrackSpec`), then a layout:

1. a random star-shaped polygon (corners at jittered angles around a centre, each at its own
   radius, the whole stretched along one axis), scaled to the length;
2. each polygon corner rounded by a circular arc of its own radius, drawn log-uniformly between
   the tightest the road allows (width/2 + margin, at least 0.45 m: hairpins) and a sweeping
   bend; the arc's tangent points, a few points on the arc and points spaced along each
   straight become the control points of a periodic cubic spline (`slipstream.tracks.builtin_design`);
3. the spline resampled to waypoints with borders at +-width/2, waypoint 0 in the middle of the
   straightest stretch (the start line), and checked: no corner tighter than the road allows, no
   border crossing itself or the other, no part of the road closer than `clearance` to another.

A layout that fails is redrawn from (seed, attempt); the size stays. The same seed always gives
the same track. docs/tracks.md compares the spread of generated and official tracks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from slipstream.tracks.builtin_design import (
    Curve,
    LayoutLimits,
    TrackDesignError,
    curvature_radius,
    curve_length,
    layout_problems,
    route_from_curve,
)
from slipstream.tracks.track import Track

GENERATED_PREFIX = "generated:"
_GENERATED_NAME = re.compile(r"^generated:(\d+)$")


@dataclass(frozen=True)
class GeneratorParams:
    """Knobs of the generator (lengths in metres, angles in radians).

    The sizes are drawn as those of the official tracks are spread (docs/tracks.md): centre
    lines of 16-101 m (10th-90th percentile 19-69 m), roads 1.06-1.07 m wide on three quarters
    of them and 0.61-0.95 m on most others.
    """

    length_quantiles: tuple[tuple[float, float], ...] = (
        (0.0, 15.0),
        (0.1, 19.5),
        (0.2, 24.3),
        (0.3, 40.6),
        (0.4, 45.1),
        (0.5, 48.8),
        (0.6, 58.6),
        (0.7, 60.1),
        (0.8, 62.1),
        (0.9, 68.7),
        (1.0, 90.0),
    )
    """(share, centre-line length in m): the length is drawn so that this share of tracks is
    shorter, linear in between. The inner points are the official tracks' deciles (the 134
    closed ones, docs/tracks.md): a fifth of them are short 16-25 m loops (reinvent_base's era)
    and most of the rest 40-70 m. The ends, 15 and 90 m, bound every generated track."""
    width_quantiles: tuple[tuple[float, float], ...] = (
        (0.0, 0.61),
        (0.1, 0.66),
        (0.11, 0.76),
        (0.165, 0.77),
        (0.22, 0.95),
        (0.25, 1.06),
        (1.0, 1.07),
    )
    """(share, road width in m), drawn like `length_quantiles`. The official closed tracks:
    a tenth are 0.61-0.66 m roads (the 2019 city and summit tracks), 7 % are 0.76 m
    (reinvent_base's family, 2024's championship), 5 % are 0.91-0.95 m, three quarters the
    standard 1.06-1.07 m; the few wider ones (up to 1.44 m) are left out."""
    clockwise_share: float = 0.5
    metres_per_corner: tuple[float, float] = (3.0, 2.0)
    """About one polygon corner per this many metres of centre line (at least `min_corners`), from
    the gentlest track to the twistiest (each track's twistiness, `TrackSpec.twist`, is drawn
    uniform in 0-1 and picks a point between the two ends of this and the next two knobs)."""
    min_corners: int = 4
    max_corners: int = 18
    pinch_share: tuple[float, float] = (0.3, 0.6)
    """Share of polygon corners pulled deep inside the outline (radius U(0.2, 0.55) instead of
    U(0.7, 1)), gentlest to twistiest: the pinches make hairpins and S-bends; without them the
    outline is a convex oval."""
    max_stretch: float = 1.8
    """The outline is stretched along a random axis by U(1, max_stretch) (official tracks are
    wider than tall, by up to ~2)."""
    angle_jitter: float = 0.3
    """Corner angle jitter as a fraction of the even spacing."""
    min_corner_radius: float = 0.45
    """No centre-line radius is tighter than this, however narrow the road (the tightest
    official corners, on 1.07 m roads)."""
    radius_margin: float = 0.05
    """The tightest centre-line radius allowed is width/2 + radius_margin, and at least
    `min_corner_radius` (official tracks go down to 0.45 m centre radius on 1.07 m roads, below
    width/2)."""
    min_corner_arc: float = 0.4
    max_corner_arc: tuple[float, float] = (9.0, 3.0)
    """Each corner bends along an arc of length U(min_corner_arc, max_corner_arc) m (the upper end
    from the gentlest track to the twistiest), so its radius is that over its turning angle (at
    least the tightest allowed, at most `max_corner_radius`, and no more than the neighbouring
    straights leave room for): hairpins come out tight and small kinks long sweeping bends, as
    on the official tracks. With `metres_per_corner` and `pinch_share` it sets how often a lap
    turns tight and how much of it is straight (docs/tracks.md, "Generated tracks")."""
    max_corner_radius: float = 10.0
    clearance: float = 0.3
    """Minimum gap between borders of different parts of the road."""
    max_attempts: int = 300


DEFAULT_PARAMS = GeneratorParams()


@dataclass(frozen=True)
class TrackSpec:
    """The size and direction of one generated track."""

    length: float
    width: float
    clockwise: bool
    twist: float = 0.5
    """0 for the gentlest layout the generator draws, 1 for the twistiest (`GeneratorParams`)."""


def parse_generated_name(name: str) -> int | None:
    """The seed in a track name of the form 'generated:<seed>' (e.g. 'generated:42' -> 42), else None."""
    match = _GENERATED_NAME.match(name.strip())
    return int(match.group(1)) if match else None


def _through_quantiles(u: float, quantiles: tuple[tuple[float, float], ...]) -> float:
    """The value below which a share `u` lies, linear between the (share, value) points."""
    shares, values = zip(*quantiles, strict=True)
    return float(np.interp(u, shares, values))


def draw_spec(seed: int, params: GeneratorParams = DEFAULT_PARAMS) -> TrackSpec:
    """The length, width and direction of generated track `seed` (drawn from the seed alone)."""
    rng = np.random.default_rng([int(seed), 0xDEE9])
    length = _through_quantiles(rng.uniform(), params.length_quantiles)
    width = _through_quantiles(rng.uniform(), params.width_quantiles)
    clockwise = bool(rng.uniform() < params.clockwise_share)
    twist = float(rng.uniform())
    return TrackSpec(
        length=round(length, 2), width=round(width, 3), clockwise=clockwise, twist=twist
    )


def _tightest_radius(width: float, params: GeneratorParams) -> float:
    """The tightest centre-line radius a corner of a road `width` m wide may have."""
    return max(0.5 * width + params.radius_margin, params.min_corner_radius)


def _between(ends: tuple[float, float], twist: float) -> float:
    """The knob's value for a track of twistiness `twist` (0: the first end, 1: the second)."""
    return ends[0] + (ends[1] - ends[0]) * twist


def _outline(
    rng: np.random.Generator, corners: int, pinch_share: float, params: GeneratorParams
) -> np.ndarray:
    """A random star-shaped polygon (K, 2), counter-clockwise, of unit-ish size."""
    step = 2.0 * np.pi / corners
    jitter = rng.uniform(-params.angle_jitter, params.angle_jitter, corners) * step
    angles = np.arange(corners) * step + jitter
    pinch = rng.uniform(size=corners) < pinch_share
    radii = np.where(pinch, rng.uniform(0.2, 0.55, corners), rng.uniform(0.7, 1.0, corners))
    points = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])
    axis = rng.uniform(0.0, np.pi)
    c, s = math.cos(axis), math.sin(axis)
    rotate = np.array([[c, -s], [s, c]])
    stretch = np.diag([rng.uniform(1.0, params.max_stretch), 1.0])
    return points @ rotate.T @ stretch @ rotate


def turn_angles(polygon: np.ndarray) -> np.ndarray:
    """Signed turning angle (rad, left positive) at each corner of a closed polygon (K, 2)."""
    d_in = polygon - np.roll(polygon, 1, axis=0)
    d_out = np.roll(d_in, -1, axis=0)
    cross = d_in[:, 0] * d_out[:, 1] - d_in[:, 1] * d_out[:, 0]
    return np.arctan2(cross, np.einsum("ij,ij->i", d_in, d_out))


def _rounded_polygon(polygon: np.ndarray, radii: np.ndarray, tightest: float) -> Curve | None:
    """The closed curve of straights along the polygon's edges joined by a circular arc at each
    corner (radius `radii[i]`, reduced where its rounding would take more than 45 % of a
    neighbouring edge). None if a radius would then be tighter than `tightest`.

    The curve is parametrised by arc length (u = s / length); it has its exact radius on every
    arc and is straight between them.
    """
    d_in = polygon - np.roll(polygon, 1, axis=0)
    len_in = np.linalg.norm(d_in, axis=1)
    if np.any(len_in <= 0.0):
        return None
    len_out = np.roll(len_in, -1)
    u_in = d_in / len_in[:, None]
    turn = turn_angles(polygon)
    half_turn = np.tan(0.5 * np.abs(turn))
    room = 0.45 * np.minimum(len_in, len_out)
    radii = np.minimum(radii, room / np.maximum(half_turn, 1e-9))
    if np.any(radii < tightest):
        return None
    tangent = radii * half_turn
    # pieces: arc at corner i (from its entry tangent point), then the straight to corner i+1
    start = polygon - tangent[:, None] * u_in
    heading = np.arctan2(u_in[:, 1], u_in[:, 0])
    arc_len = radii * np.abs(turn)
    straight_len = len_out - tangent - np.roll(tangent, -1)
    k = len(polygon)
    piece_start = np.empty((2 * k, 2))
    piece_heading = np.empty(2 * k)
    piece_len = np.empty(2 * k)
    piece_kappa = np.empty(2 * k)
    piece_start[0::2] = start
    piece_heading[0::2] = heading
    piece_len[0::2] = arc_len
    piece_kappa[0::2] = np.sign(turn) / radii
    piece_start[1::2] = polygon + tangent[:, None] * np.roll(u_in, -1, axis=0)
    piece_heading[1::2] = heading + turn
    piece_len[1::2] = straight_len
    piece_kappa[1::2] = 0.0
    offset = np.concatenate([[0.0], np.cumsum(piece_len)])
    total = float(offset[-1])

    def curve(u: np.ndarray, order: int = 0) -> np.ndarray:
        s = np.mod(np.asarray(u, dtype=np.float64), 1.0) * total
        i = np.clip(np.searchsorted(offset, s, side="right") - 1, 0, 2 * k - 1)
        ds = s - offset[i]
        kappa, h0 = piece_kappa[i], piece_heading[i]
        h = h0 + kappa * ds
        if order == 1:
            return total * np.column_stack([np.cos(h), np.sin(h)])
        if order == 2:
            return total**2 * kappa[:, None] * np.column_stack([-np.sin(h), np.cos(h)])
        straight = np.abs(kappa) < 1e-12
        safe = np.where(straight, 1.0, kappa)
        dx = np.where(straight, ds * np.cos(h0), (np.sin(h) - np.sin(h0)) / safe)
        dy = np.where(straight, ds * np.sin(h0), (np.cos(h0) - np.cos(h)) / safe)
        return piece_start[i] + np.column_stack([dx, dy])

    return curve


def _straightest_u(curve: Curve, window: int = 41, samples: int = 2000) -> float:
    """Parameter at the middle of the least-curved stretch (where waypoint 0 goes)."""
    u = np.arange(samples) / samples
    bend = 1.0 / np.abs(curvature_radius(curve, u))
    kernel = np.ones(window) / window
    padded = np.concatenate([bend[-window:], bend, bend[:window]])
    smooth = np.convolve(padded, kernel, mode="same")[window:-window]
    return float(u[int(np.argmin(smooth))])


def _draw_layout(
    rng: np.random.Generator, spec: TrackSpec, params: GeneratorParams
) -> Curve | None:
    """One random layout of about `spec.length` m (a closed CCW curve in metres), or None."""
    corners = int(
        np.clip(
            round(
                spec.length / _between(params.metres_per_corner, spec.twist) * rng.uniform(0.7, 1.3)
            ),
            params.min_corners,
            params.max_corners,
        )
    )
    outline = _outline(rng, corners, _between(params.pinch_share, spec.twist), params)
    tightest = _tightest_radius(spec.width, params)
    arcs = rng.uniform(params.min_corner_arc, _between(params.max_corner_arc, spec.twist), corners)
    radii = np.clip(arcs / np.abs(turn_angles(outline)), tightest, params.max_corner_radius)
    perimeter = float(np.sum(np.linalg.norm(outline - np.roll(outline, 1, axis=0), axis=1)))
    scale = spec.length / perimeter
    for _ in range(4):  # rounding shortens the loop: rescale the outline (not the radii)
        curve = _rounded_polygon(outline * scale, radii, tightest)
        if curve is None:
            return None
        scale *= spec.length / curve_length(curve, samples=4000)
    return curve


def generate_route(
    seed: int,
    length: float | None = None,
    width: float | None = None,
    clockwise: bool | None = None,
    params: GeneratorParams = DEFAULT_PARAMS,
) -> np.ndarray:
    """The DeepRacer route array (N, 6) of generated track `seed`, loop closed (last row = first).

    Length, width and direction not given are drawn from the seed (`draw_spec`). Rows run
    counter-clockwise, or clockwise for a clockwise track (the inner border stays in columns 2-3,
    as in the official files).
    """
    if int(seed) < 0:
        raise TrackDesignError(f"seed must be a non-negative integer, got {seed}")
    drawn = draw_spec(seed, params)
    spec = TrackSpec(
        length=drawn.length if length is None else float(length),
        width=drawn.width if width is None else float(width),
        clockwise=drawn.clockwise if clockwise is None else bool(clockwise),
        twist=drawn.twist,
    )
    if spec.length <= 0.0 or spec.width <= 0.0:
        raise TrackDesignError(
            f"length and width must be positive, got {spec.length} and {spec.width}"
        )
    if spec.length < 12.0 * spec.width:
        raise TrackDesignError(
            f"a {spec.length} m loop is too short for a {spec.width} m wide road; "
            f"use at least {12 * spec.width:.1f} m"
        )
    limits = LayoutLimits(
        min_radius=_tightest_radius(spec.width, params) - 0.02, clearance=params.clearance
    )
    last: list[str] = ["no layout fitted its corners"]
    for attempt in range(params.max_attempts):
        rng = np.random.default_rng([int(seed), attempt])
        # a layout this twisty may not fit its length: each failed attempt eases the twist
        eased = replace(spec, twist=spec.twist * (1.0 - attempt / params.max_attempts))
        curve = _draw_layout(rng, eased, params)
        if curve is None:
            continue
        built = route_from_curve(curve, spec.width, scale=1.0, start_u=_straightest_u(curve))
        last = layout_problems(built.route, built.min_radius, limits)
        if not last:
            route = built.route
            return route[::-1].copy() if spec.clockwise else route
    raise TrackDesignError(
        f"no valid {spec.length} m x {spec.width} m track found for seed {seed} in "
        f"{params.max_attempts} attempts (last problem: {'; '.join(last)}); "
        "try a longer length or a narrower width"
    )


def generate_track(
    seed: int,
    length: float | None = None,
    width: float | None = None,
    name: str | None = None,
    clockwise: bool | None = None,
) -> Track:
    """A valid closed track of about `length` m centre line (within ~1%) and `width` m road
    (both drawn from the seed when not given).

    Same seed (and arguments) -> identical track. The name defaults to 'generated:<seed>'.
    """
    route = generate_route(seed, length, width, clockwise)
    return Track.from_route(route, name=name if name is not None else f"{GENERATED_PREFIX}{seed}")
