"""`slipstream camera compare FRAMES --track T`: Slipstream's camera against DeepRacer's frames."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "Camera tools: compare Slipstream's camera with real DeepRacer frames."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="which", required=True, metavar="TOOL")
    cmp = sub.add_parser(
        "compare",
        help="fit a car pose to each frame and report residuals, row-profile and histogram errors",
    )
    cmp.add_argument("frames", help="folder of 160x120 PNG frames of one episode (sorted by name)")
    cmp.add_argument("--track", required=True, help="track the frames were taken on")
    cmp.add_argument("--stride", type=int, default=1, help="use every k-th frame (default 1)")
    cmp.add_argument("--limit", type=int, default=None, help="at most this many frames")
    cmp.add_argument("--worst", type=int, default=6, help="frames in the side-by-side image")
    cmp.add_argument("--out", default="camera_compare", help="folder for the PNG and JSON")
    cmp.add_argument("--json", action="store_true", help="print the summary as one JSON line")


def run(args: argparse.Namespace) -> int:
    from slipstream.render.camera import render_cameras
    from slipstream.render.compare import (
        CompareError,
        fit_poses,
        grey_frames,
        histogram_distance,
        row_profile_error,
        side_by_side,
    )
    from slipstream.render.texture import TrackTexture
    from slipstream.tracks import TrackError, load_track

    folder = Path(args.frames)
    if not folder.is_dir():
        raise SystemExit(f"slipstream camera compare: {folder} is not a folder of PNG frames")
    if args.stride < 1 or (args.limit is not None and args.limit < 1) or args.worst < 0:
        raise SystemExit("slipstream camera compare: --stride, --limit must be >= 1, --worst >= 0")
    paths = sorted(folder.glob("*.png"))[:: args.stride][: args.limit]
    try:
        real = grey_frames(paths)
    except CompareError as exc:
        raise SystemExit(f"slipstream camera compare: {exc}") from exc
    try:
        track = load_track(args.track)
    except TrackError as exc:
        raise SystemExit(f"slipstream camera compare: {exc}") from exc
    texture = TrackTexture.from_track(track)
    fits = fit_poses(track, texture, real)
    import numpy as np

    rendered = render_cameras(texture, np.array([f.pose for f in fits]))
    res = np.array([f.residual for f in fits])
    worst = np.argsort(-res)[: args.worst]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    png = out / "worst_frames.png"
    if len(worst):
        side_by_side(real[worst], rendered[worst]).save(png)
    summary = {
        "track": track.name,
        "frames": len(paths),
        "residual_median": float(np.median(res)),
        "residual_mean": float(res.mean()),
        "residual_max": float(res.max()),
        "row_profile": row_profile_error(real, rendered),
        "row_profile_per_frame": float(
            np.mean(
                [row_profile_error(a[None], b[None]) for a, b in zip(real, rendered, strict=True)]
            )
        ),
        "histogram_w1": histogram_distance(real, rendered),
        "worst": [paths[i].name for i in worst],
        "side_by_side": str(png),
    }
    per_frame = [
        {"frame": p.name, "s": f.s, "d": f.d, "psi": f.psi, "residual": f.residual}
        for p, f in zip(paths, fits, strict=True)
    ]
    (out / "compare.json").write_text(json.dumps({"summary": summary, "frames": per_frame}))
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"track {summary['track']}, {summary['frames']} frames")
        print(
            f"residual (mean |grey diff| after pose fit): median {summary['residual_median']:.2f}"
            f", mean {summary['residual_mean']:.2f}, max {summary['residual_max']:.2f}"
        )
        print(
            f"row profile error {summary['row_profile']:.2f} (per frame "
            f"{summary['row_profile_per_frame']:.2f}), histogram W1 {summary['histogram_w1']:.2f}"
        )
        print(f"worst frames: {', '.join(summary['worst'])} -> {png}")
    return 0
