"""Evaluation across tracks (`slipstream evaluate RUN --tracks SET`): the batched table's numbers
against per-track evaluations, both directions, bad sets, and the summary's shares by hand."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from slipstream.cli import main
from slipstream.evaluate import (
    LoadedModel,
    evaluate_model,
    evaluate_routes,
    evaluate_run,
    evaluation_world,
    plan_routes,
)
from slipstream.evaluate.episodes import TrialRecord
from slipstream.evaluate.track_evaluation import run_routes
from slipstream.evaluate.tracks_table import (
    COLUMNS,
    RouteRow,
    TracksTable,
    route_row,
    summarize_routes,
    summary_lines,
    table_csv,
)
from slipstream.sim.controllers import pure_pursuit_steering
from slipstream.tracks import load_track
from slipstream.tracks.track_set import parse_track_set
from test_evaluate import SCRIPTED  # the scripted drivers' continuous metadata

BUILTIN = ("slipstream_default", "slipstream_oval", "slipstream_technical")
GENERATED = "generated:5"  # 15.5 m


class TrackFollower:
    """Scripted policy: pure pursuit of the centre line of each car's own track slot.

    `camera_speed`: the speed follows the brightness of the car's camera frame (1-3 m/s) instead
    of `speed`, so with ENABLE_DOMAIN_RANDOMIZATION (colours drawn from each car's seed) the
    trials of a route differ, and only the right seed reproduces a trial."""

    def __init__(self, speed: float = 1.5, camera_speed: bool = False) -> None:
        self.speed, self.camera_speed = speed, camera_speed

    def attach(self, core, cars):
        self.core, self.cars = core, cars

    def act(self, obs, deterministic=True):
        assert deterministic
        sim = self.core.sim
        steer = np.zeros(sim.num_cars)
        slots = sim.current.track
        for slot in np.unique(slots).tolist():
            rows = slots == slot
            each = pure_pursuit_steering(sim.slots[slot], sim.state, sim.reverse, lookahead=0.6)
            steer[rows] = each[rows]
        speed = np.full(len(self.cars), self.speed)
        if self.camera_speed:
            frames = np.asarray(obs["FRONT_FACING_CAMERA"], dtype=np.float64)[self.cars]
            speed = 1.0 + 2.0 * frames.mean(axis=(1, 2, 3)) / 255.0
        return np.column_stack([steer[self.cars], speed])


def scripted_model(speed: float = 1.5, camera_speed: bool = False) -> LoadedModel:
    return LoadedModel(SCRIPTED, TrackFollower(speed, camera_speed), "scripted")


def per_track_row(
    name, reverse, trials, seed, speed=1.5, camera_speed=False, sets=()
) -> tuple[RouteRow, list[TrialRecord]]:
    """The row and records a per-track evaluation of one route gives (its own one-track core)."""
    world = evaluation_world({}, list(sets), trials=trials, reverse=reverse)
    model = scripted_model(speed, camera_speed)
    result = evaluate_model(model, world, seed=seed, track=name)
    direction = "reversed" if reverse else "default"
    return route_row(name, direction, load_track(name).length, result.records), result.records


# ------------------------------------------------------------------------------ the table


def test_table_rows_equal_per_track_evaluations_in_both_directions() -> None:
    names = ",".join([*BUILTIN, GENERATED])
    routes = plan_routes(parse_track_set(names), "both")
    assert [(r.name, r.reverse) for r in routes] == [
        (n, rev) for n in [*BUILTIN, GENERATED] for rev in (False, True)
    ]
    world = evaluation_world({}, trials=2)
    # 3 routes per core: batches mix tracks and directions, and split a track's two directions
    rows = evaluate_routes(scripted_model(2.0), world, routes, seed=5, routes_per_core=3)
    assert [(r.track, r.direction) for r in rows] == [
        (r.name, "reversed" if r.reverse else "default") for r in routes
    ]
    for route, row in zip(routes, rows, strict=True):
        expected, _ = per_track_row(route.name, route.reverse, trials=2, seed=5, speed=2.0)
        assert row == expected, route
    # both directions of a track: the same road, reversed rows of their own
    for default, reverse in zip(rows[::2], rows[1::2], strict=True):
        assert (default.track, default.direction) == (reverse.track, "default")
        assert reverse.direction == "reversed" and reverse.length_m == default.length_m
    # at 2 m/s the follower laps some routes and leaves the road on others
    assert sum(r.laps_completed for r in rows) > 0 and sum(r.off_tracks for r in rows) > 0


def test_batched_records_are_the_per_track_records_trial_by_trial_seed() -> None:
    """Record by record (lap times, counts, trial clocks), one core of four routes, with trials
    that differ by seed: car k of every route is seeded seed + k, as in a per-track run."""
    sets = ["ENABLE_DOMAIN_RANDOMIZATION=True"]
    routes = plan_routes(parse_track_set("slipstream_oval,generated:5"), "both")
    world = evaluation_world({}, sets, trials=3)
    got = run_routes(scripted_model(camera_speed=True), world, routes, trials=3, seed=11)
    for route, records in zip(routes, got, strict=True):
        _, expected = per_track_row(
            route.name, route.reverse, trials=3, seed=11, camera_speed=True, sets=sets
        )
        assert records == expected
        assert [r.trial for r in records] == [1, 2, 3]
    # the seeds matter: trials of one route differ, and another seed gives other records
    assert any(len({(r.steps, r.progress) for r in records}) > 1 for records in got)
    _, other = per_track_row(routes[0].name, False, trials=3, seed=12, camera_speed=True, sets=sets)
    assert other != got[0]


# ------------------------------------------------------------------------------ a real run


def random_run(root: Path) -> Path:
    """A run folder whose checkpoint is an untrained camera policy (heads scaled up, so its
    actions are far from ties), with a training metrics file for `analyze`."""
    import torch

    from slipstream.config import load_model_metadata
    from slipstream.model.policy import build_policy
    from slipstream.runs import (
        CheckpointIndex,
        RunLayout,
        RunStorage,
        save_checkpoint,
        write_run_inputs,
    )

    md = load_model_metadata(None)
    torch.manual_seed(7)
    policy = build_policy(md).eval()
    with torch.no_grad():
        policy.head.weight.mul_(20.0)
    run = root / "run"
    storage = RunStorage(str(run))
    write_run_inputs(
        RunLayout(storage),
        md.to_json_dict(),
        json.dumps({"batch_size": 64}, indent=2, sort_keys=True),
        "def reward_function(params):\n    return 1.0\n",
        {"WORLD_NAME": "slipstream_oval", "RACE_TYPE": "TIME_TRIAL"},
    )
    name = save_checkpoint(storage, {"policy": policy.state_dict()}, 0, 0)
    CheckpointIndex(storage).update(name, 1.0, time_stamp=100.0)
    training = [
        {
            "reward_score": 10, "metric_time": 2000 * k + 1500, "start_time": 2000 * k,
            "elapsed_time_in_milliseconds": 1500, "episode": k + 1, "trial": k + 1,
            "phase": "training", "completion_percentage": 20, "episode_status": "Off track",
        }
        for k in range(2)
    ]  # fmt: skip
    storage.write_text(
        "metrics/TrainingMetrics.json",
        json.dumps({"metrics": training, "version": 2.0, "best_model_metric": "progress"}),
    )
    return run


@pytest.fixture(scope="module")
def run_folder(module_tmp_path) -> Path:
    return random_run(module_tmp_path)


def test_cli_table_equals_per_track_evaluate_run(run_folder, tmp_path, capsys) -> None:
    run = run_folder
    # world keys pass through (--set); the trials' seeding is checked record by record above
    flags = ["--trials", "2", "--seed", "3", "--max-steps", "300"]
    sets = ["--set", "ENABLE_DOMAIN_RANDOMIZATION=True"]
    tracks = ["--tracks", "slipstream_oval", GENERATED, "--directions", "both"]
    rc = main(["evaluate", str(run), *tracks, *flags, *sets])
    assert rc == 0
    out = capsys.readouterr().out
    (json_file,) = sorted((run / "evaluation").glob("tracks-*.json"))
    (csv_file,) = sorted((run / "evaluation").glob("tracks-*.csv"))
    table = TracksTable.from_json(json.loads(json_file.read_text()))
    assert table.track_set == f"slipstream_oval,{GENERATED}" and table.directions == "both"
    assert (table.trials, table.seed, table.race_type) == (2, 3, "TIME_TRIAL")
    assert [(r.track, r.direction) for r in table.rows] == [
        (n, d) for n in ("slipstream_oval", GENERATED) for d in ("default", "reversed")
    ]
    with open(csv_file, newline="") as f:
        lines = list(csv.DictReader(f))
    assert tuple(lines[0]) == COLUMNS and len(lines) == len(table.rows)
    assert csv_file.read_text() == table_csv(table.rows)
    for line in summary_lines(table.rows):
        assert line in out
    assert "route(s) in" in out and str(csv_file) in out

    # two routes against per-track runs (each loads the model and builds a texture: seconds);
    # every route is compared with the scripted driver above
    for row in (table.rows[0], table.rows[3]):
        reverse = row.direction == "reversed"
        result = evaluate_run(
            str(run), track=row.track, trials=2, seed=3, reverse=reverse, max_steps=300,
            sets=["ENABLE_DOMAIN_RANDOMIZATION=True"], echo=None,
        )  # fmt: skip
        expected = route_row(row.track, row.direction, load_track(row.track).length, result.records)
        assert row == expected, row

    # analyze prints the latest table; the HTML report shows it
    capsys.readouterr()
    assert main(["analyze", str(run), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert f"evaluation across tracks {table.timestamp}" in printed
    assert summary_lines(table.rows)[0] in printed
    report = (tmp_path / "out" / "report.html").read_text()
    assert "<h2>Evaluation across tracks</h2>" in report
    assert report.count("<tr>") == len(table.rows) + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tracks", "generated"], "generated:0"),
        (["--tracks", "builtin,generated"], "name generated tracks by seed"),
        (["--tracks", "slipstream_ovl"], "Did you mean: slipstream_oval"),
        (["--tracks", "zz_*"], "matches no track name"),
        (["--tracks", "builtin", "--race-type", "OBJECT_AVOIDANCE"], "TIME_TRIAL trials"),
        (["--tracks", "builtin", "--set", "IS_CONTINUOUS=True"], "--continuous"),
        (["--tracks", "builtin", "--continuous"], "cannot be combined with --continuous"),
        (["--tracks", "builtin", "--track", "slipstream_oval"], "cannot be combined with --track"),
        (["--directions", "both"], "--directions goes with --tracks"),
    ],
)
def test_bad_sets_fail_clearly_and_write_nothing(run_folder, capsys, args, message) -> None:
    before = sorted(p.relative_to(run_folder) for p in run_folder.rglob("*"))
    assert main(["evaluate", str(run_folder), *args]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.relative_to(run_folder) for p in run_folder.rglob("*")) == before


# ------------------------------------------------------------------------------ by hand


def record(progress, status, start, end, trial=1) -> TrialRecord:
    return TrialRecord(trial, progress, status, start, end, steps=1, total_reward=0.0)


def test_route_row_by_hand() -> None:
    records = [
        record(100.0, "lap_complete", 0.0, 10.0),
        record(37.5, "off_track", 10.001, 14.0),
        record(100.0, "lap_complete", 14.0, 26.0),
    ]
    row = route_row("t", "default", 22.0, records)
    assert (row.trials, row.laps_completed, row.off_tracks) == (3, 2, 1)
    assert row.mean_completion_pct == pytest.approx((100 + 37.5 + 100) / 3)
    assert row.mean_lap_time_s == pytest.approx(11.0)
    assert row.best_lap_time_s == pytest.approx(10.0)
    assert row.mean_lap_speed_mps == pytest.approx(2.0)
    none = route_row("t", "reversed", 22.0, [record(12.0, "off_track", 0.0, 2.0)])
    assert (none.mean_lap_time_s, none.best_lap_time_s, none.mean_lap_speed_mps) == (None,) * 3
    with pytest.raises(ValueError, match="direction"):
        route_row("t", "backwards", 22.0, records)


def made_row(track, laps, speed, direction="default", trials=3) -> RouteRow:
    lap = None if speed is None else 20.0 / speed
    return RouteRow(track, direction, 20.0, trials, laps, 50.0, lap, lap, speed, trials - laps)


def test_summary_shares_by_hand() -> None:
    rows = [
        made_row("a", 3, 2.5),  # lapped, fast
        made_row("b", 2, 1.9),  # lapped, slow
        made_row("c", 2, 2.0),  # lapped, exactly at the speed
        made_row("d", 1, 3.0),  # one lap only: not lapped however fast
        made_row("e", 0, None),
    ]
    s = summarize_routes(rows)
    assert (s.routes, s.lapped, s.lapped_fast) == (5, 3, 2)
    assert (s.share_lapped, s.share_fast) == (0.6, 0.4)
    strict = summarize_routes(rows, min_laps=3, min_speed_mps=1.0)
    assert (strict.lapped, strict.lapped_fast) == (1, 1)
    loose = summarize_routes(rows, min_laps=1, min_speed_mps=2.6)
    assert (loose.lapped, loose.lapped_fast) == (4, 1)
    assert summarize_routes([]).share_lapped == 0.0
    assert s.line().startswith("lapped (>= 2 laps): 3/5 routes (60.0 %)")
    # both directions: a line for all routes, then one per direction
    both = [*rows, made_row("a", 0, None, "reversed"), made_row("b", 3, 2.1, "reversed")]
    lines = summary_lines(both)
    assert len(lines) == 3
    assert "4/7 routes" in lines[0] and "3/5 default routes" in lines[1]
    assert "1/2 reversed routes" in lines[2]


def test_table_json_round_trip() -> None:
    rows = (made_row("a", 3, 2.5), made_row("e", 0, None, "reversed"))
    table = TracksTable("20260101120000", "scripted", "a,e", "both", 3, 0, "TIME_TRIAL", rows, 1.5)
    doc = json.loads(json.dumps(table.to_json()))
    assert TracksTable.from_json(doc) == table
    assert doc["summary"]["share_lapped"] == 0.5
    assert math.isclose(doc["rows"][0]["mean_lap_speed_mps"], 2.5)
    with pytest.raises(ValueError, match="not a track evaluation table"):
        TracksTable.from_json({"metrics": []})
