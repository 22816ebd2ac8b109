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
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

import torch

from slipstream.rollout.worker import EpisodeSummary, RolloutResult, RolloutWorker, WorkerSpec

log = logging.getLogger(__name__)


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

    def nodes(self) -> list[str]: ...

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

    def nodes(self) -> list[str]:
        return [w.node() for w in self.workers]

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


MAX_REPLACEMENTS = 3
"""Times one worker may die and be replaced within one call before the run stops."""
CONNECT_TIMEOUT_S = 10.0
"""How long to wait for a Ray cluster address to answer before giving up."""


class WorkerLostError(RuntimeError):
    """A rollout worker kept dying (more than `MAX_REPLACEMENTS` times in one call)."""


_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_HTTP2_SETTINGS = 0x04


def check_ray_address(address: str | None, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise `ConnectionError` within about `timeout_s` when no Ray head answers at `address`.

    Ray's own connection attempt retries for minutes when the address is wrong; this check
    opens a TCP connection and waits for the gRPC (HTTP/2) greeting that Ray's GCS (and the
    ``ray://`` client server) sends. ``None``/``"local"`` (a local Ray started here) and
    ``"auto"`` (Ray's own lookup, which fails fast) are left to Ray.
    """
    import socket

    if address in (None, "", "auto", "local"):
        return
    target = address.split("://", 1)[1] if "://" in address else address
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConnectionError(
            f"Ray address {address!r} is not host:port; give e.g. 10.0.0.5:6379, "
            "ray://10.0.0.5:10001 or auto"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(_HTTP2_PREFACE)
            header = sock.recv(9)
    except TimeoutError:
        header = None
    except OSError as err:
        raise ConnectionError(
            f"nothing answers at Ray address {address} ({err}); start the head node there with "
            f"`ray start --head --port {port}`, or check the address and the firewall"
        ) from None
    if not header or len(header) < 4 or header[3] != _HTTP2_SETTINGS:
        raise ConnectionError(
            f"the server at {address} did not answer like a Ray head node within {timeout_s:.0f} "
            "s; check the port (`ray start --head` prints the address to use)"
        )


class RayWorkerPool:
    """Workers as Ray actors (one CPU each, spread over the cluster's nodes), sampling in parallel.

    A worker whose process dies (killed, out of memory, its node lost) is replaced by a new
    actor with the same spec and the current weights, and its part of the call runs again, so
    the iteration still gets all its episodes. `on_event` gets one line per replacement.
    """

    def __init__(
        self,
        specs: Sequence[WorkerSpec],
        address: str | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        import ray

        if not ray.is_initialized():
            check_ray_address(address)
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=True,
                logging_level=logging.WARNING,
                configure_logging=False,
            )
        self.ray = ray
        self.specs = list(specs)
        self.on_event = on_event or log.warning
        self._remote = ray.remote(num_cpus=1, scheduling_strategy="SPREAD")(RolloutWorker)
        self.workers = [self._remote.remote(s) for s in self.specs]
        self.num_workers = len(self.workers)
        self.replacements = [0] * self.num_workers
        self._weights: tuple[Any, int] | None = None

    def nodes(self) -> list[str]:
        """Where each worker runs: ``node <id> (<ip>)``."""
        return self._pending(lambda r, w: w.node.remote(), range(self.num_workers)).get()

    def set_weights(self, weights: Mapping[str, Any], version: int) -> None:
        # calls on one actor run in order: the next sample/evaluate sees these weights
        ref = self.ray.put(dict(weights))
        self._weights = (ref, version)
        for w in self.workers:
            w.set_weights.remote(ref, version)

    def sample_async(self, requests: Sequence[SampleRequest]) -> Pending[list[RolloutResult]]:
        def submit(r: int, w: Any) -> Any:
            q = requests[r]
            return w.sample.remote(q.episodes, q.epsilon, q.max_steps, q.deterministic)

        return self._pending(submit, range(len(requests)))

    def evaluate_async(self, episodes: int) -> Pending[list[EpisodeSummary]]:
        if not episodes:
            return Pending([])
        call = self._pending(lambda r, w: w.evaluate.remote(episodes), [0])
        return Pending(call, lambda c: c.get()[0], lambda c: c.done())

    def sample(self, requests: Sequence[SampleRequest]) -> list[RolloutResult]:
        return self.sample_async(requests).get()

    def evaluate(self, episodes: int) -> list[EpisodeSummary]:
        return self.evaluate_async(episodes).get()

    def cpu_seconds(self) -> float | None:
        """Workers run in other processes: their CPU time comes with their results."""
        return None

    def _pending(self, submit: Callable[[int, Any], Any], ranks: Sequence[int]) -> Pending[Any]:
        """`submit(rank, actor)` started on each rank; `get()` replaces workers that die."""
        ranks = list(ranks)
        started = {submit(r, self.workers[r]): r for r in ranks}
        return Pending(
            started,
            lambda refs: self._collect(refs, submit, ranks),
            lambda refs: self._all_done(list(refs)),
        )

    def _all_done(self, refs: list[Any]) -> bool:
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        return len(ready) == len(refs)

    def _collect(
        self, started: dict[Any, int], submit: Callable[[int, Any], Any], ranks: list[int]
    ) -> list[Any]:
        """Results in rank order; a worker that died is replaced and its call run again."""
        from ray.exceptions import RayActorError, RayTaskError

        pending = dict(started)
        results: dict[int, Any] = {}
        deaths = dict.fromkeys(ranks, 0)
        while pending:
            ready, _ = self.ray.wait(list(pending), num_returns=1)
            rank = pending.pop(ready[0])
            try:
                results[rank] = self.ray.get(ready[0])
            except RayActorError as err:
                deaths[rank] += 1
                if deaths[rank] > MAX_REPLACEMENTS:
                    raise WorkerLostError(
                        f"rollout worker {rank} died {deaths[rank]} times in one iteration; the "
                        f"run stops (last: {str(err).splitlines()[0]}). Check the workers' memory "
                        "and the nodes' logs (/tmp/ray/session_latest/logs), then --resume"
                    ) from None
                self._replace(rank, err)
                pending[submit(rank, self.workers[rank])] = rank
            except RayTaskError as err:
                cause = getattr(err, "cause", None)
                if isinstance(cause, Exception):
                    raise cause from None
                raise
        return [results[r] for r in ranks]

    def _replace(self, rank: int, err: Exception) -> None:
        """A new actor for worker `rank`, with the current weights."""
        self.ray.kill(self.workers[rank], no_restart=True)
        self.replacements[rank] += 1
        spec = replace(
            self.specs[rank], seed=self.specs[rank].seed + 7919 * self.replacements[rank]
        )
        actor = self._remote.remote(spec)
        if self._weights is not None:
            actor.set_weights.remote(*self._weights)
        self.workers[rank] = actor
        self.on_event(
            f"Worker> rollout worker {rank} died ({str(err).splitlines()[0][:200]}); replaced "
            f"(replacement {self.replacements[rank]}), its part of this iteration runs again"
        )

    def stop(self) -> None:
        for w in self.workers:
            self.ray.kill(w)


def make_worker_pool(
    specs: Sequence[WorkerSpec],
    serial: bool,
    address: str | None = None,
    on_event: Callable[[str], None] | None = None,
    background: bool = False,
) -> SerialWorkerPool | RayWorkerPool:
    """Serial pool for `serial` (on a background thread with `background`), else Ray actors
    (on `address`, or a local Ray started here)."""
    if serial:
        return SerialWorkerPool(specs, background)
    return RayWorkerPool(specs, address, on_event)


__all__ = [
    "Pending",
    "RayWorkerPool",
    "SampleRequest",
    "SerialWorkerPool",
    "WorkerLostError",
    "WorkerPool",
    "check_ray_address",
    "episodes_per_worker",
    "make_worker_pool",
]
