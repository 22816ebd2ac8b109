"""hyperparameters.json: defaults, SageMaker string values, ranges, the processed ip/ JSON."""

from __future__ import annotations

import json

import pytest

from slipstream.config import HyperparameterError, Hyperparameters, load_hyperparameters

PPO_KEYS = {
    "batch_size",
    "beta_entropy",
    "discount_factor",
    "e_greedy_value",
    "epsilon_steps",
    "exploration_type",
    "loss_type",
    "lr",
    "num_episodes_between_training",
    "num_epochs",
    "stack_size",
    "term_cond_avg_score",
    "term_cond_max_episodes",
}
SAC_KEYS = (PPO_KEYS - {"beta_entropy", "num_epochs"}) | {"sac_alpha"}


def test_defaults_are_drfc_defaults():
    hp = load_hyperparameters(None)
    assert hp == Hyperparameters()
    assert (hp.batch_size, hp.num_epochs, hp.lr, hp.discount_factor) == (64, 5, 3e-4, 0.99)
    assert (hp.loss_type, hp.exploration_type) == ("huber", "categorical")
    assert (hp.term_cond_max_episodes, hp.term_cond_avg_score, hp.sac_alpha) == (1000, 350.0, 0.2)
    assert not hp.uses_pretrained and hp.uses_huber_loss


def test_sagemaker_code_defaults():
    sm = Hyperparameters.sagemaker_defaults()
    assert (sm.num_epochs, sm.discount_factor, sm.loss_type) == (10, 0.999, "mean squared error")
    assert (sm.term_cond_max_episodes, sm.term_cond_avg_score) == (100000, 100000.0)
    assert not sm.uses_huber_loss


def test_sagemaker_strings_are_cast():
    hp = load_hyperparameters(
        {
            "batch_size": "128",
            "lr": "1e-4",
            "num_epochs": "3",
            "discount_factor": "0.999",
            "exploration_type": "E_Greedy",
            "loss_type": "mean_squared_error",
            "term_cond_max_episodes": "50.0",
            "pretrained_s3_bucket": "bucket",
            "pretrained_s3_prefix": "models/old",
            "pretrained_checkpoint": "BEST",
        }
    )
    assert (hp.batch_size, hp.lr, hp.num_epochs, hp.discount_factor) == (128, 1e-4, 3, 0.999)
    assert hp.exploration_type == "e-greedy" and hp.loss_type == "mean squared error"
    assert hp.term_cond_max_episodes == 50 and hp.pretrained_checkpoint == "best"
    assert hp.uses_pretrained
    assert isinstance(hp.batch_size, int) and isinstance(hp.lr, float)


def test_processed_json_key_sets():
    hp = Hyperparameters()
    ppo = json.loads(hp.to_processed_json("clipped_ppo"))
    sac = json.loads(hp.to_processed_json("SAC"))
    assert set(ppo) == PPO_KEYS and set(sac) == SAC_KEYS
    assert ppo["num_epochs"] == 5 and sac["sac_alpha"] == 0.2


def test_processed_json_format():
    text = Hyperparameters(batch_size=32).to_processed_json("clipped_ppo")
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True)
    assert list(data) == sorted(data) and text.startswith('{\n  "batch_size": 32,')


def test_file_round_trip(tmp_path):
    path = tmp_path / "hyperparameters.json"
    hp = Hyperparameters(lr=1e-3, batch_size=256)
    path.write_text(json.dumps(hp.to_dict()))
    assert load_hyperparameters(path) == hp


def test_unknown_hyperparameter_suggests(tmp_path):
    path = tmp_path / "hyperparameters.json"
    path.write_text('{"batchsize": 64}')
    with pytest.raises(HyperparameterError) as err:
        load_hyperparameters(path)
    message = str(err.value)
    assert (
        str(path) in message and "batchsize" in message and "Did you mean 'batch_size'" in message
    )
    assert "num_episodes_between_training" in message  # lists the valid names


def test_sagemaker_job_keys_are_ignored():
    assert load_hyperparameters({"s3_bucket": "b", "aws_region": "us-east-1"}) == Hyperparameters()


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("lr", 0.5, "lr must lie in (0, 0.1]"),
        ("lr", 0, "lr must lie in (0, 0.1]"),
        ("discount_factor", 1.5, "discount_factor must lie in (0, 1]"),
        ("discount_factor", 0, "discount_factor must lie in (0, 1]"),
        ("batch_size", 0, "batch_size must be at least 1"),
        ("num_epochs", 0, "num_epochs must be at least 1"),
        ("e_greedy_value", 1.2, "e_greedy_value must lie in [0, 1]"),
        ("beta_entropy", -0.1, "beta_entropy must not be negative"),
    ],
)
def test_out_of_range(tmp_path, key, value, rule):
    path = tmp_path / "hyperparameters.json"
    path.write_text(json.dumps({key: value}))
    with pytest.raises(HyperparameterError) as err:
        load_hyperparameters(path)
    message = str(err.value)
    assert str(path) in message and f"{key} = {value!r}" in message and rule in message
    assert "Fix:" in message


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("batch_size", "64.5", "whole number"),
        ("batch_size", True, "whole number"),
        ("lr", "fast", "expected a number"),
        ("lr", "nan", "not finite"),
        ("exploration_type", "greedy", "not a valid value"),
        ("loss_type", "l1", "not a valid value"),
        ("pretrained_checkpoint", "first", "not a valid value"),
    ],
)
def test_wrong_types(key, value, problem):
    with pytest.raises(HyperparameterError, match=problem):
        load_hyperparameters({key: value})


def test_bad_json_names_line(tmp_path):
    path = tmp_path / "hyperparameters.json"
    path.write_text('{\n  "batch_size": 64\n  "lr": 0.0003\n}')
    with pytest.raises(HyperparameterError, match=r"line 3, column 3"):
        load_hyperparameters(path)


def test_with_overrides():
    hp = Hyperparameters().with_overrides({"lr": "0.001", "num_epochs": "8"})
    assert (hp.lr, hp.num_epochs, hp.batch_size) == (0.001, 8, 64)
    with pytest.raises(HyperparameterError, match="Did you mean 'num_epochs'"):
        Hyperparameters().with_overrides({"num_epoch": 3})


def test_sample_collection_is_refused_with_a_message():
    from slipstream.config.errors import ConfigError

    with pytest.raises(ConfigError, match="max_sample_count"):
        load_hyperparameters({"max_sample_count": 10})
    # sampling_frequency does nothing without max_sample_count, in DeepRacer too
    assert load_hyperparameters({"sampling_frequency": 5}).sampling_frequency == 5
