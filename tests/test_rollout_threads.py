"""Threads per role: the learner gets every core not running workers at the same time."""

from __future__ import annotations

from slipstream.rollout.threads import plan_threads


def test_synchronous_in_process_learner_gets_every_core():
    plan = plan_threads(1, pipeline=False, cores=2)
    assert (plan.worker_threads, plan.learner_threads) == (1, 2)


def test_synchronous_ray_workers_one_core_each_learner_all_cores():
    plan = plan_threads(3, pipeline=False, cores=16)
    assert (plan.worker_threads, plan.learner_threads) == (1, 16)


def test_pipelined_learner_gets_the_cores_workers_leave():
    assert plan_threads(1, pipeline=True, cores=2).learner_threads == 1
    assert plan_threads(3, pipeline=True, cores=16).learner_threads == 13
    # more workers than cores: the learner still has one thread
    assert plan_threads(4, pipeline=True, cores=2).learner_threads == 1
    # workers on other machines of a Ray cluster take none of this machine's cores
    remote = plan_threads(8, pipeline=True, cores=16, remote_workers=True)
    assert remote.learner_threads == 16
    assert "pipelined" in remote.describe()
