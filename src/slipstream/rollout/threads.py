"""Threads per role: how many CPU threads each rollout worker and the learner get.

The simulator kernels are single-threaded; a worker's other work is policy inference on its
batch of cars (torch). The learner's forward and backward passes are where more threads pay.

- Synchronous loop (DeepRacer's): workers sample while the learner waits, then the learner
  trains while the workers wait, so the learner uses every core. Every worker runs inference on
  one thread, in this process or as a Ray actor (its one-CPU Ray resource), so a seed gives the
  same run either way (more threads would change the order of float sums, and so the actions).
- Pipelined loop: workers sample while the learner trains, so the learner gets the cores the
  workers do not occupy (at least one) while a sample is in flight, and every core once it is
  in (`learner_threads_alone`; the trainer switches between the two between minibatches).

`cores` is what this process may run on (`os.sched_getaffinity`, which respects taskset and
container CPU sets), or Ray's CPU resource when Ray runs the workers on this machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ThreadPlan:
    """Torch intra-op threads per role."""

    cores: int
    workers: int
    worker_threads: int
    learner_threads: int
    pipeline: bool
    learner_threads_alone: int = 0
    """Learner threads while no worker on this machine is sampling (0: `learner_threads`)."""

    def learner_threads_while(self, sampling: bool) -> int:
        """Learner threads while workers are (or are not) sampling."""
        if sampling or not self.learner_threads_alone:
            return self.learner_threads
        return self.learner_threads_alone

    def describe(self) -> str:
        mode = "pipelined" if self.pipeline else "synchronous"
        return (
            f"{self.cores} cores, {mode}: {self.workers} worker(s) x {self.worker_threads} "
            f"thread(s), learner {self.learner_threads} thread(s)"
        )


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def plan_threads(
    workers: int,
    *,
    pipeline: bool,
    cores: int | None = None,
    remote_workers: bool = False,
) -> ThreadPlan:
    """Threads for `workers` rollout workers and the learner on `cores` cores.

    `remote_workers`: workers run on other machines of a Ray cluster (they then take none of
    this machine's cores)."""
    cores = max(1, cores if cores is not None else available_cores())
    workers = max(1, workers)
    worker_threads = 1
    busy = 0 if remote_workers or not pipeline else workers * worker_threads
    return ThreadPlan(cores, workers, worker_threads, max(1, cores - busy), pipeline, cores)


def use_threads(threads: int) -> None:
    """Set this process's torch intra-op threads."""
    torch.set_num_threads(max(1, threads))


__all__ = ["ThreadPlan", "available_cores", "plan_threads", "use_threads"]
