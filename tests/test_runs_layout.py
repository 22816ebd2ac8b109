"""RunLayout names every DRfC path; resume numbering; run inputs."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from slipstream.runs import RunLayout, RunLayoutError, RunStorage, write_run_inputs
from slipstream.runs.layout import training_params_yaml


@pytest.fixture(params=["local", "memory"])
def storage(request, tmp_path: Path):
    if request.param == "local":
        yield RunStorage(str(tmp_path / "run"))
        return
    store = RunStorage(f"memory://layout-{uuid.uuid4().hex}/run")
    yield store
    if store.fs.exists(store.path()):
        store.fs.rm(store.path(), recursive=True)


def test_paths_one_worker(storage: RunStorage) -> None:
    layout = RunLayout(storage)
    assert layout.model_metadata == "model/model_metadata.json"
    name = layout.checkpoint_name(12, 4356)
    assert name == "12_Step-4356.pt"
    assert layout.checkpoint(name) == "model/12_Step-4356.pt"
    assert layout.checkpoint_digest(name) == "model/12_Step-4356.pt.sha256"
    assert layout.checkpoint_index == "model/deepracer_checkpoints.json"
    assert layout.coach_checkpoint == "model/.coach_checkpoint"
    assert layout.reward_function == "reward_function.py"
    assert layout.training_params() == "training_params.yaml"
    assert layout.hyperparameters == "ip/hyperparameters.json"
    assert layout.training_simtrace(3) == "training-simtrace/3-iteration.csv"
    assert layout.training_metrics() == "metrics/TrainingMetrics.json"
    assert layout.evaluation_simtrace("20240102030405") == (
        "evaluation-20240102030405/evaluation-simtrace/0-iteration.csv"
    )
    assert layout.evaluation_metrics("20240102030405") == (
        "metrics/EvaluationMetrics-20240102030405.json"
    )
    assert layout.logs_dir == "logs" and layout.videos_dir == "videos"
    assert layout.evaluation_log("20240102030405") == (
        "logs/evaluation/evaluation-20240102030405-slipstream-robomaker.log"
    )
    with pytest.raises(RunLayoutError, match="worker 1 is outside"):
        layout.training_simtrace(0, worker=1)
    with pytest.raises(RunLayoutError, match="14 digits"):
        layout.evaluation_dir("2024-01-02")


def test_paths_three_workers(storage: RunStorage) -> None:
    layout = RunLayout(storage, num_workers=3)
    assert layout.training_simtrace(0, worker=0) == "0/training-simtrace/0-iteration.csv"
    assert layout.training_simtrace(5, worker=2) == "2/training-simtrace/5-iteration.csv"
    assert layout.training_metrics(0) == "metrics/TrainingMetrics.json"
    assert layout.training_metrics(2) == "metrics/TrainingMetrics_2.json"
    # DRfC multi-config numbers the per-worker YAML files from 1
    assert layout.training_params(0) == "training_params_1.yaml"
    assert layout.training_params(2) == "training_params_3.yaml"


@pytest.mark.parametrize("num_workers", [1, 3])
def test_next_iteration_index_continues_after_existing_files(
    storage: RunStorage, num_workers: int
) -> None:
    layout = RunLayout(storage, num_workers)
    assert layout.next_iteration_index() == 0
    for iteration in range(3):
        for worker in range(num_workers):
            storage.write_text(layout.training_simtrace(iteration, worker), "episode\n")
    storage.write_text(layout.training_simtrace(0).replace("0-iteration", "notes"), "x")
    assert layout.next_iteration_index() == 3
    # a worker that wrote one iteration more decides: no duplicate numbers on resume
    storage.write_text(layout.training_simtrace(3, num_workers - 1), "episode\n")
    assert layout.next_iteration_index() == 4


def test_next_iteration_index_refuses_a_changed_worker_count(storage: RunStorage) -> None:
    RunLayout(storage, 1)
    storage.write_text(RunLayout(storage, 1).training_simtrace(0), "episode\n")
    with pytest.raises(RunLayoutError, match="same number of workers"):
        RunLayout(storage, 2).next_iteration_index()


def test_new_evaluation_timestamp_skips_existing(storage: RunStorage) -> None:
    layout = RunLayout(storage)
    when = datetime(2024, 12, 31, 23, 59, 59)
    first = layout.new_evaluation_timestamp(when)
    assert first == "20241231235959"
    storage.write_text(layout.evaluation_simtrace(first), "episode\n")
    second = layout.new_evaluation_timestamp(when)
    assert second == "20250101000000"
    storage.write_text(layout.evaluation_metrics(second), "{}")
    assert layout.new_evaluation_timestamp(when) == "20250101000001"
    assert layout.evaluation_timestamps() == ["20241231235959"]


def test_write_run_inputs(storage: RunStorage) -> None:
    layout = RunLayout(storage, num_workers=2)
    metadata = {"action_space": [{"steering_angle": 0, "speed": 1.0}], "version": "5"}
    hyper = json.dumps({"batch_size": 64, "lr": 0.0003}, indent=2, sort_keys=True)
    params = [
        {
            "WORLD_NAME": "reInvent2019_track",
            "NUMBER_OF_OBSTACLES": 3,
            "OBJECT_POSITIONS": ["0.2,1", "0.5,-1"],
        },
        {"WORLD_NAME": "Oval_track", "NUMBER_OF_OBSTACLES": 0},
    ]
    write_run_inputs(
        layout, metadata, hyper, "def reward_function(params):\n    return 1.0\n", params
    )
    assert json.loads(storage.read_text("model/model_metadata.json")) == metadata
    assert storage.read_text("ip/hyperparameters.json") == hyper
    assert storage.read_text("reward_function.py").startswith("def reward_function")
    main = storage.read_text("training_params.yaml")
    assert main.startswith("---\n")
    assert "'WORLD_NAME': 'reInvent2019_track'" in main
    assert "'NUMBER_OF_OBSTACLES': '3'" in main
    assert yaml.safe_load(main) == {
        "WORLD_NAME": "reInvent2019_track",
        "NUMBER_OF_OBSTACLES": "3",
        "OBJECT_POSITIONS": ["0.2,1", "0.5,-1"],
    }
    assert storage.read_text("training_params_1.yaml") == main
    assert yaml.safe_load(storage.read_text("training_params_2.yaml"))["WORLD_NAME"] == "Oval_track"
    with pytest.raises(RunLayoutError, match="not valid JSON"):
        write_run_inputs(layout, metadata, "{oops", "", params[0])
    with pytest.raises(RunLayoutError, match="one per worker"):
        write_run_inputs(layout, metadata, hyper, "", params[:1])


def test_training_params_yaml_quotes_every_value() -> None:
    text = training_params_yaml({"B": True, "A": 0.05})
    assert text == "---\n'A': '0.05'\n'B': 'True'\n"
