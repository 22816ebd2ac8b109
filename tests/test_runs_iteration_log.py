"""The per-iteration record: logs/iterations.jsonl and TensorBoard scalars."""

from __future__ import annotations

import json
import math
import struct

import pytest

from slipstream.runs import RunLayout, RunStorage
from slipstream.runs.iteration_log import IterationLog, tensorboard_scalars

RECORDS = [
    {
        "iteration": 0,
        "mean_reward": 12.0,
        "mean_progress": 25.5,
        "completion_rate": 0.0,
        "eval_best_lap_time_s": None,
        "surrogate_loss": -0.25,
        "rollout_steps_per_second": 300.0,
        "workers": {"0": {"mean_reward": 10.0, "mean_progress": 20.0, "completion_rate": 0.0}},
        "checkpoint": "1_Step-100.pt",
    },
    {
        "iteration": 1,
        "mean_reward": 30.0,
        "mean_progress": 100.0,
        "completion_rate": 50.0,
        "eval_best_lap_time_s": 14.25,
        "surrogate_loss": math.nan,
        "rollout_steps_per_second": 320.0,
        "workers": {"0": {"mean_reward": 31.0, "mean_progress": 100.0, "completion_rate": 50.0}},
        "checkpoint": "2_Step-200.pt",
    },
]


def read_events(path) -> list:
    """TFRecord framing read by hand: uint64 length, uint32 crc, data, uint32 crc."""
    from tensorboard.compat.proto.event_pb2 import Event

    data = path.read_bytes()
    events, i = [], 0
    while i < len(data):
        (length,) = struct.unpack("<Q", data[i : i + 8])
        events.append(Event.FromString(data[i + 12 : i + 12 + length]))
        i += 12 + length + 4
    return events


def test_jsonl_lines_and_tensorboard_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    layout = RunLayout(RunStorage(str(tmp_path / "run")))
    log = IterationLog(layout)
    assert log.writes_tensorboard
    for r in RECORDS:
        log.append(r)
    log.close()
    lines = (tmp_path / "run" / "logs" / "iterations.jsonl").read_text().splitlines()
    back = [json.loads(line) for line in lines]
    assert back[0] == {**RECORDS[0]}
    assert back[1]["surrogate_loss"] is None  # NaN is not JSON
    assert back[1]["eval_best_lap_time_s"] == 14.25

    (events_file,) = (tmp_path / "run" / "logs" / "tensorboard").iterdir()
    events = read_events(events_file)
    assert events[0].file_version == "brain.Event:2"
    scalars = {}
    for e in events[1:]:
        for v in e.summary.value:
            scalars[(v.tag, e.step)] = v.simple_value
    assert scalars == {
        ("training/mean_reward", 0): 12.0,
        ("training/mean_progress", 0): 25.5,
        ("training/completion_rate", 0): 0.0,
        ("learner/surrogate_loss", 0): -0.25,
        ("speed/rollout_steps_per_second", 0): 300.0,
        ("training/worker_0/mean_reward", 0): 10.0,
        ("training/worker_0/mean_progress", 0): 20.0,
        ("training/worker_0/completion_rate", 0): 0.0,
        ("training/mean_reward", 1): 30.0,
        ("training/mean_progress", 1): 100.0,
        ("training/completion_rate", 1): 50.0,
        ("evaluation/best_lap_time_s", 1): 14.25,
        ("speed/rollout_steps_per_second", 1): 320.0,
        ("training/worker_0/mean_reward", 1): 31.0,
        ("training/worker_0/mean_progress", 1): 100.0,
        ("training/worker_0/completion_rate", 1): 50.0,
    }


def test_scalars_skip_missing_and_non_finite_values():
    assert tensorboard_scalars({"iteration": 3, "entropy": "x", "kl_divergence": math.inf}) == {}
    assert tensorboard_scalars({"entropy": 1.5}) == {"learner/entropy": 1.5}


def test_remote_run_folder_gets_the_jsonl_only():
    storage = RunStorage("memory://iteration-log-test")
    log = IterationLog(RunLayout(storage))
    assert not log.writes_tensorboard
    log.append({"iteration": 0, "mean_progress": 1.0})
    assert json.loads(storage.read_text("logs/iterations.jsonl")) == {
        "iteration": 0,
        "mean_progress": 1.0,
    }
