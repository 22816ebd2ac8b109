"""`RolloutWorker`: runs episodes with the current policy on a batch of cars.

A plain class (`sample`, `evaluate`, `set_weights`, `stop`); the trainer makes it a Ray actor
with `ray.remote(RolloutWorker)` or calls it in-process (serial mode). One worker steps
`cars` cars in one batched simulation and runs policy inference on all of them at once.

An iteration's experience comes back episode by episode (rows of one episode contiguous, in
time order), with the rows the trainer needs for GAE and the simtrace rows DeepRacer writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from slipstream.config.errors import RewardFunctionError
from slipstream.config.model_metadata import ModelMetadata
from slipstream.config.reward_function import RewardFunction
from slipstream.config.world import WorldConfig
from slipstream.env.core import DeepRacerCore
from slipstream.env.episode_loop import LoopStep, play_episodes
from slipstream.model.policy import PolicyActor
from slipstream.runs.live import FramePublisher
from slipstream.runs.simtrace import simtrace_row, trace_actions
from slipstream.sim import episode as ep
from slipstream.tracks.track_set import TrackRotation


@dataclass(frozen=True)
class WorkerSpec:
    """What one rollout worker simulates. Everything in it pickles (it travels to Ray actors)."""

    worker_index: int
    track: str
    model_metadata: ModelMetadata
    """Parsed once, by the trainer."""
    reward_function: RewardFunction
    world: WorldConfig = field(default_factory=WorldConfig)
    race_type: str = "TIME_TRIAL"
    cars: int = 8
    eval_cars: int = 5
    seed: int = 0
    torch_threads: int = 1
    max_episode_steps: int = 10_000
    live_dir: str | None = None
    """Where to publish camera and top-down frames while a dashboard watches
    (`slipstream.runs.live`); None: never."""
    rotation: TrackRotation | None = None
    """Training on a set of tracks: each car drives its own track, drawn from the set every
    `rotation.episodes_per_track` of its episodes (None: every car on `track`)."""


@dataclass
class EpisodeSummary:
    """One finished episode, as the metrics JSON and logs need it."""

    worker: int
    episode: int  # 1-based; in a RolloutResult counted within it, the trainer makes it cumulative
    trial: int  # index within the iteration (1-based)
    total_reward: float
    steps: int
    progress: float
    status: str
    start_time: float
    end_time: float
    phase: str = "training"
    track: str = ""
    """The track the episode ran on (its name; ' (reversed)' when driven reversed)."""


@dataclass
class RolloutResult:
    """A worker's share of one iteration."""

    worker: int
    obs: dict[str, np.ndarray]
    actions: np.ndarray
    log_probs: np.ndarray
    """PPO: the log-probability with which the worker's policy drew each action."""
    rewards: np.ndarray
    terminated: np.ndarray
    episode_end: np.ndarray
    final_obs: dict[str, np.ndarray]  # last observation of each truncated episode
    final_rows: np.ndarray  # row index of the last step of each truncated episode
    episodes: list[EpisodeSummary]
    simtrace: dict[str, np.ndarray]  # every simtrace column but `episode` (the trainer numbers it)
    simtrace_episode: np.ndarray  # index (start order) within this result of each simtrace row
    evaluation: list[EpisodeSummary]
    env_steps: int
    seconds: float
    timings: dict[str, float]
    policy_version: int = -1
    """Checkpoint number of the policy that collected it (the weights' `version`)."""

    @property
    def num_samples(self) -> int:
        return len(self.rewards)


class _Rows:
    """Growing per-step record of the active cars."""

    def __init__(self) -> None:
        self.columns: dict[str, list[np.ndarray]] = {}

    def add(self, **values: np.ndarray) -> None:
        for key, value in values.items():
            self.columns.setdefault(key, []).append(value)

    def stacked(self, key: str, empty: np.ndarray) -> np.ndarray:
        parts = self.columns.get(key)
        return np.concatenate(parts) if parts else empty


class RolloutWorker:
    """Runs training and evaluation episodes for the trainer."""

    def __init__(self, spec: WorkerSpec) -> None:
        torch.set_num_threads(max(1, spec.torch_threads))
        self.spec = spec
        self.metadata: ModelMetadata = spec.model_metadata
        self.core = self._make_core(spec.cars, training=True)
        self.car_episodes = np.zeros(spec.cars, dtype=np.int64)
        """Training episodes each car has started (its place in the track rotation)."""
        base = spec.seed * 10_007 + spec.worker_index * 1_009
        self.core.seed([base + i for i in range(spec.cars)])
        self.actor = PolicyActor(self.metadata, seed=base)
        self.episodes_done = 0
        self.clock_steps = 0
        """Steps of this worker's world so far: its continuous sim clock (simtrace tstamp)."""
        self._eval_core: DeepRacerCore | None = None
        self.frames = FramePublisher(spec.live_dir, spec.worker_index)

    def _make_core(self, cars: int, training: bool) -> DeepRacerCore:
        world = self.spec.world
        if not training:  # in-training evaluation: from the start line, as DeepRacer's
            world = world.with_overrides({"CHANGE_START_POSITION": False}, source="evaluation")
        rotation = self.spec.rotation
        tracks = self.spec.track
        if training and rotation is not None:  # one slot per car: its first track
            tracks = [rotation.track_for(car, 0) for car in range(cars)]
        return DeepRacerCore(
            cars,
            track=tracks,
            model_metadata=self.metadata,
            reward_function=self.spec.reward_function,
            race_type=self.spec.race_type,
            world=world,
            job_type="TRAINING",
            max_steps=self.spec.max_episode_steps,
            spread_starts=training,
        )

    def _next_tracks(self, cars: np.ndarray) -> np.ndarray | None:
        """Before cars start an episode: a car whose block of episodes on one track is over
        gets its next track from the rotation, in its own slot."""
        rotation = self.spec.rotation
        if rotation is None:
            return None
        for car in cars.tolist():
            episode = int(self.car_episodes[car])
            if episode > 0 and episode % rotation.episodes_per_track == 0:
                block = episode // rotation.episodes_per_track
                self.core.set_track(car, rotation.track_for(car, block))
        self.car_episodes[cars] += 1
        return cars

    def set_weights(self, state: dict[str, Any], version: int) -> None:
        self.actor.set_weights(state, version)

    def node(self) -> str:
        """Where this worker runs: ``node <Ray node id> (<ip>)``, or ``this process``."""
        import ray

        if not ray.is_initialized():
            return "this process"
        context = ray.get_runtime_context()
        return f"node {context.get_node_id()} ({ray.util.get_node_ip_address()})"

    def stop(self) -> None:
        """Nothing to release; present so Ray and serial workers stop the same way."""

    # ------------------------------------------------------------------ training episodes

    def sample(
        self,
        num_episodes: int,
        epsilon: float = 0.0,
        max_steps: int | None = None,
        deterministic: bool = False,
    ) -> RolloutResult:
        """Run `num_episodes` training episodes (up to `cars` at a time) with the current policy.

        `max_steps`: the iteration's step cap for this worker (DeepRacer's MAX_MEMORY_STEPS
        share); once reached no new episode starts and episodes in flight finish.
        `deterministic`/`epsilon`: categorical exploration samples (False, 0); e-greedy takes
        the argmax with probability 1 - epsilon (True, epsilon).
        """
        start = time.perf_counter()
        cpu_start = time.thread_time()
        timings = {"policy": 0.0, "env": 0.0}
        core, n = self.core, self.spec.cars
        dt = core.sim.car.dt
        ep_reward = np.zeros(n)
        ep_steps = np.zeros(n, dtype=np.int64)
        ep_start = np.zeros(n)
        rows, trace = _Rows(), _Rows()
        summaries: list[EpisodeSummary] = []
        final_obs_parts: dict[str, list[np.ndarray]] = {}
        final_ids: list[int] = []
        seen: dict[str, dict[str, np.ndarray]] = {}
        mark = [time.perf_counter()]

        def act(obs: dict[str, np.ndarray], cars: np.ndarray) -> np.ndarray:
            t0 = time.perf_counter()
            timings["env"] += t0 - mark[0]
            seen["obs"] = obs
            actions, seen["log_probs"] = self._act(obs, cars, deterministic, epsilon)
            mark[0] = time.perf_counter()
            timings["policy"] += mark[0] - t0
            return actions

        def on_step(loop: LoopStep) -> None:
            step, r, cars = loop.step, loop.step.result, loop.cars
            now = (self.clock_steps + loop.clock) * dt  # the worker's sim clock at the decision
            fresh = r.steps[cars] == 1
            ep_start[cars[fresh]] = now
            learn = cars[r.phase_was_run[cars]]
            obs = seen["obs"]
            self.frames.publish(core, step.obs, cars)
            rows.add(
                car_episode=loop.episode[learn],
                clock=np.full(len(learn), loop.clock),
                actions=loop.actions[learn],
                log_probs=seen["log_probs"][learn],
                rewards=step.reward[learn],
                terminated=r.terminated[learn],
                episode_end=(r.terminated | r.truncated)[learn],
                **{f"obs:{k}": v[learn] for k, v in obs.items()},
            )
            trace.add(
                car_episode=loop.episode[cars],
                clock=np.full(len(cars), loop.clock),
                **simtrace_row(
                    core,
                    step,
                    trace_actions(self.metadata.is_continuous, loop.actions, r),
                    cars,
                    tstamp=now + dt,  # the worker's continuous sim clock (as DRfC's tstamp)
                ),
            )
            ep_reward[cars] += step.reward[cars]
            ep_steps[cars] += 1
            for i in loop.ended:
                summaries.append(
                    EpisodeSummary(
                        worker=self.spec.worker_index,
                        episode=0,  # numbered below, in start order
                        trial=int(loop.episode[i]) + 1,
                        total_reward=float(ep_reward[i]),
                        steps=int(ep_steps[i]),
                        progress=float(r.progress[i]),
                        status=ep.STATUS_NAMES[r.status[i]],
                        start_time=float(ep_start[i]),
                        end_time=float(now + dt),
                        track=track_label(core, r, i),
                    )
                )
                if r.truncated[i]:
                    for k, v in step.obs.items():
                        final_obs_parts.setdefault(k, []).append(v[i : i + 1])
                    final_ids.append(int(loop.episode[i]))
            ep_reward[loop.ended] = 0.0
            ep_steps[loop.ended] = 0

        def may_start() -> bool:
            recorded = sum(len(x) for x in rows.columns.get("rewards", []))
            return max_steps is None or recorded < max_steps

        try:
            self.clock_steps += play_episodes(
                core,
                act,
                num_episodes,
                on_step,
                may_start=may_start,
                before_reset=self._next_tracks,
            )
        except RewardFunctionError as exc:
            raise self._located(exc) from None
        sensors = list(seen.get("obs", {}))
        final_obs_parts = {k: final_obs_parts.get(k, []) for k in sensors}
        result = self._assemble(rows, trace, summaries, final_obs_parts, final_ids)
        result.env_steps = int(sum(len(x) for x in trace.columns.get("steps", [])))
        result.seconds = time.perf_counter() - start
        timings["cpu"] = time.thread_time() - cpu_start  # this thread's CPU seconds
        reward = core.reward_function
        result.timings = {**timings, "reward_calls": reward.calls, "reward_seconds": reward.seconds}
        result.policy_version = self.actor.version
        return result

    def _located(self, exc: RewardFunctionError, phase: str = "training") -> RewardFunctionError:
        """`exc` with the worker, the episode within this call (1-based) and the step added."""
        trial = exc.episode + 1 if exc.episode is not None else None
        steps = (exc.params or {}).get("steps")
        step = int(steps) if isinstance(steps, int | float) else None
        where = "evaluation episode" if phase == "evaluation" else "episode"
        located = RewardFunctionError(
            f"worker {self.spec.worker_index}, {where} {trial} of this call, step {step}: "
            f"{exc.problem}",
            source=exc.source,
            fix=exc.fix,
        )
        located.params, located.car, located.episode = exc.params, exc.car, exc.episode
        located.worker, located.trial, located.step = self.spec.worker_index, trial, step
        located.phase = phase
        return located

    def _act(
        self, obs: dict[str, np.ndarray], cars: np.ndarray, deterministic: bool, epsilon: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Actions of all cars and their log-probabilities, the policy run on the cars in `cars`
        only (others: zeros)."""
        n = len(next(iter(obs.values())))
        if len(cars) == n:
            return self.actor.act_with_log_probs(obs, deterministic, epsilon)
        chosen, chosen_log_probs = self.actor.act_with_log_probs(
            {k: v[cars] for k, v in obs.items()}, deterministic, epsilon
        )
        actions = np.zeros((n, *chosen.shape[1:]), dtype=chosen.dtype)
        actions[cars] = chosen
        log_probs = np.zeros(n, dtype=np.float32)
        log_probs[cars] = chosen_log_probs
        return actions, log_probs

    def _assemble(self, rows, trace, summaries, final_obs_parts, final_ids) -> RolloutResult:
        """Order rows episode by episode and number episodes in start order."""
        sensors = list(final_obs_parts)
        car_ep = rows.stacked("car_episode", np.zeros(0, np.int64))
        order = np.lexsort((rows.stacked("clock", np.zeros(0, np.int64)), car_ep))
        obs = {}
        for k in sensors:
            parts = rows.columns.get(f"obs:{k}")
            obs[k] = np.concatenate(parts)[order] if parts else np.zeros((0,))
        empty = np.zeros(0)
        actions = rows.stacked("actions", empty)[order]
        log_probs = rows.stacked("log_probs", empty.astype(np.float32))[order]
        rewards = rows.stacked("rewards", empty)[order]
        terminated = rows.stacked("terminated", empty.astype(bool))[order]
        episode_end = rows.stacked("episode_end", empty.astype(bool))[order]
        car_ep = car_ep[order]
        last_row = {int(e): int(np.flatnonzero(car_ep == e)[-1]) for e in set(final_ids)}
        final_rows = np.array([last_row.get(e, -1) for e in final_ids], dtype=np.int64)
        final_obs = {
            k: np.concatenate(v) if v else np.zeros((0,)) for k, v in final_obs_parts.items()
        }
        keep = final_rows >= 0  # a truncated episode whose every step was a prepare step
        final_rows = final_rows[keep]
        final_obs = {k: v[keep] if len(v) else v for k, v in final_obs.items()}

        t_ep = trace.stacked("car_episode", np.zeros(0, np.int64))
        t_order = np.lexsort((trace.stacked("clock", np.zeros(0, np.int64)), t_ep))
        simtrace = {}
        for key, parts in trace.columns.items():
            if key in ("car_episode", "clock"):
                continue
            simtrace[key] = np.concatenate(parts)[t_order]
        summaries.sort(key=lambda s: s.trial)
        for number, s in enumerate(summaries, start=1):
            s.episode = number  # within this result; the trainer adds the worker's running count
        self.episodes_done += len(summaries)
        return RolloutResult(
            worker=self.spec.worker_index,
            obs=obs,
            actions=actions,
            log_probs=log_probs,
            rewards=rewards,
            terminated=terminated,
            episode_end=episode_end,
            final_obs=final_obs,
            final_rows=final_rows,
            episodes=summaries,
            simtrace=simtrace,
            simtrace_episode=t_ep[t_order],
            evaluation=[],
            env_steps=0,
            seconds=0.0,
            timings={},
        )

    # ------------------------------------------------------------------ evaluation episodes

    def evaluate(self, num_episodes: int) -> list[EpisodeSummary]:
        """Deterministic episodes (DeepRacer's in-training evaluation, MIN_EVAL_TRIALS).

        Episode j starts at j/num_episodes of the lap, so the average covers the whole track
        rather than repeating one identical run from the same line.
        """
        if self._eval_core is None or self._eval_core.num_cars != num_episodes:
            self._eval_core = self._make_core(num_episodes, training=False)
            self._eval_core.sim.start_offsets = np.arange(num_episodes) / num_episodes
        core = self._eval_core
        base = self.spec.seed * 7 + 12345
        core.seed([base + i for i in range(num_episodes)])  # the same trials for every policy
        dt = core.sim.car.dt
        total = np.zeros(num_episodes)
        out: list[EpisodeSummary | None] = [None] * num_episodes
        start = self.clock_steps * dt

        def act(obs: dict[str, np.ndarray], cars: np.ndarray) -> np.ndarray:
            return self._act(obs, cars, True, 0.0)[0]

        def on_step(loop: LoopStep) -> None:
            step, r = loop.step, loop.step.result
            total[loop.cars] += step.reward[loop.cars]
            for i in loop.ended:
                out[i] = EpisodeSummary(
                    worker=self.spec.worker_index,
                    episode=self.episodes_done,
                    trial=int(i) + 1,
                    total_reward=float(total[i]),
                    steps=int(r.steps[i]),
                    progress=float(r.progress[i]),
                    status=ep.STATUS_NAMES[r.status[i]],
                    start_time=start,
                    end_time=float(start + (loop.clock + 1) * dt),
                    phase="evaluation",
                    track=track_label(core, r, i),
                )

        try:
            self.clock_steps += play_episodes(core, act, [1] * num_episodes, on_step)
        except RewardFunctionError as exc:
            raise self._located(exc, "evaluation") from None
        return [s for s in out if s is not None]


def track_label(core: DeepRacerCore, result, car: int) -> str:
    """The track car `car` drove in a step: its name, with ' (reversed)' when driven reversed."""
    name = core.sim.slots[int(result.track[car])].name
    return f"{name} (reversed)" if result.is_reversed[car] else name
