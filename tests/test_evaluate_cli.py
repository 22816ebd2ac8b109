"""The commands on a real (tiny) trained run: evaluate, export, evaluate --onnx without torch,
race, and the train command's final evaluation hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from slipstream.cli import main

TRACK = "reInvent2019_track"


@pytest.fixture(scope="module")
def trained_run(module_tmp_path, official_tracks_dir) -> Path:
    """One training iteration of the default model (2 episodes): seconds."""
    from slipstream.config import as_reward_function, load_hyperparameters, load_model_metadata
    from slipstream.rollout.trainer import TrainConfig, Trainer

    run = module_tmp_path / "run"
    config = TrainConfig.build(
        run=str(run),
        model_metadata=load_model_metadata(None),
        hyperparameters=load_hyperparameters({"num_episodes_between_training": 2, "num_epochs": 1}),
        reward_function=as_reward_function(None),
        track=TRACK,
        workers=1,
        iterations=1,
        serial=True,
        eval_episodes=1,
        device="cpu",
    )
    Trainer(config, echo=None).run()
    return run


def metrics_files(run: Path) -> list[Path]:
    return sorted((run / "metrics").glob("EvaluationMetrics-*.json"))


def test_evaluate_export_and_evaluate_onnx_without_torch(trained_run, capsys) -> None:
    run = trained_run
    assert main(["evaluate", str(run), "--trials", "2", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "Evaluation of checkpoint" in out and "completion" in out and "lap time" in out
    (torch_metrics,) = metrics_files(run)

    assert main(["export", str(run), "--checkpoint", "best"]) == 0
    out = capsys.readouterr().out
    assert "main_level/agent/main/online/network_0/FRONT_FACING_CAMERA" in out
    tar = run / "export" / "model.tar.gz"
    with tarfile.open(tar) as archive:
        assert sorted(archive.getnames()) == ["agent", "agent/model.onnx", "model_metadata.json"]
        packed = json.loads(archive.extractfile("model_metadata.json").read())
    assert packed == json.loads((run / "model" / "model_metadata.json").read_text())

    # the ONNX evaluation runs in a fresh interpreter that must never import torch
    script = (
        "import sys\n"
        "from slipstream.cli import main\n"
        f"rc = main(['evaluate', {str(run)!r}, '--trials', '2', '--seed', '5', "
        f"'--onnx', {str(tar)!r}])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "sys.exit(rc)\n"
    )
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Evaluation of ONNX model.tar.gz" in done.stdout
    onnx_metrics = [p for p in metrics_files(run) if p != torch_metrics]
    assert len(onnx_metrics) == 1
    a = json.loads(torch_metrics.read_text())["metrics"]
    b = json.loads(onnx_metrics[0].read_text())["metrics"]
    keys = ("completion_percentage", "elapsed_time_in_milliseconds", "episode_status", "trial")
    assert [{k: m[k] for k in keys} for m in a] == [{k: m[k] for k in keys} for m in b]


def test_race_command_and_train_final_evaluation(trained_run, capsys) -> None:
    race = ["race", str(trained_run), str(trained_run), "--laps", "1"]
    assert main([*race, "--set", "NUMBER_OF_RESETS=0"]) == 0
    out = capsys.readouterr().out
    assert "Head-to-head race on reInvent2019_track" in out
    assert "lap times A" in out and "lap times B" in out
    from slipstream.evaluate import evaluate_run

    result = evaluate_run(str(trained_run), trials=1, checkpoint="last", echo=None)
    assert result is not None and len(result.records) == 1
    assert main(["evaluate", str(trained_run), "--set", "NUMBER_OF_RESET=3"]) == 2
    assert "did you mean" in capsys.readouterr().err.lower()
