"""Training benchmarks: minutes to the first full evaluation lap, and throughput."""

from __future__ import annotations

import tempfile
import time
from typing import Any

import numpy as np

from slipstream.config import as_reward_function, load_hyperparameters, load_model_metadata
from slipstream.rollout.trainer import IterationReport, TrainConfig, Trainer
from slipstream.tracks.registry import DEFAULT_TRACK


def benchmark_learn(
    track: str = "reInvent2019_track",
    minutes: float = 30.0,
    workers: int = 1,
    run: str | None = None,
    shared_trunk: bool = False,
    seed: int = 0,
    echo=None,
) -> dict[str, Any]:
    """Train with the DRfC defaults (hyperparameters, the 5-action 0.6 m/s model, the shipped
    centre-line reward) until an in-training evaluation completes a lap at 100% progress."""
    folder = run or tempfile.mkdtemp(prefix="slipstream-bench-learn-")
    config = TrainConfig(
        run=folder,
        model_metadata=load_model_metadata(None),
        hyperparameters=load_hyperparameters(None),
        reward_function=as_reward_function(None),
        track=track,
        workers=workers,
        minutes=minutes,
        until_lap=True,
        serial=workers == 1,
        shared_trunk=shared_trunk,
        seed=seed,
    )
    start = time.monotonic()
    first_lap: dict[str, Any] = {}

    def note(report: IterationReport) -> None:
        if report.eval_lap_complete and not first_lap:
            first_lap.update(
                minutes=round((time.monotonic() - start) / 60, 2),
                iteration=report.iteration,
                steps=report.total_steps,
            )

    reports = Trainer(config, echo=echo).run(on_iteration=note)
    return {
        "benchmark": "learn",
        "track": track,
        "workers": workers,
        "shared_trunk": shared_trunk,
        "minutes_to_first_lap": first_lap.get("minutes"),
        "iteration_of_first_lap": first_lap.get("iteration"),
        "steps_to_first_lap": first_lap.get("steps"),
        "iterations": len(reports),
        "total_minutes": round((time.monotonic() - start) / 60, 2),
        "run": folder,
    }


def benchmark_train(
    track: str | None = None,
    workers: int = 1,
    iterations: int = 2,
    echo=None,
    run: str | None = None,
) -> dict[str, Any]:
    """Rollout env steps per second (policy inference included) and learner samples per second
    (PPO, SHALLOW camera network, DRfC defaults)."""
    config = TrainConfig(
        run=run or tempfile.mkdtemp(prefix="slipstream-bench-train-"),
        model_metadata=load_model_metadata(None),
        hyperparameters=load_hyperparameters(None),
        reward_function=as_reward_function(None),
        track=track or DEFAULT_TRACK,
        workers=workers,
        iterations=iterations,
        serial=workers == 1,
        eval_episodes=0,
    )
    reports = Trainer(config, echo=echo).run()
    last = reports[-1]
    return {
        "benchmark": "train",
        "workers": workers,
        "rollout_steps_per_second": round(last.rollout_steps_per_second, 1),
        "learner_samples_per_second": round(last.learner_samples_per_second, 1),
        "samples_per_iteration": last.samples,
        "seconds_per_iteration": round(last.seconds, 2),
    }


def benchmark_frames(repeats: int = 3, cars: int = 16, episodes: int = 20) -> dict[str, Any]:
    """What a dashboard watching worker 0 costs the worker: CPU per env step of
    `RolloutWorker.sample` without and with a watcher (alternating), and the share of the
    worker's CPU spent in the frame-publishing hook. Thread CPU time, so other load on the
    machine disturbs it less than wall-clock throughput."""
    import threading

    from slipstream.rollout.worker import RolloutWorker, WorkerSpec
    from slipstream.runs.live import WATCH_TIMEOUT_S, FrameWatcher

    live = tempfile.mkdtemp(prefix="slipstream-bench-frames-")
    spec = WorkerSpec(
        worker_index=0,
        track=DEFAULT_TRACK,
        model_metadata=load_model_metadata(None).to_json_dict(),
        reward_function=as_reward_function(None),
        cars=cars,
        seed=0,
        live_dir=live,
    )
    worker = RolloutWorker(spec)
    worker.sample(cars, max_steps=500)  # compile first
    publish, hook = worker.frames.publish, [0.0]

    def timed_publish(*args) -> None:
        t = time.thread_time()
        publish(*args)
        hook[0] += time.thread_time() - t

    worker.frames.publish = timed_publish

    def watch(stop: threading.Event, frames: list[int]) -> None:  # what the dashboard does
        watcher, touched = FrameWatcher(live, 0), 0.0
        while not stop.is_set():
            if time.monotonic() - touched >= 1.0:
                watcher.touch()
                touched = time.monotonic()
            frames[0] += watcher.latest() is not None
            time.sleep(0.04)

    runs: dict[str, list[dict[str, float]]] = {"unwatched": [], "watched": []}
    for _ in range(repeats):
        for mode in runs:
            stop, frames = threading.Event(), [0]
            thread = threading.Thread(target=watch, args=(stop, frames), daemon=True)
            if mode == "watched":
                thread.start()
                time.sleep(1.2)
            hook[0] = 0.0
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            result = worker.sample(episodes, max_steps=3000)
            cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
            if mode == "watched":
                stop.set()
                thread.join()
                time.sleep(WATCH_TIMEOUT_S + 1.0)  # let the watch file go stale
            runs[mode].append(
                {
                    "cpu_ms_per_step": 1e3 * cpu / result.env_steps,
                    "steps_per_second": result.env_steps / wall,
                    "frames_per_second": frames[0] / wall,
                    "hook_cpu_share": hook[0] / cpu,
                }
            )

    def mean(mode: str, key: str) -> float:
        return round(float(np.mean([r[key] for r in runs[mode]])), 4)

    keys = ("cpu_ms_per_step", "steps_per_second", "frames_per_second", "hook_cpu_share")
    return {
        "benchmark": "frames",
        "cars": cars,
        "repeats": repeats,
        **{f"{mode}_{key}": mean(mode, key) for mode in runs for key in keys},
    }
