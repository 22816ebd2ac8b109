"""Run recording: what a training run writes into its DRfC-layout run folder.

`RunRecorder` checks the folder (new run, `--resume`, `--pretrained` source) before anything is
written, then writes the inputs (model_metadata.json, reward_function.py, training_params.yaml,
hyperparameters.json), the checkpoints and deepracer_checkpoints.json, the per-worker simtrace
CSVs and TrainingMetrics JSON, and DeepRacer-shaped log lines. It knows nothing of networks or
workers beyond the state dicts and `RolloutResult`/`EpisodeSummary` records it is handed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from slipstream.config.reward_function import SLOW_CALL_SECONDS, SLOW_CHECK_CALLS
from slipstream.model.run_model import AVERAGED, RunModelError, load_run_checkpoint
from slipstream.rollout.train_config import TrainConfig, TrainingError
from slipstream.rollout.worker import EpisodeSummary, RolloutResult
from slipstream.runs import (
    CheckpointError,
    CheckpointIndex,
    RunLayout,
    RunLogger,
    RunStorage,
    SimtraceWriter,
    TrainingMetricsWriter,
    average_eval_metric,
    load_checkpoint,
    next_checkpoint_number,
    prune_checkpoints,
    save_checkpoint,
    write_run_inputs,
)
from slipstream.runs.checkpoints import parse_checkpoint_name
from slipstream.runs.iteration_log import IterationLog
from slipstream.runs.metrics import MetricsError
from slipstream.runs.recovery import (
    RunPosition,
    newest_loadable_checkpoint,
    roll_back,
    with_position,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run continues: its last checkpoint and the counters after it."""

    checkpoint: str
    checkpoint_number: int
    total_steps: int
    iteration: int
    state: dict[str, Any]


def read_pretrained(run: str, which: str = "last") -> tuple[str, dict[str, Any]]:
    """(checkpoint name, state) of another run's ``best``/``last`` Slipstream checkpoint, or
    ``averaged``: its last checkpoint with the averaged policy (`load_run_checkpoint`)."""
    other = RunStorage(run)
    try:
        if which == AVERAGED:
            return load_run_checkpoint(other, AVERAGED)
        name = CheckpointIndex(other).resolve(which)
        return name, load_checkpoint(other, name)
    except (CheckpointError, RunModelError) as exc:
        raise TrainingError(
            f"--pretrained {run}: no usable Slipstream checkpoint ({exc}). Give a run folder "
            "trained by Slipstream, or import a DeepRacer model first with `slipstream import`"
        ) from None


class RunRecorder:
    """The run folder of one training run, and everything written into it."""

    def __init__(self, config: TrainConfig, num_workers: int) -> None:
        self.config = config
        self.num_workers = num_workers
        self.storage = RunStorage(config.run)
        self.layout = RunLayout(self.storage, num_workers=max(1, config.workers))
        self.index = CheckpointIndex(self.storage, config.best_model_metric)
        self.logger: RunLogger | None = None
        self.simtrace: SimtraceWriter | None = None
        self.metrics: list[TrainingMetricsWriter] = []
        self.episode_counts: list[int] = []
        self._resume_notes: list[str] = []
        self._reward_speed_noted = False
        self.iteration_log: IterationLog | None = None
        self._figures: dict[str, Any] = {}
        """This iteration's figures for `record_iteration`, gathered by the other records."""

    # ------------------------------------------------------------------ before writing

    def resume_point(self) -> ResumePoint:
        """The last complete checkpoint to continue from (`--resume`), the folder rolled back to it.

        A damaged or half-written newer checkpoint is reported and the one before it used; what
        an unfinished iteration left behind (metrics entries, simtrace files) is removed, so the
        resumed run neither misses nor repeats an iteration. TrainingError when there is no
        checkpoint.
        """
        if next_checkpoint_number(self.storage) == 0:
            raise TrainingError(
                f"--resume: {self.config.run} has no checkpoint to resume from; drop --resume to "
                "start a new run there"
            )
        try:
            recovered = newest_loadable_checkpoint(self.storage)
            undone = roll_back(self.layout, recovered, range(self.num_workers))
        except (CheckpointError, MetricsError) as exc:
            raise TrainingError(f"--resume: {exc}") from None
        for name, why in recovered.skipped:
            log.warning(f"--resume: checkpoint {name} is unusable ({why}); using {recovered.name}")
        self._resume_notes = [
            *(f"Checkpoint> {name} is unusable ({why})" for name, why in recovered.skipped),
            *(f"Resume> {line}" for line in undone),
            "Checkpoint> Restoring from "
            f"path={self.storage.path(self.layout.checkpoint(recovered.name))}",
        ]
        log.info(self._resume_notes[-1])
        position = recovered.position
        iteration = (
            position.next_iteration if position is not None else self.layout.next_iteration_index()
        )
        self.index = CheckpointIndex(self.storage, self.config.best_model_metric)
        self._update_reward_function()
        return ResumePoint(
            checkpoint=recovered.name,
            checkpoint_number=recovered.number,
            total_steps=recovered.total_steps,
            iteration=iteration,
            state=recovered.state,
        )

    def _update_reward_function(self) -> None:
        """On resume, a reward function other than the run's replaces RUN/reward_function.py."""
        source = self.config.reward_function.source_text
        key = self.layout.reward_function
        if source is None or (self.storage.exists(key) and self.storage.read_text(key) == source):
            return
        self.storage.write_text(key, source)
        self._resume_notes.append(f"Resume> {key} replaced by {self.config.reward_function.name}")

    def check_new(self) -> None:
        """TrainingError when the folder already holds a model (nothing is changed)."""
        if next_checkpoint_number(self.storage) > 0 or self.storage.exists(
            self.layout.checkpoint_index
        ):
            raise TrainingError(
                f"{self.config.run} already holds a trained model; pass --resume to continue it, "
                "or choose a new --run folder (nothing was changed)"
            )

    # ------------------------------------------------------------------ writing

    def processed_hyperparameters(self) -> str:
        cfg = self.config
        return cfg.hyperparameters.to_processed_json(cfg.model_metadata.training_algorithm)

    def training_params(self) -> dict[str, str] | list[dict[str, str]]:
        """training_params.yaml: the world keys, with the track(s) actually trained on."""
        cfg = self.config
        world = cfg.world.to_yaml_dict()
        world.update(
            WORLD_NAME=cfg.track, RACE_TYPE=cfg.race_type, NUM_WORKERS=str(self.num_workers)
        )
        world.pop("TRACK_DIRECTION_CLOCKWISE", None)  # the track name says the direction
        if cfg.worker_tracks:
            return [{**world, "WORLD_NAME": cfg.track_of(w)} for w in range(self.num_workers)]
        if cfg.track_set is not None and cfg.track_set.names:
            # DRfC trains one track per worker: its multi-config form, the set's named tracks
            # in turn (generated tracks have no DeepRacer name; a generated-only set keeps
            # WORLD_NAME)
            names = cfg.track_set.names
            return [{**world, "WORLD_NAME": names[w % len(names)]} for w in range(self.num_workers)]
        return world

    def start(self, state: Mapping[str, Any]) -> str:
        """A new run: write the inputs and checkpoint 0 (`state`); returns its name."""
        cfg = self.config
        source = cfg.reward_function.source_text or "# reward function given as a Python callable\n"
        write_run_inputs(
            self.layout,
            cfg.model_metadata.to_json_dict(),
            self.processed_hyperparameters(),
            source,
            self.training_params(),
        )
        if cfg.track_set is not None:
            saved = {
                **cfg.track_set.to_json_dict(),
                "episodes_per_track": cfg.episodes_per_track,
                "evaluation_track": cfg.track,
            }
            self.storage.write_text(self.layout.track_set, json.dumps(saved, indent=2))
        return save_checkpoint(
            self.storage,
            with_position(state, RunPosition(0, (0,) * self.num_workers)),
            0,
            0,
        )

    def open(self) -> None:
        """Open the log, simtrace and metrics writers (after `start` or `resume_point`)."""
        self.logger = RunLogger(self.layout, echo=None)
        self.simtrace = SimtraceWriter(self.layout)
        self.metrics = [
            TrainingMetricsWriter(
                self.storage,
                self.layout.training_metrics(w),
                self.config.best_model_metric,
                auto_flush=False,  # written at the iteration's commit
            )
            for w in range(self.num_workers)
        ]
        self.episode_counts = [m.last_episode for m in self.metrics]
        self.iteration_log = IterationLog(self.layout)
        self.logger.startup(
            self.config.model_metadata.to_json_dict(),
            self.processed_hyperparameters(),
            self.training_params(),
        )
        if self._resume_notes:
            self.logger.write(self._resume_notes, to="both")

    def record_training(self, results: Sequence[RolloutResult], iteration: int) -> None:
        """The training episodes of one iteration: log lines, metrics, simtrace rows."""
        self._figures = _episode_figures(results)
        for r in results:
            w = r.worker
            for e in r.episodes:
                e.episode += self.episode_counts[w]
            if r.episodes:
                self.metrics[w].add_episodes(
                    episode=[e.episode for e in r.episodes],
                    trial=[e.trial for e in r.episodes],
                    total_reward=[e.total_reward for e in r.episodes],
                    progress=[e.progress for e in r.episodes],
                    status=[e.status for e in r.episodes],
                    start_time_s=[e.start_time for e in r.episodes],
                    end_time_s=[e.end_time for e in r.episodes],
                    track=[e.track for e in r.episodes] if self.config.track_set else None,
                )
                self.episode_counts[w] = r.episodes[-1].episode
            # `episode`: 0-based count of this worker's completed training episodes (survives --resume)
            first = self.episode_counts[w] - len(r.episodes)
            simtrace = {**r.simtrace, "episode": first + r.simtrace_episode}
            self.simtrace.add(simtrace, iteration=iteration, worker=w)
            self.logger.training_episodes(w, r.episodes, simtrace, iteration)

    def record_policy_training(self, epochs: Sequence[Mapping[str, float]]) -> None:
        for key in ("surrogate_loss", "kl_divergence", "entropy"):
            if epochs:
                self._figures[key] = float(np.mean([e[key] for e in epochs]))
        for epoch in epochs:
            self.logger.policy_training(
                epoch["surrogate_loss"],
                epoch["kl_divergence"],
                epoch["entropy"],
                epoch["training_epoch"],
                epoch["learning_rate"],
            )

    def checkpoint_name(self, number: int, total_steps: int) -> str:
        """Name checkpoint `number` will have (it is evaluated before it is saved)."""
        return self.layout.checkpoint_name(number, total_steps)

    def note_workers(self, lines: Sequence[str]) -> None:
        """Lines about the workers (where they run, replacements) for the robomaker log."""
        for line in lines:
            log.info(line)
        self.logger.write(list(lines))
        self.logger.flush()  # at once: a replacement is news even if the iteration never ends

    def note_reward_speed(self, results: Sequence[RolloutResult]) -> None:
        """Warn once, in the log, when the reward function is slower than 1 ms per call."""
        if self._reward_speed_noted:
            return
        calls = sum(int(r.timings.get("reward_calls", 0)) for r in results)
        seconds = sum(float(r.timings.get("reward_seconds", 0.0)) for r in results)
        if calls < SLOW_CHECK_CALLS:
            return
        self._reward_speed_noted = True
        per_call = seconds / calls
        if per_call > SLOW_CALL_SECONDS:
            line = (
                f"Warning> reward_function takes {1000 * per_call:.2f} ms per call (mean of "
                f"{calls} calls), more than {1000 * SLOW_CALL_SECONDS:.0f} ms: it runs once per "
                "car per step and slows training down"
            )
            log.warning(line)
            self.logger.write(line, to="both")

    def commit(
        self, state: Mapping[str, Any], number: int, total_steps: int, iteration: int
    ) -> str:
        """Write everything of `iteration`, then checkpoint `number` (the commit); returns its name.

        Order: metrics JSON, simtrace CSVs (the index was written by `record_evaluation`), then
        the checkpoint with its `RunPosition`; older checkpoints are pruned after it (best and
        this one kept). A crash before the checkpoint's digest is written leaves an iteration
        that `--resume` undoes (`slipstream.runs.recovery`).
        """
        for m in self.metrics:
            m.flush()
        self.simtrace.write_iteration(iteration)
        position = RunPosition(
            next_iteration=iteration + 1,
            metrics_entries=tuple(len(m) for m in self.metrics),
            checkpoint_index=json.dumps(self.index.to_json(), indent=2)
            if self.index.last is not None
            else "",
        )
        name = save_checkpoint(self.storage, with_position(state, position), number, total_steps)
        best = self.index.best.name if self.index.best is not None else name
        prune_checkpoints(self.storage, protect={best, name})
        self.logger.checkpoint_saved(name, number, parse_checkpoint_name(best)[0], number)
        self.logger.flush()
        return name

    def discard(self) -> None:
        """Forget what an iteration that failed has buffered (nothing of it is written)."""
        if self.logger is not None:
            self.logger.discard()
        if self.simtrace is not None:
            self.simtrace.discard()

    def record_evaluation(
        self, evaluation: Sequence[EpisodeSummary], iteration: int, checkpoint: str
    ) -> bool:
        """Worker 0's evaluation of `checkpoint`: log lines, metrics, the checkpoint index.

        Returns whether `checkpoint` became the best one.
        """
        if not evaluation:
            return False
        last = self.episode_counts[0]
        self.logger.evaluation_episodes(evaluation, last, iteration)
        self.metrics[0].add_episodes(
            episode=last,
            trial=[e.trial for e in evaluation],
            total_reward=[e.total_reward for e in evaluation],
            progress=[e.progress for e in evaluation],
            status=[e.status for e in evaluation],
            start_time_s=[e.start_time for e in evaluation],
            end_time_s=[e.end_time for e in evaluation],
            phase="evaluation",
        )
        progress = [e.progress for e in evaluation]
        success = float(np.mean([p >= 100.0 for p in progress]))
        laps = [e.end_time - e.start_time for e in evaluation if e.progress >= 100.0]
        self._figures.update(
            eval_mean_progress=float(np.mean(progress)),
            eval_completion_rate=100.0 * success,
            eval_best_lap_time_s=min(laps) if laps else None,
        )
        metric = self.config.best_model_metric
        avg = average_eval_metric(
            metric,
            progress,
            total_reward=[e.total_reward for e in evaluation],
            lap_time_ms=[1000 * (e.end_time - e.start_time) for e in evaluation],
        )
        before = self.index.best
        became_best = self.index.update(checkpoint, avg, time_stamp=time.time())
        self.logger.best_model(progress, avg, before, checkpoint, became_best, metric)
        return became_best

    def record_iteration(self, report: Mapping[str, Any]) -> None:
        """The iteration's record (the trainer's report and the figures gathered above) in
        ``logs/iterations.jsonl`` and TensorBoard (`IterationLog`)."""
        record = {**self._figures, **report}
        record["completion_rate"] = 100.0 * float(report.get("completion_rate", 0.0))
        self.iteration_log.append(record)
        self._figures = {}

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
        if self.iteration_log is not None:
            self.iteration_log.close()


def _episode_figures(results: Sequence[RolloutResult]) -> dict[str, Any]:
    """Mean reward, progress and lap completion (%) of the training episodes, all workers
    together and per worker."""

    def figures(episodes: Sequence[EpisodeSummary]) -> dict[str, float | None]:
        if not episodes:
            return {"mean_reward": None, "mean_progress": None, "completion_rate": None}
        progress = np.array([e.progress for e in episodes])
        return {
            "mean_reward": float(np.mean([e.total_reward for e in episodes])),
            "mean_progress": float(progress.mean()),
            "completion_rate": 100.0 * float(np.mean(progress >= 100.0)),
        }

    everyone = figures([e for r in results for e in r.episodes])
    return {
        "mean_reward": everyone["mean_reward"],
        "workers": {str(r.worker): figures(r.episodes) for r in results},
    }


__all__ = ["ResumePoint", "RunRecorder", "read_pretrained"]
