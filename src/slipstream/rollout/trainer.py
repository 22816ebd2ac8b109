"""The training loop: sample -> update -> publish -> evaluate, synchronous like DeepRacer.

Each iteration: every rollout worker runs its share of `num_episodes_between_training` episodes
with the current policy (worker r gets floor(E/W) + (1 if r < E % W)); the learner updates the
networks (Clipped PPO or SAC) and checkpoint N+1 is saved and published to the workers; worker 0
then evaluates that new checkpoint with MIN_EVAL_TRIALS deterministic episodes, which decide
whether it is the best one (checkpoint 0, the untrained policy, is never evaluated).

With `pipeline`, the workers collect iteration k+1 with policy k while the learner trains on
iteration k (Clipped PPO's ratio clipping absorbs the one-policy lag; SAC is off-policy): the
sample for k+1 starts as soon as iteration k's experience is in, and the new weights reach the
workers after that sample. Threads per role come from `threads.plan_threads`.

The parts live in their own modules: `update` (the learner), `pool` (the workers, in-process
or as Ray actors), `recording` (the run folder). This module only sequences them.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TextIO

import numpy as np
import torch

from slipstream.config.errors import RewardFunctionError
from slipstream.rl.exploration import action_selection
from slipstream.rollout.pool import Pending, SampleRequest, episodes_per_worker, make_worker_pool
from slipstream.rollout.recording import RunRecorder, read_pretrained
from slipstream.rollout.threads import ThreadPlan, plan_threads, use_threads
from slipstream.rollout.train_config import TrainConfig, TrainingError, check_inputs
from slipstream.rollout.update import LearnerUpdate, PretrainedMismatchError, max_memory_steps
from slipstream.rollout.worker import WorkerSpec
from slipstream.runs.live import live_dir

log = logging.getLogger(__name__)


@dataclass
class IterationReport:
    """What one iteration did (returned to callers and printed as the progress line)."""

    iteration: int
    episodes: int
    mean_progress: float
    completion_rate: float
    eval_progress: list[float]
    """Evaluation of `checkpoint` (the policy after this iteration's update)."""
    eval_lap_complete: bool
    samples: int
    rollout_steps_per_second: float
    learner_samples_per_second: float
    seconds: float
    total_steps: int
    checkpoint: str
    learner_seconds: float = 0.0
    """Wall time of the update (values for GAE, the frozen policy pass, the epochs)."""
    learner_cpu_seconds: float = 0.0
    """CPU time of the learner (this process, less an in-process rollout thread) in the update."""
    worker_cpu_seconds: float = 0.0
    """CPU time of the workers' sampling threads (all workers)."""
    wait_seconds: float = 0.0
    """Time the trainer waited for experience (the rollout not hidden behind learning)."""
    eval_lap_seconds: list[float] = field(default_factory=list)
    """Simulated seconds of each evaluation episode (a lap time where its progress is 100)."""
    policy_version: int = -1
    """Checkpoint number of the policy that collected the experience (pipelined: one behind)."""


def worker_specs(
    config: TrainConfig, shares: list[int], iteration: int, torch_threads: int = 1
) -> list[WorkerSpec]:
    """One `WorkerSpec` per worker: its track, its cars, its seed and its inference threads."""
    specs = []
    for r, share in enumerate(shares):
        cars = config.cars_per_worker or min(share, 16)
        specs.append(
            WorkerSpec(
                worker_index=r,
                track=config.track_of(r),
                model_metadata=config.model_metadata,
                reward_function=config.reward_function,
                world=config.world,
                race_type=config.race_type,
                cars=max(1, min(cars, share)),
                eval_cars=config.eval_episodes,
                seed=config.seed + 1000 * (iteration + 1),
                torch_threads=torch_threads,
                live_dir=str(live_dir(config.run)),
                rotation=config.rotation_of(r, iteration),
            )
        )
    return specs


class Trainer:
    """One training run into a DRfC-layout run folder."""

    def __init__(self, config: TrainConfig, echo: TextIO | str | None = "stdout") -> None:
        """`echo`: where the progress lines go ("stdout": sys.stdout at call time; None: off)."""
        self.config = config
        self.echo = sys.stdout if echo == "stdout" else echo
        hp = config.hyperparameters
        self.shares = episodes_per_worker(hp.num_episodes_between_training, config.workers)
        self.num_workers = len(self.shares)
        if config.worker_tracks and len(config.worker_tracks) < self.num_workers:
            raise TrainingError(
                f"{len(config.worker_tracks)} worker tracks given for {self.num_workers} workers; "
                "give one track per worker or a single --track"
            )
        check_inputs(config)
        self.update = LearnerUpdate(
            config.model_metadata,
            hp,
            device=config.device,
            seed=config.seed,
            shared_trunk=config.shared_trunk,
            precision=config.precision,
            average_half_life=config.policy_average,
        )
        self.recorder = RunRecorder(config, self.num_workers)
        self.iteration = 0
        self.total_steps = 0
        self.checkpoint_number = 0
        if config.resume:
            point = self.recorder.resume_point()
            self.update.load_state_dict(point.state)
            self.checkpoint_number = point.checkpoint_number
            self.current_checkpoint = point.checkpoint
            self.total_steps = point.total_steps
            self.iteration = point.iteration
        else:
            self.recorder.check_new()
            if config.pretrained:
                self._load_pretrained(config.pretrained, config.pretrained_checkpoint)
            self.current_checkpoint = self.recorder.start(self.update.state_dict())
        self.recorder.open()
        self.threads: ThreadPlan = plan_threads(
            self.num_workers,
            pipeline=config.pipeline,
            cores=config.cores,
            remote_workers=config.address is not None,
        )
        try:
            self.workers = make_worker_pool(
                worker_specs(config, self.shares, self.iteration, self.threads.worker_threads),
                config.serial,
                config.address,
                on_event=lambda line: self.recorder.note_workers([line]),
                background=config.pipeline,
            )
        except ConnectionError as exc:
            self.recorder.close()
            raise TrainingError(f"--address {config.address}: {exc}") from None
        use_threads(self.threads.learner_threads)  # after in-process workers set theirs
        self._in_flight: Pending | None = None
        log.info("Threads: %s", self.threads.describe())
        self.recorder.note_workers(
            [f"Worker> rollout worker {r} runs in {n}" for r, n in enumerate(self.workers.nodes())]
        )
        self._stop_requested = False

    @property
    def learner(self):
        """The PPO or SAC learner (networks and optimisers)."""
        return self.update.learner

    def _load_pretrained(self, run: str, which: str) -> None:
        name, state = read_pretrained(run, which)
        try:
            self.update.load_pretrained(state)
        except PretrainedMismatchError as exc:
            raise TrainingError(
                f"--pretrained {run}: checkpoint {name} does not fit this model_metadata ({exc})"
            ) from None
        log.info(f"Loaded pretrained model {name} from {run}")

    # ------------------------------------------------------------------ the loop

    def run(
        self, on_iteration: Callable[[IterationReport], None] | None = None
    ) -> list[IterationReport]:
        cfg = self.config
        start = time.monotonic()
        reports = []
        self.stopped_by_user = False
        try:
            with self._stop_on_ctrl_c():
                self.workers.set_weights(self.update.policy_weights(), self.checkpoint_number)
                while True:
                    if cfg.iterations is not None and len(reports) >= cfg.iterations:
                        break
                    if self.iteration >= cfg.hyperparameters.term_cond_max_episodes:
                        # DeepRacer's improve_steps: the run's training iterations, resumes included
                        self._say(
                            "term_cond_max_episodes="
                            f"{cfg.hyperparameters.term_cond_max_episodes} "
                            "training iterations reached"
                        )
                        break
                    if cfg.minutes is not None and time.monotonic() - start >= cfg.minutes * 60:
                        break
                    if self._stop_requested:
                        self.stopped_by_user = True
                        break
                    last = cfg.iterations is not None and len(reports) + 1 >= cfg.iterations
                    try:
                        report = self.run_iteration(sample_next=cfg.pipeline and not last)
                    except BaseException:
                        self.recorder.discard()  # nothing of the unfinished iteration is written
                        raise
                    reports.append(report)
                    if on_iteration:
                        on_iteration(report)
                    self._print_progress(report, start)
                    if cfg.until_lap and report.eval_lap_complete:
                        break
        finally:
            self.recorder.close()
            self.workers.stop()
        return reports

    def request_stop(self) -> None:
        """Stop after the current iteration is saved (what the first Ctrl-C does)."""
        self._stop_requested = True

    @contextlib.contextmanager
    def _stop_on_ctrl_c(self):
        """First Ctrl-C: finish and save the current iteration, then stop; the second: stop now."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self._stop_requested:
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            self._stop_requested = True
            sys.stderr.write(
                "\nCtrl-C: stopping after this iteration is saved (Ctrl-C again to stop now; "
                "the unfinished iteration is then dropped and --resume continues from the last "
                "checkpoint)\n"
            )
            sys.stderr.flush()

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _sample_requests(self) -> list[SampleRequest]:
        cfg, hp = self.config, self.config.hyperparameters
        deterministic, epsilon = (False, 0.0)
        if not cfg.model_metadata.is_continuous:
            deterministic, epsilon = action_selection(
                hp.exploration_type,
                self.total_steps,
                hp.epsilon_steps,
                hp.e_greedy_value,
                evaluating=False,
            )
        cap = max(1, max_memory_steps(cfg.model_metadata) // self.num_workers)
        return [SampleRequest(share, cap, deterministic, epsilon) for share in self.shares]

    def run_iteration(self, sample_next: bool = False) -> IterationReport:
        """Sample with the published policy (or take the sample started last iteration), update,
        save and publish, evaluate the new policy. `sample_next`: start the next iteration's
        sample (with the current policy) before updating, so it runs while the learner trains."""
        cfg, rec = self.config, self.recorder
        t0 = time.perf_counter()
        try:
            if self._in_flight is None:
                self._in_flight = self.workers.sample_async(self._sample_requests())
            results = self._in_flight.get()
        except RewardFunctionError as exc:
            raise self._reward_failure(exc) from None
        finally:
            self._in_flight = None
        t_rollout = time.perf_counter() - t0
        rec.note_reward_speed(results)
        rec.record_training(results, self.iteration)
        samples = sum(r.num_samples for r in results)
        self.total_steps += samples
        total_steps = self.total_steps
        if sample_next:
            self._in_flight = self.workers.sample_async(self._sample_requests())
        self._learner_threads()
        t1, cpu1, rollout_cpu1 = time.perf_counter(), time.process_time(), self._rollout_cpu()
        # pipelined: the sample was drawn by the policy one update older than the learner's
        stale = any(r.policy_version != self.checkpoint_number for r in results)
        rec.record_policy_training(
            self.update.update(
                results, self.iteration, self._learner_threads, behaviour_log_probs=stale
            )
        )
        t_learn = time.perf_counter() - t1
        learner_cpu = time.process_time() - cpu1 - (self._rollout_cpu() - rollout_cpu1)
        number = self.checkpoint_number + 1
        name = rec.checkpoint_name(number, total_steps)
        self.workers.set_weights(self.update.policy_weights(), number)
        try:
            evaluation = self.workers.evaluate(cfg.eval_episodes)
        except RewardFunctionError as exc:
            raise self._reward_failure(exc) from None
        rec.record_evaluation(evaluation, self.iteration, name)
        rec.commit(self.update.state_dict(), number, total_steps, self.iteration)
        self.total_steps, self.checkpoint_number, self.current_checkpoint = (
            total_steps,
            number,
            name,
        )
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
            learner_samples_per_second=samples * max(1, cfg.hyperparameters.num_epochs) / t_learn
            if t_learn
            else 0.0,
            seconds=time.perf_counter() - t0,
            total_steps=self.total_steps,
            checkpoint=name,
            learner_seconds=t_learn,
            learner_cpu_seconds=learner_cpu,
            worker_cpu_seconds=sum(r.timings.get("cpu", 0.0) for r in results),
            wait_seconds=t_rollout,
            eval_lap_seconds=[e.end_time - e.start_time for e in evaluation],
            policy_version=min((r.policy_version for r in results), default=-1),
        )
        rec.record_iteration(asdict(report))
        log.debug("iteration %d: rollout %.1fs, learn %.1fs", self.iteration, t_rollout, t_learn)
        self.iteration += 1
        return report

    def _reward_failure(self, exc: RewardFunctionError) -> RewardFunctionError:
        """The worker's error, with the run's episode number and iteration, and how to go on."""
        w, trial = exc.worker, exc.trial
        if exc.phase == "evaluation":
            where = f"evaluation episode {trial} of iteration {self.iteration}"
        elif w is not None and trial is not None:
            episode = self.recorder.episode_counts[w] + trial
            where = f"episode {episode} (iteration {self.iteration}, trial {trial})"
        else:
            where = f"iteration {self.iteration}"
        problem = exc.problem.split(": ", 1)[1] if exc.worker is not None else exc.problem
        error = RewardFunctionError(
            f"in worker {w}, {where}, step {exc.step}: {problem}",
            source=exc.source,
            fix=f"{exc.fix or 'fix the reward function'}. Training stopped; iteration "
            f"{self.iteration} was not recorded and checkpoint {self.current_checkpoint} is the "
            "last one: continue with `slipstream train --run RUN --resume --reward-function "
            "FIXED.py`",
        )
        error.params, error.worker, error.trial, error.step, error.phase = (
            exc.params,
            w,
            trial,
            exc.step,
            exc.phase,
        )
        return error

    def _learner_threads(self) -> None:
        """All free cores to the learner: fewer while a sample is in flight beside it."""
        sampling = self._in_flight is not None and not self._in_flight.done()
        threads = self.threads.learner_threads_while(sampling)
        if threads != torch.get_num_threads():
            use_threads(threads)

    def _rollout_cpu(self) -> float:
        """CPU seconds of an in-process rollout thread so far (0 when workers run elsewhere)."""
        return self.workers.cpu_seconds() or 0.0

    # ------------------------------------------------------------------ display

    def _say(self, line: str) -> None:
        if self.echo is not None:
            self.echo.write(line + "\n")
            self.echo.flush()

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


__all__ = [
    "IterationReport",
    "TrainConfig",
    "Trainer",
    "TrainingError",
    "episodes_per_worker",
    "worker_specs",
]
