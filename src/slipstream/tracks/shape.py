"""What a track's shape is like, in numbers a racer reads: length, width, tightest corner, how
much of the lap is straight. Used to compare generated tracks with the official ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slipstream.tracks.track import Track

SAMPLE_SPACING = 0.25
"""Centre-line resampling step (m) before measuring curvature (official waypoints are 0.15-0.6 m
apart, so curvature is measured on an even grid, the same for every track)."""
CURVATURE_WINDOW = 1.0
"""Curvature = heading change over this many metres of centre line, divided by it."""
STRAIGHT_CURVATURE = 0.1
"""Centre line bending less than this (rad/m; radius over 10 m) counts as straight."""
TIGHT_RADIUS = 0.8
"""A corner whose centre radius falls below this (m) counts as tight: hairpins and the slow
corners where a car coming off a straight must brake hardest."""
S_BEND_REACH = 3.0
S_BEND_RADIUS = 1.5
"""A tight corner is an S-bend when within `S_BEND_REACH` m after it the road bends the other
way tighter than `S_BEND_RADIUS` m."""


@dataclass(frozen=True)
class TrackShape:
    name: str
    length: float
    """Centre-line length (m)."""
    width: float
    """Median road width (m)."""
    tightest_radius: float
    """Smallest radius of the centre line (m), over `CURVATURE_WINDOW`."""
    straight_share: float
    """Share of the lap bending less than `STRAIGHT_CURVATURE`."""
    tight_corners: float
    """Tight corners (`TIGHT_RADIUS`) per 10 m of lap."""
    s_bends: float
    """Tight corners turning straight into a bend the other way (`S_BEND_REACH`) per 10 m."""
    clockwise: bool


def signed_curvature(track: Track) -> np.ndarray:
    """Curvature (rad/m, left turns positive) of a closed track's centre line every
    `SAMPLE_SPACING` m: the heading change over the next `CURVATURE_WINDOW` m, divided by it."""
    s = np.arange(0.0, track.length, SAMPLE_SPACING)
    pts = np.column_stack(
        [np.interp(s, track.arc, track.center[:, 0]), np.interp(s, track.arc, track.center[:, 1])]
    )
    d = np.diff(np.vstack([pts, pts[:1]]), axis=0)
    heading = np.arctan2(d[:, 1], d[:, 0])
    w = max(1, round(CURVATURE_WINDOW / SAMPLE_SPACING))
    turn = np.angle(np.exp(1j * (np.roll(heading, -w) - heading)))
    return turn / (w * SAMPLE_SPACING)


def tight_corners(k: np.ndarray) -> tuple[int, int]:
    """(tight corners, S-bends among them) on a closed lap's signed curvature `k` (every
    `SAMPLE_SPACING` m): a corner is a run of samples tighter than `TIGHT_RADIUS`."""
    tight = np.abs(k) > 1.0 / TIGHT_RADIUS
    if tight.all():
        return 1, 0
    n = len(k)
    starts = np.flatnonzero(tight & ~np.roll(tight, 1))
    ends = np.flatnonzero(tight & ~np.roll(tight, -1))  # last sample of each run
    ends = ends[np.searchsorted(ends, starts) % len(ends)]  # the end of each start's run
    reach = np.arange(1, round(S_BEND_REACH / SAMPLE_SPACING) + 1)
    after = k[(ends[:, None] + reach[None, :]) % n]
    reverses = -np.sign(k[starts])[:, None] * after > 1.0 / S_BEND_RADIUS
    return len(starts), int(np.sum(reverses.any(axis=1)))


def track_shape(track: Track) -> TrackShape:
    """The shape figures of a closed track."""
    k = signed_curvature(track)
    corners, s_bends = tight_corners(k)
    return TrackShape(
        name=track.name,
        length=float(track.length),
        width=float(np.median(track.width)),
        tightest_radius=float(1.0 / max(np.abs(k).max(), 1e-9)),
        straight_share=float(np.mean(np.abs(k) < STRAIGHT_CURVATURE)),
        tight_corners=10.0 * corners / track.length,
        s_bends=10.0 * s_bends / track.length,
        clockwise=not track.is_ccw,
    )


@dataclass(frozen=True)
class ShapeSpread:
    """One shape figure over two sets of tracks (the official set may be empty)."""

    generated: np.ndarray
    official: np.ndarray | None

    @staticmethod
    def describe(values: np.ndarray | None) -> str:
        """'10th / median / 90th percentile' of the values, or '-' for none."""
        if values is None or len(values) == 0:
            return "-"
        lo, mid, hi = np.percentile(values, [10, 50, 90])
        return f"{lo:.2f} / {mid:.2f} / {hi:.2f}"


SPREAD_FIGURES = (
    "length",
    "width",
    "tightest_radius",
    "straight_share",
    "tight_corners",
    "s_bends",
)


def compare_shapes(
    generated: list[TrackShape], official: list[TrackShape]
) -> dict[str, ShapeSpread]:
    """Each of `SPREAD_FIGURES` over the generated and the official tracks."""
    return {
        key: ShapeSpread(
            generated=np.array([getattr(s, key) for s in generated]),
            official=np.array([getattr(s, key) for s in official]) if official else None,
        )
        for key in SPREAD_FIGURES
    }
