"""`slipstream camera compare FRAMES --track T`: Slipstream's camera against DeepRacer's frames."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


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
    from slipstream.render.compare import CompareError, compare_frames
    from slipstream.tracks import TrackError, load_track

    folder = Path(args.frames)
    if not folder.is_dir():
        raise SystemExit(f"slipstream camera compare: {folder} is not a folder of PNG frames")
    if args.stride < 1 or (args.limit is not None and args.limit < 1) or args.worst < 0:
        raise SystemExit("slipstream camera compare: --stride, --limit must be >= 1, --worst >= 0")
    paths = sorted(folder.glob("*.png"))[:: args.stride][: args.limit]
    try:
        summary = compare_frames(paths, load_track(args.track), args.worst, Path(args.out))
    except (CompareError, TrackError) as exc:
        raise SystemExit(f"slipstream camera compare: {exc}") from exc
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
        print(f"worst frames: {', '.join(summary['worst'])} -> {summary['side_by_side']}")
    return 0
