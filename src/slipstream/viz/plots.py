"""PNG plots of a run (`RunData`): progress, episode statuses, driven paths, evaluations.

Every function returns PNG bytes (or None when the run has nothing to show yet). matplotlib
is imported inside the functions and drives its Agg canvas directly (no pyplot, no global
backend switch), so this works headless, in threads (the dashboard) and in notebooks.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import numpy as np

from slipstream.viz.summary import LAP_COMPLETE, RunData

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from slipstream.tracks.track import Track

logger = logging.getLogger(__name__)

TRAINING_COLOR = "#1f6fb4"
EVALUATION_COLOR = "#e07b00"
STATUS_COLORS = {
    "Lap complete": "#2ca02c",
    "Off track": "#d62728",
    "Crashed": "#8c564b",
    "Reversed": "#9467bd",
    "Immobilized": "#7f7f7f",
    "Time Up": "#bcbd22",
}
PLOT_NAMES = (
    "training_progress",
    "evaluation_progress",
    "episode_status",
    "track_paths",
    "evaluation_runs",
)


def _figure(width: float, height: float, dpi: int = 100) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return buf.getvalue()


def _jitter(n: int, width: float = 0.25) -> np.ndarray:
    """Deterministic horizontal spread in [-width, width] so points of one iteration separate."""
    if n <= 1:
        return np.zeros(n)
    return np.linspace(-width, width, n)


def plot_progress(data: RunData, phase: str = "training") -> bytes | None:
    """Mean completion %, mean reward and fraction of completed laps per iteration.

    ``phase`` is ``"training"`` or ``"evaluation"`` (the in-training evaluation episodes).
    Each episode is a faint point at its iteration; the line joins the iteration means.
    """
    rows = data.episodes.select(data.episodes.phase == phase)
    if len(rows) == 0:
        return None
    color = TRAINING_COLOR if phase == "training" else EVALUATION_COLOR
    iterations = np.array([s.iteration for s in data.iterations])
    summaries = [getattr(s, phase) for s in data.iterations]
    panels = (
        ("completion", "completion (% of lap)", rows.completion),
        ("reward", "episode reward", rows.reward),
        ("laps", "laps completed (fraction)", (rows.status == LAP_COMPLETE).astype(float)),
    )
    fig = _figure(12, 3.6)
    for k, (attr, label, per_episode) in enumerate(panels):
        ax = fig.add_subplot(1, 3, k + 1)
        x = rows.iteration.astype(float)
        for it in np.unique(rows.iteration):
            sel = rows.iteration == it
            x[sel] += _jitter(int(sel.sum()))
        if attr != "laps":
            ax.scatter(x, per_episode, s=10, color=color, alpha=0.5, lw=0, label="episode")
        means = np.array([getattr(s, attr) for s in summaries])
        ok = ~np.isnan(means)
        ax.plot(iterations[ok], means[ok], "o-", color=color, lw=2, ms=4, label="iteration mean")
        ax.set_xlabel("iteration")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if attr == "completion":
            ax.set_ylim(-3, 103)
            ax.legend(fontsize=7, loc="upper left")
        if attr == "laps":
            ax.set_ylim(-0.03, 1.03)
        ax.xaxis.get_major_locator().set_params(integer=True)
    title = "Training" if phase == "training" else "In-training evaluation"
    fig.suptitle(f"{title} progress per iteration: {data.root}", fontsize=10)
    return _png(fig)


def plot_status(data: RunData) -> bytes | None:
    """Stacked bars: training episodes of each status per iteration."""
    if not data.iterations or not any(s.status_counts for s in data.iterations):
        return None
    labels = sorted({k for s in data.iterations for k in s.status_counts})
    labels.sort(key=lambda k: (k != LAP_COMPLETE, k))
    iterations = np.array([s.iteration for s in data.iterations])
    fig = _figure(10, 4)
    ax = fig.add_subplot(1, 1, 1)
    bottom = np.zeros(len(iterations))
    for label in labels:
        counts = np.array([s.status_counts.get(label, 0) for s in data.iterations], float)
        ax.bar(
            iterations,
            counts,
            bottom=bottom,
            label=label,
            color=STATUS_COLORS.get(label),
            width=0.8,
        )
        bottom += counts
    ax.set_xlabel("iteration")
    ax.set_ylabel("training episodes")
    ax.set_title("How training episodes ended, per iteration", fontsize=10)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(True, axis="y", alpha=0.3)
    return _png(fig)


def run_track(data: RunData) -> Track | None:
    """The run's track from WORLD_NAME (and REVERSE_DIR), or None (logged) if it cannot load."""
    if not data.world_name:
        return None
    from slipstream.tracks import load_track

    try:
        return load_track(data.world_name, reverse=data.reverse)
    except (ValueError, OSError) as err:
        logger.warning("track %r not drawn: %s", data.world_name, err)
        return None


def _draw_road(ax: Axes, track: Track) -> None:
    """Grey road between the borders, thin border lines, dashed centre line."""
    if track.closed:
        ax.fill(track.outer[:, 0], track.outer[:, 1], color="#d9d9d9", lw=0, zorder=0)
        ax.fill(track.inner[:, 0], track.inner[:, 1], color="white", lw=0, zorder=0)
    for border in (track.inner, track.outer):
        ax.plot(border[:, 0], border[:, 1], color="#555555", lw=1.0, zorder=1)
    ax.plot(track.center[:, 0], track.center[:, 1], color="#999999", lw=0.7, ls="--", zorder=1)


def _path_segments(sim: dict[str, np.ndarray], values: np.ndarray):
    """Line segments between consecutive steps of the same car episode, with their values."""
    xy = np.stack([sim["X"], sim["Y"]], axis=1)
    same = (sim["episode"][1:] == sim["episode"][:-1]) & (sim["worker"][1:] == sim["worker"][:-1])
    segments = np.stack([xy[:-1], xy[1:]], axis=1)[same]
    return segments, values[1:][same]


def plot_paths(data: RunData, track: Track | None = None) -> bytes | None:
    """The last iteration's driven paths on the track, coloured by speed and by reward.

    Speed is the simtrace ``throttle`` column (the action's speed, m/s); reward is the step
    reward. ``track`` defaults to the run's WORLD_NAME (paths alone if it cannot load).
    """
    sim = data.simtrace
    if sim is None or len(sim.get("X", ())) < 2:
        return None
    from matplotlib.collections import LineCollection

    if track is None:
        track = run_track(data)
    points = np.stack([sim["X"], sim["Y"]], axis=1)
    if track is not None:
        points = np.vstack([points, track.inner, track.outer])
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.maximum(hi - lo, 0.5)
    margin = 0.05 * float(span.max())
    panel_h = float(np.clip(6.0 * span[1] / span[0], 2.5, 9.0))
    fig = _figure(13, panel_h + 1.0)
    for k, (column, label, cmap) in enumerate(
        (("throttle", "speed (m/s)", "viridis"), ("reward", "step reward", "plasma"))
    ):
        ax = fig.add_subplot(1, 2, k + 1)
        if track is not None:
            _draw_road(ax, track)
        values = np.asarray(sim.get(column, np.zeros(len(sim["X"]))), dtype=float)
        segments, seg_values = _path_segments(sim, values)
        lines = LineCollection(segments, cmap=cmap, linewidths=1.4, alpha=0.85, zorder=2)
        lines.set_array(seg_values)
        ax.add_collection(lines)
        fig.colorbar(lines, ax=ax, label=label, shrink=0.8)
        ax.set_aspect("equal")
        ax.set_xlim(lo[0] - margin, hi[0] + margin)
        ax.set_ylim(lo[1] - margin, hi[1] + margin)
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        ax.set_title(f"coloured by {label}", fontsize=9)
    episodes = np.unique(np.stack([sim["worker"], sim["episode"]]), axis=1).shape[1]
    where = data.world_name or "unknown track"
    fig.suptitle(
        f"Iteration {data.simtrace_iteration} simtrace: {episodes} episodes on {where}",
        fontsize=10,
    )
    return _png(fig)


def plot_evaluations(data: RunData) -> bytes | None:
    """Evaluation runs (EvaluationMetrics files): completion and lap time of each trial."""
    if not data.evaluations:
        return None
    fig = _figure(12, 4)
    ax_c = fig.add_subplot(1, 2, 1)
    ax_t = fig.add_subplot(1, 2, 2)
    n = len(data.evaluations)
    width = 0.8 / n
    for k, run in enumerate(data.evaluations):
        x = run.trial + (k - (n - 1) / 2) * width
        ax_c.bar(x, run.completion, width=width, label=run.timestamp)
        done = run.lap_completed
        ax_t.bar(x[done], run.time_s[done], width=width, label=run.timestamp)
        if done.any():
            best = float(run.time_s[done].min())
            ax_t.axhline(best, color="black", lw=0.6, ls=":")
    ax_c.set_ylim(0, 105)
    ax_c.set_ylabel("completion (% of lap)")
    ax_c.set_title("Completion per trial", fontsize=10)
    ax_t.set_ylabel("lap time (s)")
    ax_t.set_title("Lap time per completed trial (dotted: best)", fontsize=10)
    trials = np.unique(np.concatenate([run.trial for run in data.evaluations]))
    for ax in (ax_c, ax_t):
        ax.set_xlabel("trial")
        ax.set_xticks(trials)
        ax.set_xlim(trials.min() - 0.6, trials.max() + 0.6)
        ax.grid(True, axis="y", alpha=0.3)
    ax_c.legend(fontsize=7, title="evaluation", title_fontsize=7)
    return _png(fig)


def render_plots(data: RunData, track: Track | None = None) -> dict[str, bytes]:
    """``{name: PNG bytes}`` of every plot the run has data for (names from `PLOT_NAMES`)."""
    makers = {
        "training_progress": lambda: plot_progress(data, "training"),
        "evaluation_progress": lambda: plot_progress(data, "evaluation"),
        "episode_status": lambda: plot_status(data),
        "track_paths": lambda: plot_paths(data, track),
        "evaluation_runs": lambda: plot_evaluations(data),
    }
    out = {}
    for name in PLOT_NAMES:
        png = makers[name]()
        if png is not None:
            out[name] = png
    return out
