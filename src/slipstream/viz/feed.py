"""What the live dashboard shows of one run, read incrementally from the run folder.

`RunFeed.poll` reads only what was added since the previous poll:

* ``metrics/TrainingMetrics[_<w>].json`` (`JsonListTail`): reward, progress and status of every
  training and in-training evaluation episode, per worker;
* ``metrics/EvaluationMetrics-<ts>.json``: trials of evaluations (`slipstream evaluate`);
* ``logs/training/*-sagemaker.log`` (`TextTail`): ``Policy training>`` lines (surrogate loss, KL,
  entropy per epoch), grouped per iteration by the ``Uploaded ... for checkpoint N`` lines;
* ``logs/training/*-robomaker.log``: the training log's tail (no SIM_TRACE_LOG lines);
* ``logs/iterations.jsonl``: the trainer's per-iteration record (samples per second);
* the run's inputs (model_metadata.json, reward_function.py, hyperparameters), re-read when
  their size changes.

`RunFeed.snapshot` turns what was read into the per-iteration series the page plots; iterations
follow deepracer-utils: ``(episode - 1) // E`` with E worker 0's episodes per iteration.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from typing import Any

import numpy as np

from slipstream.runs import RunLayout, RunStorage
from slipstream.runs.logs import parse_checkpoint_uploaded_line, parse_policy_training_line
from slipstream.viz.summary import EVALUATION_METRICS, LAP_COMPLETE, TRAINING_METRICS
from slipstream.viz.tail import JsonListTail, TextTail

LOG_LINES = 200
MAX_INPUT_BYTES = 1_000_000


def _num(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else round(value, 5)


def _nums(values) -> list[float | None]:
    return [_num(v) for v in values]


class RunFeed:
    """Incremental view of one run folder for the dashboard (thread-safe)."""

    def __init__(self, run: str | RunStorage) -> None:
        self.storage = run if isinstance(run, RunStorage) else RunStorage(str(run))
        layout = RunLayout(self.storage)
        self._lock = threading.Lock()
        self._metrics: dict[int, JsonListTail] = {}
        self._episodes: dict[int, list[dict[str, Any]]] = {}
        self._evaluations: dict[str, JsonListTail] = {}
        self._evaluation_trials: dict[str, list[dict[str, Any]]] = {}
        self._sagemaker = TextTail(self.storage, layout.sagemaker_log)
        self._robomaker = TextTail(self.storage, layout.robomaker_log)
        self._iteration_log = TextTail(self.storage, layout.iteration_log)
        self._epochs: list[tuple[float, float, float]] = []
        self._learner: dict[int, tuple[float, float, float]] = {}
        self._iterations: dict[int, dict[str, Any]] = {}
        self._log: deque[str] = deque(maxlen=LOG_LINES)
        self._input_sizes: dict[str, int] = {}
        self.inputs: dict[str, Any] = {}
        self.version = 0
        self.updated = 0.0

    # ------------------------------------------------------------------ reading

    def poll(self) -> bool:
        """Read what was added since the last call; True if anything changed."""
        with self._lock:
            changed = False
            for read in (self._poll_metrics, self._poll_logs, self._poll_inputs):
                changed |= read()
            if changed:
                self.version += 1
                self.updated = time.time()
            return changed

    def _poll_metrics(self) -> bool:
        changed = False
        try:
            names = self.storage.ls("metrics")
        except (FileNotFoundError, OSError):
            return False
        for name in names:
            m = TRAINING_METRICS.match(name)
            if m:
                worker = int(m.group(1) or 0)
                tail = self._metrics.setdefault(
                    worker, JsonListTail(self.storage, f"metrics/{name}")
                )
                entries, reset = tail.read()
                if reset:
                    self._episodes[worker] = []
                if entries or reset:
                    self._episodes.setdefault(worker, []).extend(entries)
                    changed = True
            m = EVALUATION_METRICS.match(name)
            if m:
                tail = self._evaluations.setdefault(
                    m.group(1), JsonListTail(self.storage, f"metrics/{name}")
                )
                entries, reset = tail.read()
                if reset:
                    self._evaluation_trials[m.group(1)] = []
                if entries or reset:
                    self._evaluation_trials.setdefault(m.group(1), []).extend(entries)
                    changed = True
        return changed

    def _poll_logs(self) -> bool:
        changed = False
        for line in self._sagemaker.read():
            changed = True
            epoch = parse_policy_training_line(line)
            if epoch is not None:
                self._epochs.append(epoch[:3])
                self._log.append(line)
                continue
            checkpoint = parse_checkpoint_uploaded_line(line)
            if checkpoint is not None and self._epochs:
                self._learner[checkpoint - 1] = tuple(np.mean(self._epochs, axis=0))
                self._epochs = []
        for line in self._robomaker.read():
            changed = True
            if "SIM_TRACE_LOG" not in line:
                self._log.append(line)
        for line in self._iteration_log.read():
            try:
                record = json.loads(line)
                self._iterations[int(record["iteration"])] = record
                changed = True
            except (ValueError, KeyError, TypeError):
                continue
        return changed

    def _poll_inputs(self) -> bool:
        changed = False
        layout = RunLayout(self.storage)
        inputs = {
            "model_metadata": layout.model_metadata,
            "reward_function": layout.reward_function,
            "hyperparameters": layout.hyperparameters,
            "training_params": layout.training_params(),
        }
        for name, key in inputs.items():
            try:
                size = int(self.storage.fs.size(self.storage.path(key)))
            except (FileNotFoundError, OSError):
                continue
            if self._input_sizes.get(name) == size or size > MAX_INPUT_BYTES:
                continue
            try:
                text = self.storage.read_text(key)
            except (FileNotFoundError, OSError, UnicodeDecodeError):
                continue
            self._input_sizes[name] = size
            changed = True
            if name in ("model_metadata", "hyperparameters"):
                try:
                    self.inputs[name] = json.loads(text)
                except json.JSONDecodeError:
                    self.inputs[name] = text
            else:
                self.inputs[name] = text
        return changed

    # ------------------------------------------------------------------ series

    def _per_iteration(self) -> int:
        trials = [
            int(e.get("trial", 0))
            for e in self._episodes.get(0, [])
            if e.get("phase", "training") == "training"
        ]
        return max(max(trials, default=1), 1)

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready series and panels of the run (NaN as null)."""
        with self._lock:
            per_iteration = self._per_iteration()
            workers = {}
            eval_rows = []
            for w, entries in sorted(self._episodes.items()):
                if not entries:
                    continue
                episode = np.array([int(e.get("episode", 0)) for e in entries])
                iteration = (episode - 1) // per_iteration
                phase = np.array([str(e.get("phase", "training")) for e in entries])
                reward = np.array([float(e.get("reward_score", 0)) for e in entries])
                progress = np.array([float(e.get("completion_percentage", 0)) for e in entries])
                lap = np.array([e.get("episode_status") == LAP_COMPLETE for e in entries])
                ms = np.array([float(e.get("elapsed_time_in_milliseconds", 0)) for e in entries])
                train = phase == "training"
                its = np.unique(iteration[train])
                workers[str(w)] = {
                    "iteration": its.tolist(),
                    "reward": _nums(reward[train & (iteration == i)].mean() for i in its),
                    "progress": _nums(progress[train & (iteration == i)].mean() for i in its),
                    "completion": _nums(100 * lap[train & (iteration == i)].mean() for i in its),
                }
                ev = phase == "evaluation"
                eval_rows += zip(iteration[ev], progress[ev], lap[ev], ms[ev], strict=True)
            evaluation = self._evaluation_series(eval_rows)
            learner_its = sorted(self._learner)
            learner = {
                "iteration": learner_its,
                "surrogate_loss": _nums(self._learner[i][0] for i in learner_its),
                "kl_divergence": _nums(self._learner[i][1] for i in learner_its),
                "entropy": _nums(self._learner[i][2] for i in learner_its),
            }
            speed_its = sorted(self._iterations)
            speed = {
                "iteration": speed_its,
                "rollout_steps_per_second": _nums(
                    self._iterations[i].get("rollout_steps_per_second", math.nan) for i in speed_its
                ),
                "learner_samples_per_second": _nums(
                    self._iterations[i].get("learner_samples_per_second", math.nan)
                    for i in speed_its
                ),
            }
            return {
                "run": self.storage.root,
                "version": self.version,
                "updated": self.updated,
                "episodes_per_iteration": per_iteration,
                "workers": workers,
                "evaluation": evaluation,
                "learner": learner,
                "speed": speed,
                "latest_evaluation": self._latest_evaluation(),
                "log": list(self._log),
                "inputs": dict(self.inputs),
            }

    @staticmethod
    def _evaluation_series(rows) -> dict[str, Any]:
        """In-training evaluation per iteration: mean progress, laps, best and mean lap time."""
        if not rows:
            return {"iteration": [], "progress": [], "completion": [], "best_lap_s": []}
        iteration, progress, lap, ms = (np.array(c) for c in zip(*rows, strict=True))
        its = np.unique(iteration)
        best = []
        for i in its:
            laps = ms[(iteration == i) & lap]
            best.append(laps.min() / 1000.0 if len(laps) else math.nan)
        return {
            "iteration": its.tolist(),
            "progress": _nums(progress[iteration == i].mean() for i in its),
            "completion": _nums(100 * lap[iteration == i].mean() for i in its),
            "best_lap_s": _nums(best),
        }

    def _latest_evaluation(self) -> dict[str, Any] | None:
        """The newest EvaluationMetrics file's trials (None without one)."""
        stamps = [ts for ts, trials in self._evaluation_trials.items() if trials]
        if not stamps:
            return None
        ts = max(stamps)
        trials = self._evaluation_trials[ts]
        return {
            "timestamp": ts,
            "trials": [
                {
                    "trial": int(t.get("trial", k + 1)),
                    "progress": _num(t.get("completion_percentage", 0)),
                    "time_s": _num(float(t.get("elapsed_time_in_milliseconds", 0)) / 1000.0),
                    "status": str(t.get("episode_status", "")),
                }
                for k, t in enumerate(trials)
            ],
        }
