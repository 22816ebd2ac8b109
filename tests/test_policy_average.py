"""The policy's weight averages: the pure maths against hand numbers, and `--policy-average`
in a real training (checkpoints, resume, `--checkpoint averaged`) against the checkpoints'
own policies averaged here."""

from __future__ import annotations

import pytest
import torch

from slipstream.cli import main
from slipstream.model.run_model import (
    POLICY_AVERAGE,
    RunModelError,
    load_policy_module,
    read_run_metadata,
)
from slipstream.rl.averaging import moving_average, moving_average_share
from slipstream.rollout.trainer import Trainer, TrainingError
from slipstream.runs import RunStorage, list_checkpoints, load_checkpoint
from slipstream.runs.checkpoints import parse_checkpoint_name
from small_training import small_config, train_arguments

HALF_LIFE = 500


def test_the_moving_average_halves_the_old_weights_every_half_life():
    assert moving_average_share(100, 100) == 0.5
    assert moving_average_share(200, 100) == 0.75
    assert moving_average_share(0, 100) == 0.0
    with pytest.raises(ValueError, match="half-life"):
        moving_average_share(10, 0)
    start = {"w": torch.tensor([0.0, 8.0])}
    first = moving_average(None, start, 100, 100)
    assert first["w"].tolist() == [0.0, 8.0]
    start["w"] += 1  # the average is a copy, not a view of the live weights
    assert first["w"].tolist() == [0.0, 8.0]
    new = {"w": torch.tensor([4.0, 0.0])}
    once = moving_average(first, new, 100, 100)
    assert once["w"].tolist() == [2.0, 4.0]
    assert first["w"].tolist() == [0.0, 8.0]  # inputs unchanged
    # two updates of 50 steps towards the same weights land where one of 100 does
    halves = moving_average(moving_average(first, new, 50, 100), new, 50, 100)
    assert torch.allclose(halves["w"], once["w"])
    with pytest.raises(ValueError, match="keys differ"):
        moving_average(first, {"v": torch.zeros(2)}, 10, 100)
    counted = moving_average(
        {"w": torch.zeros(1), "n": torch.tensor(3)},
        {"w": torch.ones(1), "n": torch.tensor(7)},
        100,
        100,
    )
    assert counted["n"].item() == 7  # not floating point: the newest, never averaged


def _policies(run) -> list[tuple[int, dict]]:
    """(steps, state) of every checkpoint of a run, in order."""
    storage = RunStorage(str(run))
    return [
        (parse_checkpoint_name(name)[1], load_checkpoint(storage, name))
        for name in list_checkpoints(storage)
    ]


def _expected_average(checkpoints: list[tuple[int, dict]], half_life: int) -> dict:
    """The moving average worked out from the checkpoints' own policies and step counts
    (checkpoint 0 is the untrained policy, before any update)."""
    average, before = None, checkpoints[0][0]
    for steps, state in checkpoints[1:]:
        share = 0.0 if average is None else 1 - 0.5 ** ((steps - before) / half_life)
        policy = state["policy"]
        average = {
            k: policy[k].clone()
            if average is None
            else average[k] + share * (policy[k] - average[k])
            for k in policy
        }
        before = steps
    return average


def _assert_close(found: dict, expected: dict) -> None:
    assert list(found) == list(expected)
    for key in expected:
        assert torch.allclose(found[key], expected[key], atol=1e-6), key


def test_training_keeps_the_average_in_every_checkpoint_and_resumes_it(tmp_path):
    run = tmp_path / "run"
    Trainer(small_config(run, 2, iterations=2, policy_average=HALF_LIFE), echo=None).run()
    # resumed without the option: the checkpoint's half-life goes on
    Trainer(small_config(run, 2, iterations=1, resume=True), echo=None).run()
    checkpoints = _policies(run)
    assert [state.get(POLICY_AVERAGE) is None for _, state in checkpoints] == [
        True,
        False,
        False,
        False,
    ]
    assert checkpoints[-1][1]["policy_average_half_life"] == HALF_LIFE
    # the first update's average is its policy; later ones move towards each new policy
    _assert_close(checkpoints[1][1][POLICY_AVERAGE], checkpoints[1][1]["policy"])
    expected = _expected_average(checkpoints, HALF_LIFE)
    _assert_close(checkpoints[-1][1][POLICY_AVERAGE], expected)
    differs = [not torch.allclose(expected[k], checkpoints[-1][1]["policy"][k]) for k in expected]
    assert any(differs)  # the average is not the last policy

    storage = RunStorage(str(run))
    module, label = load_policy_module(storage, read_run_metadata(storage), "averaged")
    assert label == f"{list_checkpoints(storage)[-1]}, averaged policy"
    _assert_close(module.state_dict(), expected)
    # a new run may start from the averaged policy (--pretrained RUN --checkpoint averaged)
    config = small_config(
        tmp_path / "next", 2, pretrained=str(run), pretrained_checkpoint="averaged", iterations=0
    )
    _assert_close(Trainer(config, echo=None).learner.policy.state_dict(), expected)


def test_averaged_is_refused_for_a_run_without_an_average_and_bad_half_lives(tmp_path):
    run = tmp_path / "plain"
    Trainer(small_config(run, 2), echo=None).run()
    storage = RunStorage(str(run))
    assert POLICY_AVERAGE not in _policies(run)[-1][1]
    with pytest.raises(RunModelError, match="--policy-average"):
        load_policy_module(storage, read_run_metadata(storage), "averaged")
    with pytest.raises(TrainingError, match="half-life"):
        small_config(tmp_path / "bad", 2, policy_average=0)


def test_the_cli_trains_with_an_average_and_exports_it(tmp_path, capsys):
    run = tmp_path / "run"
    args = train_arguments("--run", str(run), "--policy-average", "1000", episodes=2)
    assert main(args) == 0
    out = tmp_path / "export"
    assert main(["export", str(run), "--checkpoint", "averaged", "--out", str(out)]) == 0
    assert "averaged policy" in capsys.readouterr().out
    assert (out / "model.onnx").exists()
