"""The training loop: sample -> update -> publish, synchronous like DeepRacer.

Each iteration: every rollout worker runs its share of `num_episodes_between_training` episodes
with the current policy (worker r gets floor(E/W) + (1 if r < E % W)), worker 0 then runs
MIN_EVAL_TRIALS deterministic evaluation episodes, the trainer writes simtrace, metrics and logs,
updates the networks (Clipped PPO or SAC), saves checkpoint N+1 and publishes the weights.

Workers run in-process (`serial=True`, for tests and debugging) or as Ray actors on a local Ray
instance started on demand, or on a cluster with `address="auto"`.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from slipstream.config.hyperparameters import Hyperparameters
from slipstream.config.model_metadata import ModelMetadata
from slipstream.config.reward_function import RewardFunction
from slipstream.rl.exploration import action_selection
from slipstream.rl.gae import compute_gae
from slipstream.rl.ppo import PPOLearner
from slipstream.rl.sac import ReplayBuffer, SACLearner
from slipstream.rollout.policy import build_learner
from slipstream.rollout.worker import EpisodeSummary, RolloutResult, RolloutWorker, WorkerSpec
from slipstream.runs import (
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
from slipstream.runs.logs import (
    best_model_evaluations_line,
    best_model_mean_line,
    evaluation_phase_end_line,
    evaluation_phase_start_line,
)

log = logging.getLogger(__name__)
# Ray hands numpy arrays over read-only (zero copy); the learner only reads them
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")

MAX_MEMORY_STEPS = {"DEEP_CONVOLUTIONAL_NETWORK_SHALLOW": 10_000}
"""DeepRacer's per-iteration step cap: 10,000 for the shallow network, 3,000 for the others."""
DEFAULT_MAX_MEMORY_STEPS = 3_000
REPLAY_CAPACITY = 50_000
"""SAC replay transitions kept on the trainer (DeepRacer: 1,000,000; a camera transition with
its next observation is ~38 KB, so 50,000 is ~1.9 GB)."""


class TrainingError(ValueError):
    """A training run that cannot start as asked (the message says how to fix it)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs, validated before anything is written."""

    run: str
    model_metadata: ModelMetadata
    hyperparameters: Hyperparameters
    reward_function: RewardFunction
    world: dict[str, Any] = field(default_factory=dict)
    """RoboMaker YAML keys (training_params.yaml) shared by all workers."""
    track: str = "slipstream_default"
    worker_tracks: tuple[str, ...] = ()
    """One track per worker (DRfC multi-config, or a list of tracks); empty = `track` for all."""
    race_type: str = "TIME_TRIAL"
    workers: int = 1
    cars_per_worker: int | None = None
    """Cars simulated together by one worker (default: its episodes per iteration, at most 16)."""
    iterations: int | None = None
    minutes: float | None = None
    until_lap: bool = False
    """Stop after the first iteration whose evaluation completes a full lap."""
    eval_episodes: int = 5
    seed: int = 0
    device: str = "auto"
    address: str | None = None
    serial: bool = False
    resume: bool = False
    pretrained: str | None = None
    pretrained_checkpoint: str = "last"
    shared_trunk: bool = False
    best_model_metric: str = "progress"


@dataclass
class IterationReport:
    """What one iteration did (returned to callers and printed as the progress line)."""

    iteration: int
    episodes: int
    mean_progress: float
    completion_rate: float
    eval_progress: list[float]
    eval_lap_complete: bool
    samples: int
    rollout_steps_per_second: float
    learner_samples_per_second: float
    seconds: float
    total_steps: int
    checkpoint: str


def episodes_per_worker(num_episodes: int, workers: int) -> list[int]:
    """DeepRacer's split: worker r plays floor(E/W) + (1 if r < E % W) episodes."""
    workers = min(workers, num_episodes)
    return [
        num_episodes // workers + (1 if r < num_episodes % workers else 0) for r in range(workers)
    ]


class _SerialWorkers:
    """Workers in this process, called one after another."""

    def __init__(self, specs: list[WorkerSpec]) -> None:
        self.workers = [RolloutWorker(s) for s in specs]

    def run(self, weights, version, shares, exploration, caps, eval_episodes):
        deterministic, epsilon = exploration
        results = []
        for w, share, cap in zip(self.workers, shares, caps, strict=True):
            w.set_weights(weights, version)
            results.append(w.sample(share, epsilon, cap, deterministic))
        evaluation = self.workers[0].evaluate(eval_episodes) if eval_episodes else []
        return results, evaluation

    def stop(self) -> None:
        for w in self.workers:
            w.stop()


class _RayWorkers:
    """Workers as Ray actors (one CPU each), sampling in parallel."""

    def __init__(self, specs: list[WorkerSpec], address: str | None) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=True,
                logging_level=logging.WARNING,
                configure_logging=False,
            )
        self.ray = ray
        remote = ray.remote(num_cpus=1)(RolloutWorker)
        self.workers = [remote.remote(s) for s in specs]

    def run(self, weights, version, shares, exploration, caps, eval_episodes):
        deterministic, epsilon = exploration
        ref = self.ray.put(weights)
        for w in self.workers:
            w.set_weights.remote(ref, version)
        pending = [
            w.sample.remote(share, epsilon, cap, deterministic)
            for w, share, cap in zip(self.workers, shares, caps, strict=True)
        ]
        eval_ref = self.workers[0].evaluate.remote(eval_episodes) if eval_episodes else None
        results = self.ray.get(pending)
        evaluation = self.ray.get(eval_ref) if eval_ref is not None else []
        return results, evaluation

    def stop(self) -> None:
        for w in self.workers:
            self.ray.kill(w)


class Trainer:
    """One training run into a DRfC-layout run folder."""

    def __init__(self, config: TrainConfig, echo: TextIO | str | None = "stdout") -> None:
        """`echo`: where the progress lines go ("stdout": sys.stdout at call time; None: off)."""
        self.config = config
        self.echo = sys.stdout if echo == "stdout" else echo
        hp = config.hyperparameters
        self.storage = RunStorage(config.run)
        self.layout = RunLayout(self.storage, num_workers=max(1, config.workers))
        self.shares = episodes_per_worker(hp.num_episodes_between_training, config.workers)
        self.num_workers = len(self.shares)
        if config.worker_tracks and len(config.worker_tracks) < self.num_workers:
            raise TrainingError(
                f"{len(config.worker_tracks)} worker tracks given for {self.num_workers} workers; "
                "give one track per worker or a single --track"
            )
        self.learner = build_learner(
            config.model_metadata,
            hp,
            device=config.device,
            seed=config.seed,
            shared_trunk=config.shared_trunk,
        )
        self.is_sac = isinstance(self.learner, SACLearner)
        self.replay = ReplayBuffer(capacity=REPLAY_CAPACITY) if self.is_sac else None
        self.index = CheckpointIndex(self.storage, config.best_model_metric)
        self.iteration = 0
        self.total_steps = 0
        self.checkpoint_number = 0
        self.current_checkpoint = ""
        self._prepare_run_folder()
        self.logger = RunLogger(self.layout, echo=None)
        self.simtrace = SimtraceWriter(self.layout)
        self.metrics = [
            TrainingMetricsWriter(
                self.storage, self.layout.training_metrics(w), config.best_model_metric
            )
            for w in range(self.num_workers)
        ]
        self._episode_counts = [m.last_episode for m in self.metrics]
        self.logger.startup(config.model_metadata.to_json_dict(), self._processed_hp())
        self.workers = self._start_workers()

    # ------------------------------------------------------------------ set-up

    def _processed_hp(self) -> str:
        return self.config.hyperparameters.to_processed_json(
            self.config.model_metadata.training_algorithm
        )

    def _prepare_run_folder(self) -> None:
        cfg = self.config
        has_model = self.storage.exists(self.layout.checkpoint_index)
        existing = next_checkpoint_number(self.storage)
        if cfg.resume:
            if existing == 0:
                raise TrainingError(
                    f"--resume: {cfg.run} has no checkpoint to resume from; drop --resume to start "
                    "a new run there"
                )
            name = self.index.resolve("last")
            self.learner.load_state_dict(load_checkpoint(self.storage, name))
            self.checkpoint_number = existing - 1
            self.current_checkpoint = name
            self.total_steps = parse_checkpoint_name(name)[1]
            self.iteration = self.layout.next_iteration_index()
            log.info(
                f"Checkpoint> Restoring from path={self.storage.path(self.layout.checkpoint(name))}"
            )
            return
        if existing > 0 or has_model:
            raise TrainingError(
                f"{cfg.run} already holds a trained model; pass --resume to continue it, or "
                "choose a new --run folder (nothing was changed)"
            )
        world = dict(cfg.world)
        world.setdefault("WORLD_NAME", cfg.track)
        world.setdefault("RACE_TYPE", cfg.race_type)
        world.setdefault("NUM_WORKERS", self.num_workers)
        world = {k: str(v) for k, v in world.items()}
        params: Any = world
        if cfg.worker_tracks:
            params = [{**world, "WORLD_NAME": t} for t in cfg.worker_tracks[: self.num_workers]]
        source = cfg.reward_function.source_text or "# reward function given as a Python callable\n"
        write_run_inputs(
            self.layout, cfg.model_metadata.to_json_dict(), self._processed_hp(), source, params
        )
        if cfg.pretrained:
            self._load_pretrained(cfg.pretrained, cfg.pretrained_checkpoint)
        self.current_checkpoint = save_checkpoint(self.storage, self._checkpoint_state(), 0, 0)

    def _load_pretrained(self, run: str, which: str) -> None:
        other = RunStorage(run)
        name = CheckpointIndex(other).resolve(which)
        state = load_checkpoint(other, name)
        try:
            if self.is_sac:
                self.learner.policy.load_state_dict(state["policy"])
            else:
                self.learner.policy.load_state_dict(state["policy"])
                self.learner.value.load_state_dict(state["value"])
        except (KeyError, RuntimeError) as exc:
            raise TrainingError(
                f"--pretrained {run}: checkpoint {name} does not fit this model_metadata "
                f"(different network, sensors or action space?): {exc}"
            ) from None
        log.info(f"Loaded pretrained model {name} from {run}")

    def _checkpoint_state(self) -> dict[str, Any]:
        return self.learner.state_dict()

    def _start_workers(self):
        cfg = self.config
        specs = []
        for r, share in enumerate(self.shares):
            track = cfg.worker_tracks[r] if cfg.worker_tracks else cfg.track
            cars = cfg.cars_per_worker or min(share, 16)
            specs.append(
                WorkerSpec(
                    worker_index=r,
                    track=track,
                    model_metadata=cfg.model_metadata.to_json_dict(),
                    reward_function=cfg.reward_function,
                    world=dict(cfg.world),
                    race_type=cfg.race_type,
                    cars=max(1, min(cars, share)),
                    eval_cars=cfg.eval_episodes,
                    seed=cfg.seed + 1000 * (self.iteration + 1),
                )
            )
        if cfg.serial:
            return _SerialWorkers(specs)
        return _RayWorkers(specs, cfg.address)

    # ------------------------------------------------------------------ the loop

    def run(
        self, on_iteration: Callable[[IterationReport], None] | None = None
    ) -> list[IterationReport]:
        cfg = self.config
        start = time.monotonic()
        reports = []
        try:
            while True:
                if cfg.iterations is not None and len(reports) >= cfg.iterations:
                    break
                if cfg.minutes is not None and time.monotonic() - start >= cfg.minutes * 60:
                    break
                report = self.run_iteration(time_left=self._time_left(start))
                reports.append(report)
                if on_iteration:
                    on_iteration(report)
                self._print_progress(report, start)
                if cfg.until_lap and report.eval_lap_complete:
                    break
        finally:
            self.logger.close()
            self.workers.stop()
        return reports

    def _time_left(self, start: float) -> float | None:
        if self.config.minutes is None:
            return None
        return self.config.minutes * 60 - (time.monotonic() - start)

    def run_iteration(self, time_left: float | None = None) -> IterationReport:
        cfg, hp = self.config, self.config.hyperparameters
        t0 = time.perf_counter()
        deterministic, epsilon = (False, 0.0)
        if not cfg.model_metadata.is_continuous:
            deterministic, epsilon = action_selection(
                hp.exploration_type,
                self.total_steps,
                hp.epsilon_steps,
                hp.e_greedy_value,
                evaluating=False,
            )
        cap = MAX_MEMORY_STEPS.get(cfg.model_metadata.neural_network, DEFAULT_MAX_MEMORY_STEPS)
        caps = [max(1, cap // self.num_workers)] * self.num_workers
        weights = {k: v.detach().cpu() for k, v in self.learner.policy.state_dict().items()}
        results, evaluation = self.workers.run(
            weights,
            self.checkpoint_number,
            self.shares,
            (deterministic, epsilon),
            caps,
            cfg.eval_episodes,
        )
        t_rollout = time.perf_counter() - t0
        self._record_episodes(results, evaluation)
        samples = sum(r.num_samples for r in results)
        t1 = time.perf_counter()
        self._update(results)
        t_learn = time.perf_counter() - t1
        self.total_steps += samples
        self.checkpoint_number += 1
        name = save_checkpoint(
            self.storage, self._checkpoint_state(), self.checkpoint_number, self.total_steps
        )
        best = self.index.resolve("best") if self.index.to_json().get("best_checkpoint") else name
        self.current_checkpoint = name
        prune_checkpoints(self.storage, protect={best, name})
        self.logger.checkpoint_saved(
            name, self.checkpoint_number, parse_checkpoint_name(best)[0], self.checkpoint_number
        )
        self.simtrace.write_iteration(self.iteration)
        self.logger.flush()
        episodes = [e for r in results for e in r.episodes]
        progress = np.array([e.progress for e in episodes]) if episodes else np.zeros(1)
        env_steps = sum(r.env_steps for r in results)
        rollout_seconds = max(r.seconds for r in results) if results else 0.0
        report = IterationReport(
            iteration=self.iteration,
            episodes=len(episodes),
            mean_progress=float(progress.mean()),
            completion_rate=float(np.mean(progress >= 100.0)),
            eval_progress=[e.progress for e in evaluation],
            eval_lap_complete=any(e.progress >= 100.0 for e in evaluation),
            samples=samples,
            rollout_steps_per_second=env_steps / rollout_seconds if rollout_seconds else 0.0,
            learner_samples_per_second=samples * max(1, hp.num_epochs) / t_learn
            if t_learn
            else 0.0,
            seconds=time.perf_counter() - t0,
            total_steps=self.total_steps,
            checkpoint=name,
        )
        log.debug("iteration %d: rollout %.1fs, learn %.1fs", self.iteration, t_rollout, t_learn)
        self.iteration += 1
        return report

    def _record_episodes(
        self, results: list[RolloutResult], evaluation: list[EpisodeSummary]
    ) -> None:
        for r in results:
            w = r.worker
            for e in r.episodes:
                e.episode += self._episode_counts[w]
                self.logger.training_episode(w, e.episode, e.total_reward, e.steps, self.iteration)
            if r.episodes:
                self.metrics[w].add_episodes(
                    episode=[e.episode for e in r.episodes],
                    trial=[e.trial for e in r.episodes],
                    total_reward=[e.total_reward for e in r.episodes],
                    progress=[e.progress for e in r.episodes],
                    status=[e.status for e in r.episodes],
                    start_time_s=[e.start_time for e in r.episodes],
                    end_time_s=[e.end_time for e in r.episodes],
                )
                self._episode_counts[w] = r.episodes[-1].episode
            # `episode`: 0-based count of this worker's completed training episodes (survives --resume)
            first = self._episode_counts[w] - len(r.episodes)
            simtrace = {**r.simtrace, "episode": first + r.simtrace_episode}
            self.simtrace.add(simtrace, iteration=self.iteration, worker=w)
        if evaluation:
            self.logger.write(evaluation_phase_start_line())
            last = self._episode_counts[0]
            for e in evaluation:
                self.logger.testing_episode(0, last, e.total_reward, e.steps, self.iteration)
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
            mean_reward = float(np.mean([e.total_reward for e in evaluation]))
            self.logger.write(evaluation_phase_end_line(success, mean_reward))
            metric = self.config.best_model_metric
            avg = average_eval_metric(
                metric,
                progress,
                total_reward=[e.total_reward for e in evaluation],
                lap_time_ms=[1000 * (e.end_time - e.start_time) for e in evaluation],
            )
            self.logger.write(best_model_evaluations_line(progress, metric))
            self.logger.write(best_model_mean_line(avg, metric))
            self.index.update(self.current_checkpoint, avg, time_stamp=time.time())

    # ------------------------------------------------------------------ learning

    def _update(self, results: list[RolloutResult]) -> None:
        results = [r for r in results if r.num_samples]
        if not results:
            return
        if self.is_sac:
            self._update_sac(results)
            return
        learner: PPOLearner = self.learner
        hp = self.config.hyperparameters
        advantages, returns = [], []
        for r in results:
            values = learner.values(r.obs)
            next_values = np.append(values[1:], 0.0)
            if len(r.final_rows):
                next_values[r.final_rows] = learner.values(r.final_obs)
            adv, ret = compute_gae(
                r.rewards,
                values,
                next_values,
                r.terminated,
                r.episode_end,
                hp.discount_factor,
                learner.hp.gae_lambda,
            )
            advantages.append(adv)
            returns.append(ret)
        batch = {
            "obs": {k: np.concatenate([r.obs[k] for r in results]) for k in results[0].obs},
            "actions": np.concatenate([r.actions for r in results]),
            "advantages": np.concatenate(advantages),
            "returns": np.concatenate(returns),
        }
        if len(batch["returns"]) < 2:
            return
        out = learner.update(batch)
        for epoch in out["epochs"]:
            self.logger.policy_training(
                epoch["surrogate_loss"],
                epoch["kl_divergence"],
                epoch["entropy"],
                epoch["training_epoch"],
                epoch["learning_rate"],
            )

    def _update_sac(self, results: list[RolloutResult]) -> None:
        learner: SACLearner = self.learner
        rng = np.random.default_rng(self.config.seed + self.iteration)
        for r in results:
            next_obs = {}
            for k, v in r.obs.items():
                nxt = np.concatenate([v[1:], v[:1]])
                if len(r.final_rows):
                    nxt[r.final_rows] = r.final_obs[k]
                next_obs[k] = nxt
            truncated = r.episode_end & ~r.terminated
            self.replay.add(r.obs, r.actions, r.rewards, next_obs, r.terminated, truncated)
        steps = sum(r.num_samples for r in results)
        period = max(1, self.config.hyperparameters.num_episodes_between_training)
        for i in range(steps):
            learner.update(self.replay.sample(learner.hp.batch_size, rng))
            if (i + 1) % period == 0:
                learner.update_target()

    # ------------------------------------------------------------------ display

    def _print_progress(self, report: IterationReport, start: float) -> None:
        if self.echo is None:
            return
        left = ""
        if self.config.minutes is not None:
            remaining = max(0.0, self.config.minutes * 60 - (time.monotonic() - start))
            left = f" | {int(remaining // 60)}:{int(remaining % 60):02d} left"
        evals = ",".join(f"{p:.0f}" for p in report.eval_progress)
        self.echo.write(
            f"iteration {report.iteration:>3} | episodes {report.episodes:>3} | "
            f"progress {report.mean_progress:5.1f}% | laps {100 * report.completion_rate:3.0f}% | "
            f"eval [{evals}]% | {report.rollout_steps_per_second:,.0f} steps/s | "
            f"{report.total_steps:,} steps{left}\n"
        )
        self.echo.flush()


__all__ = ["IterationReport", "TrainConfig", "Trainer", "TrainingError", "episodes_per_worker"]
