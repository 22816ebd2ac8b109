"""A DeepRacer-for-Cloud folder (run.env, system.env, worker-N.env) read once into `DrfcConfig`.

`load_drfc(DIR)` reads DRfC's env files as its ``bin/activate.sh`` and prepare-config scripts use
them (docs/drfc.md has the full table):

* where the model goes: ``s3://$DR_LOCAL_S3_BUCKET/$DR_LOCAL_S3_MODEL_PREFIX``, reached as
  DRfC's containers reach MinIO/S3: ``DR_LOCAL_S3_ENDPOINT_URL`` if set, else by ``DR_CLOUD``
  (``local``/``azure``: ``http://localhost:9000``; ``remote``: ``DR_REMOTE_MINIO_URL``;
  ``aws``: AWS itself), with the credentials of ``DR_LOCAL_S3_PROFILE``;
* the custom files: ``DR_LOCAL_S3_REWARD_KEY`` / ``_MODEL_METADATA_KEY`` /
  ``_HYPERPARAMETERS_KEY`` in that bucket (default ``$DR_LOCAL_S3_CUSTOM_FILES_PREFIX/...``);
* ``DR_WORKERS``; ``DR_TRAIN_MULTI_CONFIG`` with ``worker-<n>.env`` (n = 2..workers) for the
  other workers' tracks; ``DR_LOCAL_S3_PRETRAINED`` / ``_PREFIX`` / ``_CHECKPOINT``;
  ``DR_LOCAL_S3_METRICS_PREFIX``; ``DR_SIMAPP_VERSION`` (its major version, ``4`` or ``5``);
* the world keys (``DR_WORLD_NAME``, ``DR_TRAIN_*``, ``DR_EVAL_*``, ...) through
  `slipstream.config.run_env.world_from_run_env`, the one mapping of run.env onto YAML keys.

Settings that ask for something Slipstream cannot do (a GUI, Kinesis video, real-time factors,
...) are listed in `DrfcConfig.not_applied` so the command can name them once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from slipstream.config.errors import ConfigError, WorldConfigError
from slipstream.config.run_env import read_env_file, world_from_run_env
from slipstream.config.world import WorldConfig

PLACEHOLDER = re.compile(r"^<[A-Z_]+>$")  # DRfC's template values, e.g. <AWS_DR_BUCKET>
TRUE = frozenset({"true", "1", "yes"})
MINIO_LOCAL = "http://localhost:9000"

# DR_ settings that ask for something Slipstream does not do, and why (named once when active).
NOT_APPLIED: dict[str, str] = {
    "DR_GUI_ENABLE": "no Gazebo GUI (watch `slipstream dashboard RUN`)",
    "DR_HOST_X": "no X display is used",
    "DR_KINESIS_STREAM_NAME": "no Kinesis video stream",
    "DR_CAMERA_KVS_ENABLE": "no Kinesis video stream",
    "DR_ENABLE_EXTRA_KVS_OVERLAY": "no Kinesis video stream",
    "DR_TRAIN_RTF": "no real-time factor: the simulation runs as fast as it can",
    "DR_EVAL_RTF": "no real-time factor: the simulation runs as fast as it can",
    "DR_TRAIN_MAX_STEPS_PER_ITERATION": "iterations end after num_episodes_between_training",
    "DR_EVAL_DEBUG_REWARD": "evaluation does not call the reward function for debugging",
    "DR_ROBOMAKER_MOUNT_LOGS": "logs go to RUN/logs/ in the run folder",
    "DR_CLOUD_WATCH_ENABLE": "no CloudWatch logs",
    "DR_EVAL_OPP_S3_MODEL_PREFIX": "head-to-head against a second model: use `slipstream race`",
}
# the values that mean "off" for the settings above
_OFF_VALUES = frozenset({"", "false", "0", "no", "none", "1.0"})
_OFF_BY_DEFAULT_ONLY = frozenset({"DR_EVAL_OPP_S3_MODEL_PREFIX"})  # active only in H2H racing


class DrfcError(ConfigError):
    """A DRfC folder or one of its settings cannot be used (the message says how to fix it)."""


@dataclass(frozen=True)
class S3Access:
    """How DRfC's containers reach the local bucket."""

    endpoint_url: str | None
    """MinIO / S3-compatible endpoint (None: AWS S3 itself)."""
    profile: str | None
    """AWS profile holding the credentials (None: the default credential chain)."""

    def environment(self) -> dict[str, str]:
        """The AWS variables that make s3fs reach the bucket this way."""
        env = {}
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL_S3"] = self.endpoint_url
        if self.profile:
            env["AWS_PROFILE"] = self.profile
        return env


@dataclass(frozen=True)
class DrfcConfig:
    """What ``dr-start-training`` / ``dr-start-evaluation`` would use, parsed once."""

    folder: Path
    run_env: Path
    system_env: Path | None
    bucket: str
    model_prefix: str
    custom_files_prefix: str
    reward_key: str
    model_metadata_key: str
    hyperparameters_key: str
    metrics_prefix: str
    workers: int
    worker_tracks: tuple[str, ...]
    """WORLD_NAME of each worker with DR_TRAIN_MULTI_CONFIG (empty: all on DR_WORLD_NAME)."""
    simapp_version: str | None
    """``"5"`` or ``"4"`` from DR_SIMAPP_VERSION (None when unset)."""
    pretrained: str | None
    """``s3://bucket/$DR_LOCAL_S3_PRETRAINED_PREFIX`` when DR_LOCAL_S3_PRETRAINED is true."""
    pretrained_checkpoint: str
    eval_video: bool
    """DR_EVAL_SAVE_MP4: an MP4 per evaluation trial."""
    s3: S3Access
    not_applied: tuple[tuple[str, str], ...]
    """(variable, why) of each active setting Slipstream cannot apply."""

    @property
    def run(self) -> str:
        return f"s3://{self.bucket}/{self.model_prefix}"

    def key_url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key.lstrip('/')}"

    def world(self, job_type: str = "TRAINING") -> WorldConfig:
        """The world keys of run.env (+ system.env) for a training or evaluation job."""
        return world_from_run_env(self.run_env, job_type, system_env=self.system_env)

    def evaluation_metrics_key(self, timestamp: str) -> str:
        """Bucket key of an evaluation's metrics, as DRfC's evaluation prepare-config names it."""
        return f"{self.metrics_prefix}/evaluation/evaluation-{timestamp}.json"

    def warning(self) -> str | None:
        """One line naming the settings that are not applied (None when there are none)."""
        if not self.not_applied:
            return None
        listed = "; ".join(f"{name} ({why})" for name, why in self.not_applied)
        return f"DRfC settings not applied: {listed}"


def _value(env: dict[str, str], name: str, default: str | None = None) -> str | None:
    """A variable's text; unset, empty or a template placeholder gives `default`."""
    text = env.get(name, "").strip()
    if not text or PLACEHOLDER.match(text):
        return default
    return text


def _required(env: dict[str, str], name: str, default: str, source: str) -> str:
    text = env.get(name, "").strip()
    if PLACEHOLDER.match(text):
        raise DrfcError(
            f"{source}: {name}={text} is still DRfC's template placeholder; set it to your "
            f"value (e.g. {name}={default})"
        )
    return text or default


def simapp_major(version: str | None, source: str = "DR_SIMAPP_VERSION") -> str | None:
    """``"5"`` / ``"4"`` of a simapp image tag such as ``5.3.3-gpu`` (None when unset)."""
    if version is None:
        return None
    match = re.match(r"^v?(\d+)(\.|-|$)", version.strip())
    if not match:
        raise DrfcError(
            f"{source}={version!r} is not a simapp image tag; write e.g. DR_SIMAPP_VERSION=5.3.3-cpu"
        )
    major = match.group(1)
    if major not in ("4", "5"):
        raise DrfcError(
            f"{source}={version!r}: Slipstream models the cars of simapp 4 and 5; set "
            "DR_SIMAPP_VERSION to a 4.x or 5.x tag"
        )
    return major


def _endpoint(env: dict[str, str], source: str) -> str | None:
    explicit = _value(env, "DR_LOCAL_S3_ENDPOINT_URL")
    if explicit:
        return explicit
    cloud = (_value(env, "DR_CLOUD", "") or "").lower()
    if cloud in ("local", "azure"):
        return MINIO_LOCAL
    if cloud == "remote":
        url = _value(env, "DR_REMOTE_MINIO_URL")
        if not url:
            raise DrfcError(
                f"{source}: DR_CLOUD=remote needs DR_REMOTE_MINIO_URL (e.g. http://mynas:9000)"
            )
        return url
    return None


def _not_applied(env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    found = []
    for name, why in NOT_APPLIED.items():
        text = (env.get(name) or "").strip()
        if name in _OFF_BY_DEFAULT_ONLY:
            active = bool(text) and _value(env, "DR_RACE_TYPE") == "HEAD_TO_MODEL"
        else:
            active = text.lower() not in _OFF_VALUES
        if active:
            found.append((name, why))
    return tuple(found)


def _metrics_note(env: dict[str, str], model_prefix: str) -> tuple[tuple[str, str], ...]:
    prefix = (_value(env, "DR_LOCAL_S3_METRICS_PREFIX") or "").strip("/")
    if not prefix or prefix == f"{model_prefix}/metrics":
        return ()
    why = "training metrics stay in the model's metrics/ (evaluation metrics go to the prefix)"
    return (("DR_LOCAL_S3_METRICS_PREFIX", why),)


def _worker_tracks(
    folder: Path, env: dict[str, str], workers: int, source: str
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Tracks of each worker with DR_TRAIN_MULTI_CONFIG, and the worker settings not applied."""
    if (_value(env, "DR_TRAIN_MULTI_CONFIG", "False") or "").lower() not in TRUE or workers < 2:
        return (), ()
    experiment = _value(env, "DR_EXPERIMENT_NAME")
    where = folder / "experiments" / experiment if experiment else folder
    tracks = [_value(env, "DR_WORLD_NAME", "LGSWide") or "LGSWide"]
    ignored: set[str] = set()
    for n in range(2, workers + 1):
        path = where / f"worker-{n}.env"
        if not path.is_file():
            raise DrfcError(
                f"{source}: DR_TRAIN_MULTI_CONFIG=True with DR_WORKERS={workers} needs {path} "
                f"(worker {n}'s DR_WORLD_NAME, ...); add it or set DR_TRAIN_MULTI_CONFIG=False"
            )
        worker_env = read_env_file(path)
        tracks.append(_value(worker_env, "DR_WORLD_NAME", tracks[0]) or tracks[0])
        ignored.update(
            name
            for name, text in worker_env.items()
            if name != "DR_WORLD_NAME" and text.strip() != (env.get(name) or "").strip()
        )
    why = "only DR_WORLD_NAME differs per worker in Slipstream; worker-N.env's value not used"
    return tuple(tracks), tuple((name, why) for name in sorted(ignored))


def load_drfc(folder: str | Path) -> DrfcConfig:
    """Read a DRfC folder: ``run.env`` (required), ``system.env`` and ``worker-<n>.env``."""
    folder = Path(folder)
    run_env = folder / "run.env"
    if not run_env.is_file():
        raise DrfcError(
            f"{folder} has no run.env: give the DRfC folder holding run.env and system.env "
            "(DRfC's defaults/template-run.env is a start)"
        )
    system_env = folder / "system.env"
    env: dict[str, str] = {}
    if system_env.is_file():
        env.update(read_env_file(system_env))
    env.update(read_env_file(run_env))
    source = str(run_env if not system_env.is_file() else f"{system_env} + {run_env}")

    bucket = _required(env, "DR_LOCAL_S3_BUCKET", "bucket", source)
    model_prefix = _required(env, "DR_LOCAL_S3_MODEL_PREFIX", "rl-deepracer-sagemaker", source)
    model_prefix = model_prefix.strip("/")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", bucket):
        raise DrfcError(
            f"{source}: DR_LOCAL_S3_BUCKET={bucket!r} is not an S3 bucket name (3-63 lower-case "
            "letters, digits, '-' and '.')"
        )
    if not model_prefix:
        raise DrfcError(f"{source}: DR_LOCAL_S3_MODEL_PREFIX is empty; name the model's prefix")
    custom = _required(env, "DR_LOCAL_S3_CUSTOM_FILES_PREFIX", "custom_files", source).strip("/")
    workers_text = _required(env, "DR_WORKERS", "1", source)
    try:
        workers = int(workers_text)
    except ValueError:
        workers = 0
    if workers < 1:
        raise DrfcError(f"{source}: DR_WORKERS={workers_text!r} must be a whole number >= 1")
    checkpoint = (_value(env, "DR_LOCAL_S3_PRETRAINED_CHECKPOINT", "last") or "last").lower()
    if checkpoint not in ("best", "last"):
        raise DrfcError(
            f"{source}: DR_LOCAL_S3_PRETRAINED_CHECKPOINT={checkpoint!r} must be best or last"
        )
    pretrained = None
    if (_value(env, "DR_LOCAL_S3_PRETRAINED", "False") or "").lower() in TRUE:
        prefix = _required(env, "DR_LOCAL_S3_PRETRAINED_PREFIX", "rl-sagemaker-pretrained", source)
        pretrained = f"s3://{bucket}/{prefix.strip('/')}"
    auth = (_value(env, "DR_LOCAL_S3_AUTH_MODE", "profile") or "profile").lower()
    profile = _value(env, "DR_LOCAL_S3_PROFILE") if auth == "profile" else None
    tracks, worker_notes = _worker_tracks(folder, env, workers, source)
    config = DrfcConfig(
        folder=folder,
        run_env=run_env,
        system_env=system_env if system_env.is_file() else None,
        bucket=bucket,
        model_prefix=model_prefix,
        custom_files_prefix=custom,
        reward_key=_value(env, "DR_LOCAL_S3_REWARD_KEY", f"{custom}/reward_function.py") or "",
        model_metadata_key=_value(
            env, "DR_LOCAL_S3_MODEL_METADATA_KEY", f"{custom}/model_metadata.json"
        )
        or "",
        hyperparameters_key=_value(
            env, "DR_LOCAL_S3_HYPERPARAMETERS_KEY", f"{custom}/hyperparameters.json"
        )
        or "",
        metrics_prefix=(
            _value(env, "DR_LOCAL_S3_METRICS_PREFIX", f"{model_prefix}/metrics") or ""
        ).strip("/"),
        workers=workers,
        worker_tracks=tracks,
        simapp_version=simapp_major(
            _value(env, "DR_SIMAPP_VERSION"), f"{source}: DR_SIMAPP_VERSION"
        ),
        pretrained=pretrained,
        pretrained_checkpoint=checkpoint,
        eval_video=(_value(env, "DR_EVAL_SAVE_MP4", "False") or "").lower() in TRUE,
        s3=S3Access(_endpoint(env, source), profile),
        not_applied=_not_applied(env) + worker_notes + _metrics_note(env, model_prefix),
    )
    try:  # the world keys parse now, so a typo fails before anything is written
        config.world("TRAINING")
    except WorldConfigError as exc:
        raise DrfcError(str(exc)) from None
    return config


__all__ = ["DrfcConfig", "DrfcError", "S3Access", "load_drfc", "simapp_major"]
