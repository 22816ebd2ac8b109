"""Seeded procedural tracks: random closed loops that are valid roads.

`generate_track(seed)` places control points around a circle with random radial and angular
noise, fits a periodic smoothing spline through them, scales it to the requested centre-line
length and builds borders at +-width/2 (see `slipstream.tracks.builtin_design`). A layout that
is too tight (radius of curvature below width/2 + margin) or whose road comes close to itself is
rejected and redrawn from a seed derived from (seed, attempt). The same seed always gives the
same track.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import splev, splprep

from slipstream.tracks.builtin_design import (
    Curve,
    LayoutLimits,
    TrackDesignError,
    curvature_radius,
    layout_problems,
    route_from_curve,
)
from slipstream.tracks.track import Track

GENERATED_PREFIX = "generated:"
_GENERATED_NAME = re.compile(r"^generated:(\d+)$")


@dataclass(frozen=True)
class GeneratorParams:
    """Knobs of the generator (lengths in metres, angles in radians)."""

    min_points: int = 8
    max_points: int = 14
    radial_noise: float = 0.45
    """Control-point radius = 1 +- this (uniform), before scaling."""
    angle_jitter: float = 0.35
    """Control-point angle jitter as a fraction of the even spacing."""
    smoothing: float = 0.002
    """splprep smoothing factor per control point (unit-circle scale)."""
    radius_margin: float = 0.2
    """Minimum centre radius = width/2 + radius_margin."""
    clearance: float = 0.3
    """Minimum gap between borders of different parts of the road."""
    max_attempts: int = 200


DEFAULT_PARAMS = GeneratorParams()


def parse_generated_name(name: str) -> int | None:
    """The seed in a track name of the form 'generated:<seed>' (e.g. 'generated:42' -> 42), else None."""
    match = _GENERATED_NAME.match(name.strip())
    return int(match.group(1)) if match else None


def _random_curve(rng: np.random.Generator, params: GeneratorParams) -> Curve:
    k = int(rng.integers(params.min_points, params.max_points + 1))
    step = 2.0 * np.pi / k
    angles = np.arange(k) * step + rng.uniform(-params.angle_jitter, params.angle_jitter, k) * step
    radii = 1.0 + rng.uniform(-params.radial_noise, params.radial_noise, k)
    x, y = radii * np.cos(angles), radii * np.sin(angles)
    closed_x, closed_y = np.append(x, x[0]), np.append(y, y[0])
    tck, _ = splprep([closed_x, closed_y], s=params.smoothing * k, per=1, quiet=2)

    def curve(u: np.ndarray, order: int = 0) -> np.ndarray:
        return np.column_stack(splev(np.mod(u, 1.0), tck, der=order))

    return curve


def _straightest_u(curve: Curve, window: int = 41, samples: int = 2000) -> float:
    """Parameter at the middle of the least-curved stretch (where waypoint 0 goes)."""
    u = np.arange(samples) / samples
    bend = 1.0 / np.abs(curvature_radius(curve, u))
    kernel = np.ones(window) / window
    padded = np.concatenate([bend[-window:], bend, bend[:window]])
    smooth = np.convolve(padded, kernel, mode="same")[window:-window]
    return float(u[int(np.argmin(smooth))])


def generate_route(
    seed: int,
    length: float = 25.0,
    width: float = 1.07,
    params: GeneratorParams = DEFAULT_PARAMS,
) -> np.ndarray:
    """The DeepRacer route array (N, 6) of generated track `seed` (rows CCW, loop closed)."""
    if int(seed) < 0:
        raise TrackDesignError(f"seed must be a non-negative integer, got {seed}")
    if length <= 0.0 or width <= 0.0:
        raise TrackDesignError(f"length and width must be positive, got {length} and {width}")
    if length < 6.0 * width:
        raise TrackDesignError(
            f"a {length} m loop is too short for a {width} m wide road; use at least {6 * width:.1f} m"
        )
    limits = LayoutLimits(min_radius=0.5 * width + params.radius_margin, clearance=params.clearance)
    last: list[str] = []
    for attempt in range(params.max_attempts):
        rng = np.random.default_rng([int(seed), attempt])
        curve = _random_curve(rng, params)
        u = np.linspace(0.0, 1.0, 4001)
        raw_length = float(np.sum(np.linalg.norm(np.diff(curve(u, 0), axis=0), axis=1)))
        built = route_from_curve(
            curve, width, scale=length / raw_length, start_u=_straightest_u(curve)
        )
        last = layout_problems(built.route, built.min_radius, limits)
        if not last:
            return built.route
    raise TrackDesignError(
        f"no valid {length} m x {width} m track found for seed {seed} in {params.max_attempts} "
        f"attempts (last problem: {'; '.join(last)}); try a longer length or a narrower width"
    )


def generate_track(
    seed: int, length: float = 25.0, width: float = 1.07, name: str | None = None
) -> Track:
    """A valid closed CCW track of about `length` m centre line (within ~1%) and `width` m road.

    Same seed (and length, width) -> identical track. The name defaults to 'generated:<seed>'.
    """
    route = generate_route(seed, length, width)
    return Track.from_route(route, name=name if name is not None else f"{GENERATED_PREFIX}{seed}")
