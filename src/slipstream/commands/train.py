"""`slipstream train`: train a model into a DRfC-layout run folder."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from slipstream.commands import add_checkpoint_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    inputs = parser.add_argument_group("inputs (DeepRacer files)")
    inputs.add_argument(
        "--custom-files", metavar="DIR", help="a DRfC custom_files folder (or s3://bucket/prefix)"
    )
    inputs.add_argument(
        "--drfc",
        metavar="DIR",
        help="a DeepRacer-for-Cloud folder (run.env, system.env): train as dr-start-training "
        "would, into s3://$DR_LOCAL_S3_BUCKET/$DR_LOCAL_S3_MODEL_PREFIX (docs/drfc.md)",
    )
    inputs.add_argument(
        "--example",
        choices=["racing"],
        help="a shipped example's model_metadata, reward and hyperparameters (racing: up to "
        "4 m/s, pays progress per step on the road); files given explicitly still win",
    )
    inputs.add_argument(
        "--reward-function",
        metavar="FILE",
        help="reward_function.py; with --example, also the name of another reward file the "
        "example ships (racing: reward_any_track.py, for training on many tracks)",
    )
    inputs.add_argument("--model-metadata", metavar="FILE", help="model_metadata.json")
    inputs.add_argument(
        "--hyperparameters",
        metavar="FILE",
        help="hyperparameters.json; with --example, also the name of another hyperparameters "
        "file the example ships (racing: hyperparameters_any_track.json, 3 PPO epochs)",
    )
    inputs.add_argument("--run-env", metavar="FILE", help="DRfC run.env with DR_* settings")
    inputs.add_argument("--training-params", metavar="FILE", help="RoboMaker training_params.yaml")
    inputs.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a hyperparameter (lower case) or world key (upper case); repeatable",
    )
    where = parser.add_argument_group("where and how")
    where.add_argument(
        "--run", default="runs/latest", help="run folder: a path or s3://bucket/prefix"
    )
    where.add_argument("--track", help="track name or .npy path (default: WORLD_NAME)")
    where.add_argument(
        "--tracks",
        nargs="+",
        metavar="SET",
        help="train on a set of tracks, each car on its own: names, files, globs "
        "('reInvent2019_*'), 'official', 'builtin', 'generated' (a new procedural track per "
        "draw) or 'generated:SEED'; comma- or space-separated",
    )
    where.add_argument(
        "--episodes-per-track",
        type=int,
        default=10,
        metavar="N",
        help="with --tracks: a car draws its next track every N of its episodes (default 10; "
        "a new track's camera texture takes 1-4 s to draw, so 1 slows training on "
        "generated tracks down)",
    )
    where.add_argument(
        "--worker-tracks",
        nargs="+",
        metavar="TRACK",
        help="one track per worker (DRfC multi-config)",
    )
    where.add_argument("--race-type", choices=["TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT"])
    where.add_argument("--workers", type=int, help="rollout workers (default: NUM_WORKERS)")
    where.add_argument("--cars-per-worker", type=int, help="cars one worker simulates at once")
    where.add_argument(
        "--serial",
        action="store_true",
        help="run workers in this process (the default for one worker; more use Ray)",
    )
    where.add_argument("--address", help="Ray cluster address, e.g. auto (default: local Ray)")
    where.add_argument("--device", default="auto", help="trainer device: auto, cpu or cuda")
    where.add_argument(
        "--precision",
        choices=["auto", "bf16", "fp32"],
        default="auto",
        help="learner arithmetic: auto = bf16 where the CPU (avx512_bf16/amx) or GPU has it; "
        "weights and the exported model stay float32",
    )
    where.add_argument(
        "--pipeline",
        action="store_true",
        help="workers collect the next iteration with the current policy while the learner "
        "trains (default: DeepRacer's synchronous loop)",
    )
    where.add_argument(
        "--policy-average",
        type=int,
        metavar="STEPS",
        help="also keep a moving average of the policy's weights, half-life STEPS environment "
        "steps, in every checkpoint; evaluate or export it with --checkpoint averaged "
        "(docs/tracks.md: the averaged generalist laps more tracks)",
    )
    where.add_argument("--seed", type=int, default=0)
    stop = parser.add_argument_group("when to stop")
    stop.add_argument("--iterations", type=int, help="training iterations to run")
    stop.add_argument(
        "--minutes", type=float, help="wall-clock budget (like the console's job duration)"
    )
    stop.add_argument(
        "--until-lap", action="store_true", help="stop once an evaluation completes a lap"
    )
    resume = parser.add_argument_group("resume and pretrained start")
    resume.add_argument("--resume", action="store_true", help="continue the run in --run")
    resume.add_argument(
        "--pretrained", metavar="RUN", help="start from another run's model (clone)"
    )
    add_checkpoint_argument(resume, default="last", which="the --pretrained run's checkpoint")
    parser.add_argument(
        "--shared-trunk", action="store_true", help="share the conv trunk between policy and value"
    )
    parser.add_argument(
        "--evaluate", action="store_true", help="evaluate the best model at the end"
    )
    parser.add_argument("--eval-trials", type=int, default=3)


def _example_file(given: str, example: str | None) -> str:
    """`given`, or with `--example` the example's own file of that name when `given` is a bare
    file name not found here (`--example racing --reward-function reward_any_track.py`)."""
    from slipstream.examples import example_dir

    if example and not Path(given).exists() and Path(given).name == given:
        shipped = example_dir(example) / given
        if shipped.is_file():
            return str(shipped)
    return given


def build_config(args: argparse.Namespace):
    """Read and validate every input before anything is written (errors say how to fix)."""
    from slipstream.config import (
        apply_overrides,
        as_reward_function,
        load_custom_files,
        load_hyperparameters,
        load_model_metadata,
        load_world_yaml,
        world_from_run_env,
    )
    from slipstream.config.errors import ConfigError
    from slipstream.config.world import WorldConfig
    from slipstream.examples import example_dir
    from slipstream.rollout.trainer import TrainConfig
    from slipstream.tracks.track_set import parse_track_set

    if args.custom_files and args.example:
        raise ConfigError("give --custom-files or --example, not both")
    if args.custom_files or args.example:
        source = args.custom_files or str(example_dir(args.example))
        files = load_custom_files(source, run_env=args.run_env)
        metadata, hp, world = files.model_metadata, files.hyperparameters, files.world
        reward_path = files.reward_function_path
    else:  # the shipped defaults; files given below replace them
        metadata, hp, reward_path = load_model_metadata(None), load_hyperparameters(None), None
        if args.run_env:
            world = world_from_run_env(args.run_env)
        elif args.training_params:
            world = load_world_yaml(args.training_params)
        else:
            world = WorldConfig()
    if args.reward_function:
        reward_path = _example_file(args.reward_function, args.example)
    if args.model_metadata:
        metadata = load_model_metadata(args.model_metadata)
    if args.hyperparameters:
        hp = load_hyperparameters(_example_file(args.hyperparameters, args.example))
    hp, world = apply_overrides(hp, world, args.set)
    reward = as_reward_function(reward_path)
    race_type = args.race_type or world.RACE_TYPE
    pretrained, pretrained_checkpoint = args.pretrained, args.checkpoint
    if not pretrained and hp.pretrained_s3_bucket and hp.pretrained_s3_prefix:
        # the SageMaker names DRfC uses for clone / incremental training
        pretrained = f"s3://{hp.pretrained_s3_bucket}/{hp.pretrained_s3_prefix}"
        pretrained_checkpoint = hp.pretrained_checkpoint
    track = args.track or world.track_name
    workers = args.workers or int(world.NUM_WORKERS)
    tracks = tuple(args.worker_tracks or ())
    if tracks and len(tracks) == 1:
        track, tracks = tracks[0], ()
    elif tracks and not args.workers:
        workers = len(tracks)
    track_set = parse_track_set(",".join(args.tracks)) if args.tracks else None
    if track_set is not None and track_set.is_single:
        track, track_set = track_set.names[0], None
    elif track_set is not None and track_set.names:
        track = track_set.names[0]
    return TrainConfig.build(
        run=args.run,
        model_metadata=metadata,
        hyperparameters=hp,
        reward_function=reward,
        world=world,
        track=track,
        worker_tracks=tracks,
        track_set=track_set,
        episodes_per_track=args.episodes_per_track,
        race_type=race_type,
        workers=workers,
        cars_per_worker=args.cars_per_worker,
        iterations=args.iterations,
        minutes=args.minutes,
        until_lap=args.until_lap,
        seed=args.seed,
        device=args.device,
        address=args.address,
        serial=args.serial or (workers == 1 and not args.address),
        resume=args.resume,
        pretrained=pretrained,
        pretrained_checkpoint=pretrained_checkpoint,
        shared_trunk=args.shared_trunk,
        precision=args.precision,
        pipeline=args.pipeline,
        policy_average=args.policy_average,
    )


def run(args: argparse.Namespace) -> int:
    from slipstream.config.errors import ConfigError
    from slipstream.rl.precision import precision_name
    from slipstream.rollout.pool import WorkerLostError
    from slipstream.rollout.train_config import inputs_from_run
    from slipstream.rollout.trainer import Trainer, TrainingError
    from slipstream.tracks.track import TrackError

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")  # every worker's log lines, not deduplicated
    if args.minutes is None and args.iterations is None and not args.until_lap:
        print(
            "slipstream train: give --minutes, --iterations or --until-lap so training ends",
            file=sys.stderr,
        )
        return 2
    try:
        from slipstream.commands.drfc_inputs import train_arguments

        args = train_arguments(args)
        config = build_config(args)
        if args.resume and not args.custom_files and not args.model_metadata:
            config = inputs_from_run(config, keep_reward_function=bool(args.reward_function))
        trainer = Trainer(config)
    except (ConfigError, TrackError, TrainingError, FileNotFoundError) as exc:
        print(f"slipstream train: {exc}", file=sys.stderr)
        return 2
    where = config.track
    if config.track_set is not None:
        where = (
            f"tracks [{config.track_set.describe()}] (a new track every "
            f"{config.episodes_per_track} episodes of a car; evaluation on {config.track})"
        )
    print(
        f"Training {config.model_metadata.training_algorithm} "
        f"({config.model_metadata.neural_network}, {config.model_metadata.action_space_type}) on "
        f"{where} with {trainer.num_workers} worker(s) into {config.run}"
    )
    amp = getattr(trainer.learner, "amp_dtype", None)
    print(
        f"Learner on {trainer.learner.device}, {precision_name(amp)}; threads: "
        f"{trainer.threads.describe()}"
    )
    try:
        reports = trainer.run()
    except KeyboardInterrupt:
        print("\nstopped: the last checkpoint is kept; continue with --resume", file=sys.stderr)
        return 130
    except (ConfigError, TrainingError, WorkerLostError) as exc:
        print(f"slipstream train: {exc}", file=sys.stderr)
        return 1
    if trainer.stopped_by_user:
        print(
            f"stopped after iteration {trainer.iteration - 1} was saved (checkpoint "
            f"{trainer.current_checkpoint}); continue with --resume",
            file=sys.stderr,
        )
        return 130
    if reports:
        last = reports[-1]
        print(
            f"done: {len(reports)} iterations, {last.total_steps:,} steps, last checkpoint {last.checkpoint}"
        )
    if args.evaluate:
        return _final_evaluation(config, args.eval_trials)
    return 0


def _final_evaluation(config, trials: int) -> int:
    """Evaluate the best checkpoint from the start line and print completion and lap times."""
    from slipstream.evaluate import evaluate_run

    evaluate_run(config.run, track=config.track, trials=trials, checkpoint="best")
    return 0
