"""Training benchmarks: minutes to the first full evaluation lap, and throughput."""

from __future__ import annotations

import tempfile
import time
from typing import Any

import numpy as np
import torch

from slipstream.config import as_reward_function, load_hyperparameters, load_model_metadata
from slipstream.config.model_metadata import ModelMetadata
from slipstream.model.policy import build_learner
from slipstream.rl.networks import CAMERA_CHANNELS, IMAGE_HEIGHT, IMAGE_WIDTH
from slipstream.rl.precision import precision_name
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
    config = TrainConfig.build(
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


def raw_learner_rate(
    metadata: ModelMetadata,
    precision: str,
    *,
    device: str = "cpu",
    batch_size: int = 64,
    seconds: float = 4.0,
    warmup: int = 3,
) -> float:
    """Samples per second of the bare PPO training step (forward and backward of the policy and
    value towers, one Adam step) on random observations, minibatch `batch_size`, with this
    process's current torch threads: the rate the learner cannot beat."""
    learner = build_learner(
        metadata, load_hyperparameters(None), device=device, precision=precision
    )
    rng = np.random.default_rng(0)
    obs = {}
    for sensor in learner.sensors:
        if sensor in CAMERA_CHANNELS:
            shape = (batch_size, IMAGE_HEIGHT, IMAGE_WIDTH, CAMERA_CHANNELS[sensor])
            obs[sensor] = torch.as_tensor(rng.integers(0, 256, shape, dtype=np.uint8))
        else:
            width = learner.policy.trunk.embedder.parts[sensor].in_features
            obs[sensor] = torch.as_tensor(rng.random((batch_size, width), dtype=np.float32))
    obs = {k: v.to(learner.device) for k, v in obs.items()}
    if learner.policy.continuous:
        actions = torch.zeros(batch_size, 2, device=learner.device)
    else:
        actions = torch.as_tensor(rng.integers(0, learner.policy.num_actions, batch_size))
        actions = actions.to(learner.device)
    zeros = torch.zeros(batch_size, device=learner.device)

    def step() -> None:
        loss, _, _ = learner.minibatch_loss(obs, actions, zeros - 1.0, zeros + 1.0, zeros)
        learner.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        learner.optimizer.step()

    for _ in range(warmup):
        step()
    _synchronize(learner.device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    _synchronize(learner.device)
    return count * batch_size / (time.perf_counter() - start)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def benchmark_train(
    track: str | None = None,
    workers: int = 1,
    iterations: int = 4,
    *,
    pipeline: bool = False,
    precision: str = "auto",
    device: str = "auto",
    serial: bool | None = None,
    cores: int | None = None,
    echo=None,
    run: str | None = None,
) -> dict[str, Any]:
    """Training throughput with the DRfC defaults (PPO, the shallow camera network, 5 epochs,
    20 episodes per iteration, no in-training evaluation).

    Measured in the same run: the raw learner bound (`raw_learner_rate`, fp32 and bf16, with the
    learner's threads, before training starts); then `iterations` training iterations, the first
    one a warm-up (kernel compilation, first allocations) left out of every rate. Reports the
    learner's achieved samples/s (epochs x samples / update time, the update including the value
    pass for GAE and the frozen-policy pass) and its fraction of the raw bound at the precision in
    use, rollout env steps/s, end-to-end new samples/s (new experience per wall-clock second), and
    CPU use per role in cores (CPU seconds per wall second)."""
    if iterations < 2:
        raise ValueError("benchmark_train needs at least 2 iterations (the first is a warm-up)")
    metadata = load_model_metadata(None)
    folder = run or tempfile.mkdtemp(prefix="slipstream-bench-train-")
    config = TrainConfig.build(
        run=folder,
        model_metadata=metadata,
        hyperparameters=load_hyperparameters(None),
        reward_function=as_reward_function(None),
        track=track or DEFAULT_TRACK,
        workers=workers,
        iterations=iterations,
        serial=workers == 1 if serial is None else serial,
        eval_episodes=0,
        precision=precision,
        pipeline=pipeline,
        device=device,
        cores=cores,
    )
    trainer = Trainer(config, echo=echo)
    learner = trainer.learner
    in_use = precision_name(learner.amp_dtype)
    raw = {
        name: raw_learner_rate(metadata, name, device=str(learner.device))
        for name in ("fp32", "bf16")
    }
    marks: list[float] = []
    cpu_marks: list[float] = []
    reports = trainer.run(
        on_iteration=lambda _: (
            marks.append(time.perf_counter()),
            cpu_marks.append(time.process_time()),
        )
    )
    steady = reports[1:]
    wall = marks[-1] - marks[0]
    samples = sum(r.samples for r in steady)
    epochs = config.hyperparameters.num_epochs
    learner_rate = sum(r.samples * epochs for r in steady) / sum(r.learner_seconds for r in steady)
    env_steps_per_s = [r.rollout_steps_per_second for r in steady]
    return {
        "benchmark": "train",
        "device": str(learner.device),
        "precision": in_use,
        "pipeline": pipeline,
        "threads": trainer.threads.describe(),
        "raw_learner_fp32_samples_per_second": round(raw["fp32"], 1),
        "raw_learner_bf16_samples_per_second": round(raw["bf16"], 1),
        "learner_samples_per_second": round(learner_rate, 1),
        "learner_fraction_of_raw_bound": round(learner_rate / raw[in_use], 3),
        "rollout_env_steps_per_second": round(float(np.mean(env_steps_per_s)), 1),
        "end_to_end_new_samples_per_second": round(samples / wall, 1),
        "learner_cpu_cores": round(sum(r.learner_cpu_seconds for r in steady) / wall, 2),
        "worker_cpu_cores": round(sum(r.worker_cpu_seconds for r in steady) / wall, 2),
        "trainer_process_cpu_cores": round((cpu_marks[-1] - cpu_marks[0]) / wall, 2),
        "rollout_wait_fraction": round(sum(r.wait_seconds for r in steady) / wall, 3),
        "samples_per_iteration": round(samples / len(steady)),
        "seconds_per_iteration": round(wall / len(steady), 2),
        "iterations_timed": len(steady),
        "run": folder,
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
        model_metadata=load_model_metadata(None),
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
