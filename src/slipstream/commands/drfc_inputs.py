"""`--drfc DIR` and `--custom-files s3://...`: a DRfC folder's settings as the commands' arguments.

`train_arguments` turns ``slipstream train --drfc DIR`` into the arguments ``dr-start-training``
would have used (run folder, custom files, workers, pretrained model, simapp version) so
`slipstream.commands.train.build_config` builds the `TrainConfig` the one usual way;
`evaluate_drfc` runs ``dr-start-evaluation``'s evaluation and puts the metrics at DRfC's key.
The mapping itself is `slipstream.config.drfc` (docs/drfc.md).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from slipstream.config.drfc import DrfcConfig, DrfcError, load_drfc
from slipstream.runs import RunStorage

CUSTOM_FILE_NAMES = ("reward_function.py", "model_metadata.json", "hyperparameters.json")
# DR_EVAL_* / race keys dr-start-evaluation writes into the evaluation's YAML
EVALUATION_KEYS = (
    "NUMBER_OF_RESETS",
    "OFF_TRACK_PENALTY",
    "COLLISION_PENALTY",
    "RESET_BEHIND_DIST",
    "PENALTY_SECONDS",
    "NUMBER_OF_OBSTACLES",
    "MIN_DISTANCE_BETWEEN_OBSTACLES",
    "RANDOMIZE_OBSTACLE_LOCATIONS",
    "IS_OBSTACLE_BOT_CAR",
    "OBSTACLE_TYPE",
    "NUMBER_OF_BOT_CARS",
    "BOT_CAR_SPEED",
    "MIN_DISTANCE_BETWEEN_BOT_CARS",
    "RANDOMIZE_BOT_CAR_LOCATIONS",
    "IS_LANE_CHANGE",
    "LOWER_LANE_CHANGE_TIME",
    "UPPER_LANE_CHANGE_TIME",
    "LANE_CHANGE_DISTANCE",
    "SIMAPP_VERSION",
)


def _temporary_folder() -> Path:
    """A folder that lives until the process ends (reward functions are loaded from it)."""
    folder = Path(tempfile.mkdtemp(prefix="slipstream-custom-files-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def fetch_custom_files(url: str, keys: dict[str, str] | None = None) -> str:
    """Copy a remote custom_files folder (``s3://bucket/prefix``) to a local folder.

    `keys`: file name -> key under `url` (default: the three files by name). Raises DrfcError
    naming what is missing, as dr-start-training does.
    """
    keys = keys or {name: name for name in CUSTOM_FILE_NAMES}
    storage = RunStorage(url)
    missing = [storage.path(key) for key in keys.values() if not storage.exists(key)]
    if missing:
        raise DrfcError(
            f"custom files not found: {', '.join(missing)}. Upload them (DRfC: "
            "dr-upload-custom-files) or give a local folder"
        )
    folder = _temporary_folder()
    for name, key in keys.items():
        (folder / name).write_bytes(storage.read_bytes(key))
    return str(folder)


def use_drfc_storage(config: DrfcConfig) -> None:
    """Reach the bucket as DRfC's containers do (endpoint, profile); name what is not applied."""
    os.environ.update(config.s3.environment())
    warning = config.warning()
    if warning:
        print(f"slipstream: {warning}", file=sys.stderr)


def upload_hint(config: DrfcConfig) -> str:
    """How the trained model reaches dr-upload-model: its run folder holds PyTorch checkpoints,
    which the script would copy as they are and the console cannot load."""
    tf_prefix = f"{config.model_prefix}-tf"
    return (
        f"slipstream: {config.run} will hold PyTorch checkpoints; for dr-upload-model export a "
        f"TensorFlow model first: slipstream export {config.run} --format deepracer --out "
        f"s3://{config.bucket}/{tf_prefix} && dr-upload-model -p {tf_prefix}"
    )


def _drfc_custom_files(config: DrfcConfig) -> str:
    """The custom files from the bucket (DR_LOCAL_S3_*_KEY), else DIR/custom_files."""
    keys = {
        "reward_function.py": config.reward_key,
        "model_metadata.json": config.model_metadata_key,
        "hyperparameters.json": config.hyperparameters_key,
    }
    bucket = RunStorage(f"s3://{config.bucket}")
    present = [bucket.exists(key) for key in keys.values()]
    local = config.folder / "custom_files"
    if not any(present) and local.is_dir():
        return str(local)
    return fetch_custom_files(f"s3://{config.bucket}", keys)


def train_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """`args` with --drfc DIR (and a remote --custom-files) resolved to local inputs."""
    values = vars(args).copy()
    if getattr(args, "drfc", None):
        config = load_drfc(args.drfc)
        use_drfc_storage(config)
        print(upload_hint(config), file=sys.stderr)
        values.update(
            run=config.run,
            custom_files=args.custom_files or _drfc_custom_files(config),
            run_env=str(config.run_env),
            workers=args.workers or config.workers,
            worker_tracks=args.worker_tracks or (list(config.worker_tracks) or None),
            pretrained=args.pretrained or config.pretrained,
            checkpoint=config.pretrained_checkpoint if config.pretrained else args.checkpoint,
            set=([f"SIMAPP_VERSION={config.simapp_version}"] if config.simapp_version else [])
            + list(args.set),
        )
    custom = values.get("custom_files")
    if custom and "://" in custom:
        values["custom_files"] = fetch_custom_files(custom)
    return argparse.Namespace(**values)


def evaluate_drfc(args: argparse.Namespace):
    """``dr-start-evaluation`` of the DRfC folder `args.drfc`; returns the `EvaluationResult`.

    The metrics are also written at DRfC's key, ``<metrics prefix>/evaluation/evaluation-<ts>.json``.
    """
    from slipstream.evaluate import evaluate_run

    config = load_drfc(args.drfc)
    use_drfc_storage(config)
    world = config.world("EVALUATION")
    yaml = world.to_yaml_dict()
    sets = [f"{key}={yaml[key]}" for key in EVALUATION_KEYS if key in yaml]
    if config.simapp_version:
        sets.append(f"SIMAPP_VERSION={config.simapp_version}")
    result = evaluate_run(
        config.run,
        track=args.track or world.track_name,
        trials=world.NUMBER_OF_TRIALS,
        checkpoint=world.EVAL_CHECKPOINT,
        race_type=world.RACE_TYPE,
        sets=[*sets, *args.set],
        continuous=world.IS_CONTINUOUS,
        reverse=world.REVERSE_DIR,
        video=bool(args.video) or config.eval_video,
        seed=args.seed,
        max_steps=args.max_steps,
        echo=sys.stdout,
    )
    if result.written is not None:
        run = RunStorage(config.run)
        key = config.evaluation_metrics_key(result.written.timestamp)
        RunStorage(f"s3://{config.bucket}").write_bytes(key, run.read_bytes(result.written.metrics))
        print(f"metrics: s3://{config.bucket}/{key}")
    return result


__all__ = ["evaluate_drfc", "fetch_custom_files", "train_arguments", "use_drfc_storage"]
