"""`slipstream analyze RUN`: PNG plots, a per-iteration table and the latest evaluation across
tracks of a run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder: a path or s3://bucket/prefix")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder for the PNG files and report.html (default: RUN/analysis/)",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="PNG files and the table only, no report.html"
    )
    parser.add_argument(
        "--track",
        metavar="TRACK",
        help="track drawn under the paths (default: the run's WORLD_NAME from "
        "training_params.yaml; needed for a DRfC folder without it)",
    )


def run(args: argparse.Namespace) -> int:
    from slipstream.runs import RunStorage
    from slipstream.viz import AnalyzeError, format_table, load_run, render_plots

    storage = RunStorage(str(args.run))
    try:
        data = load_run(storage, track=args.track)
    except AnalyzeError as err:
        print(f"slipstream analyze: {err}", file=sys.stderr)
        return 2
    print(
        f"{data.root}: {data.num_workers} worker(s), {data.episodes_per_iteration} episode(s) "
        f"per iteration per worker, track {data.world_name or '?'}"
    )
    print(format_table(data.iterations))
    for run_ in data.evaluations:
        laps = run_.time_s[run_.lap_completed]
        best = f", best lap {laps.min():.3f} s" if len(laps) else ""
        print(
            f"evaluation {run_.timestamp}: {len(run_.trial)} trial(s), mean completion "
            f"{run_.completion.mean():.1f}%, {len(laps)} lap(s){best}"
        )
    table = data.track_evaluation
    if table is not None:
        from slipstream.evaluate.tracks_table import format_table as tracks_table
        from slipstream.evaluate.tracks_table import summary_lines

        print(
            f"evaluation across tracks {table.timestamp} ({table.model}, --tracks "
            f"{table.track_set}, {table.directions} direction(s), {table.trials} trials):"
        )
        print(tracks_table(table.rows))
        print("\n".join(summary_lines(table.rows)))
    plots = render_plots(data)
    for name, png in plots.items():
        if args.out is not None:
            target = Path(args.out) / f"{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(png)
            where = str(target)
        else:
            storage.write_bytes(f"analysis/{name}.png", png)
            where = storage.path("analysis", f"{name}.png")
        print(f"wrote {where}")
    if args.no_report:
        return 0
    from slipstream.viz.report import ReportError, build_report

    try:
        report = build_report(data, storage)
    except ReportError as err:
        print(f"slipstream analyze: no HTML report: {err}", file=sys.stderr)
        return 0
    if args.out is not None:
        target = Path(args.out) / "report.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(report, encoding="utf-8")
        where = str(target)
    else:
        storage.write_text("analysis/report.html", report)
        where = storage.path("analysis", "report.html")
    print(f"wrote {where}")
    return 0
