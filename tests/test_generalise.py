"""The generalisation benchmark's evaluation (`evaluate_generalisation`) on a hand-made run: a
policy copy evaluated on the curve's subset and on every "official" track (here two built-in
ones), each row carrying the track's lap-speed yardstick."""

from __future__ import annotations

import io

import pytest

from slipstream.evaluate import generalise
from slipstream.evaluate.generalise import (
    SNAPSHOTS,
    evaluate_generalisation,
    subset_of,
)
from slipstream.evaluate.lap_ceiling import car_limits, lap_ceiling
from slipstream.evaluate.track_evaluation import evaluate_routes, plan_routes
from slipstream.sim.car import car_for_simapp
from slipstream.tracks.registry import load_track
from slipstream.tracks.track_set import TrackSet
from test_evaluate_tracks import random_run

TRACKS = ["slipstream_default", "slipstream_oval"]


def test_subset_is_spread_evenly_and_fixed():
    names = [f"t{k:02d}" for k in range(10)]
    assert subset_of(names[::-1], 4) == ["t00", "t02", "t05", "t07"]
    assert subset_of(names, 20) == names


def test_policy_copies_are_evaluated_on_the_subset_and_every_track(tmp_path, monkeypatch):
    import torch

    from slipstream.evaluate.evaluation import evaluation_world, run_training_world
    from slipstream.evaluate.policy_loader import load_run_model
    from slipstream.runs import RunStorage

    run = random_run(tmp_path)
    storage = RunStorage(str(run))
    model = load_run_model(str(run))
    for k, minutes in enumerate((5.0, 10.0)):
        buffer = io.BytesIO()
        weights = model.policy.policy.state_dict()
        torch.save({"minutes": minutes, "steps": 100 * (k + 1), "policy": weights}, buffer)
        storage.write_bytes(f"{SNAPSHOTS}/snapshot-{k}.pt", buffer.getvalue())
    monkeypatch.setattr(generalise, "_official", lambda: list(TRACKS))

    result = evaluate_generalisation(str(run), subset=1, trials=2, seed=3, echo=None)

    assert [point["minutes"] for point in result["curve"]] == [5.0, 10.0]
    # copies without a moving average (a run trained with --policy-average 0): the last races
    assert result["raced"]["policy"] == "last" and result["raced"]["minutes"] == 10.0
    assert "averaged_subset_share" not in result["curve"][0]
    assert result["subset"] == ["slipstream_default"]
    rows = {row["track"]: row for row in result["table"]}
    assert sorted(rows) == TRACKS
    # each row is what a plain evaluation of that track gives with the same seed
    world = evaluation_world(run_training_world(storage), trials=2)
    direct = evaluate_routes(model, world, plan_routes(TrackSet(tuple(TRACKS)), "default"), seed=3)
    for row in direct:
        assert rows[row.track]["mean_completion_pct"] == pytest.approx(row.mean_completion_pct)
        assert rows[row.track]["laps_completed"] == row.laps_completed
    limits = car_limits(car_for_simapp(5))
    for name in TRACKS:
        expected = lap_ceiling(load_track(name), limits).center_speed_mps
        assert rows[name]["ceiling_mps"] == pytest.approx(expected, abs=1e-3)
    assert result["share_reachable_at_2_mps"] == pytest.approx(
        sum(rows[name]["ceiling_mps"] >= 2.0 for name in TRACKS) / len(TRACKS)
    )
    assert set(result["failed"]) <= set(TRACKS)


def test_the_table_races_the_moving_average_of_the_last_copy(tmp_path, monkeypatch):
    import torch

    from slipstream.evaluate.evaluation import evaluation_world, run_training_world
    from slipstream.evaluate.policy_loader import LoadedModel, load_run_model
    from slipstream.model.policy import PolicyActor
    from slipstream.runs import RunStorage

    run = random_run(tmp_path)
    storage = RunStorage(str(run))
    model = load_run_model(str(run))
    first = model.policy.policy.state_dict()
    torch.manual_seed(11)
    noisy = [{k: v + 0.3 * torch.randn_like(v) for k, v in first.items()} for _ in range(4)]
    for k in range(2):
        state = {"minutes": 5.0 * (k + 1), "steps": 100 * (k + 1), "policy": noisy[2 * k]}
        buffer = io.BytesIO()
        torch.save({**state, "policy_average": noisy[2 * k + 1]}, buffer)
        storage.write_bytes(f"{SNAPSHOTS}/snapshot-{k}.pt", buffer.getvalue())
    monkeypatch.setattr(generalise, "_official", lambda: list(TRACKS))

    result = evaluate_generalisation(str(run), subset=2, trials=2, seed=3, echo=None)

    assert result["raced"]["policy"] == "averaged"
    assert (result["raced"]["minutes"], result["raced"]["steps"]) == (10.0, 200)
    world = evaluation_world(run_training_world(storage), trials=2)

    def direct(weights):
        actor = PolicyActor(model.metadata)
        actor.set_weights(weights, 0)
        policy = LoadedModel(model.metadata, actor, "by hand")
        return evaluate_routes(policy, world, plan_routes(TrackSet(tuple(TRACKS))), seed=3)

    # the table is a plain evaluation of the last copy's moving average, not of the copy
    rows = {row["track"]: row for row in result["table"]}
    for row in direct(noisy[3]):
        assert rows[row.track]["mean_completion_pct"] == pytest.approx(row.mean_completion_pct)
        assert rows[row.track]["off_tracks"] == row.off_tracks
    # the curve measures each copy and its average on the subset (here both tracks)
    for point, (copy, mean) in zip(result["curve"], (noisy[0:2], noisy[2:4]), strict=True):
        for key, weights in (("subset_lapped", copy), ("averaged_subset_lapped", mean)):
            laps = [row.laps_completed >= 2 for row in direct(weights)]
            assert point[key] == pytest.approx(sum(laps) / len(laps))


def test_popular_tracks_are_official_track_files(official_tracks_dir):
    from slipstream.evaluate.generalise import POPULAR_TRACKS

    for name in POPULAR_TRACKS:
        assert (official_tracks_dir / f"{name}.npy").is_file(), name


def test_bench_generalise_command_passes_its_options(monkeypatch, capsys, tmp_path):

    from slipstream.cli import main

    seen = {}

    def fake(plan, *, subset, trials, run, echo=None):
        seen.update(plan=plan, subset=subset, trials=trials, run=run)
        return {"benchmark": "generalise", "table": [], "share_lapped_at_2_mps": 0.5}

    monkeypatch.setattr(generalise, "benchmark_generalise", fake)
    reward = tmp_path / "reward.py"
    reward.write_text("def reward_function(params):\n    return 1.0\n")
    args = ["bench", "generalise", "--minutes", "5", "--curve-every", "1", "--reward", str(reward)]
    args += ["--eval-trials", "2", "--hyperparameters", "hp.json"]
    args += ["--policy-average", "2000"]
    rc = main([*args, "--camera-augmentation", "--subset", "4", "--run", str(tmp_path / "r")])
    assert rc == 0
    plan = seen["plan"]
    assert (plan.minutes, plan.curve_every, plan.reward) == (5.0, 1.0, str(reward))
    assert plan.camera_augmentation and (seen["subset"], seen["trials"]) == (4, 3)
    assert plan.policy_average == 2000
    assert plan.eval_trials == 2 and plan.hyperparameters == "hp.json"
    assert seen["run"] == str(tmp_path / "r")
    assert "0.5" in capsys.readouterr().out


def test_bench_without_run_says_where_its_folder_is_kept(monkeypatch, capsys, tmp_path):
    from slipstream.cli import main

    kept = tmp_path / "slipstream-bench-generalise-x"
    (kept / "model").mkdir(parents=True)
    (kept / "model" / "weights.pt").write_bytes(bytes(3_000_000))

    plans = []

    def fake(plan, *, subset, trials, run, echo=None):
        plans.append(plan)
        return {"benchmark": "generalise", "table": [], "run": str(kept)}

    monkeypatch.setattr(generalise, "benchmark_generalise", fake)
    assert main(["bench", "generalise", "--minutes", "1"]) == 0
    # the command's defaults are the plan's: the example's files, no evaluation episodes, the
    # policy's moving average raced
    assert plans == [generalise.GeneralisePlan(minutes=1.0)]
    assert plans[0].policy_average == generalise.POLICY_AVERAGE_STEPS
    err = capsys.readouterr().err
    assert f"kept at {kept} (3 MB)" in err and "--run DIR" in err


def test_the_benchmark_takes_the_examples_any_track_hyperparameters_or_a_file(
    monkeypatch, tmp_path
):
    import dataclasses
    import json

    from slipstream.config import load_custom_files
    from slipstream.config.errors import ConfigError
    from slipstream.examples import example_dir

    seen = []

    class NoTraining:
        def __init__(self, config, echo=None):
            seen.append(config)

        def run(self, on_iteration):
            return []

    monkeypatch.setattr(generalise, "Trainer", NoTraining)
    example = load_custom_files(example_dir("racing")).hyperparameters
    given = tmp_path / "hyperparameters.json"
    given.write_text(json.dumps({"num_epochs": 4, "lr": 0.001}))

    generalise.train_on_generated(generalise.GeneralisePlan(), run=str(tmp_path / "a"), echo=None)
    plan = generalise.GeneralisePlan(hyperparameters=str(given))
    generalise.train_on_generated(plan, run=str(tmp_path / "b"), echo=None)

    # by default the example's hyperparameters for many tracks (its own with 3 epochs) and no
    # evaluation episodes between iterations
    assert seen[0].hyperparameters == dataclasses.replace(example, num_epochs=3)
    assert example.num_epochs == 5
    assert seen[0].eval_episodes == 0
    assert seen[0].policy_average == generalise.POLICY_AVERAGE_STEPS
    assert (seen[1].hyperparameters.num_epochs, seen[1].hyperparameters.lr) == (4, 0.001)
    given.write_text(json.dumps({"num_epochs": 0}))
    with pytest.raises(ConfigError, match="num_epochs"):
        generalise.train_on_generated(plan, run=str(tmp_path / "c"), echo=None)
    assert not (tmp_path / "c").exists()
