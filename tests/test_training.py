"""Short real trainings (serial and on Ray) into run folders that deepracer-utils reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from deepracer.logs import DeepRacerLog, FSFileHandler, TrainingMetrics

from slipstream.config import as_reward_function, load_hyperparameters, load_model_metadata
from slipstream.rollout.trainer import TrainConfig, Trainer, TrainingError, episodes_per_worker
from slipstream.runs import CheckpointIndex, RunStorage, load_checkpoint

TRACK = "slipstream_oval"
EPISODES = 4


def config(run, **kw) -> TrainConfig:
    hp = load_hyperparameters(
        {"num_episodes_between_training": EPISODES, "num_epochs": 1, "batch_size": 32}
    )
    base = dict(
        run=str(run),
        model_metadata=load_model_metadata(None),
        hyperparameters=hp,
        reward_function=as_reward_function(None),
        track=TRACK,
        iterations=2,
        serial=True,
        eval_episodes=2,
        world={"NUMBER_OF_REVERSE_COUNTS": "15"},
    )
    base.update(kw)
    return TrainConfig(**base)


def check_run_loads(folder, workers: int, iterations: int) -> None:
    log = DeepRacerLog(model_folder=str(folder), filehandler=FSFileHandler(str(folder)))
    log.load_training_trace()
    df = log.dataframe()
    assert set(df["worker"]) == set(range(workers))
    assert sorted(df["iteration"].unique()) == list(range(iterations))
    # every episode ends once, with a DeepRacer status, and episodes are numbered 0..E*K-1
    ends = df[df["done"]]
    assert len(ends) == EPISODES * iterations
    assert sorted(df["unique_episode"].unique()) == list(range(EPISODES * iterations))
    assert set(ends["episode_status"]) <= {
        "off_track",
        "reversed",
        "immobilized",
        "lap_complete",
        "crashed",
    }
    assert df.groupby("unique_episode")["steps"].min().eq(1.0).all()
    tm = TrainingMetrics(None, fname=str(folder / "metrics" / "TrainingMetrics.json"))
    for w in range(1, workers):
        tm.addRound(
            None,
            fname=str(folder / "metrics" / f"TrainingMetrics_{w}.json"),
            training_round=1,
            worker=w,
        )
    training = tm.getTraining()
    assert len(training) == EPISODES * iterations
    assert len(tm.getEvaluation()) == 2 * iterations
    # deepracer-utils derives iterations from episode numbers: (episode - 1) // episodes per worker
    assert sorted(training["iteration"].unique()) == list(range(iterations))
    for w in range(workers):
        episodes = training[training["worker"] == w]["episode"].tolist()
        assert sorted(episodes) == list(range(1, len(episodes) + 1))
    # the metrics and the simtrace agree on each episode's final progress
    final = ends.sort_values(["worker", "episode"])["progress"].astype(int).tolist()
    metrics = training.sort_values(["worker", "episode"])["completion"].tolist()
    assert sorted(final) == sorted(metrics)


def test_episode_split_matches_deepracer():
    assert episodes_per_worker(20, 3) == [7, 7, 6]
    assert episodes_per_worker(2, 4) == [1, 1]


def test_serial_training_writes_a_drfc_run_folder(tmp_path):
    run = tmp_path / "run"
    reports = Trainer(config(run), echo=None).run()
    assert [r.iteration for r in reports] == [0, 1]
    check_run_loads(run, 1, 2)
    index = json.loads((run / "model" / "deepracer_checkpoints.json").read_text())
    # evaluation runs after each update: the last checkpoint recorded is the newest one, and
    # the untrained checkpoint 0 is never evaluated, so never the best
    assert index["last_checkpoint"]["name"] == f"2_Step-{reports[1].total_steps}.pt"
    assert reports[1].checkpoint == index["last_checkpoint"]["name"]
    assert not index["best_checkpoint"]["name"].startswith("0_")
    hp = json.loads((run / "ip" / "hyperparameters.json").read_text())
    assert hp["num_episodes_between_training"] == EPISODES
    log = (run / "logs" / "training" / "slipstream-sagemaker.log").read_text()
    assert "Policy training> Surrogate loss=" in log


def test_ray_training_with_two_workers(tmp_path):
    ray = pytest.importorskip("ray")
    run = tmp_path / "run"
    try:
        Trainer(config(run, serial=False, workers=2), echo=None).run()
    finally:
        ray.shutdown()
    check_run_loads(run, 2, 2)
    assert (run / "1" / "training-simtrace" / "1-iteration.csv").exists()
    assert (run / "metrics" / "TrainingMetrics_1.json").exists()


def test_resume_continues_numbering_without_gaps(tmp_path):
    run = tmp_path / "run"
    Trainer(config(run, iterations=1), echo=None).run()
    with pytest.raises(TrainingError, match="--resume"):
        Trainer(config(run, iterations=1), echo=None)
    reports = Trainer(config(run, iterations=1, resume=True), echo=None).run()
    assert reports[0].iteration == 1
    files = sorted(p.name for p in (run / "training-simtrace").iterdir())
    assert files == ["0-iteration.csv", "1-iteration.csv"]
    check_run_loads(run, 1, 2)
    metrics = json.loads((run / "metrics" / "TrainingMetrics.json").read_text())["metrics"]
    training = [m["episode"] for m in metrics if m["phase"] == "training"]
    assert training == list(range(1, 2 * EPISODES + 1))
    names = sorted(p.name for p in (run / "model").glob("*.pt"))
    assert [n.split("_")[0] for n in names] == ["0", "1", "2"]


def test_pretrained_start_loads_the_other_runs_weights(tmp_path):
    first = tmp_path / "first"
    Trainer(config(first, iterations=1), echo=None).run()
    storage = RunStorage(str(first))
    trained = load_checkpoint(storage, CheckpointIndex(storage).resolve("last"))["policy"]
    second = Trainer(config(tmp_path / "second", pretrained=str(first), iterations=0), echo=None)
    for key, value in second.learner.policy.state_dict().items():
        assert torch.equal(value.cpu(), trained[key])
    fresh = Trainer(config(tmp_path / "third", iterations=0), echo=None)
    differs = [
        not torch.equal(v.cpu(), trained[k]) for k, v in fresh.learner.policy.state_dict().items()
    ]
    assert any(differs)


def test_continuous_ppo_and_sac_train_one_iteration(tmp_path):
    small = load_hyperparameters(
        {"num_episodes_between_training": 2, "num_epochs": 1, "batch_size": 8}
    )
    for default, name in (("continuous", "ppo"), ("sac", "sac")):
        metadata = load_model_metadata(None, default=default)
        cfg = config(tmp_path / name, model_metadata=metadata, iterations=1, hyperparameters=small)
        reports = Trainer(cfg, echo=None).run()
        assert reports[0].samples > 0
        assert np.isfinite(reports[0].mean_progress)
        # simtrace writes continuous actions as "[steer speed]" in degrees and m/s
        rows = (tmp_path / name / "training-simtrace" / "0-iteration.csv").read_text().splitlines()
        header = rows[0].split(",")
        first = dict(zip(header, rows[1].split(","), strict=True))
        steer, speed = (float(x) for x in first["action"].strip("[]").split())
        assert (steer, speed) == (float(first["steer"]), float(first["throttle"]))
        assert 1.0 <= speed <= 2.0 and -30.0 <= steer <= 30.0
        assert float(first["tstamp"]) == pytest.approx(1 / 15)
