"""The trainer as a process: Ctrl-C, then SIGKILL, then --resume (twice Ctrl-C: test_faults).

Each stop leaves a folder that resumes with every iteration, metrics entry and simtrace episode
present exactly once (`check_exactly_once`, from test_faults).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from slipstream.rollout.trainer import Trainer
from small_training import train_command
from test_faults import check_exactly_once, config

SRC = Path(__file__).resolve().parents[1] / "src"


def train(run: Path, *extra: str) -> subprocess.Popen:
    command = train_command("--run", str(run), *extra, iterations=40)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def checkpoints(run: Path) -> set[int]:
    return {int(p.name.split("_")[0]) for p in (run / "model").glob("*.pt.sha256")}


def wait_for_checkpoint(run: Path, proc: subprocess.Popen, above: int) -> int:
    end = time.monotonic() + 240
    while time.monotonic() < end:
        if (run / "model").is_dir() and max(checkpoints(run), default=-1) > above:
            return max(checkpoints(run))
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError("no new checkpoint within 240 s")


def test_ctrl_c_then_sigkill_then_resume(tmp_path):
    run = tmp_path / "run"
    # Ctrl-C once: the iteration in progress is finished and saved, then the process stops
    proc = train(run)
    seen = wait_for_checkpoint(run, proc, 0)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert b"stopping after this iteration is saved" in err
    last = max(checkpoints(run))
    assert last in (seen, seen + 1)  # at most the iteration that was running
    assert f"stopped after iteration {last - 1} was saved".encode() in err
    check_exactly_once(run, last)

    # SIGKILL at whatever point it is, some time after a checkpoint
    proc = train(run, "--resume")
    seen = wait_for_checkpoint(run, proc, max(checkpoints(run)))
    time.sleep(1.5)
    proc.kill()
    proc.wait(timeout=30)

    resumed = Trainer(config(run, resume=True), echo=None)  # rolls back what was unfinished
    resumed.workers.stop()
    assert resumed.iteration >= seen
    check_exactly_once(run, resumed.iteration)
