"""Training benchmarks: minutes to the first full evaluation lap, and throughput."""

from __future__ import annotations

import tempfile
import time
from typing import Any

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
