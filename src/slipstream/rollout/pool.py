"""The workers of a training run: `RolloutWorker`s in this process or as Ray actors.

A pool hands the current weights to every worker, asks each for its share of an iteration's
episodes, and asks worker 0 for the in-training evaluation episodes. `SerialWorkerPool` calls
the workers one after another in this process (tests, debugging); `RayWorkerPool` runs each as
a Ray actor (one CPU) on a local Ray instance started on demand or on a cluster
(``address="auto"``). Both return the same results for the same specs.

Calls can also be started without waiting (`sample_async`, `evaluate_async`, which return a
`Pending` whose `get()` waits): this is how the pipelined loop lets workers collect the next
iteration while the learner trains. Calls run in the order they are made, per worker (Ray runs
an actor's calls in order; the serial pool, when `background` is set, runs every call on one
background thread), so weights set after a sample was started apply to the sample after it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import torch

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


T = TypeVar("T")


class Pending(Generic[T]):
    """A started pool call; `get()` waits for its result (a value, a Future or Ray refs),
    `done()` says whether it has finished without waiting."""

    def __init__(
        self,
        value: Any,
        get: Callable[[Any], T] | None = None,
        done: Callable[[Any], bool] | None = None,
    ) -> None:
        self._value = value
        self._get = get
        self._done = done

    def get(self) -> T:
        return self._get(self._value) if self._get is not None else self._value

    def done(self) -> bool:
        return self._done(self._value) if self._done is not None else True


class WorkerPool(Protocol):
    """What the trainer needs of its workers."""

    num_workers: int

    def set_weights(self, weights: Mapping[str, Any], version: int) -> None: ...

    def sample_async(self, requests: Sequence[SampleRequest]) -> Pending[list[RolloutResult]]: ...

    def evaluate_async(self, episodes: int) -> Pending[list[EpisodeSummary]]: ...

    def sample(self, requests: Sequence[SampleRequest]) -> list[RolloutResult]: ...

    def evaluate(self, episodes: int) -> list[EpisodeSummary]: ...

    def cpu_seconds(self) -> float | None: ...

    def stop(self) -> None: ...


class SerialWorkerPool:
    """Workers in this process, called one after another: on the caller's thread, or with
    `background` on one background thread (so the caller can train meanwhile).

    A worker sets torch's thread count for its own process; here the trainer's count is put
    back after each call, so the learner computes exactly as it does beside Ray workers. (torch's
    thread count is per OS thread: a background rollout thread sets its own once.)
    """

    def __init__(self, specs: Sequence[WorkerSpec], background: bool = False) -> None:
        with _trainer_threads():
            self.workers = [RolloutWorker(s) for s in specs]
        self.num_workers = len(self.workers)
        self._executor = None
        if background:
            threads = max(1, specs[0].torch_threads)
            self._executor = ThreadPoolExecutor(1, "rollout", torch.set_num_threads, (threads,))
        self._clock: int | None = None
        if self._executor is not None:
            thread = self._executor.submit(threading.get_ident).result()
            self._clock = time.pthread_getcpuclockid(thread)

    def _call(self, fn: Callable[[], T]) -> Pending[T]:
        if self._executor is None:
            with _trainer_threads(self.workers[0].spec.torch_threads):
                return Pending(fn())
        return Pending(self._executor.submit(fn), Future.result, Future.done)

    def set_weights(self, weights: Mapping[str, Any], version: int) -> None:
        def load() -> None:
            for w in self.workers:
                w.set_weights(weights, version)

        self._call(load)

    def sample_async(self, requests: Sequence[SampleRequest]) -> Pending[list[RolloutResult]]:
        return self._call(
            lambda: [
                w.sample(q.episodes, q.epsilon, q.max_steps, q.deterministic)
                for w, q in zip(self.workers, requests, strict=True)
            ]
        )

    def evaluate_async(self, episodes: int) -> Pending[list[EpisodeSummary]]:
        if not episodes:
            return Pending([])
        return self._call(lambda: self.workers[0].evaluate(episodes))

    def sample(self, requests: Sequence[SampleRequest]) -> list[RolloutResult]:
        return self.sample_async(requests).get()

    def evaluate(self, episodes: int) -> list[EpisodeSummary]:
        return self.evaluate_async(episodes).get()

    def cpu_seconds(self) -> float | None:
        """CPU time of the background rollout thread so far (None without one)."""
        return None if self._clock is None else time.clock_gettime(self._clock)

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        for w in self.workers:
            w.stop()


@contextmanager
def _trainer_threads(threads: int | None = None) -> Iterator[None]:
    """Run a worker's code with its torch thread count, then restore this process's."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(max(1, threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


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

    def sample_async(self, requests: Sequence[SampleRequest]) -> Pending[list[RolloutResult]]:
        refs = [
            w.sample.remote(q.episodes, q.epsilon, q.max_steps, q.deterministic)
            for w, q in zip(self.workers, requests, strict=True)
        ]
        return Pending(refs, self.ray.get, self._all_done)

    def _all_done(self, refs: list[Any]) -> bool:
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        return len(ready) == len(refs)

    def evaluate_async(self, episodes: int) -> Pending[list[EpisodeSummary]]:
        if not episodes:
            return Pending([])
        return Pending(self.workers[0].evaluate.remote(episodes), self.ray.get)

    def sample(self, requests: Sequence[SampleRequest]) -> list[RolloutResult]:
        return self.sample_async(requests).get()

    def evaluate(self, episodes: int) -> list[EpisodeSummary]:
        return self.evaluate_async(episodes).get()

    def cpu_seconds(self) -> float | None:
        """Workers run in other processes: their CPU time comes with their results."""
        return None

    def stop(self) -> None:
        for w in self.workers:
            self.ray.kill(w)


def make_worker_pool(
    specs: Sequence[WorkerSpec],
    serial: bool,
    address: str | None = None,
    background: bool = False,
) -> SerialWorkerPool | RayWorkerPool:
    """Serial pool for `serial` (on a background thread with `background`), else Ray actors
    (on `address`, or a local Ray started here)."""
    return SerialWorkerPool(specs, background) if serial else RayWorkerPool(specs, address)


__all__ = [
    "Pending",
    "RayWorkerPool",
    "SampleRequest",
    "SerialWorkerPool",
    "WorkerPool",
    "episodes_per_worker",
    "make_worker_pool",
]
