"""Soak run: train for a long time while killing rollout workers and the trainer, then check.

    python scripts/soak.py --minutes 20 --kill-worker-every 180 --kill-trainer-at 10

Trains with two Ray workers (a local Ray started by the trainer), SIGKILLs one rollout-worker
process every `--kill-worker-every` seconds, SIGKILLs the trainer (with its Ray) once at
`--kill-trainer-at` minutes and continues it with `--resume` for the time left. At the end it
checks that every iteration is present exactly once in TrainingMetrics and the simtrace, with
each worker's episodes numbered 1..N without gaps, evaluates the best checkpoint and prints a
JSON summary. Only processes started here are signalled (found as descendants of the trainer).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def descendants(pid: int) -> list[int]:
    """PIDs of every process below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rollout_workers(trainer: int) -> list[int]:
    return [p for p in descendants(trainer) if cmdline(p).startswith("ray::RolloutWorker")]


def kill_tree(pid: int) -> None:
    for p in [pid, *descendants(pid)]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_trainer(args, minutes: float, resume: bool, log) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "slipstream.cli",
        "train",
        "--run",
        args.run,
        "--workers",
        "2",
        "--track",
        args.track,
        "--minutes",
        f"{minutes:.2f}",
        "--set",
        f"num_episodes_between_training={args.episodes}",
        *(["--resume"] if resume else []),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def check_run(run: Path) -> dict:
    """Every iteration once in metrics and simtrace; episodes 1..N per worker."""
    sys.path.insert(0, str(ROOT / "src"))
    from slipstream.runs import RunLayout, RunStorage, read_simtrace

    storage = RunStorage(str(run))
    layout = RunLayout(storage, 2)
    result: dict = {"workers": {}}
    for w in range(2):
        doc = json.loads(storage.read_text(layout.training_metrics(w)))
        training = [m for m in doc["metrics"] if m["phase"] == "training"]
        episodes = [m["episode"] for m in training]
        files = storage.ls(layout.training_simtrace_dir(w))
        iterations = sorted(int(f.split("-")[0]) for f in files)
        traced = []
        for i in iterations:
            trace = read_simtrace(storage, layout.training_simtrace(i, w))
            traced += sorted(set(trace["episode"].tolist()))
        result["workers"][w] = {
            "metrics_episodes": len(episodes),
            "episodes_numbered_1_to_n": episodes == list(range(1, len(episodes) + 1)),
            "iterations": len(iterations),
            "iterations_0_to_n": iterations == list(range(len(iterations))),
            "simtrace_episodes_0_to_n": traced == list(range(len(traced))),
            "simtrace_matches_metrics": len(traced) == len(episodes),
        }
    evaluations = [
        m
        for m in json.loads(storage.read_text(layout.training_metrics(0)))["metrics"]
        if m["phase"] == "evaluation"
    ]
    result["evaluation_entries"] = len(evaluations)
    log = storage.read_text(layout.robomaker_log)
    result["worker_replacements_logged"] = log.count("replaced (replacement")
    result["checkpoints_present"] = [n for n in storage.ls("model") if n.endswith(".pt")]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--kill-worker-every", type=float, default=180.0, metavar="SECONDS")
    parser.add_argument("--kill-trainer-at", type=float, default=None, metavar="MINUTES")
    parser.add_argument("--run", default=f"/tmp/slipstream-soak-{int(time.time())}")
    parser.add_argument("--track", default="slipstream_oval")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    kill_trainer_at = args.kill_trainer_at if args.kill_trainer_at is not None else args.minutes / 2
    rng = random.Random(args.seed)
    Path(args.run).mkdir(parents=True, exist_ok=True)
    log = open(Path(args.run).with_suffix(".log"), "w")
    start = time.monotonic()
    events: list[str] = []

    def note(text: str) -> None:
        line = f"[{(time.monotonic() - start) / 60:5.1f} min] {text}"
        events.append(line)
        print(line, flush=True)

    trainer = start_trainer(args, args.minutes, resume=False, log=log)
    note(f"trainer started (pid {trainer.pid}), run folder {args.run}")
    trainer_killed = False
    next_worker_kill = args.kill_worker_every
    worker_kills = 0
    while True:
        elapsed = time.monotonic() - start
        if trainer.poll() is not None:
            if elapsed >= args.minutes * 60 - 5:
                break
            note(f"trainer exited early with {trainer.returncode}; see {log.name}")
            return 1
        if not trainer_killed and elapsed >= kill_trainer_at * 60:
            kill_tree(trainer.pid)
            trainer.wait()
            trainer_killed = True
            note("trainer SIGKILLed (with its Ray); resuming")
            left = args.minutes - (time.monotonic() - start) / 60
            trainer = start_trainer(args, left, resume=True, log=log)
        elif elapsed >= next_worker_kill:
            workers = rollout_workers(trainer.pid)
            if workers:
                victim = rng.choice(workers)
                os.kill(victim, signal.SIGKILL)
                worker_kills += 1
                note(f"rollout worker process {victim} SIGKILLed")
                next_worker_kill += args.kill_worker_every
            else:
                next_worker_kill += 10  # workers not up yet (trainer starting)
        time.sleep(1)
    note(f"trainer finished with {trainer.returncode}")
    summary = check_run(Path(args.run))
    summary.update(
        minutes=args.minutes,
        worker_kills=worker_kills,
        trainer_killed=trainer_killed,
        events=events,
    )
    evaluation = subprocess.run(
        [sys.executable, "-m", "slipstream.cli", "evaluate", args.run, "--trials", "3"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
    )
    summary["evaluation"] = evaluation.stdout.strip().splitlines()[-1:] or evaluation.stderr[-500:]
    print(json.dumps(summary, indent=2))
    ok = all(
        v["episodes_numbered_1_to_n"]
        and v["iterations_0_to_n"]
        and v["simtrace_episodes_0_to_n"]
        and v["simtrace_matches_metrics"]
        for v in summary["workers"].values()
    )
    return 0 if ok and trainer.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
