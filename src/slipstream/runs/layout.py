"""Names of every file of a run folder, in the DeepRacer-for-Cloud (DRfC) layout.

::

    RUN/model/model_metadata.json   model/<N>_Step-<steps>.pt (+ .sha256)   model/.coach_checkpoint
    RUN/model/deepracer_checkpoints.json
    RUN/reward_function.py   RUN/training_params.yaml (+ training_params_<i>.yaml, i = 1..workers)
    RUN/ip/hyperparameters.json   RUN/track_set.json (Slipstream's own: a --tracks run's set)
    RUN/training-simtrace/<iteration>-iteration.csv            one worker
    RUN/<worker>/training-simtrace/<iteration>-iteration.csv   several workers (0, 1, ...)
    RUN/metrics/TrainingMetrics.json   metrics/TrainingMetrics_<w>.json (workers w > 0)
    RUN/evaluation-<YYYYmmddHHMMSS>/evaluation-simtrace/0-iteration.csv
    RUN/metrics/EvaluationMetrics-<YYYYmmddHHMMSS>.json
    RUN/logs/training/slipstream-robomaker.log   logs/training/slipstream-sagemaker.log
    RUN/logs/training/slipstream-robomaker-<w>.log   (workers w > 0)
    RUN/logs/evaluation/evaluation-<YYYYmmddHHMMSS>-slipstream-robomaker.log
    RUN/evaluation/tracks-<YYYYmmddHHMMSS>.csv (+ .json)          an evaluation across tracks
    RUN/videos/

deepracer-utils (`DeepRacerLog` with its local `FSFileHandler`) tells the two simtrace layouts
apart by the folders present: ``RUN/training-simtrace/`` means one worker, ``RUN/0/`` means
several. It takes the worker number from the *single character* before
``/training-simtrace/``, so a multi-worker run opens there only with at most 10 workers.
Nothing here creates a ``sim-trace/`` folder, which would make it read the run as a console
download instead.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import yaml

from slipstream.runs.storage import RunStorage

logger = logging.getLogger(__name__)

MODEL_DIR = "model"
METRICS_DIR = "metrics"
LOGS_DIR = "logs"
VIDEOS_DIR = "videos"
SIMTRACE_DIR = "training-simtrace"
EVALUATION_SIMTRACE_DIR = "evaluation-simtrace"
TRACK_EVALUATION_DIR = "evaluation"
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
MAX_WORKERS_FOR_DEEPRACER_UTILS = 10

_ITERATION_FILE = re.compile(r"^(\d+)-iteration\.csv$")
_TIMESTAMP = re.compile(r"^\d{14}$")
_TRACK_TABLE = re.compile(r"^tracks-(\d{14})\.json$")


class RunLayoutError(ValueError):
    """A worker index, timestamp or the files present do not fit the run's layout."""


def evaluation_timestamp(when: datetime | None = None) -> str:
    """``YYYYmmddHHMMSS`` of ``when`` (default: now, UTC) as used in evaluation folder names."""
    return (when or datetime.now(UTC)).strftime(TIMESTAMP_FORMAT)


class RunLayout:
    """Keys (paths relative to the run root) of every output of a run.

    Args:
        storage: the run folder.
        num_workers: rollout workers writing simtraces and metrics. 1 gives the single-worker
            DRfC layout (``RUN/training-simtrace/``), more give ``RUN/<worker>/training-simtrace/``.
    """

    def __init__(self, storage: RunStorage, num_workers: int = 1) -> None:
        if int(num_workers) < 1:
            raise RunLayoutError(f"num_workers must be >= 1, got {num_workers}")
        self.storage = storage
        self.num_workers = int(num_workers)
        if self.num_workers > MAX_WORKERS_FOR_DEEPRACER_UTILS:
            logger.warning(
                "%d workers: deepracer-utils reads worker folders 0-9 only; the simtraces of "
                "workers >= 10 will not load there",
                self.num_workers,
            )

    def __repr__(self) -> str:
        return f"RunLayout({self.storage!r}, num_workers={self.num_workers})"

    def _check_worker(self, worker: int) -> int:
        if not 0 <= int(worker) < self.num_workers:
            raise RunLayoutError(
                f"worker {worker} is outside 0..{self.num_workers - 1} for a run with "
                f"{self.num_workers} worker(s)"
            )
        return int(worker)

    # ------------------------------------------------------------------- model/
    @property
    def model_dir(self) -> str:
        """The folder of the checkpoints and model_metadata.json."""
        return MODEL_DIR

    @property
    def model_metadata(self) -> str:
        return f"{MODEL_DIR}/model_metadata.json"

    @staticmethod
    def checkpoint_name(number: int, steps: int) -> str:
        """``<N>_Step-<steps>.pt``: checkpoint ``number`` after ``steps`` environment steps."""
        if int(number) < 0 or int(steps) < 0:
            raise RunLayoutError(f"checkpoint number and steps must be >= 0, got {number}, {steps}")
        return f"{int(number)}_Step-{int(steps)}.pt"

    def checkpoint(self, name: str) -> str:
        """Key of the checkpoint file called ``name`` (see `checkpoint_name`)."""
        if "/" in name or not name:
            raise RunLayoutError(f"checkpoint name {name!r} must be a plain file name")
        return f"{MODEL_DIR}/{name}"

    def checkpoint_digest(self, name: str) -> str:
        """Key of the ``sha256sum``-style digest file of checkpoint ``name``."""
        return self.checkpoint(name) + ".sha256"

    @property
    def checkpoint_index(self) -> str:
        return f"{MODEL_DIR}/deepracer_checkpoints.json"

    @property
    def coach_checkpoint(self) -> str:
        return f"{MODEL_DIR}/.coach_checkpoint"

    # ------------------------------------------------------------------ inputs
    @property
    def reward_function(self) -> str:
        return "reward_function.py"

    def training_params(self, worker: int | None = None) -> str:
        """``training_params.yaml``, or DRfC's multi-config ``training_params_<worker+1>.yaml``."""
        if worker is None:
            return "training_params.yaml"
        return f"training_params_{self._check_worker(worker) + 1}.yaml"

    @property
    def hyperparameters(self) -> str:
        return "ip/hyperparameters.json"

    @property
    def track_set(self) -> str:
        """Slipstream's own: the `--tracks` set of a run on many tracks, for `--resume`."""
        return "track_set.json"

    # -------------------------------------------------------------- simtraces
    def training_simtrace_dir(self, worker: int = 0) -> str:
        worker = self._check_worker(worker)
        return SIMTRACE_DIR if self.num_workers == 1 else f"{worker}/{SIMTRACE_DIR}"

    def training_simtrace(self, iteration: int, worker: int = 0) -> str:
        """Simtrace CSV of training ``iteration`` (0, 1, ...) written by ``worker``."""
        if int(iteration) < 0:
            raise RunLayoutError(f"iteration must be >= 0, got {iteration}")
        return f"{self.training_simtrace_dir(worker)}/{int(iteration)}-iteration.csv"

    def training_simtrace_files(self) -> list[str]:
        """Every training-simtrace CSV in the folder, whichever layout wrote it (one worker's
        folder and each worker's numbered folder)."""
        folders = [SIMTRACE_DIR] + [
            f"{w}/{SIMTRACE_DIR}" for w in self.storage.ls("") if w.isdigit()
        ]
        return [
            f"{folder}/{name}"
            for folder in folders
            for name in self.storage.ls(folder)
            if _ITERATION_FILE.match(name)
        ]

    @staticmethod
    def simtrace_iteration(key: str) -> int:
        """The iteration number of a training-simtrace key (``.../<iteration>-iteration.csv``)."""
        m = _ITERATION_FILE.match(key.rsplit("/", 1)[-1])
        if m is None:
            raise RunLayoutError(f"{key} is not a training simtrace (<iteration>-iteration.csv)")
        return int(m.group(1))

    def _iterations_present(self, folder: str) -> list[int]:
        found = []
        for name in self.storage.ls(folder):
            m = _ITERATION_FILE.match(name)
            if m:
                found.append(int(m.group(1)))
        return found

    def next_iteration_index(self) -> int:
        """First iteration number not yet used by any worker (0 for a new run).

        It is one more than the largest iteration file present, so a resumed run continues the
        numbering without duplicates. Raises `RunLayoutError` when the folder holds simtraces
        of the other layout (a run restarted with a different number of workers).
        """
        single = self._iterations_present(SIMTRACE_DIR)
        multi = [
            i
            for w in self.storage.ls("")
            if w.isdigit()
            for i in self._iterations_present(f"{w}/{SIMTRACE_DIR}")
        ]
        mine, other = (single, multi) if self.num_workers == 1 else (multi, single)
        if other:
            raise RunLayoutError(
                f"{self.storage.root} already holds {'multi' if self.num_workers == 1 else 'single'}"
                f"-worker simtraces; resume it with the same number of workers it was started "
                f"with, or use a new run folder (this layout has {self.num_workers} worker(s))"
            )
        return max(mine) + 1 if mine else 0

    # ---------------------------------------------------------------- metrics
    def training_metrics(self, worker: int = 0) -> str:
        """``metrics/TrainingMetrics.json`` (worker 0) or ``TrainingMetrics_<w>.json``."""
        worker = self._check_worker(worker)
        suffix = "" if worker == 0 else f"_{worker}"
        return f"{METRICS_DIR}/TrainingMetrics{suffix}.json"

    # ------------------------------------------------------------- evaluation
    @staticmethod
    def _check_timestamp(timestamp: str) -> str:
        if not _TIMESTAMP.match(timestamp):
            raise RunLayoutError(
                f"evaluation timestamp {timestamp!r} must be 14 digits YYYYmmddHHMMSS "
                "(use evaluation_timestamp())"
            )
        return timestamp

    def evaluation_dir(self, timestamp: str) -> str:
        return f"evaluation-{self._check_timestamp(timestamp)}"

    def evaluation_simtrace(self, timestamp: str) -> str:
        return f"{self.evaluation_dir(timestamp)}/{EVALUATION_SIMTRACE_DIR}/0-iteration.csv"

    def evaluation_metrics(self, timestamp: str) -> str:
        return f"{METRICS_DIR}/EvaluationMetrics-{self._check_timestamp(timestamp)}.json"

    def new_evaluation_timestamp(self, when: datetime | None = None) -> str:
        """Timestamp for a new evaluation whose folder and metrics file do not exist yet.

        Starts at ``when`` (default now, UTC) and moves on by whole seconds past any evaluation
        already present, so two evaluations started in the same second do not share a folder.
        """
        stamp = evaluation_timestamp(when)
        while self.storage.exists(self.evaluation_dir(stamp)) or self.storage.exists(
            self.evaluation_metrics(stamp)
        ):
            stamp = _next_second(stamp)
        return stamp

    def evaluation_timestamps(self) -> list[str]:
        """Timestamps of the evaluations present, oldest first."""
        return sorted(
            name[len("evaluation-") :]
            for name in self.storage.ls("")
            if name.startswith("evaluation-") and _TIMESTAMP.match(name[len("evaluation-") :])
        )

    # ------------------------------------------------- evaluation across tracks
    def track_evaluation_csv(self, timestamp: str) -> str:
        """The table of an evaluation across tracks (`slipstream evaluate RUN --tracks SET`)."""
        return f"{TRACK_EVALUATION_DIR}/tracks-{self._check_timestamp(timestamp)}.csv"

    def track_evaluation_json(self, timestamp: str) -> str:
        """The same table with its settings and summary, for programs (`TracksTable`)."""
        return f"{TRACK_EVALUATION_DIR}/tracks-{self._check_timestamp(timestamp)}.json"

    def new_track_evaluation_timestamp(self, when: datetime | None = None) -> str:
        """Timestamp for a new table across tracks, moved on past any table already present."""
        stamp = evaluation_timestamp(when)
        while self.storage.exists(self.track_evaluation_json(stamp)) or self.storage.exists(
            self.track_evaluation_csv(stamp)
        ):
            stamp = _next_second(stamp)
        return stamp

    def track_evaluation_timestamps(self) -> list[str]:
        """Timestamps of the tables across tracks present (their JSON files), oldest first."""
        found = (_TRACK_TABLE.match(name) for name in self.storage.ls(TRACK_EVALUATION_DIR))
        return sorted(m.group(1) for m in found if m)

    # ------------------------------------------------------------ logs, videos
    @property
    def logs_dir(self) -> str:
        return LOGS_DIR

    @property
    def videos_dir(self) -> str:
        return VIDEOS_DIR

    @property
    def robomaker_log(self) -> str:
        """Simulation-side log (episodes, SIM_TRACE_LOG lines) of training."""
        return f"{LOGS_DIR}/training/slipstream-robomaker.log"

    def worker_robomaker_log(self, worker: int) -> str:
        """Training log of rollout worker `worker` (DRfC: one robomaker log per worker).

        Worker 0's is `robomaker_log`; the others' names do not match deepracer-utils'
        ``training/*-robomaker.log``, which reads one file.
        """
        if int(worker) == 0:
            return self.robomaker_log
        return f"{LOGS_DIR}/training/slipstream-robomaker-{self._check_worker(worker)}.log"

    @property
    def sagemaker_log(self) -> str:
        """Trainer-side log (hyperparameters, policy training, checkpoints)."""
        return f"{LOGS_DIR}/training/slipstream-sagemaker.log"

    @property
    def iteration_log(self) -> str:
        """One JSON object per line, per training iteration (the trainer's `IterationReport`)."""
        return f"{LOGS_DIR}/iterations.jsonl"

    @property
    def tensorboard_dir(self) -> str:
        """TensorBoard event files of the per-iteration figures (when tensorboard is installed)."""
        return f"{LOGS_DIR}/tensorboard"

    def evaluation_log(self, timestamp: str) -> str:
        """Log of one evaluation, named as deepracer-utils' console layout expects."""
        return (
            f"{LOGS_DIR}/evaluation/evaluation-{self._check_timestamp(timestamp)}"
            "-slipstream-robomaker.log"
        )


def _next_second(stamp: str) -> str:
    moment = datetime.strptime(stamp, TIMESTAMP_FORMAT) + timedelta(seconds=1)
    return moment.strftime(TIMESTAMP_FORMAT)


def training_params_yaml(params: Mapping[str, object]) -> str:
    """DRfC's ``training_params.yaml`` text: ``---`` then one ``'KEY': 'value'`` per line.

    Values are written as strings (lists stay lists of strings), keys sorted, as DRfC writes them.
    """
    clean: dict[str, object] = {}
    for key, value in params.items():
        if isinstance(value, list | tuple):
            clean[str(key)] = [str(v) for v in value]
        else:
            clean[str(key)] = str(value)
    return yaml.safe_dump(
        clean, default_flow_style=False, default_style="'", explicit_start=True, sort_keys=True
    )


def write_run_inputs(
    layout: RunLayout,
    model_metadata_json: Mapping[str, object],
    hyperparameters_json: str,
    reward_function_source: str,
    training_params: Mapping[str, object] | Sequence[Mapping[str, object]],
) -> None:
    """Write the inputs of a run: model metadata, hyperparameters, reward function, YAML params.

    Args:
        layout: where to write.
        model_metadata_json: the model_metadata.json dict (written with indent 2).
        hyperparameters_json: the processed hyperparameters as JSON text, written as given
            (DeepRacer writes ``json.dumps(params, indent=2, sort_keys=True)``).
        reward_function_source: Python source of the reward function.
        training_params: RoboMaker YAML keys for ``training_params.yaml``; or one dict per
            worker (multi-config): the first is also ``training_params.yaml`` and worker ``w``
            gets ``training_params_<w+1>.yaml``.
    """
    try:
        parsed = json.loads(hyperparameters_json)
    except json.JSONDecodeError as err:
        raise RunLayoutError(f"hyperparameters_json is not valid JSON: {err}") from None
    if not isinstance(parsed, dict):
        raise RunLayoutError("hyperparameters_json must hold a JSON object {name: value}")
    storage = layout.storage
    storage.write_text(layout.model_metadata, json.dumps(dict(model_metadata_json), indent=2))
    storage.write_text(layout.hyperparameters, hyperparameters_json)
    storage.write_text(layout.reward_function, reward_function_source)
    if isinstance(training_params, Mapping):
        storage.write_text(layout.training_params(), training_params_yaml(training_params))
        return
    per_worker = list(training_params)
    if len(per_worker) != layout.num_workers:
        raise RunLayoutError(
            f"got {len(per_worker)} training_params dicts for {layout.num_workers} worker(s); "
            "give one dict, or one per worker"
        )
    storage.write_text(layout.training_params(), training_params_yaml(per_worker[0]))
    for worker, params in enumerate(per_worker):
        storage.write_text(layout.training_params(worker), training_params_yaml(params))
