"""One self-contained HTML report of a run (figures embedded as PNG data), what the
deepracer-analysis notebooks show:

* reward, progress and lap completion per iteration (training and in-training evaluation),
  how episodes ended;
* lap times: every training episode that completed a lap, per iteration, and the trials of
  each evaluation;
* the track with a heat map of the step reward and the fastest laps drawn on it;
* action use per track section (ten equal stretches of the centre line);
* evaluation laps coloured by speed;
* the latest evaluation across tracks (`slipstream evaluate RUN --tracks SET`) as a table.

Per-step and per-episode numbers come from deepracer-utils (`DeepRacerLog` reads the
simtraces, `AnalysisUtils.simulation_agg` aggregates episodes: time, progress, ``complete``),
so the report shows what a user's notebook computes from the same folder.
"""

from __future__ import annotations

import base64
import html
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from slipstream.runs import RunLayout, RunStorage
from slipstream.viz.plots import (
    EVALUATION_COLOR,
    TRAINING_COLOR,
    _draw_road,
    _figure,
    _png,
    plot_evaluations,
    plot_progress,
    plot_status,
    run_track,
)
from slipstream.viz.summary import LAP_COMPLETE, RunData, format_table

if TYPE_CHECKING:
    import pandas as pd

    from slipstream.tracks.track import Track

logger = logging.getLogger(__name__)

SECTIONS = 10
"""Track sections of the action-use figure (equal shares of the waypoints)."""
FASTEST_LAPS = 3
HEAT_BINS = 60
EVALUATION_PANELS = 6


class ReportError(ValueError):
    """The report cannot be made (the message says what to install or provide)."""


@dataclass(frozen=True)
class Traces:
    """deepracer-utils' dataframes of a run: steps and per-episode aggregates."""

    training: pd.DataFrame | None
    episodes: pd.DataFrame | None
    evaluation: pd.DataFrame | None


def load_traces(storage: RunStorage) -> Traces:
    """Training and evaluation simtraces through deepracer-utils (None where there are none)."""
    try:
        from deepracer.logs import AnalysisUtils, DeepRacerLog, FSFileHandler
    except ImportError as err:
        raise ReportError(
            "the HTML report reads simtraces with deepracer-utils: "
            "pip install 'slipstream[analysis]'"
        ) from err
    import contextlib
    import io

    def load(kind: str) -> pd.DataFrame | None:
        log = DeepRacerLog(model_folder=storage.root, filehandler=FSFileHandler(storage.root))
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                getattr(log, f"load_{kind}_trace")()
        except Exception as err:  # deepracer-utils raises plain Exceptions for empty folders
            logger.info("no %s simtrace in %s: %s", kind, storage.root, err)
            return None
        df = log.dataframe()
        return df if df is not None and len(df) else None

    training = load("training")
    episodes = None
    if training is not None:
        with contextlib.redirect_stdout(io.StringIO()):
            episodes = AnalysisUtils.simulation_agg(training.copy(), secondgroup="unique_episode")
    return Traces(training, episodes, load("evaluation"))


def _track_axes(ax, track: Track | None, xy: np.ndarray) -> None:
    points = xy if track is None else np.vstack([xy, track.inner, track.outer])
    lo, hi = points.min(axis=0), points.max(axis=0)
    margin = 0.05 * float(max(hi - lo))
    if track is not None:
        _draw_road(ax, track)
    ax.set_aspect("equal")
    ax.set_xlim(lo[0] - margin, hi[0] + margin)
    ax.set_ylim(lo[1] - margin, hi[1] + margin)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")


def _episode_path(df: pd.DataFrame, episode: int) -> pd.DataFrame:
    steps = df[df["unique_episode"] == episode]
    return steps[steps["episode_status"] != "prepare"]


def plot_lap_times(traces: Traces, data: RunData) -> bytes | None:
    """Training laps (deepracer-utils' per-episode time of completed episodes) per iteration,
    and evaluation trials' lap times."""
    agg = traces.episodes
    laps = agg[agg["complete"] == 1] if agg is not None else None
    evals = [(r.timestamp, r.time_s[r.status == LAP_COMPLETE]) for r in data.evaluations]
    evals = [(ts, t) for ts, t in evals if len(t)]
    if (laps is None or laps.empty) and not evals:
        return None
    fig = _figure(12, 4)
    ax = fig.add_subplot(1, 2, 1)
    if laps is not None and not laps.empty:
        ax.scatter(laps["iteration"], laps["time"], s=14, color=TRAINING_COLOR, alpha=0.7)
        best = laps.groupby("iteration")["time"].min()
        ax.plot(best.index, best.values, "-", color="black", lw=1, label="best per iteration")
        ax.legend(fontsize=8)
    else:
        ax.text(
            0.5, 0.5, "no training episode completed a lap", ha="center", transform=ax.transAxes
        )
    ax.set_xlabel("iteration")
    ax.set_ylabel("lap time (s)")
    ax.set_title("Training laps", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax2 = fig.add_subplot(1, 2, 2)
    for k, (_, times) in enumerate(evals):
        ax2.scatter(np.full(len(times), k), times, color=EVALUATION_COLOR, s=20)
    ax2.set_xticks(range(len(evals)), [ts for ts, _ in evals], rotation=20, fontsize=7)
    ax2.set_ylabel("lap time (s)")
    ax2.set_title("Evaluation laps" if evals else "no evaluation lap yet", fontsize=10)
    ax2.grid(True, alpha=0.3)
    return _png(fig)


def plot_reward_map(traces: Traces, track: Track | None) -> bytes | None:
    """Mean step reward over the track (2-D bins of every training step), fastest laps on top
    (the furthest episodes when none completed a lap)."""
    df, agg = traces.training, traces.episodes
    if df is None or agg is None:
        return None
    from matplotlib.collections import LineCollection

    steps = df[df["episode_status"] != "prepare"]
    xy = steps[["x", "y"]].to_numpy(float)
    fig = _figure(13, 6)
    ax = fig.add_subplot(1, 2, 1)
    _track_axes(ax, track, xy)
    lo, hi = ax.get_xlim(), ax.get_ylim()
    sums, xe, ye = np.histogram2d(xy[:, 0], xy[:, 1], HEAT_BINS, range=[lo, hi],
                                  weights=steps["reward"].to_numpy(float))  # fmt: skip
    counts, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], HEAT_BINS, range=[lo, hi])
    mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    mesh = ax.pcolormesh(xe, ye, mean.T, cmap="plasma", alpha=0.9, zorder=2, shading="flat")
    fig.colorbar(mesh, ax=ax, label="mean step reward", shrink=0.8)
    ax.set_title("Reward heat map (all training steps)", fontsize=10)

    ax2 = fig.add_subplot(1, 2, 2)
    _track_axes(ax2, track, xy)
    done = agg[agg["complete"] == 1].sort_values("time")
    if len(done):
        chosen, what = done.head(FASTEST_LAPS), "Fastest training laps"
    else:
        chosen, what = (
            agg.sort_values("progress", ascending=False).head(FASTEST_LAPS),
            ("Furthest training episodes (no lap completed yet)"),
        )
    colours = ("#d62728", "#1f77b4", "#2ca02c")
    lines = None
    for k, row in enumerate(chosen.itertuples()):
        path = _episode_path(df, row.unique_episode)
        pts = path[["x", "y"]].to_numpy(float)
        if len(pts) < 2:
            continue
        segs = np.stack([pts[:-1], pts[1:]], axis=1)
        lines = LineCollection(segs, cmap="viridis", linewidths=2.2, zorder=3 + k)
        lines.set_array(path["speed"].to_numpy(float)[1:])
        ax2.add_collection(lines)
        ax2.plot(*pts[0], "o", color=colours[k % 3], zorder=5,
                 label=f"iteration {row.iteration}: {row.time:.2f} s, {row.progress:.0f}%")  # fmt: skip
    if lines is not None:
        fig.colorbar(lines, ax=ax2, label="speed (m/s)", shrink=0.8)
        ax2.legend(fontsize=7, loc="upper right", title="start (o)", title_fontsize=7)
    ax2.set_title(what, fontsize=10)
    return _png(fig)


def _action_labels(model_metadata: dict[str, Any] | None) -> dict[int, str]:
    space = (model_metadata or {}).get("action_space")
    if not isinstance(space, list):
        return {}
    return {
        i: f"{i}: {a.get('steering_angle', '?')}°, {a.get('speed', '?')} m/s"
        for i, a in enumerate(space)
        if isinstance(a, dict)
    }


def section_of(
    closest_waypoint: np.ndarray, waypoints: int, sections: int = SECTIONS
) -> np.ndarray:
    """Track section (0..sections-1) of each step: equal shares of the waypoint indices."""
    wp = np.clip(np.asarray(closest_waypoint, dtype=np.int64), 0, max(waypoints - 1, 0))
    return np.minimum(wp * sections // max(waypoints, 1), sections - 1)


def action_shares(
    section: np.ndarray, actions: np.ndarray, ids: list[int], sections: int = SECTIONS
) -> np.ndarray:
    """(len(ids), sections) percentage of each section's steps that took each action
    (0 for a section without steps)."""
    counts = np.zeros((len(ids), sections))
    for k, a in enumerate(ids):
        counts[k] = np.bincount(section[actions == a], minlength=sections)[:sections]
    totals = np.bincount(section, minlength=sections)[:sections]
    return 100.0 * counts / np.maximum(totals, 1)


def plot_action_use(
    traces: Traces, track: Track | None, model_metadata: dict[str, Any] | None
) -> bytes | None:
    """Share of each action per track section (discrete), or mean steering and speed per
    section (continuous); a map numbers the sections."""
    df = traces.training
    if df is None:
        return None
    steps = df[df["episode_status"] != "prepare"]
    waypoints = len(track.center) if track is not None else int(steps["closest_waypoint"].max()) + 1
    section = section_of(steps["closest_waypoint"].to_numpy(), waypoints)
    fig = _figure(13, 4.5)
    ax = fig.add_subplot(1, 2, 1)
    continuous = (model_metadata or {}).get("action_space_type") == "continuous"
    x = np.arange(SECTIONS)
    if continuous:
        steer = steps["steering_angle"].to_numpy(float)
        speed = steps["speed"].to_numpy(float)
        for values, label, colour in (
            (steer, "steering (°)", TRAINING_COLOR),
            (speed, "speed (m/s)", EVALUATION_COLOR),
        ):
            means = [values[section == s].mean() if np.any(section == s) else np.nan for s in x]
            ax.plot(x, means, "o-", label=label, color=colour)
        ax.set_ylabel("mean over steps")
        ax.legend(fontsize=8)
    else:
        actions = steps["action"].to_numpy().astype(int)
        labels = _action_labels(model_metadata)
        ids = sorted(set(actions.tolist()) | set(labels))
        shares = action_shares(section, actions, ids)
        bottom = np.zeros(SECTIONS)
        from matplotlib import colormaps

        colours = colormaps["tab10" if len(ids) <= 10 else "tab20"]
        for k, a in enumerate(ids):
            share = shares[k] / 100.0
            ax.bar(
                x,
                100 * share,
                bottom=bottom,
                label=labels.get(a, str(a)),
                color=colours(k % colours.N),
            )
            bottom += 100 * share
        ax.set_ylabel("% of steps")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="action")
    ax.set_xticks(x)
    ax.set_xlabel("track section")
    ax.set_title("Action use per track section (training steps)", fontsize=10)
    ax2 = fig.add_subplot(1, 2, 2)
    xy = steps[["x", "y"]].to_numpy(float)
    _track_axes(ax2, track, xy)
    if track is not None:
        centre = track.center
        for s in x:
            i = min(int((s + 0.5) * len(centre) / SECTIONS), len(centre) - 1)
            ax2.text(*centre[i], str(s), fontsize=11, weight="bold", ha="center", va="center",
                     color="#1d2b3a", zorder=5)  # fmt: skip
            start = centre[min(int(s * len(centre) / SECTIONS), len(centre) - 1)]
            ax2.plot(*start, "|", color="black", ms=12, zorder=4)
    ax2.set_title("Sections (by waypoint)", fontsize=10)
    return _png(fig)


def plot_evaluation_laps(traces: Traces, track: Track | None) -> bytes | None:
    """The latest evaluation's trials on the track, each path coloured by speed."""
    df = traces.evaluation
    if df is None:
        return None
    from matplotlib.collections import LineCollection

    if "stream" in df.columns:
        df = df[df["stream"] == sorted(df["stream"].unique())[-1]]
    df = df[df["episode_status"] != "prepare"]
    episodes = sorted(df["episode"].unique())[:EVALUATION_PANELS]
    cols = min(3, len(episodes))
    rows = (len(episodes) + cols - 1) // cols
    fig = _figure(5 * cols + 1, 4.2 * rows)
    vmax = float(df["speed"].max()) or 1.0
    for k, e in enumerate(episodes):
        ax = fig.add_subplot(rows, cols, k + 1)
        path = df[df["episode"] == e]
        pts = path[["x", "y"]].to_numpy(float)
        _track_axes(ax, track, pts)
        if len(pts) >= 2:
            segs = np.stack([pts[:-1], pts[1:]], axis=1)
            lines = LineCollection(segs, cmap="viridis", linewidths=2.2, zorder=3)
            lines.set_array(path["speed"].to_numpy(float)[1:])
            lines.set_clim(0.0, vmax)
            ax.add_collection(lines)
            fig.colorbar(lines, ax=ax, label="speed (m/s)", shrink=0.7)
        last = path.iloc[-1] if len(path) else None
        status = last["episode_status"] if last is not None else "?"
        progress = float(path["progress"].max()) if len(path) else 0.0
        seconds = float(path["tstamp"].max() - path["tstamp"].min()) if len(path) else 0.0
        ax.set_title(f"trial {int(e) + 1}: {progress:.0f}%, {seconds:.2f} s, {status}", fontsize=9)
    fig.suptitle("Latest evaluation, coloured by speed", fontsize=10)
    return _png(fig)


def _img(png: bytes | None, alt: str) -> str:
    if png is None:
        return f"<p class='none'>{html.escape(alt)}: nothing to show yet.</p>"
    data = base64.b64encode(png).decode()
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def _inputs_html(storage: RunStorage) -> tuple[str, dict[str, Any] | None]:
    meta = None
    parts = []
    key = RunLayout(storage).model_metadata
    if storage.exists(key):
        try:
            meta = json.loads(storage.read_text(key))
        except json.JSONDecodeError:
            meta = None
    labels = _action_labels(meta)
    if labels:
        rows = "".join(f"<li>{html.escape(v)}</li>" for v in labels.values())
        parts.append(f"<h3>Action space</h3><ul>{rows}</ul>")
    elif meta and meta.get("action_space"):
        parts.append(
            f"<h3>Action space</h3><pre>{html.escape(json.dumps(meta['action_space']))}</pre>"
        )
    for key, title in (
        ("ip/hyperparameters.json", "Hyperparameters"),
        ("reward_function.py", "Reward function"),
    ):
        if storage.exists(key):
            parts.append(f"<h3>{title}</h3><pre>{html.escape(storage.read_text(key))}</pre>")
    return "".join(parts), meta


def track_evaluation_html(data: RunData) -> str:
    """The latest evaluation across tracks as an HTML table with its summary ('' if none)."""
    table = data.track_evaluation
    if table is None:
        return ""
    from slipstream.evaluate.tracks_table import summary_lines

    def cell(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    head = (
        "<tr><th>track</th><th>direction</th><th>length (m)</th><th>laps</th>"
        "<th>completion</th><th>mean lap (s)</th><th>best lap (s)</th>"
        "<th>mean lap speed (m/s)</th><th>off-track</th></tr>"
    )
    body = "".join(
        f"<tr><td>{html.escape(r.track)}</td><td>{r.direction}</td><td>{r.length_m:.2f}</td>"
        f"<td>{r.laps_completed}/{r.trials}</td><td>{r.mean_completion_pct:.1f}%</td>"
        f"<td>{cell(r.mean_lap_time_s, '.3f')}</td><td>{cell(r.best_lap_time_s, '.3f')}</td>"
        f"<td>{cell(r.mean_lap_speed_mps, '.2f')}</td><td>{r.off_tracks}</td></tr>"
        for r in table.rows
    )
    summary = "<br>".join(html.escape(line) for line in summary_lines(table.rows))
    return (
        f"<h2>Evaluation across tracks</h2><p>{html.escape(table.timestamp)}: "
        f"{html.escape(table.model)}, <code>--tracks {html.escape(table.track_set)}</code>, "
        f"{html.escape(table.directions)} direction(s), {table.trials} trials per route, "
        f"{table.race_type}.</p><p>{summary}</p>"
        f"<table class='tracks'>{head}{body}</table>"
    )


STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1em 2em;color:#222;max-width:1400px}"
    "img{max-width:100%;display:block;margin:.5em 0 1.5em}pre{background:#f4f4f4;padding:.5em;"
    "font-size:.8em;overflow:auto}h2{border-bottom:1px solid #ccc;margin-top:1.5em}"
    ".none{color:#777}table.tracks{border-collapse:collapse;font-size:.85em;margin-bottom:1.5em}"
    "table.tracks td,table.tracks th{border:1px solid #ccc;padding:.15em .5em;text-align:right}"
    "table.tracks td:first-child,table.tracks th:first-child{text-align:left}"
)


def build_report(data: RunData, storage: RunStorage, traces: Traces | None = None) -> str:
    """The HTML text of the report (every figure inside it as a PNG data URL)."""
    traces = traces or load_traces(storage)
    track = run_track(data)
    inputs, meta = _inputs_html(storage)
    title = html.escape(data.root)
    evaluations = "".join(
        f"<li>{html.escape(r.timestamp)}: {len(r.trial)} trial(s), mean progress "
        f"{r.completion.mean():.1f}%, {int(np.sum(r.status == LAP_COMPLETE))} lap(s)"
        + (
            f", best {r.time_s[r.status == LAP_COMPLETE].min():.3f} s"
            if np.any(r.status == LAP_COMPLETE)
            else ""
        )
        + "</li>"
        for r in data.evaluations
    )
    sections = [
        (
            "Training per iteration: reward, progress, laps",
            _img(plot_progress(data, "training"), "training"),
        ),
        (
            "In-training evaluation per iteration",
            _img(plot_progress(data, "evaluation"), "evaluation"),
        ),
        ("How training episodes ended", _img(plot_status(data), "episode status")),
        ("Lap times", _img(plot_lap_times(traces, data), "lap times")),
        (
            "Track: reward heat map and fastest laps",
            _img(plot_reward_map(traces, track), "reward map"),
        ),
        ("Action use per track section", _img(plot_action_use(traces, track, meta), "action use")),
        (
            "Evaluation laps coloured by speed",
            _img(plot_evaluation_laps(traces, track), "evaluation laps"),
        ),
        ("Evaluation trials", _img(plot_evaluations(data), "evaluation trials")),
    ]
    body = "".join(f"<h2>{html.escape(h)}</h2>{img}" for h, img in sections)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Slipstream report: {title}</title><style>{STYLE}</style></head><body>"
        f"<h1>Slipstream run report</h1><p><code>{title}</code>: {data.num_workers} worker(s), "
        f"{data.episodes_per_iteration} episode(s) per iteration per worker, track "
        f"{html.escape(data.world_name or '?')}, {len(data.iterations)} iteration(s).</p>"
        f"<pre>{html.escape(format_table(data.iterations))}</pre>"
        + (f"<h2>Evaluations</h2><ul>{evaluations}</ul>" if evaluations else "")
        + track_evaluation_html(data)
        + body
        + f"<h2>Run inputs</h2>{inputs}</body></html>"
    )
