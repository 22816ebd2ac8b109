"""`slipstream race RUN_A RUN_B`: head-to-head race of two models on one track."""

from __future__ import annotations

import argparse
import sys

from slipstream.commands import add_checkpoint_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", metavar="RUN_A", help="run of car A (starts ahead, outer lane)")
    parser.add_argument("run_b", metavar="RUN_B", help="run of car B (0.75 m behind, inner lane)")
    parser.add_argument("--track", help="track name or .npy path (default: RUN_A's WORLD_NAME)")
    parser.add_argument("--laps", type=int, default=3, help="laps of the race (default 3)")
    add_checkpoint_argument(parser)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="world key, e.g. NUMBER_OF_RESETS=0 (default 10000), COLLISION_PENALTY=5",
    )
    parser.add_argument("--video", action="store_true", help="an MP4 of the race in both runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-steps", type=int, default=100_000, help="step cap of the race (DeepRacer MAX_STEPS)"
    )


def run(args: argparse.Namespace) -> int:
    from slipstream.config.errors import ConfigError
    from slipstream.evaluate import race_runs
    from slipstream.runs.checkpoints import CheckpointError
    from slipstream.tracks.track import TrackError

    try:
        race_runs(
            args.run_a,
            args.run_b,
            track=args.track,
            laps=args.laps,
            checkpoint=args.checkpoint,
            sets=args.set,
            video=args.video,
            seed=args.seed,
            max_steps=args.max_steps,
            echo=sys.stdout,
        )
    except (ConfigError, TrackError, CheckpointError, ValueError) as exc:
        print(f"slipstream race: {exc}", file=sys.stderr)
        return 2
    return 0
