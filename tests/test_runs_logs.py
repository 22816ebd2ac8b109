"""DeepRacer log lines, exactly as docs/deepracer.md 7.5 quotes them, and the run's log files."""

from __future__ import annotations

import io
import json
import re
import uuid
from pathlib import Path

import pytest

from slipstream.runs import RunLayout, RunLogger, RunStorage
from slipstream.runs.logs import (
    action_space_line,
    best_last_checkpoint_line,
    best_model_evaluations_line,
    best_model_mean_line,
    best_model_update_line,
    checkpoint_restoring_line,
    checkpoint_saving_line,
    checkpoint_uploaded_line,
    evaluation_phase_end_line,
    evaluation_phase_start_line,
    hyperparameters_block,
    policy_training_line,
    sensor_line,
    training_episode_line,
)
from slipstream.runs.logs import (
    testing_episode_line as format_testing_line,
)


def test_episode_lines() -> None:
    assert training_episode_line(0, 19, 3.4912, 357, 0) == (
        "Training> Name=main_level/agent, Worker=0, Episode=19, Total reward=3.49, Steps=357, "
        "Training iteration=0"
    )
    assert format_testing_line(0, 20, 0.98, 373, 0) == (
        "Testing> Name=main_level/agent, Worker=0, Episode=20, Total reward=0.98, Steps=373, "
        "Training iteration=0"
    )
    assert "Total reward=0.0," in training_episode_line(1, 1, 0, 1, 3)


def test_policy_training_and_checkpoint_lines() -> None:
    assert policy_training_line(-0.0109, 0.00998, 2.628, 0, 0.0003) == (
        "Policy training> Surrogate loss=-0.0109, KL divergence=0.00998, Entropy=2.628, "
        "training epoch=0, learning_rate=0.0003"
    )
    assert checkpoint_saving_line("./checkpoint_sagemaker/agent/1_Step-519.ckpt") == (
        "Checkpoint> Saving in path=['./checkpoint_sagemaker/agent/1_Step-519.ckpt']"
    )
    assert checkpoint_restoring_line("./checkpoint_robomaker/agent/0_Step-0.ckpt") == (
        "Checkpoint> Restoring from path=./checkpoint_robomaker/agent/0_Step-0.ckpt"
    )
    assert checkpoint_uploaded_line(3, 1) == "Uploaded 3 files for checkpoint 1"
    assert best_last_checkpoint_line(0, 0) == "Best checkpoint number: 0, Last checkpoint number: 0"
    assert evaluation_phase_start_line() == "## agent: Starting evaluation phase"
    assert evaluation_phase_end_line(0.0, 0.98) == (
        "## agent: Finished evaluation phase. Success rate = 0.0, Avg Total Reward = 0.98"
    )


def test_best_model_selection_lines() -> None:
    assert best_model_evaluations_line([12.5, 40.0]) == (
        "[BestModelSelection] Number of evaluations: 2 Evaluation episode progress: [12.5, 40.0]"
    )
    assert (
        best_model_mean_line(26.25)
        == "[BestModelSelection] Evaluation episode progress mean: 26.25"
    )
    assert best_model_update_line("3_Step-300.pt", "1_Step-100.pt") == (
        '[BestModelSelection] Updating the best checkpoint to "3_Step-300.pt" from "1_Step-100.pt".'
    )


def test_startup_lines_parse_like_deepracer_utils() -> None:
    metadata = {
        "action_space": [
            {"steering_angle": -30, "speed": 0.6},
            {"steering_angle": 30, "speed": 0.6},
        ],
        "sensor": ["FRONT_FACING_CAMERA", "LIDAR"],
        "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
        "training_algorithm": "clipped_ppo",
        "action_space_type": "discrete",
        "version": "5",
    }
    line = sensor_line(metadata)
    assert line == (
        "Sensor list ['FRONT_FACING_CAMERA', 'LIDAR'], network DEEP_CONVOLUTIONAL_NETWORK_SHALLOW, "
        "simapp_version 5.0, training_algorithm clipped_ppo, action_space_type discrete "
        "lidar_config None"
    )
    # the regular expression deepracer-utils applies to this line
    m = re.search(
        r"Sensor list (\[[\'a-zA-Z, _-]+\]), network ([a-zA-Z_]+), simapp_version ([\d.]+)", line
    )
    assert m is not None and m.group(3) == "5.0"
    action = action_space_line(metadata["action_space"])
    assert action == (
        "Action space from file: [{'steering_angle': -30, 'speed': 0.6}, "
        "{'steering_angle': 30, 'speed': 0.6}]"
    )
    assert json.loads(action.split("file: ")[1].replace("'", '"')) == metadata["action_space"]
    block = hyperparameters_block({"lr": 0.0003, "batch_size": 64})
    assert (
        block == 'Using the following hyper-parameters\n{\n  "batch_size": 64,\n  "lr": 0.0003\n}'
    )


@pytest.mark.parametrize("where", ["local", "memory"])
def test_run_logger_files_and_echo(tmp_path: Path, where: str) -> None:
    root = str(tmp_path / "run") if where == "local" else f"memory://logs-{uuid.uuid4().hex}/run"
    layout = RunLayout(RunStorage(root))
    echo = io.StringIO()
    with RunLogger(layout, echo=echo, max_delay_s=3600) as logger:
        logger.training_episode(0, 1, 2.0, 10, 0)
        logger.policy_training(-0.01, 0.001, 1.5, 0, 0.0003)
        logger.write("both sides", to="both")
        assert not layout.storage.exists(layout.robomaker_log)  # still buffered
    robomaker = layout.storage.read_text(layout.robomaker_log)
    sagemaker = layout.storage.read_text(layout.sagemaker_log)
    assert robomaker == (
        "Training> Name=main_level/agent, Worker=0, Episode=1, Total reward=2.0, Steps=10, "
        "Training iteration=0\nboth sides\n"
    )
    assert sagemaker.splitlines() == [
        "Policy training> Surrogate loss=-0.01, KL divergence=0.001, Entropy=1.5, "
        "training epoch=0, learning_rate=0.0003",
        "both sides",
    ]
    assert echo.getvalue().count("\n") == 3
    # a second logger (resume) appends
    with RunLogger(layout, max_lines=1) as logger:
        logger.testing_episode(0, 1, 1.0, 12, 0)
        assert layout.storage.read_text(layout.robomaker_log).count("\n") == 3
    with pytest.raises(ValueError, match="to must be"):
        RunLogger(layout).write("x", to="stdout")


def test_the_policy_training_and_checkpoint_lines_read_back():
    from slipstream.runs.logs import (
        checkpoint_uploaded_line,
        parse_checkpoint_uploaded_line,
        parse_policy_training_line,
        policy_training_line,
    )

    line = policy_training_line(-0.0109, 0.00998, 2.628, 3, 0.0003)
    assert line == (
        "Policy training> Surrogate loss=-0.0109, KL divergence=0.00998, Entropy=2.628, "
        "training epoch=3, learning_rate=0.0003"
    )
    assert parse_policy_training_line(line) == (-0.0109, 0.00998, 2.628, 3)
    assert parse_policy_training_line("Training> Name=main_level/agent") is None
    assert parse_checkpoint_uploaded_line(checkpoint_uploaded_line(4, 12)) == 12
    assert parse_checkpoint_uploaded_line(line) is None
