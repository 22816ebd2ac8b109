"""Faults during training: a crash at any write, a damaged checkpoint, a failing reward function.

Every case ends with the same check (`check_exactly_once`): each iteration has one simtrace file,
each worker's metrics hold episodes 1..N once each, and the simtrace holds each episode once.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import signal
import socket
import time
from pathlib import Path

import pytest
import torch

from conftest import free_port
from slipstream.config import as_reward_function
from slipstream.config.errors import RewardFunctionError
from slipstream.config.reward_function import RewardFunction
from slipstream.rollout.pool import check_ray_address
from slipstream.rollout.trainer import TrainConfig, Trainer, TrainingError
from slipstream.runs import RunLayout, RunStorage, read_simtrace, save_checkpoint
from slipstream.runs.recovery import (
    RunPosition,
    newest_loadable_checkpoint,
    roll_back,
    with_position,
)
from small_training import small_config

EPISODES = 2


def config(run, **kw) -> TrainConfig:
    return small_config(run, EPISODES, **kw)


def check_exactly_once(run: Path, iterations: int, workers: int = 1) -> None:
    """Every iteration, metrics entry and simtrace episode present exactly once."""
    storage = RunStorage(str(run))
    layout = RunLayout(storage, workers)
    per_worker = [
        EPISODES // workers + (1 if w < EPISODES % workers else 0) for w in range(workers)
    ]
    for w in range(workers):
        folder = layout.training_simtrace_dir(w)
        assert storage.ls(folder) == sorted(f"{i}-iteration.csv" for i in range(iterations))
        doc = json.loads(storage.read_text(layout.training_metrics(w)))
        training = [m for m in doc["metrics"] if m["phase"] == "training"]
        assert [m["episode"] for m in training] == list(range(1, per_worker[w] * iterations + 1))
        episodes = []
        for i in range(iterations):
            trace = read_simtrace(storage, layout.training_simtrace(i, w))
            ends = trace["episode"][trace["done"]]
            assert len(ends) == len(set(ends.tolist())) == per_worker[w]
            episodes += sorted(set(trace["episode"].tolist()))
        assert episodes == list(range(per_worker[w] * iterations))
    evaluation = [
        m
        for m in json.loads(storage.read_text(layout.training_metrics(0)))["metrics"]
        if m["phase"] == "evaluation"
    ]
    assert len(evaluation) == iterations  # one evaluation episode per iteration
    names = [n for n in storage.ls("model") if n.endswith(".pt")]
    assert max(int(n.split("_")[0]) for n in names) == iterations


# ----------------------------------------------------------------------------- recovery units


def test_roll_back_undoes_an_unfinished_iteration(tmp_path) -> None:
    storage = RunStorage(str(tmp_path / "run"))
    layout = RunLayout(storage, 2)
    metrics = {"metrics": [{"episode": i} for i in range(1, 6)], "version": 2.0}
    storage.write_text(layout.training_metrics(0), json.dumps(metrics))
    storage.write_text(layout.training_metrics(1), json.dumps({"metrics": [{"episode": 1}]}))
    for i in range(4):
        for w in range(2):
            storage.write_text(layout.training_simtrace(i, w), "episode\n")
    storage.write_text(layout.checkpoint_index, '{"new": 1}')
    save_checkpoint(
        storage, with_position({"w": torch.zeros(1)}, RunPosition(2, (3, 1), "{}")), 1, 9
    )
    storage.write_bytes(layout.checkpoint("2_Step-20.pt"), b"half a checkpoint")  # no digest
    recovered = newest_loadable_checkpoint(storage)
    assert recovered.name == "1_Step-9.pt" and recovered.number == 1 and recovered.total_steps == 9
    assert recovered.position == RunPosition(2, (3, 1), "{}")
    assert "run_position" not in recovered.state
    assert [name for name, _ in recovered.skipped] == ["2_Step-20.pt"]
    undone = roll_back(layout, recovered)
    assert len(undone) == 1 + 1 + 4 + 1  # checkpoint, metrics of worker 0, 4 simtraces, index
    kept = json.loads(storage.read_text(layout.training_metrics(0)))
    assert kept == {"metrics": [{"episode": 1}, {"episode": 2}, {"episode": 3}], "version": 2.0}
    for w in range(2):
        assert storage.ls(layout.training_simtrace_dir(w)) == ["0-iteration.csv", "1-iteration.csv"]
    assert storage.read_text(layout.checkpoint_index) == "{}"
    assert storage.ls("model") == [
        ".coach_checkpoint",
        "1_Step-9.pt",
        "1_Step-9.pt.sha256",
        "deepracer_checkpoints.json",
    ]
    assert roll_back(layout, newest_loadable_checkpoint(storage)) == []  # nothing more to undo


def test_no_usable_checkpoint_is_an_error(tmp_path) -> None:
    storage = RunStorage(str(tmp_path / "run"))
    save_checkpoint(storage, {"w": torch.zeros(1)}, 0, 0)
    storage.write_bytes("model/0_Step-0.pt", b"garbage")
    with pytest.raises(Exception, match=r"no usable checkpoint.*0_Step-0\.pt"):
        newest_loadable_checkpoint(storage)


# ----------------------------------------------------------------------------- training runs


@pytest.fixture(scope="module")
def one_iteration(module_tmp_path) -> Path:
    """A run folder after one complete iteration (copied by the tests that change it)."""
    run = module_tmp_path / "run"
    Trainer(config(run), echo=None).run()
    return run


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs (not even `except Exception`)."""


def crash_at_write(monkeypatch, k: int) -> list[str]:
    """Make the k-th run-folder write (0-based) from now on crash the trainer."""
    writes: list[str] = []
    original = RunStorage.write_bytes

    def write_bytes(self, key, data):
        if len(writes) == k:
            writes.append(key)
            raise Crash(key)
        writes.append(key)
        original(self, key, data)

    monkeypatch.setattr(RunStorage, "write_bytes", write_bytes)
    return writes


def test_trainer_crashes_resume_exactly_and_a_corrupt_checkpoint_falls_back(
    one_iteration, tmp_path, monkeypatch, caplog
):
    """Kill the trainer at writes of iteration 1; --resume rolls back to the last commit.

    Then damage the newest checkpoint of a complete run: it is reported and the one before used.
    """
    # a complete iteration 1, recording the order of its writes
    probe = tmp_path / "probe"
    shutil.copytree(one_iteration, probe)
    writes = crash_at_write(monkeypatch, 10_000)  # counts, never fires
    Trainer(config(probe, resume=True), echo=None).run()
    monkeypatch.undo()
    order = list(writes)
    commit = next(i for i, key in enumerate(order) if key.endswith(".sha256"))
    checkpoint = order[commit - 1]
    assert checkpoint.startswith("model/2_Step-") and checkpoint.endswith(".pt")
    assert {"metrics/TrainingMetrics.json", "training-simtrace/1-iteration.csv"} <= set(
        order[:commit]
    )
    first = order.index("model/deepracer_checkpoints.json")  # the iteration's first write
    # crash before anything, with the checkpoint's bytes but no digest, at the digest, after it
    for k in (first, commit - 1, commit, len(order) - 1):
        run = tmp_path / f"crash{k}"
        shutil.copytree(one_iteration, run)
        crash_at_write(monkeypatch, k)
        with pytest.raises(Crash):
            Trainer(config(run, resume=True), echo=None).run()
        monkeypatch.undo()
        resumed = Trainer(config(run, resume=True), echo=None)  # rolls the folder back
        resumed.workers.stop()
        assert resumed.iteration == (2 if k > commit else 1), (k, order[k])
        check_exactly_once(run, resumed.iteration)

    newest = probe / checkpoint
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    newest.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        trainer = Trainer(config(probe, resume=True), echo=None)
    assert f"checkpoint {newest.name}" in caplog.text and "sha256" in caplog.text
    assert trainer.checkpoint_number == 1 and trainer.iteration == 1
    trainer.run()  # iteration 1 again, from checkpoint 1
    check_exactly_once(probe, 2)
    log = (probe / "logs" / "training" / "slipstream-sagemaker.log").read_text()
    assert f"{newest.name} is unusable" in log


def test_ctrl_c_once_finishes_the_iteration_twice_stops_at_once(one_iteration, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(one_iteration, run)
    # what SIGINT did before (Python's default, or ignored when pytest runs in the background)
    before = signal.getsignal(signal.SIGINT)
    trainer = Trainer(config(run, resume=True, iterations=5), echo=None)
    # one Ctrl-C during iteration 1: it is finished and saved, then the run stops
    reports = trainer.run(on_iteration=lambda r: os.kill(os.getpid(), signal.SIGINT))
    assert [r.iteration for r in reports] == [1] and trainer.stopped_by_user
    check_exactly_once(run, 2)
    # two at once in the middle of iteration 2 (from inside the reward function): stop now
    interrupt = tmp_path / "reward_function.py"
    interrupt.write_text(
        "import os, signal\n"
        "def reward_function(params):\n"
        "    if params['steps'] == 3:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return 1.0\n"
    )
    reward = as_reward_function(interrupt)
    trainer = Trainer(config(run, resume=True, iterations=5, reward_function=reward), None)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert signal.getsignal(signal.SIGINT) is before  # the handler is restored
    check_exactly_once(run, 2)  # nothing of iteration 2 was written


# ----------------------------------------------------------------------------- reward function

BAD_REWARD = """
import os

def reward_function(params):
    if os.path.exists({trigger!r}) and params["steps"] >= 3:
        {action}
    return 1.0
"""


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("return 1 / 0", "ZeroDivisionError"),
        ("return float('nan')", "non-finite"),
        ("return float('inf')", "non-finite"),
        ("return 'fast'", "text that is not a number"),
        ("return None", "returned a NoneType"),
    ],
)
def test_reward_failure_mid_run_names_the_place_and_stays_resumable(
    one_iteration, tmp_path, action, expected
):
    run = tmp_path / "run"
    shutil.copytree(one_iteration, run)
    trigger = tmp_path / "fail-now"
    trigger.write_text("")
    source = tmp_path / "reward_function.py"
    source.write_text(BAD_REWARD.format(trigger=str(trigger), action=action))
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    trainer = Trainer(config(run, resume=True, reward_function=as_reward_function(source)), None)
    with pytest.raises(RewardFunctionError) as info:
        trainer.run()
    message = str(info.value)
    assert expected in message
    # episodes are numbered like the metrics: worker 0 finished 2 before, so this is episode 3
    assert "in worker 0, episode 3 (iteration 1, trial 1), step 3:" in message
    assert "'steps': 3" in message or "steps=3" in message
    assert "--resume" in message
    assert (info.value.worker, info.value.trial, info.value.step) == (0, 1, 3)
    # nothing of iteration 1 was written (logs only gained the resume lines, TensorBoard a file)
    after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    changed = {str(k) for k in after if before.get(k) != after[k]}
    assert {k for k in changed if not k.startswith("logs/")} <= {"reward_function.py"}
    if expected == "ZeroDivisionError":  # fixed: resume goes on from iteration 1
        trigger.unlink()
        Trainer(config(run, resume=True, reward_function=as_reward_function(source)), None).run()
        check_exactly_once(run, 2)


def test_slow_reward_function_is_reported_with_its_time(caplog) -> None:
    def slow(params):
        end = time.perf_counter() + 0.0015
        while time.perf_counter() < end:
            pass
        return 1.0

    reward = RewardFunction(slow)
    with caplog.at_level(logging.WARNING):
        for _ in range(250):
            reward({"steps": 1})
    warnings = [r.getMessage() for r in caplog.records if "ms per call" in r.getMessage()]
    assert len(warnings) == 1  # once, not per call
    measured = float(warnings[0].split("takes ")[1].split(" ms")[0])
    assert 1.5 <= measured < 50
    assert math.isclose(reward.seconds_per_call * 1000, measured, rel_tol=0.5)
    caplog.clear()
    fast = RewardFunction(lambda params: 1.0)
    with caplog.at_level(logging.WARNING):
        for _ in range(250):
            fast({"steps": 1})
    assert "ms per call" not in caplog.text


# ----------------------------------------------------------------------------- Ray address


def test_ray_address_that_does_not_answer_fails_fast(tmp_path) -> None:
    ray = pytest.importorskip("ray")
    ray.shutdown()  # a Ray left running by another test would be used instead
    port = free_port()  # nothing listens there
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=f"nothing answers at Ray address 127.0.0.1:{port}"):
        check_ray_address(f"127.0.0.1:{port}")
    # a server that accepts the connection and then says nothing: Ray itself would retry for
    # minutes; the check gives up after its timeout
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        with pytest.raises(ConnectionError, match="did not answer like a Ray head"):
            check_ray_address(f"127.0.0.1:{silent.getsockname()[1]}", timeout_s=1.0)
    with pytest.raises(ConnectionError, match="host:port"):
        check_ray_address("no-port-here")
    with pytest.raises(TrainingError, match="--address"):
        Trainer(config(tmp_path / "run", serial=False, address=f"127.0.0.1:{port}"), None)
    assert time.monotonic() - start < 30


def test_reward_source_text_is_user_code_not_pickle() -> None:
    """Nothing reads run-folder files with pickle; torch.load always has weights_only=True."""
    src = Path(__file__).resolve().parents[1] / "src"
    for path in src.rglob("*.py"):
        text = path.read_text()
        assert "pickle.load" not in text and "pickle.loads" not in text, path
        assert "yaml.load(" not in text and "yaml.unsafe_load" not in text, path
        for line in text.splitlines():
            if "torch.load(" in line and "`" not in line:
                assert "weights_only=True" in line, (path, line)
            if "np.load(" in line:
                assert "allow_pickle=False" in line, (path, line)
