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

from slipstream.config.model_metadata import ModelMetadata, parse_model_metadata
from slipstream.config.reward_function import RewardFunction
from slipstream.env.core import DeepRacerCore
from slipstream.rollout.policy import PolicyActor
from slipstream.runs.live import FramePublisher
from slipstream.sim import episode as ep


@dataclass(frozen=True)
class WorkerSpec:
    """What one rollout worker simulates. Everything in it pickles (it travels to Ray actors)."""

    worker_index: int
    track: str
    model_metadata: dict[str, Any]
    reward_function: RewardFunction
    world: dict[str, Any] = field(default_factory=dict)
    race_type: str = "TIME_TRIAL"
    cars: int = 8
    eval_cars: int = 5
    seed: int = 0
    torch_threads: int = 1
    max_episode_steps: int = 10_000
    live_dir: str | None = None
    """Where to publish camera and top-down frames while a dashboard watches
    (`slipstream.runs.live`); None: never."""


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


@dataclass
class RolloutResult:
    """A worker's share of one iteration."""

    worker: int
    obs: dict[str, np.ndarray]
    actions: np.ndarray
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
        self.metadata: ModelMetadata = parse_model_metadata(spec.model_metadata)
        self.core = self._make_core(spec.cars, training=True)
        base = spec.seed * 10_007 + spec.worker_index * 1_009
        self.core.seed([base + i for i in range(spec.cars)])
        self.actor = PolicyActor(self.metadata, seed=base)
        self.episodes_done = 0
        self._eval_core: DeepRacerCore | None = None
        self.frames = FramePublisher(spec.live_dir, spec.worker_index)

    def _make_core(self, cars: int, training: bool) -> DeepRacerCore:
        world = dict(self.spec.world)
        if not training:
            world["CHANGE_START_POSITION"] = False
        return DeepRacerCore(
            cars,
            track=self.spec.track,
            model_metadata=self.metadata,
            reward_function=self.spec.reward_function,
            race_type=self.spec.race_type,
            world=world,
            job_type="TRAINING",
            max_steps=self.spec.max_episode_steps,
            spread_starts=training,
        )

    def set_weights(self, state: dict[str, Any], version: int) -> None:
        self.actor.set_weights(state, version)

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
        timings = {"policy": 0.0, "env": 0.0}
        core, n = self.core, self.spec.cars
        active = np.arange(n) < num_episodes
        obs = core.reset(active)
        local_id = np.where(active, np.arange(n), -1)
        started = int(active.sum())
        ep_reward = np.zeros(n)
        ep_steps = np.zeros(n, dtype=np.int64)
        ep_start = np.zeros(n)
        rows, trace = _Rows(), _Rows()
        summaries: list[EpisodeSummary] = []
        final_obs_parts: dict[str, list[np.ndarray]] = {k: [] for k in obs}
        final_ids: list[int] = []
        clock = 0
        env_steps = 0
        while active.any():
            t0 = time.perf_counter()
            actions = self.actor.act(obs, deterministic=deterministic, epsilon=epsilon)
            t1 = time.perf_counter()
            step = core.step(actions)
            timings["policy"] += t1 - t0
            timings["env"] += time.perf_counter() - t1
            self.frames.publish(core, step.obs, np.flatnonzero(active))
            r = step.result
            env_steps += int(active.sum())
            learn = np.flatnonzero(r.phase_was_run & active)
            rows.add(
                car_episode=local_id[learn],
                clock=np.full(len(learn), clock),
                actions=actions[learn],
                rewards=step.reward[learn],
                terminated=r.terminated[learn],
                episode_end=(r.terminated | r.truncated)[learn],
                **{f"obs:{k}": v[learn] for k, v in obs.items()},
            )
            traced = np.flatnonzero(active)
            trace.add(
                car_episode=local_id[traced],
                clock=np.full(len(traced), clock),
                **self._trace_columns(step, actions, traced),
            )
            ep_reward += step.reward
            ep_steps += 1
            done = (r.terminated | r.truncated) & active
            for i in np.flatnonzero(done):
                summaries.append(
                    EpisodeSummary(
                        worker=self.spec.worker_index,
                        episode=0,  # numbered below, in start order
                        trial=int(local_id[i]) + 1,
                        total_reward=float(ep_reward[i]),
                        steps=int(ep_steps[i]),
                        progress=float(r.progress[i]),
                        status=ep.STATUS_NAMES[r.status[i]],
                        start_time=float(ep_start[i]),
                        end_time=float(r.sim_time[i] + core.sim.car.dt),
                    )
                )
                if r.truncated[i]:
                    for k, v in step.obs.items():
                        final_obs_parts[k].append(v[i : i + 1])
                    final_ids.append(int(local_id[i]))
            obs = step.obs
            clock += 1
            if done.any():
                recorded = sum(len(x) for x in rows.columns.get("rewards", []))
                cap_reached = max_steps is not None and recorded >= max_steps
                more = 0 if cap_reached else max(0, num_episodes - started)
                restart = np.flatnonzero(done)[:more]
                active[done] = False
                if len(restart):
                    mask = np.zeros(n, dtype=bool)
                    mask[restart] = True
                    obs = core.reset(mask)
                    active[restart] = True
                    local_id[restart] = np.arange(started, started + len(restart))
                    started += len(restart)
                    ep_reward[restart] = 0.0
                    ep_steps[restart] = 0
                    ep_start[restart] = 0.0
        result = self._assemble(rows, trace, summaries, final_obs_parts, final_ids)
        result.env_steps = env_steps
        result.seconds = time.perf_counter() - start
        result.timings = timings
        return result

    def _trace_columns(self, step, actions: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
        r = step.result
        now = time.time()
        return {
            "steps": r.steps[idx],
            "X": r.front[idx, 0],
            "Y": r.front[idx, 1],
            "yaw": r.heading_deg[idx],
            "steer": r.steering_deg[idx],
            "throttle": r.speed[idx],
            "action": self._trace_actions(actions, r)[idx],
            "reward": step.reward[idx],
            "done": (r.terminated | r.truncated)[idx],
            "all_wheels_on_track": r.all_wheels_on_track[idx],
            "progress": r.progress[idx],
            "closest_waypoint": self.core.closest_waypoint(r)[idx],
            "track_len": np.full(len(idx), self.core.track.length),
            "tstamp": r.sim_time[idx] + self.core.sim.car.dt,  # stamped when the frame arrives
            "episode_status": np.array([ep.STATUS_NAMES[s] for s in r.status[idx]], dtype=object),
            "pause_duration": r.pause_duration[idx],
            "obstacle_crash_counter": r.obstacle_crash_counter[idx],
            "wall_clock": np.full(len(idx), now),
        }

    def _trace_actions(self, actions: np.ndarray, r) -> np.ndarray:
        """Simtrace `action`: the discrete index, or [steer speed] in degrees and m/s."""
        if self.metadata.is_continuous:
            return np.column_stack([r.steering_deg, r.speed])
        return actions

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
            base = self.spec.seed * 7 + 12345
            self._eval_core.seed([base + i for i in range(num_episodes)])
            self._eval_core.sim.start_offsets = np.arange(num_episodes) / num_episodes
        core = self._eval_core
        obs = core.reset()
        active = np.ones(num_episodes, dtype=bool)
        total = np.zeros(num_episodes)
        steps = np.zeros(num_episodes, dtype=np.int64)
        out: list[EpisodeSummary | None] = [None] * num_episodes
        while active.any():
            actions = self.actor.act(obs, deterministic=True)
            step = core.step(actions)
            r = step.result
            total += np.where(active, step.reward, 0.0)
            steps += active
            done = (r.terminated | r.truncated) & active
            for i in np.flatnonzero(done):
                out[i] = EpisodeSummary(
                    worker=self.spec.worker_index,
                    episode=self.episodes_done,
                    trial=i + 1,
                    total_reward=float(total[i]),
                    steps=int(steps[i]),
                    progress=float(r.progress[i]),
                    status=ep.STATUS_NAMES[r.status[i]],
                    start_time=0.0,
                    end_time=float(r.sim_time[i] + core.sim.car.dt),
                    phase="evaluation",
                )
            active &= ~done
            obs = step.obs
        return [s for s in out if s is not None]
