"""DeepRacer-shaped log lines (docs/deepracer.md 7.5) and the run's log files.

The formatters return one line (no newline) in the shape DeepRacer's SageMaker trainer and
RoboMaker simulation print, so existing metric regexes and log parsers read them, e.g.::

    Training> Name=main_level/agent, Worker=0, Episode=19, Total reward=3.49, Steps=357, Training iteration=0
    Policy training> Surrogate loss=-0.0109, KL divergence=0.00998, Entropy=2.628, training epoch=0, learning_rate=0.0003

`RunLogger` writes them to one robomaker log per rollout worker,
``RUN/logs/training/slipstream-robomaker.log`` (worker 0) and ``slipstream-robomaker-<w>.log``
(simulation side, in DRfC's shape: `slipstream.runs.robomaker_log`) and to
``slipstream-sagemaker.log`` (trainer side: hyperparameters, policy training, checkpoints).
deepracer-utils' robomaker-log reader (``SimulationLogsIO``, ``DeepRacerLog.load_robomaker_logs``
for a console-style folder) parses the robomaker file: the hyper-parameter block, the
``Action space from file:`` and ``Sensor list`` lines, and SIM_TRACE_LOG lines.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from slipstream.runs import robomaker_log
from slipstream.runs.layout import RunLayout
from slipstream.runs.simtrace import sim_trace_log_lines

AGENT_NAME = "main_level/agent"


def _reward(x: float) -> str:
    return str(round(float(x), 2))


def _num(x: float) -> str:
    return format(float(x), ".4g")


def _episode_line(
    prefix: str, worker: int, episode: int, total_reward: float, steps: int, iteration: int
) -> str:
    return (
        f"{prefix}> Name={AGENT_NAME}, Worker={int(worker)}, Episode={int(episode)}, "
        f"Total reward={_reward(total_reward)}, Steps={int(steps)}, "
        f"Training iteration={int(iteration)}"
    )


def training_episode_line(
    worker: int, episode: int, total_reward: float, steps: int, iteration: int
) -> str:
    """``Training> ...`` line of a finished training episode.

    ``steps`` is the cumulative number of transitions; ``total_reward`` is rounded to 2 places.
    """
    return _episode_line("Training", worker, episode, total_reward, steps, iteration)


def testing_episode_line(
    worker: int, episode: int, total_reward: float, steps: int, iteration: int
) -> str:
    """``Testing> ...`` line of a finished evaluation episode."""
    return _episode_line("Testing", worker, episode, total_reward, steps, iteration)


def policy_training_line(
    surrogate_loss: float, kl: float, entropy: float, epoch: int, lr: float
) -> str:
    """``Policy training> ...`` line of one PPO epoch (numbers to 4 significant digits)."""
    return (
        f"Policy training> Surrogate loss={_num(surrogate_loss)}, KL divergence={_num(kl)}, "
        f"Entropy={_num(entropy)}, training epoch={int(epoch)}, learning_rate={_num(lr)}"
    )


_POLICY_TRAINING = re.compile(
    r"Policy training> Surrogate loss=(\S+), KL divergence=(\S+), Entropy=(\S+), "
    r"training epoch=(\d+)"
)


def parse_policy_training_line(line: str) -> tuple[float, float, float, int] | None:
    """(surrogate loss, KL divergence, entropy, epoch) of a `policy_training_line` (None: the
    line is not one)."""
    m = _POLICY_TRAINING.search(line)
    if m is None:
        return None
    return float(m.group(1)), float(m.group(2)), float(m.group(3)), int(m.group(4))


def evaluation_phase_start_line() -> str:
    return "## agent: Starting evaluation phase"


def evaluation_phase_end_line(success_rate: float, avg_total_reward: float) -> str:
    return (
        f"## agent: Finished evaluation phase. Success rate = {_reward(success_rate)}, "
        f"Avg Total Reward = {_reward(avg_total_reward)}"
    )


def checkpoint_saving_line(path: str) -> str:
    return f"Checkpoint> Saving in path=['{path}']"


def checkpoint_restoring_line(path: str) -> str:
    return f"Checkpoint> Restoring from path={path}"


def checkpoint_uploaded_line(num_files: int, number: int) -> str:
    return f"Uploaded {int(num_files)} files for checkpoint {int(number)}"


_CHECKPOINT_UPLOADED = re.compile(r"Uploaded \d+ files for checkpoint (\d+)")


def parse_checkpoint_uploaded_line(line: str) -> int | None:
    """The checkpoint number of a `checkpoint_uploaded_line` (None: the line is not one)."""
    m = _CHECKPOINT_UPLOADED.search(line)
    return None if m is None else int(m.group(1))


def best_last_checkpoint_line(best_number: int, last_number: int) -> str:
    return f"Best checkpoint number: {int(best_number)}, Last checkpoint number: {int(last_number)}"


def hyperparameters_block(hyperparameters: Mapping[str, Any] | str) -> str:
    """``Using the following hyper-parameters`` and the JSON, indent 2, keys sorted (lines)."""
    if isinstance(hyperparameters, str):
        hyperparameters = json.loads(hyperparameters)
    body = json.dumps(dict(hyperparameters), indent=2, sort_keys=True)
    return "Using the following hyper-parameters\n" + body


def best_model_evaluations_line(values: Sequence[float], metric: str = "progress") -> str:
    """``[BestModelSelection] Number of evaluations: N Evaluation episode progress: [...]``."""
    listed = ", ".join(str(float(v)) for v in values)
    return (
        f"[BestModelSelection] Number of evaluations: {len(values)} "
        f"Evaluation episode {metric}: [{listed}]"
    )


def best_model_mean_line(mean: float, metric: str = "progress") -> str:
    return f"[BestModelSelection] Evaluation episode {metric} mean: {float(mean)}"


def best_model_update_line(new_best: str, old_best: str | None) -> str:
    return f'[BestModelSelection] Updating the best checkpoint to "{new_best}" from "{old_best}".'


def sensor_line(model_metadata: Mapping[str, Any]) -> str:
    """``Sensor list [...], network ..., simapp_version ..., ...`` startup line of a model."""
    sensors = [str(s) for s in model_metadata.get("sensor", ["FRONT_FACING_CAMERA"])]
    network = model_metadata.get("neural_network", "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW")
    version = float(model_metadata.get("version", 2.0 if "sensor" in model_metadata else 1.0))
    algorithm = model_metadata.get("training_algorithm", "clipped_ppo")
    space_type = model_metadata.get("action_space_type", "discrete")
    lidar = model_metadata.get("lidar_config")
    return (
        f"Sensor list {sensors!r}, network {network}, simapp_version {version}, "
        f"training_algorithm {algorithm}, action_space_type {space_type} lidar_config {lidar!r}"
    )


def action_space_line(action_space: Any) -> str:
    """``Action space from file: [...]`` with the action space in Python-literal quoting."""
    return "Action space from file: " + json.dumps(action_space).replace('"', "'")


def _model_prefix(root: str) -> str:
    """The run folder as DRfC names a model: the key prefix in its bucket (s3://b/a/b -> a/b),
    or a local folder's name."""
    if "://" in root:
        bucket, _, key = root.split("://", 1)[1].strip("/").partition("/")
        return key or bucket
    return os.path.basename(os.path.normpath(root))


class RunLogger:
    """Writes DeepRacer-shaped lines to the run's robomaker and sagemaker log files.

    Lines are buffered and appended when ``max_lines`` are waiting or ``max_delay_s`` passed
    since the last write (checked on each call), and by `flush`/`close`. On object stores
    every append rewrites the file, so the remote default delay is longer.

    Args:
        layout: the run folder's layout.
        echo: a text stream that also gets every line at once (e.g. ``sys.stdout``).
        robomaker_key, sagemaker_key: override the files (e.g. `RunLayout.evaluation_log`).
        max_lines, max_delay_s: buffering limits (delay default 1 s local, 30 s remote).
    """

    def __init__(
        self,
        layout: RunLayout,
        echo: TextIO | None = None,
        robomaker_key: str | None = None,
        sagemaker_key: str | None = None,
        max_lines: int = 1000,
        max_delay_s: float | None = None,
    ) -> None:
        self.layout = layout
        self.storage = layout.storage
        self.echo = echo
        self.keys = {
            "robomaker": robomaker_key or layout.robomaker_log,
            "sagemaker": sagemaker_key or layout.sagemaker_log,
        }
        self.max_lines = max(1, int(max_lines))
        if max_delay_s is None:
            max_delay_s = 1.0 if self.storage.is_local else 30.0
        self.max_delay_s = float(max_delay_s)
        self._buffers: dict[str, list[str]] = {"robomaker": [], "sagemaker": []}
        self._last_flush = time.monotonic()

    def _worker_target(self, worker: int) -> str:
        """Buffer name of rollout worker `worker`'s robomaker log (0: ``robomaker``)."""
        if int(worker) == 0:
            return "robomaker"
        target = f"robomaker-{int(worker)}"
        if target not in self.keys:
            self.keys[target] = self.layout.worker_robomaker_log(worker)
            self._buffers[target] = []
        return target

    def write(self, lines: str | Iterable[str], to: str = "robomaker", worker: int = 0) -> None:
        """Log line(s) (a string may hold several, newline-separated) to ``robomaker`` (worker
        `worker`'s log), ``sagemaker`` or ``both``."""
        if to not in ("robomaker", "sagemaker", "both"):
            raise ValueError(f"to must be 'robomaker', 'sagemaker' or 'both', got {to!r}")
        items = [lines] if isinstance(lines, str) else list(lines)
        text_lines = [ln for item in items for ln in str(item).split("\n")]
        robomaker = self._worker_target(worker)
        targets = {"robomaker": (robomaker,), "sagemaker": ("sagemaker",)}.get(
            to, (robomaker, "sagemaker")
        )
        for target in targets:
            self._buffers[target].extend(text_lines)
        if self.echo is not None:
            self.echo.write("".join(ln + "\n" for ln in text_lines))
        waiting = max(len(b) for b in self._buffers.values())
        if waiting >= self.max_lines or time.monotonic() - self._last_flush >= self.max_delay_s:
            self.flush()

    def flush(self) -> None:
        """Append everything buffered to the files."""
        for target, buffer in self._buffers.items():
            if buffer:
                self.storage.append_text(self.keys[target], "".join(ln + "\n" for ln in buffer))
                buffer.clear()
        if self.echo is not None:
            self.echo.flush()
        self._last_flush = time.monotonic()

    def discard(self) -> None:
        """Drop the lines not yet written (e.g. those of an iteration that failed)."""
        for buffer in self._buffers.values():
            buffer.clear()

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------- conveniences
    def startup(
        self,
        model_metadata: Mapping[str, Any],
        hyperparameters: Mapping[str, Any] | str,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Sensor/network line, action space and hyperparameters, as both sides print them.

        With `params` (the training_params.yaml keys; one dict, or one per worker) every
        worker's robomaker log starts as DRfC's does, with the params and PARAMETERS lines.
        """
        per_worker = [params] if params is None or isinstance(params, Mapping) else list(params)
        prefix = _model_prefix(self.storage.path())
        for w in range(self.layout.num_workers):
            worker_params = per_worker[min(w, len(per_worker) - 1)]
            head = (
                [] if worker_params is None else robomaker_log.params_lines(worker_params, prefix)
            )
            self.write(
                [
                    *head,
                    sensor_line(model_metadata),
                    action_space_line(model_metadata.get("action_space", [])),
                    hyperparameters_block(hyperparameters),
                ],
                to="robomaker",
                worker=w,
            )
        self.write(hyperparameters_block(hyperparameters), to="sagemaker")

    def training_episodes(
        self, worker: int, episodes: Sequence[Any], simtrace: Mapping[str, Any], iteration: int
    ) -> None:
        """A worker's training episodes with their SIM_TRACE_LOG lines, in its own log."""
        lines = robomaker_log.training_episode_lines(episodes, simtrace, iteration)
        self.write(lines, worker=worker)

    def evaluation_episodes(
        self, evaluation: Sequence[Any], last_training_episode: int, iteration: int
    ) -> None:
        """Worker 0's in-training evaluation episodes, one evaluation-phase bracket each."""
        self.write(
            robomaker_log.evaluation_episode_lines(evaluation, last_training_episode, iteration)
        )

    def training_episode(
        self, worker: int, episode: int, total_reward: float, steps: int, iteration: int
    ) -> None:
        self.write(training_episode_line(worker, episode, total_reward, steps, iteration))

    def testing_episode(
        self, worker: int, episode: int, total_reward: float, steps: int, iteration: int
    ) -> None:
        self.write(testing_episode_line(worker, episode, total_reward, steps, iteration))

    def best_model(
        self,
        values: Sequence[float],
        mean: float,
        best_before: Any,
        checkpoint: str,
        became_best: bool,
        metric: str = "progress",
    ) -> None:
        """Worker 0's ``[BestModelSelection]`` lines; `best_before` is the previous best
        `CheckpointRecord` (None before the first)."""
        self.write(
            robomaker_log.best_model_lines(
                values,
                mean,
                None if best_before is None else best_before.avg_eval_metric,
                checkpoint,
                None if best_before is None else best_before.name,
                became_best,
                metric,
            )
        )

    def policy_training(
        self, surrogate_loss: float, kl: float, entropy: float, epoch: int, lr: float
    ) -> None:
        self.write(policy_training_line(surrogate_loss, kl, entropy, epoch, lr), to="sagemaker")

    def checkpoint_saved(self, name: str, number: int, best_number: int, last_number: int) -> None:
        self.write(
            [
                checkpoint_saving_line(self.storage.path(self.layout.checkpoint(name))),
                checkpoint_uploaded_line(2, number),
                best_last_checkpoint_line(best_number, last_number),
            ],
            to="sagemaker",
        )

    def sim_trace(self, columns: Mapping[str, Any]) -> None:
        """SIM_TRACE_LOG lines of a batch of steps (same columns as the simtrace CSV)."""
        self.write(sim_trace_log_lines(columns))
