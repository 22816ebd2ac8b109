"""`slipstream evaluate RUN`: DeepRacer evaluation trials of a trained model, on one track or
(`--tracks SET`) on every track of a set into one table."""

from __future__ import annotations

import argparse
import sys

from slipstream.commands import add_checkpoint_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run", metavar="RUN", nargs="?", help="run folder: a path or s3://bucket/prefix"
    )
    parser.add_argument(
        "--drfc",
        metavar="DIR",
        help="a DeepRacer-for-Cloud folder: evaluate as dr-start-evaluation would (DR_EVAL_*)",
    )
    parser.add_argument("--track", help="track name or .npy path (default: the run's WORLD_NAME)")
    parser.add_argument(
        "--tracks",
        nargs="+",
        metavar="SET",
        help="time trials on every track of a set, batched, into one table "
        "(RUN/evaluation/tracks-<ts>.csv): names, files, globs ('reInvent2019_*'), 'official', "
        "'builtin', 'generated:SEED'; comma- or space-separated",
    )
    parser.add_argument(
        "--directions",
        choices=["default", "both"],
        default="default",
        help="with --tracks: each track's default direction, or both directions",
    )
    parser.add_argument(
        "--trials", type=int, default=3, help="trials, or laps with --continuous (default 3)"
    )
    parser.add_argument(
        "--race-type",
        choices=["TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT"],
        help="default: the run's RACE_TYPE",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="world key, e.g. NUMBER_OF_RESETS=10000, OFF_TRACK_PENALTY=5, "
        "NUMBER_OF_OBSTACLES=6; repeatable",
    )
    add_checkpoint_argument(parser)
    parser.add_argument(
        "--continuous", action="store_true", help="one episode of --trials laps (IS_CONTINUOUS)"
    )
    parser.add_argument("--reverse", action="store_true", help="drive the track in reverse")
    parser.add_argument("--video", action="store_true", help="an MP4 per trial in RUN/videos/")
    parser.add_argument(
        "--onnx", metavar="FILE", help="evaluate an exported model.onnx / model.tar.gz (no torch)"
    )
    parser.add_argument("--seed", type=int, default=0, help="trial k uses seed + k")
    parser.add_argument(
        "--max-steps", type=int, default=100_000, help="step cap per episode (DeepRacer MAX_STEPS)"
    )


def run(args: argparse.Namespace) -> int:
    from slipstream.config.errors import ConfigError
    from slipstream.evaluate import evaluate_run
    from slipstream.export.package import PackageError
    from slipstream.runs.checkpoints import CheckpointError
    from slipstream.tracks.track import TrackError

    if args.trials < 1:
        print("slipstream evaluate: --trials must be at least 1", file=sys.stderr)
        return 2
    if bool(args.run) == bool(args.drfc):
        print("slipstream evaluate: give a RUN folder or --drfc DIR", file=sys.stderr)
        return 2
    if args.tracks:
        clash = [
            flag
            for flag, given in (
                ("--drfc", args.drfc),
                ("--track", args.track),
                ("--continuous", args.continuous),
                ("--reverse", args.reverse),
                ("--video", args.video),
            )
            if given
        ]
        if clash:
            print(
                f"slipstream evaluate: --tracks cannot be combined with {', '.join(clash)} "
                "(--directions both drives each track reversed too)",
                file=sys.stderr,
            )
            return 2
    elif args.directions != "default":
        print("slipstream evaluate: --directions goes with --tracks", file=sys.stderr)
        return 2
    try:
        if args.tracks:
            from slipstream.evaluate.track_evaluation import evaluate_run_tracks

            evaluate_run_tracks(
                args.run,
                ",".join(args.tracks),
                directions=args.directions,
                trials=args.trials,
                checkpoint=args.checkpoint,
                race_type=args.race_type,
                sets=args.set,
                onnx=args.onnx,
                seed=args.seed,
                max_steps=args.max_steps,
                echo=sys.stdout,
            )
            return 0
        if args.drfc:
            from slipstream.commands.drfc_inputs import evaluate_drfc

            evaluate_drfc(args)
            return 0
        evaluate_run(
            args.run,
            track=args.track,
            trials=args.trials,
            checkpoint=args.checkpoint,
            race_type=args.race_type,
            sets=args.set,
            continuous=True if args.continuous else None,
            reverse=args.reverse,
            video=args.video,
            onnx=args.onnx,
            seed=args.seed,
            max_steps=args.max_steps,
            echo=sys.stdout,
        )
    except (ConfigError, TrackError, CheckpointError, PackageError, ValueError) as exc:
        print(f"slipstream evaluate: {exc}", file=sys.stderr)
        return 2
    return 0
