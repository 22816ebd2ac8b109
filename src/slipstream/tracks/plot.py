"""A picture of a track for people: road, borders, centre line, start line, driving direction.

matplotlib is imported inside the function and drives its Agg canvas directly (no pyplot, no
global backend switch), so this works headless and inside notebooks alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from slipstream.tracks.track import Track

GRASS = "#23402a"
ROAD = "#6e6e6e"
BORDER = "#ffffff"
CENTRE = "#f2d04b"
ARROW = "#ff8c1a"
LABEL = "#d8e6ff"


def _direction_label(track: Track) -> str:
    if not track.closed:
        return "open"
    return "CCW" if track.is_ccw else "CW"


def default_title(track: Track) -> str:
    """'name (CCW, reversed): 23.12 m long, 1.07 m wide (min 1.06), 155 waypoints'."""
    flags = [_direction_label(track)] + (["reversed"] if track.is_reversed else [])
    return (
        f"{track.name} ({', '.join(flags)}): {track.length:.2f} m long, "
        f"{float(np.mean(track.width)):.2f} m wide (min {float(np.min(track.width)):.2f}), "
        f"{len(track.center) - (1 if track.closed else 0)} waypoints"
    )


def plot_track(
    track: Track,
    path: str | os.PathLike,
    title: str | None = None,
    *,
    dpi: int = 110,
    label_every: int = 10,
) -> Path:
    """Draw `track` to a PNG at `path` and return the path.

    Grey road on grass, white borders, dashed yellow centre line, a chequered start line
    across the road at waypoint 0, orange arrows along the centre in the driving direction,
    and every `label_every`-th waypoint index just outside the outer border. Axes in metres,
    equal scale. The title defaults to name, direction, length and width.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lo, hi, margin = _extent(track)
    span = np.maximum(hi - lo, 1.0)
    fig_w = 11.0
    fig_h = float(np.clip(fig_w * (span[1] + 2 * margin) / (span[0] + 2 * margin), 3.0, 14.0))
    fig = Figure(figsize=(fig_w, fig_h + 0.6), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    draw_track(ax, track, label_every=label_every)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(title if title is not None else default_title(track), fontsize=10)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", facecolor="white")
    return out


def _extent(track: Track) -> tuple[np.ndarray, np.ndarray, float]:
    points = np.vstack([track.center, track.inner, track.outer])
    lo, hi = points.min(axis=0), points.max(axis=0)
    margin = 0.08 * float(np.maximum(hi - lo, 1.0).max()) + 0.4
    return lo, hi, margin


def draw_track(ax, track: Track, *, label_every: int = 10, arrows: bool = True) -> None:
    """Draw `track` on a matplotlib Axes: road, borders, centre line, start line, direction
    arrows and (label_every > 0) waypoint indices; equal scale, limits around the track."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    centre, inner, outer = track.center, track.inner, track.outer
    lo, hi, margin = _extent(track)
    ax.set_facecolor(GRASS)

    # Road surface: the outer ring with the inner ring as a hole (reversed so the winding
    # numbers cancel under either fill rule); an open track is one polygon.
    shell, hole = track.road_polygon
    rings = [shell] if hole is None else [shell, hole[::-1]]
    verts, codes = [], []
    for ring in rings:
        verts.extend([*ring, ring[0]])
        codes.extend([MplPath.MOVETO] + [MplPath.LINETO] * (len(ring) - 1) + [MplPath.CLOSEPOLY])
    ax.add_patch(PathPatch(MplPath(np.array(verts), codes), facecolor=ROAD, edgecolor="none"))

    ax.plot(inner[:, 0], inner[:, 1], color=BORDER, lw=1.6, solid_capstyle="round")
    ax.plot(outer[:, 0], outer[:, 1], color=BORDER, lw=1.6, solid_capstyle="round")
    ax.plot(centre[:, 0], centre[:, 1], color=CENTRE, lw=1.0, dashes=(5, 4))

    # Start line across the road at waypoint 0, chequered (white under black dashes).
    a, b = track.inner_opposite[0], track.outer_opposite[0]
    ax.plot([a[0], b[0]], [a[1], b[1]], color="white", lw=5, solid_capstyle="butt", zorder=4)
    ax.plot([a[0], b[0]], [a[1], b[1]], color="black", lw=5, dashes=(1, 1), zorder=5)
    ax.annotate(
        "START",
        xy=tuple(b),
        xytext=tuple(b + 0.6 * (b - centre[0]) / max(np.linalg.norm(b - centre[0]), 1e-9)),
        color="white",
        fontsize=8 if label_every > 0 else 5,
        fontweight="bold",
        ha="center",
        va="center",
        zorder=6,
    )

    # Driving direction: arrows on the centre line, about every tenth of the lap.
    n_arrows = int(np.clip(round(track.length / 2.5), 6, 24)) if arrows else 0
    arrow_len = float(np.clip(0.06 * track.length / n_arrows * 4, 0.25, 0.8))
    s = (np.arange(n_arrows) + 0.5) * track.length / n_arrows
    tail, _ = track.point_at(s - 0.5 * arrow_len)
    head, _ = track.point_at(s + 0.5 * arrow_len)
    for t, h in zip(tail, head, strict=True):
        ax.annotate(
            "",
            xy=tuple(h),
            xytext=tuple(t),
            arrowprops={"arrowstyle": "-|>", "color": ARROW, "lw": 2.0, "mutation_scale": 16},
            zorder=6,
        )

    # Waypoint indices just outside the outer border.
    n_wp = len(centre) - (1 if track.closed else 0)
    for i in range(0, n_wp if label_every > 0 else 0, max(1, label_every)):
        away = track.outer_opposite[i] - centre[i]
        norm = float(np.linalg.norm(away))
        pos = track.outer_opposite[i] + (0.22 * away / norm if norm > 0 else 0.0)
        ax.text(pos[0], pos[1], str(i), color=LABEL, fontsize=6, ha="center", va="center")

    ax.set_aspect("equal")
    ax.set_xlim(lo[0] - margin, hi[0] + margin)
    ax.set_ylim(lo[1] - margin, hi[1] + margin)
    ax.grid(True, color="white", alpha=0.08)


def plot_sheet(
    tracks: list[Track],
    path: str | os.PathLike,
    *,
    histograms: dict[str, tuple[np.ndarray, np.ndarray | None]] | None = None,
    columns: int = 4,
    dpi: int = 90,
) -> Path:
    """A page of small track pictures (each titled with its name, length, width, direction),
    optionally above a row of histograms: name -> (values of `tracks`' kind, reference values
    such as the official tracks' or None), drawn overlaid and normalised."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = -(-len(tracks) // columns)
    hist_rows = 1 if histograms else 0
    fig = Figure(figsize=(4.0 * columns, 3.4 * (rows + hist_rows)), dpi=dpi)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(rows + hist_rows, max(columns, len(histograms or {})))
    for j, (label, (values, reference)) in enumerate((histograms or {}).items()):
        ax = fig.add_subplot(grid[0, j])
        both = np.concatenate([values, reference]) if reference is not None else values
        low, high = float(np.min(both)), float(np.max(both))
        bins = np.linspace(low, high if high > low else low + 1.0, 16)  # all equal: one bin
        ax.hist(values, bins=bins, density=True, alpha=0.6, label=f"generated ({len(values)})")
        if reference is not None:
            ax.hist(
                reference, bins=bins, density=True, alpha=0.6, label=f"official ({len(reference)})"
            )
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    for i, track in enumerate(tracks):
        ax = fig.add_subplot(grid[hist_rows + i // columns, i % columns])
        draw_track(ax, track, label_every=0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(
            f"{track.name}: {track.length:.1f} m, {float(np.median(track.width)):.2f} m, "
            f"{_direction_label(track)}",
            fontsize=8,
        )
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", facecolor="white")
    return out
