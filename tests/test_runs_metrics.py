"""Training / evaluation metrics JSON: DeepRacer's keys, rounding, labels, resume."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from slipstream.runs import (
    STATUS_LABELS,
    EvaluationMetricsWriter,
    MetricsError,
    RunLayout,
    RunStorage,
    TrainingMetricsWriter,
    read_metrics,
    status_label,
)
from slipstream.runs.metrics import EVALUATION_KEYS, TRAINING_KEYS


@pytest.fixture(params=["local", "memory"])
def storage(request, tmp_path: Path):
    if request.param == "local":
        yield RunStorage(str(tmp_path / "run"))
        return
    store = RunStorage(f"memory://metrics-{uuid.uuid4().hex}/run")
    yield store
    if store.fs.exists(store.path()):
        store.fs.rm(store.path(), recursive=True)


def test_status_labels() -> None:
    assert STATUS_LABELS["lap_complete"] == "Lap complete"
    assert STATUS_LABELS["off_track"] == "Off track"
    assert STATUS_LABELS["time_up"] == "Time Up"
    assert set(STATUS_LABELS.values()) == {
        "Lap complete", "Crashed", "Off track", "Immobilized", "In progress",
        "Pause", "Reversed", "Park", "Time Up", "Prepare",
    }  # fmt: skip
    assert status_label("Crashed") == "Crashed"
    with pytest.raises(MetricsError, match="unknown episode status"):
        status_label("exploded")


def test_training_entry_matches_deepracer_example(storage: RunStorage) -> None:
    key = RunLayout(storage).training_metrics()
    writer = TrainingMetricsWriter(storage, key, best_model_metric="progress")
    # docs/deepracer.md 7.2's example entry, from sim-clock seconds and an unrounded reward
    entry = writer.add_episode(
        episode=1,
        trial=1,
        total_reward=30.6,
        progress=29.97,
        status="off_track",
        start_time_s=27.746,
        end_time_s=31.538,
    )
    assert entry == {
        "reward_score": 31,
        "metric_time": 31538,
        "start_time": 27746,
        "elapsed_time_in_milliseconds": 3792,
        "episode": 1,
        "trial": 1,
        "phase": "training",
        "completion_percentage": 29,
        "episode_status": "Off track",
    }
    doc = json.loads(storage.read_text(key))
    assert doc == {"metrics": [entry], "version": 2.0, "best_model_metric": "progress"}
    assert tuple(doc["metrics"][0]) == TRAINING_KEYS


def test_batched_episodes_flush_and_resume(storage: RunStorage) -> None:
    key = RunLayout(storage, 2).training_metrics(1)
    assert key == "metrics/TrainingMetrics_1.json"
    writer = TrainingMetricsWriter(storage, key, "laptime", auto_flush=False)
    writer.add_episodes(
        episode=[1, 2, 3],
        trial=[1, 2, 3],
        total_reward=[2.5, 3.5, -0.4],  # Python rounds halves to even, as DeepRacer's round()
        progress=[100.0, 55.5, 0.9],
        status=["lap_complete", "crashed", "reversed"],
        start_time_s=[0.0, 20.0, 30.0],
        end_time_s=[15.0, 25.5, 30.25],
    )
    assert not storage.exists(key)  # nothing written before flush
    writer.flush()
    entries = read_metrics(storage, key)
    assert [e["reward_score"] for e in entries] == [2, 4, 0]
    assert [e["completion_percentage"] for e in entries] == [100, 55, 0]
    assert [e["elapsed_time_in_milliseconds"] for e in entries] == [15000, 5500, 250]
    assert [e["episode_status"] for e in entries] == ["Lap complete", "Crashed", "Reversed"]
    assert json.loads(storage.read_text(key))["best_model_metric"] == "laptime"

    resumed = TrainingMetricsWriter(storage, key, "laptime")
    assert len(resumed) == 3 and resumed.last_episode == 3
    resumed.add_episode(
        episode=3, trial=3, total_reward=1.0, progress=100, status="lap_complete",
        start_time_s=31.0, end_time_s=40.0, phase="evaluation",
    )  # fmt: skip
    entries = read_metrics(storage, key)
    assert len(entries) == 4 and entries[-1]["phase"] == "evaluation"


def test_training_metrics_errors(storage: RunStorage) -> None:
    with pytest.raises(MetricsError, match="best_model_metric"):
        TrainingMetricsWriter(storage, "metrics/T.json", "speed")
    writer = TrainingMetricsWriter(storage, "metrics/T.json")
    common = dict(episode=1, trial=1, total_reward=0, progress=1, start_time_s=0, end_time_s=1)
    with pytest.raises(MetricsError, match="phase"):
        writer.add_episode(status="off_track", phase="racing", **common)
    with pytest.raises(MetricsError, match="must have 2 entries"):
        writer.add_episodes(
            episode=[1, 2], trial=[1], total_reward=0, progress=1, status="off_track",
            start_time_s=0, end_time_s=1,
        )  # fmt: skip
    storage.write_text("metrics/bad.json", "{not json")
    with pytest.raises(MetricsError, match="not valid JSON"):
        TrainingMetricsWriter(storage, "metrics/bad.json")


def test_evaluation_metrics(storage: RunStorage) -> None:
    key = RunLayout(storage).evaluation_metrics("20240102030405")
    writer = EvaluationMetricsWriter(storage, key)
    writer.add_trial(
        trial=1, progress=100, status="lap_complete", start_time_s=6.932, end_time_s=21.724
    )
    writer.add_trial(
        trial=2, progress=47.3, status="off_track", start_time_s=22.0, end_time_s=30.0,
        off_track_count=1, reset_count=1,
    )  # fmt: skip
    doc = json.loads(storage.read_text(key))
    assert set(doc) == {"metrics"}
    first = doc["metrics"][0]
    assert tuple(first) == EVALUATION_KEYS
    assert first == {
        "completion_percentage": 100,
        "metric_time": 21724,
        "start_time": 6932,
        "elapsed_time_in_milliseconds": 14792,
        "episode_status": "Lap complete",
        "crash_count": 0,
        "immobilized_count": 0,
        "off_track_count": 0,
        "reversed_count": 0,
        "reset_count": 0,
        "trial": 1,
    }
    assert doc["metrics"][1]["off_track_count"] == 1
    assert doc["metrics"][1]["completion_percentage"] == 47
    assert len(EvaluationMetricsWriter(storage, key)) == 2
