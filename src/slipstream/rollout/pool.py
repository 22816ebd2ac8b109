"""The workers of a training run: `RolloutWorker`s in this process or as Ray actors.

A pool hands the current weights to every worker, asks each for its share of an iteration's
episodes, and asks worker 0 for the in-training evaluation episodes. `SerialWorkerPool` calls
the workers one after another in this process (tests, debugging); `RayWorkerPool` runs each as
a Ray actor (one CPU) on a local Ray instance started on demand or on a cluster
(``address="auto"``). Both return the same results for the same specs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from slipstream.rollout.worker import EpisodeSummary, RolloutResult, RolloutWorker, WorkerSpec


@dataclass(frozen=True)
class SampleRequest:
    """One worker's part of an iteration (the arguments of `RolloutWorker.sample`)."""

    episodes: int
    max_steps: int | None = None
    deterministic: bool = False
    epsilon: float = 0.0


def episodes_per_worker(num_episodes: int, workers: int) -> list[int]:
    """DeepRacer's split: worker r plays floor(E/W) + (1 if r < E % W) episodes."""
    workers = min(workers, num_episodes)
    return [
        num_episodes // workers + (1 if r < num_episodes % workers else 0) for r in range(workers)
    ]


class WorkerPool(Protocol):
    """What the trainer needs of its workers."""

    num_workers: int

    def set_weights(self, weights: Mapping[str, Any], version: int) -> None: ...

    def sample(self, requests: Sequence[SampleRequest]) -> list[RolloutResult]: ...

    def evaluate(self, episodes: int) -> list[EpisodeSummary]: ...

    def stop(self) -> None: ...


class SerialWorkerPool:
    """Workers in this process, called one after another."""

    def __init__(self, specs: Sequence[WorkerSpec]) -> None:
        self.workers = [RolloutWorker(s) for s in specs]
        self.num_workers = len(self.workers)

    def set_weights(self, weights: Mapping[str, Any], version: int) -> None:
        for w in self.workers:
            w.set_weights(weights, version)

    def sample(self, requests: Sequence[SampleRequest]) -> list[RolloutResult]:
        return [
            w.sample(q.episodes, q.epsilon, q.max_steps, q.deterministic)
            for w, q in zip(self.workers, requests, strict=True)
        ]

    def evaluate(self, episodes: int) -> list[EpisodeSummary]:
        return self.workers[0].evaluate(episodes) if episodes else []

    def stop(self) -> None:
        for w in self.workers:
            w.stop()


class RayWorkerPool:
    """Workers as Ray actors (one CPU each), sampling in parallel."""

    def __init__(self, specs: Sequence[WorkerSpec], address: str | None = None) -> None:
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
        self.num_workers = len(self.workers)

    def set_weights(self, weights: Mapping[str, Any], version: int) -> None:
        # calls on one actor run in order: the next sample/evaluate sees these weights
        ref = self.ray.put(dict(weights))
        for w in self.workers:
            w.set_weights.remote(ref, version)

    def sample(self, requests: Sequence[SampleRequest]) -> list[RolloutResult]:
        pending = [
            w.sample.remote(q.episodes, q.epsilon, q.max_steps, q.deterministic)
            for w, q in zip(self.workers, requests, strict=True)
        ]
        return self.ray.get(pending)

    def evaluate(self, episodes: int) -> list[EpisodeSummary]:
        if not episodes:
            return []
        return self.ray.get(self.workers[0].evaluate.remote(episodes))

    def stop(self) -> None:
        for w in self.workers:
            self.ray.kill(w)


def make_worker_pool(
    specs: Sequence[WorkerSpec], serial: bool, address: str | None = None
) -> SerialWorkerPool | RayWorkerPool:
    """Serial pool for `serial`, else Ray actors (on `address`, or a local Ray started here)."""
    return SerialWorkerPool(specs) if serial else RayWorkerPool(specs, address)


__all__ = [
    "RayWorkerPool",
    "SampleRequest",
    "SerialWorkerPool",
    "WorkerPool",
    "episodes_per_worker",
    "make_worker_pool",
]
