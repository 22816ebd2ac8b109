"""`slipstream bench sim|train|race|generalise|frames|learn`: the benchmarks the README and
notes quote."""

from __future__ import annotations

import argparse
import json
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="which", required=True, metavar="BENCH")
    sim = sub.add_parser(
        "sim", help="vector-env steps per second with the front camera, random actions"
    )
    sim.add_argument("--batch", type=int, nargs="+", default=[1, 64], help="car batch sizes")
    sim.add_argument("--steps", type=int, default=300, help="timed steps per batch size")
    sim.add_argument("--track", default=None, help="track name (default: built-in default)")
    sim.add_argument(
        "--tracks",
        default=None,
        metavar="SET",
        help="each car on its own track of this set (as train --tracks; 'generated': "
        "generated:0, generated:1, ...)",
    )
    sim.add_argument("--sensor", default="FRONT_FACING_CAMERA", help="camera sensor to render")
    sim.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: one core)")
    sim.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    train = sub.add_parser(
        "train",
        help="raw learner bound, learner samples/s, rollout steps/s, end-to-end samples/s, CPU per role",
    )
    train.add_argument("--track", default=None)
    train.add_argument("--json", action="store_true")
    train.add_argument("--workers", type=int, default=1)
    train.add_argument(
        "--iterations", type=int, default=4, help="training iterations (the first is a warm-up)"
    )
    train.add_argument(
        "--run",
        default=None,
        help="run folder (default: a temporary folder); a dashboard can watch it",
    )
    _add_speed_arguments(train)
    race = sub.add_parser(
        "race",
        help="train the racing example for M minutes: best lap vs wall-clock, then 5 trials",
    )
    race.add_argument("--track", default="reInvent2019_track")
    race.add_argument("--minutes", type=float, default=10.0, help="training wall-clock budget")
    race.add_argument("--workers", type=int, default=1)
    race.add_argument("--trials", type=int, default=5, help="final evaluation trials")
    race.add_argument("--run", default=None, help="run folder (default: a temporary folder)")
    race.add_argument("--seed", type=int, default=0)
    race.add_argument("--json", action="store_true", help="print the result as one JSON line")
    _add_speed_arguments(race)
    general = sub.add_parser(
        "generalise",
        help="train the racing example on generated tracks only, then race every official track",
    )
    general.add_argument("--minutes", type=float, default=60.0, help="training wall-clock budget")
    general.add_argument(
        "--curve-every", type=float, default=10.0, help="minutes between policy copies (curve)"
    )
    general.add_argument(
        "--subset", type=int, default=12, help="official tracks the curve is measured on"
    )
    general.add_argument("--trials", type=int, default=3, help="evaluation trials per track")
    general.add_argument(
        "--policy-average",
        type=int,
        default=75_000,
        metavar="STEPS",
        help="half-life of the policy's moving average (train --policy-average), which races "
        "every official track (default 75000; 0: keep none, race the last policy)",
    )
    general.add_argument(
        "--episodes-per-track", type=int, default=10, help="episodes a car drives each track"
    )
    general.add_argument(
        "--camera-augmentation",
        action="store_true",
        help="train with CAMERA_AUGMENTATION (the real-car camera augmentation)",
    )
    general.add_argument(
        "--reward",
        default=None,
        help="reward function file (default: the racing example's reward_any_track.py)",
    )
    general.add_argument(
        "--hyperparameters",
        default=None,
        help="hyperparameters.json (default: the racing example's "
        "hyperparameters_any_track.json, 3 PPO epochs; keys left out take DRfC's)",
    )
    general.add_argument(
        "--eval-trials",
        type=int,
        default=0,
        help="MIN_EVAL_TRIALS while training (default 0: no evaluation episodes between "
        "iterations, which the benchmark does not use; DeepRacer's default is 5)",
    )
    general.add_argument("--workers", type=int, default=1)
    general.add_argument("--run", default=None, help="run folder (default: a temporary folder)")
    general.add_argument("--seed", type=int, default=0)
    general.add_argument(
        "--evaluate-only",
        action="store_true",
        help="evaluate the policy copies already in --run (after an interrupted run)",
    )
    general.add_argument("--json", action="store_true", help="print the result as one JSON line")
    frames = sub.add_parser(
        "frames", help="what a dashboard watching the cars costs a rollout worker (CPU per step)"
    )
    frames.add_argument("--repeats", type=int, default=3)
    frames.add_argument("--json", action="store_true")
    learn = sub.add_parser(
        "learn", help="minutes until the first 100%% evaluation lap (DRfC defaults)"
    )
    learn.add_argument("--track", default="reInvent2019_track")
    learn.add_argument("--minutes", type=float, default=30.0, help="give up after this long")
    learn.add_argument("--workers", type=int, default=1)
    learn.add_argument("--run", default=None, help="run folder (default: a temporary folder)")
    learn.add_argument("--json", action="store_true")


def _add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pipeline",
        action="store_true",
        help="workers collect the next iteration while the learner trains",
    )
    parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    parser.add_argument("--device", default="auto", help="learner device: auto, cpu or cuda")
    parser.add_argument("--cores", type=int, help="cores to plan threads for (default: all)")


def _limit_threads(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)


def run(args: argparse.Namespace) -> int:
    if args.which == "sim":
        _limit_threads(args.threads)
        from slipstream.env.bench import benchmark_sim

        rows = benchmark_sim(args.batch, args.steps, args.track, args.sensor, _sim_tracks(args))
        if args.json:
            print(json.dumps({"benchmark": "sim", "results": rows}))
        else:
            print(
                f"{'batch':>6} {'tracks':>7} {'steps/s':>12} {'x realtime':>11} "
                f"{'ms/batch step':>14}"
            )
            for r in rows:
                print(
                    f"{r['batch']:>6} {r['tracks']:>7} {r['steps_per_second']:>12,.0f} "
                    f"{r['x_realtime']:>11,.0f} {r['ms_per_batch_step']:>14.2f}"
                )
        return 0
    if args.which == "frames":
        from slipstream.rollout.bench import benchmark_frames

        result = benchmark_frames(repeats=args.repeats)
        print(json.dumps(result) if args.json else _table(result))
        return 0
    from slipstream.config.errors import ConfigError
    from slipstream.rollout.train_config import TrainingError
    from slipstream.tracks.track import TrackError

    try:
        result = _run_training_benchmark(args)
    except (ConfigError, TrackError, TrainingError) as exc:
        print(f"slipstream bench {args.which}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else _table(result))
    if not args.run and result.get("run"):
        print(_kept_folder_line(str(result["run"])), file=sys.stderr)
    return 0


def _kept_folder_line(folder: str) -> str:
    """Where a benchmark without --run left its run folder, and its size."""
    from pathlib import Path

    size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    return (
        f"the run folder is kept at {folder} ({size / 1e6:.0f} MB): delete it when done, "
        "or pass --run DIR to choose where it goes"
    )


def _sim_tracks(args: argparse.Namespace) -> list[str] | None:
    """The tracks of `bench sim --tracks`: the set's names, then generated:0, 1, ... as many
    as the largest batch needs when the set has 'generated'."""
    if not args.tracks:
        return None
    from slipstream.tracks.track_set import parse_track_set

    track_set = parse_track_set(args.tracks)
    names = list(track_set.names)
    if track_set.generated:
        names += [f"generated:{seed}" for seed in range(max(args.batch))]
    return names


def _table(result: dict) -> str:
    return "\n".join(f"{key:>32}: {value}" for key, value in result.items())


def _run_training_benchmark(args: argparse.Namespace) -> dict:
    """bench train, race, generalise or learn: a training run whose inputs may be refused."""
    from slipstream.rollout.train_config import TrainingError

    if args.which == "train":
        from slipstream.rollout.bench import benchmark_train

        result = benchmark_train(
            track=args.track,
            workers=args.workers,
            iterations=args.iterations,
            pipeline=args.pipeline,
            precision=args.precision,
            device=args.device,
            cores=args.cores,
            run=args.run,
        )
    elif args.which == "race":
        from slipstream.evaluate.bench import benchmark_race

        result = benchmark_race(
            track=args.track,
            minutes=args.minutes,
            workers=args.workers,
            pipeline=args.pipeline,
            precision=args.precision,
            device=args.device,
            trials=args.trials,
            run=args.run,
            seed=args.seed,
        )
        if not args.json:
            result = {k: v for k, v in result.items() if k != "curve"}
    elif args.which == "generalise" and args.evaluate_only:
        from slipstream.evaluate.generalise import evaluate_generalisation

        if not args.run:
            raise TrainingError("--evaluate-only needs the --run folder of a generalise run")
        result = evaluate_generalisation(
            args.run, subset=args.subset, trials=args.trials, seed=args.seed
        )
    elif args.which == "generalise":
        from slipstream.evaluate.generalise import GeneralisePlan, benchmark_generalise

        plan = GeneralisePlan(
            minutes=args.minutes,
            curve_every=args.curve_every,
            episodes_per_track=args.episodes_per_track,
            camera_augmentation=args.camera_augmentation,
            reward=args.reward,
            hyperparameters=args.hyperparameters,
            eval_trials=args.eval_trials,
            workers=args.workers,
            seed=args.seed,
            policy_average=args.policy_average or None,
        )
        result = benchmark_generalise(plan, subset=args.subset, trials=args.trials, run=args.run)
        if not args.json:
            result = {k: v for k, v in result.items() if k != "table"}
    else:
        from slipstream.rollout.bench import benchmark_learn

        result = benchmark_learn(
            track=args.track, minutes=args.minutes, workers=args.workers, run=args.run
        )
    return result
