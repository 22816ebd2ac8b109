"""Short real trainings (serial and on Ray) into run folders that deepracer-utils reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from deepracer.logs import DeepRacerLog, FSFileHandler, TrainingMetrics

from slipstream.config import as_reward_function, load_hyperparameters, load_model_metadata
from slipstream.rollout.trainer import TrainConfig, Trainer, TrainingError, episodes_per_worker
from slipstream.runs import CheckpointIndex, RunStorage, load_checkpoint
from small_training import small_config

TRACK = "slipstream_oval"  # small_config's track
EPISODES = 4


def config(run, **kw) -> TrainConfig:
    settings = dict(
        iterations=2,
        eval_episodes=2,
        world={"NUMBER_OF_REVERSE_COUNTS": "15", "WORLD_NAME": "slipstream_default"},
    )
    return small_config(run, EPISODES, **(settings | kw))


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
    # training_params.yaml names the track trained on, whatever WORLD_NAME the world keys held
    params = yaml.safe_load((run / "training_params.yaml").read_text())
    assert params["WORLD_NAME"] == TRACK and params["NUM_WORKERS"] == "1"
    hp = json.loads((run / "ip" / "hyperparameters.json").read_text())
    assert hp["num_episodes_between_training"] == EPISODES
    log = (run / "logs" / "training" / "slipstream-sagemaker.log").read_text()
    assert "Policy training> Surrogate loss=" in log


def run_folder_contents(folder) -> dict[str, object]:
    """Every file of a run folder, without what legitimately differs between two runs: the
    simtrace's wall_clock column, the index's time stamps, the folder's own path in logs, the
    log lines naming where each worker runs and the iteration timings (iterations.jsonl,
    TensorBoard)."""
    contents: dict[str, object] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = str(path.relative_to(folder))
        if "tensorboard" in path.parts or path.name == "iterations.jsonl":
            continue  # timings and wall-clock times of the iterations
        if path.suffix == ".pt":
            state = torch.load(path, weights_only=True)
            contents[key] = {k: v for k, v in state["policy"].items()}
        elif path.suffix == ".csv":
            contents[key] = [row.rsplit(",", 1)[0] for row in path.read_text().splitlines()]
        elif path.name == "deepracer_checkpoints.json":
            index = json.loads(path.read_text())
            contents[key] = {k: {**v, "time_stamp": 0} for k, v in index.items() if v}
        elif path.suffix == ".log":  # without where the workers run, the model's (folder's)
            # name and the steps' wall-clock times
            lines = path.read_text().replace(str(folder), "RUN").splitlines()
            contents[key] = [
                ln.rsplit(",", 1)[0] if ln.startswith("SIM_TRACE_LOG:") else ln
                for ln in lines
                if not ln.startswith(("Worker> ", "[s3] Successfully downloaded yaml"))
            ]
        elif path.suffix != ".sha256":
            contents[key] = path.read_text().replace(str(folder), "RUN")
    return contents


def assert_same_contents(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        if isinstance(a[key], dict) and key.endswith(".pt"):
            assert all(torch.equal(v, b[key][k]) for k, v in a[key].items()), key
        else:
            assert a[key] == b[key], key


def test_ray_training_with_two_workers_equals_the_serial_run_of_the_same_seed(tmp_path):
    ray = pytest.importorskip("ray")
    run = tmp_path / "run"
    try:
        Trainer(config(run, serial=False, workers=2), echo=None).run()
    finally:
        ray.shutdown()
    check_run_loads(run, 2, 2)
    assert (run / "1" / "training-simtrace" / "1-iteration.csv").exists()
    assert (run / "metrics" / "TrainingMetrics_1.json").exists()
    # the same seed gives the same run folder: simtrace, metrics, logs, checkpoints
    serial = tmp_path / "serial"
    Trainer(config(serial, serial=True, workers=2), echo=None).run()
    assert_same_contents(run_folder_contents(run), run_folder_contents(serial))


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


@pytest.mark.parametrize("pipeline", [False, True])
def test_pipelined_workers_sample_with_the_previous_policy(tmp_path, pipeline):
    run = tmp_path / "run"
    trainer = Trainer(config(run, pipeline=pipeline, eval_episodes=1), echo=None)
    reports = trainer.run()
    # synchronous: iteration k is collected by checkpoint k; pipelined: iteration k+1 is
    # collected by checkpoint k while the learner trains on iteration k
    expected = [0, 0] if pipeline else [0, 1]
    assert [r.policy_version for r in reports] == expected
    assert [r.checkpoint.split("_")[0] for r in reports] == ["1", "2"]
    assert all(r.learner_cpu_seconds > 0 and r.worker_cpu_seconds > 0 for r in reports)
    # the run folder is the same DRfC layout either way
    log = DeepRacerLog(model_folder=str(run), filehandler=FSFileHandler(str(run)))
    log.load_training_trace()
    assert sorted(log.dataframe()["iteration"].unique()) == [0, 1]


class InvariantReward:
    """A reward function asserting DeepRacer's params invariants on every call (one car)."""

    def __init__(self) -> None:
        self.calls = 0
        self.last_steps = None
        self.ended = True

    def __call__(self, params):
        from slipstream.sim.params import REWARD_PARAM_KEYS

        assert set(params) == set(REWARD_PARAM_KEYS)
        for key in ("all_wheels_on_track", "is_left_of_center", "is_offtrack", "is_reversed"):
            assert isinstance(params[key], bool), key
        for key in ("x", "y", "heading", "distance_from_center", "progress", "speed"):
            assert isinstance(params[key], float), key
        assert -180.0 <= params["heading"] <= 180.0
        # DeepRacer: percent of the lap from the start, slightly negative when backing over the
        # start line (the +-50 wrap rule of docs/deepracer.md 1.1 bounds it below), capped at 100
        assert -50.0 < params["progress"] <= 100.0
        assert params["distance_from_center"] >= 0.0 and params["track_width"] > 0.0
        prev, nxt = params["closest_waypoints"]
        assert 0 <= prev < len(params["waypoints"]) and 0 <= nxt < len(params["waypoints"])
        steps = params["steps"]
        if self.ended:  # a new episode: the prepare step (1) is never rewarded
            assert steps == 2, steps
        else:  # the next step of the episode, or a new one after a rule not seen in params
            assert steps in (2, self.last_steps + 1), (steps, self.last_steps)
        # a car off the road, crashed or done ends its episode at this call: no call after it
        self.ended = params["is_offtrack"] or params["progress"] >= 100.0
        self.last_steps = steps
        self.calls += 1
        return 1.0 if params["all_wheels_on_track"] else 1e-3


def test_training_with_a_reward_function_asserting_deepracers_invariants(tmp_path):
    reward = InvariantReward()
    hp = load_hyperparameters(
        {
            "num_episodes_between_training": EPISODES,
            "num_epochs": 1,
            "batch_size": 32,
            "term_cond_max_episodes": 1,
        }
    )
    cfg = config(
        tmp_path / "run",
        reward_function=as_reward_function(reward),
        hyperparameters=hp,
        cars_per_worker=1,
        eval_episodes=1,
        iterations=None,
        minutes=None,
        world={"NUMBER_OF_REVERSE_COUNTS": "15", "CHANGE_START_POSITION": "true"},
    )
    reports = Trainer(cfg, echo=None).run()
    # term_cond_max_episodes counts training iterations (DeepRacer's improve_steps)
    assert len(reports) == 1
    # every learning row was a reward call (the evaluation episode made some more)
    assert reward.calls > reports[0].samples > 0


def test_pretrained_without_a_usable_checkpoint_is_a_clear_error_and_writes_nothing(tmp_path):
    drfc = tmp_path / "drfc" / "model"
    drfc.mkdir(parents=True)
    index = {"name": "6_Step-3500.ckpt", "avg_eval_metric": 40.0, "time_stamp": 2.0}
    (drfc / "deepracer_checkpoints.json").write_text(
        json.dumps({"best_checkpoint": index, "last_checkpoint": index})
    )
    run = tmp_path / "run"
    for source in (drfc.parent, tmp_path / "missing"):
        with pytest.raises(TrainingError, match="no usable Slipstream checkpoint"):
            Trainer(config(run, pretrained=str(source)), echo=None)
        assert not run.exists()


def test_an_unknown_track_or_broken_reward_function_is_refused_before_anything_is_written(
    tmp_path,
):
    from slipstream.config.errors import RewardFunctionError
    from slipstream.tracks.track import TrackError

    run = tmp_path / "run"
    with pytest.raises(TrackError, match="unknown track 'nowhere'"):
        Trainer(config(run, worker_tracks=(TRACK, "nowhere"), workers=2), echo=None)
    assert not run.exists()

    def reward_function(params):
        return params["no_such_key"]

    with pytest.raises(RewardFunctionError, match="no_such_key"):
        Trainer(config(run, reward_function=as_reward_function(reward_function)), echo=None)
    assert not run.exists()


def test_pipelined_ppo_clips_against_the_probabilities_the_workers_sampled_with(
    tmp_path, monkeypatch
):
    from slipstream.rl.ppo import PPOLearner

    batches = []
    real_update = PPOLearner.update

    def recording_update(self, batch, on_minibatch=None):
        batches.append(batch)
        return real_update(self, batch, on_minibatch)

    monkeypatch.setattr(PPOLearner, "update", recording_update)
    run = tmp_path / "run"
    Trainer(config(run, pipeline=True, eval_episodes=1), echo=None).run()
    # iteration 0 was sampled by checkpoint 0 and trained from it: the learner recomputes the
    # old probabilities (DeepRacer's way); iteration 1, also sampled by checkpoint 0, is trained
    # from checkpoint 1, so the ratio is clipped against checkpoint 0's probabilities
    assert "log_probs" not in batches[0]
    behaviour = batches[1]["log_probs"]
    np.testing.assert_allclose(behaviour, checkpoint_log_probs(run, 0, batches[1]), atol=1e-5)
    assert not np.allclose(behaviour, checkpoint_log_probs(run, 1, batches[1]), atol=1e-3)


def checkpoint_log_probs(run, number: int, batch) -> np.ndarray:
    """Log-probabilities of the batch's actions under the run's checkpoint `number`."""
    from slipstream.model.policy import PolicyActor
    from slipstream.rl.ppo import obs_to_device

    (name,) = [p.name for p in (run / "model").glob(f"{number}_Step-*.pt")]
    actor = PolicyActor(load_model_metadata(None))
    actor.set_weights(load_checkpoint(RunStorage(str(run)), name)["policy"], number)
    with torch.no_grad():
        obs = obs_to_device(batch["obs"], actor.sensors, actor.device)
        return actor.policy.distribution(obs).log_prob(torch.as_tensor(batch["actions"])).numpy()


def test_training_on_a_track_set_records_each_episodes_track(tmp_path):
    from slipstream.tracks.track_set import TrackSet

    run = tmp_path / "run"
    names = ("slipstream_oval", "slipstream_technical")
    track_set = TrackSet(names, generated=True)
    Trainer(config(run, track_set=track_set, episodes_per_track=1), echo=None).run()
    check_run_loads(run, 1, 2)
    entries = json.loads((run / "metrics" / "TrainingMetrics.json").read_text())["metrics"]
    training = [e for e in entries if e["phase"] == "training"]
    # every training episode names the track it ran on, drawn as the rotation says
    rotation = config(run, track_set=track_set).rotation_of(0)
    cars = min(EPISODES, 16)
    expected = {rotation.track_for(car, block) for car in range(cars) for block in range(2)}
    assert {e["track"].removesuffix(" (reversed)") for e in training} <= expected
    assert len({e["track"] for e in training}) > 1
    # the simtrace's track_len is each episode's own track's length
    trace = np.genfromtxt(
        run / "training-simtrace" / "0-iteration.csv",
        delimiter=",",
        names=True,
        dtype=None,
        encoding="utf-8",
    )
    assert len(set(np.round(trace["track_len"], 3))) > 1
    # training_params.yaml: DRfC's multi-config form, the set's named tracks in turn
    params = yaml.safe_load((run / "training_params.yaml").read_text())
    assert params["WORLD_NAME"] == names[0]


def test_resuming_a_track_set_run_keeps_its_set_and_draws_new_tracks(tmp_path):
    from slipstream.rollout.train_config import inputs_from_run
    from slipstream.tracks.track_set import TrackSet

    run = tmp_path / "run"
    track_set = TrackSet(("slipstream_oval", "slipstream_technical"), generated=True)
    first = config(run, track_set=track_set, episodes_per_track=3, iterations=1)
    Trainer(first, echo=None).run()
    saved = json.loads((run / "track_set.json").read_text())
    assert saved == {
        "names": ["slipstream_oval", "slipstream_technical"],
        "generated": True,
        "episodes_per_track": 3,
        "evaluation_track": first.track,
    }
    # `train --resume` without --tracks: the set, its rotation and evaluation track come back
    resumed = inputs_from_run(config(run, resume=True, iterations=1, track="slipstream_default"))
    assert resumed.track_set == track_set and resumed.episodes_per_track == 3
    assert resumed.track == first.track
    # --tracks given again wins
    other = TrackSet(("slipstream_oval",), generated=True)
    assert inputs_from_run(config(run, resume=True, track_set=other)).track_set == other
    Trainer(resumed, echo=None).run()
    entries = json.loads((run / "metrics" / "TrainingMetrics.json").read_text())["metrics"]
    training = [e["track"].removesuffix(" (reversed)") for e in entries if e["phase"] == "training"]
    assert len(training) == 2 * EPISODES
    # the resumed iteration draws its tracks from iteration 1 on: its first blocks are not the
    # first part's
    cars = min(EPISODES, 16)
    later = resumed.rotation_of(0, 1)
    assert set(training[EPISODES:]) <= {
        later.track_for(car, b) for car in range(cars) for b in (0, 1)
    }
    draws = [
        [resumed.rotation_of(0, start).track_for(car, 0) for car in range(cars)] for start in (0, 1)
    ]
    assert draws[0] != draws[1]
