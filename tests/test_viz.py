"""`slipstream analyze` and `slipstream dashboard` on a real (short, two-worker) training run."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import urllib.request
from collections import defaultdict

import numpy as np
import pytest
from PIL import Image

from dashboard_server import running_dashboard
from slipstream.cli import main
from slipstream.rollout.trainer import Trainer
from slipstream.viz import format_table, iteration_of, load_run
from slipstream.viz.report import action_shares, section_of
from small_training import small_config

EVAL_TS = "20240101120000"
EVAL_TRIALS = [
    {"completion_percentage": 100, "elapsed_time_in_milliseconds": 14792, "trial": 1,
     "episode_status": "Lap complete"},
    {"completion_percentage": 43, "elapsed_time_in_milliseconds": 6100, "trial": 2,
     "episode_status": "Off track"},
    {"completion_percentage": 100, "elapsed_time_in_milliseconds": 13950, "trial": 3,
     "episode_status": "Lap complete"},
]  # fmt: skip


@pytest.fixture(scope="module")
def run_folder(module_tmp_path):
    run = module_tmp_path / "run"
    cfg = small_config(run, 4, iterations=2, workers=2, eval_episodes=2)
    Trainer(cfg, echo=None).run()
    (run / "metrics" / f"EvaluationMetrics-{EVAL_TS}.json").write_text(
        json.dumps({"metrics": EVAL_TRIALS})
    )
    return run


def expected_iterations(run) -> dict[int, dict[str, dict[str, float]]]:
    """Per-iteration means worked out straight from the JSON files, all workers together."""
    files = {0: "TrainingMetrics.json", 1: "TrainingMetrics_1.json"}
    entries = {
        w: json.loads((run / "metrics" / f).read_text())["metrics"] for w, f in files.items()
    }
    per_iteration = max(e["trial"] for e in entries[0] if e["phase"] == "training")
    groups = defaultdict(lambda: defaultdict(list))
    for rows in entries.values():
        for e in rows:
            groups[(e["episode"] - 1) // per_iteration][e["phase"]].append(e)
    out = {}
    for it, phases in groups.items():
        out[it] = {}
        for phase, rows in phases.items():
            out[it][phase] = {
                "episodes": len(rows),
                "completion": sum(r["completion_percentage"] for r in rows) / len(rows),
                "reward": sum(r["reward_score"] for r in rows) / len(rows),
                "laps": sum(r["episode_status"] == "Lap complete" for r in rows) / len(rows),
            }
    return out


def test_iteration_is_episode_minus_one_floor_divided_by_episodes_per_iteration():
    assert iteration_of(np.arange(1, 9), 4).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    # deepracer-utils sample: 20 episodes per iteration, evaluation rows carry episode 20
    assert iteration_of(np.array([19, 20, 20, 21]), 20).tolist() == [0, 0, 0, 1]


def test_summary_matches_the_metrics_files(run_folder):
    data = load_run(str(run_folder))
    assert data.num_workers == 2
    assert data.world_name == "slipstream_oval"
    expected = expected_iterations(run_folder)
    assert [s.iteration for s in data.iterations] == sorted(expected)
    for s in data.iterations:
        for phase in ("training", "evaluation"):
            got, want = getattr(s, phase), expected[s.iteration].get(phase)
            if want is None:
                assert got.episodes == 0 and math.isnan(got.completion)
                continue
            assert got.episodes == want["episodes"]
            assert got.completion == pytest.approx(want["completion"])
            assert got.reward == pytest.approx(want["reward"])
            assert got.laps == pytest.approx(want["laps"])
        assert sum(s.status_counts.values()) == expected[s.iteration]["training"]["episodes"]
    # training episodes of both workers: 4 per iteration, 2 iterations
    assert sum(s.training.episodes for s in data.iterations) == 8
    # the last simtrace iteration holds both workers' cars
    assert data.simtrace_iteration == 1
    assert set(data.simtrace["worker"]) == {0, 1}
    (ev,) = data.evaluations
    assert ev.timestamp == EVAL_TS
    assert ev.time_s.tolist() == [14.792, 6.1, 13.95]


def test_analyze_writes_pngs_and_prints_the_table(run_folder, tmp_path, capsys):
    out = tmp_path / "plots"
    assert main(["analyze", str(run_folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir() if p.suffix == ".png")
    assert names == sorted(
        f"{n}.png"
        for n in (
            "training_progress",
            "evaluation_progress",
            "episode_status",
            "track_paths",
            "evaluation_runs",
        )
    )
    for path in out.glob("*.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            assert 600 <= img.width <= 2000 and 300 <= img.height <= 1500
        assert path.stat().st_size > 10_000
    # one table line per iteration, its numbers as computed from the JSON files
    for it, phases in expected_iterations(run_folder).items():
        t = phases["training"]
        start = f"{it:>4} {t['episodes']:>8} {t['completion']:>9.1f} {t['reward']:>9.1f}"
        assert any(line.startswith(start) for line in printed.splitlines()), start
    assert "evaluation 20240101120000: 3 trial(s)" in printed
    assert "best lap 13.950 s" in printed
    # default destination: RUN/analysis/
    assert main(["analyze", str(run_folder)]) == 0
    assert (run_folder / "analysis" / "track_paths.png").exists()


def test_analyze_writes_a_self_contained_html_report(run_folder, tmp_path):
    out = tmp_path / "report"
    assert main(["analyze", str(run_folder), "--out", str(out)]) == 0
    text = (out / "report.html").read_text()
    # nothing fetched from elsewhere: every figure is inline PNG data
    assert re.findall(r"(?:src|href)=['\"](?!data:)", text) == []
    images = re.findall(r"src='data:image/png;base64,([^']+)'", text)
    assert len(images) >= 7
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as img:
            img.verify()
    for heading in (
        "Training per iteration",
        "Lap times",
        "Track: reward heat map and fastest laps",
        "Action use per track section",
        "Evaluation laps coloured by speed",
    ):
        assert f"<h2>{heading}" in text
    assert format_table(load_run(str(run_folder)).iterations) in html.unescape(text)
    assert "def reward_function" in html.unescape(text)


def test_track_sections_and_action_shares_by_hand():
    wp = np.array([0, 9, 10, 55, 99, 150, -3])
    assert section_of(wp, 100).tolist() == [0, 0, 1, 5, 9, 9, 0]
    assert section_of(np.array([0, 1, 2, 3]), 4, sections=2).tolist() == [0, 0, 1, 1]
    sections = np.array([0, 0, 0, 1, 1, 3])
    actions = np.array([2, 2, 0, 0, 1, 1])
    shares = action_shares(sections, actions, [0, 1, 2], sections=4)
    np.testing.assert_allclose(
        shares,
        [[100 / 3, 50, 0, 0], [0, 50, 0, 100], [200 / 3, 0, 0, 0]],
    )


def test_analyze_says_what_is_missing(tmp_path, capsys):
    assert main(["analyze", str(tmp_path)]) == 2
    assert "TrainingMetrics.json does not exist" in capsys.readouterr().err


def test_dashboard_snapshot_matches_the_metrics_files(run_folder):
    with running_dashboard([run_folder]) as (base, _, _):
        with urllib.request.urlopen(base + "/", timeout=30) as r:
            page = r.read().decode()
        assert "static/plotly.min.js" in page and "chart-progress" in page
        with urllib.request.urlopen(base + "/static/plotly.min.js", timeout=30) as r:
            assert r.headers["Content-Type"].startswith("text/javascript")
            assert len(r.read()) > 1_000_000  # the real library, from the plotly package
        with urllib.request.urlopen(base + "/api/snapshot", timeout=30) as r:
            (snap,) = json.loads(r.read())["runs"]
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(base + "/nothing", timeout=30)
        assert missing.value.code == 404
    files = {0: "TrainingMetrics.json", 1: "TrainingMetrics_1.json"}
    for w, name in files.items():
        rows = json.loads((run_folder / "metrics" / name).read_text())["metrics"]
        per_iteration = snap["episodes_per_iteration"]
        series = snap["workers"][str(w)]
        for k, it in enumerate(series["iteration"]):
            mine = [
                e
                for e in rows
                if e["phase"] == "training" and (e["episode"] - 1) // per_iteration == it
            ]
            assert series["reward"][k] == pytest.approx(
                sum(e["reward_score"] for e in mine) / len(mine)
            )
            assert series["progress"][k] == pytest.approx(
                sum(e["completion_percentage"] for e in mine) / len(mine)
            )
    # the trainer's per-iteration record: one line per iteration, the learner's speed
    records = [
        json.loads(line)
        for line in (run_folder / "logs" / "iterations.jsonl").read_text().splitlines()
    ]
    assert [r["iteration"] for r in records] == [0, 1]
    assert snap["speed"]["iteration"] == [0, 1]
    assert snap["speed"]["rollout_steps_per_second"] == pytest.approx(
        [r["rollout_steps_per_second"] for r in records], rel=1e-4
    )
    assert snap["learner"]["iteration"] == [0, 1]
    for r in records:
        assert set(r["workers"]) == {"0", "1"}
        assert r["samples"] > 0 and r["surrogate_loss"] is not None
    # per-worker means in the record agree with the metrics file (rounded there)
    rows0 = json.loads((run_folder / "metrics" / files[0]).read_text())["metrics"]
    first = [e for e in rows0 if e["phase"] == "training"][:2]
    assert records[0]["workers"]["0"]["mean_reward"] == pytest.approx(
        sum(e["reward_score"] for e in first) / 2, abs=0.5
    )


def test_analyze_counts_continuous_laps_and_draws_a_given_track(tmp_path, capsys):
    # a DRfC-style folder without training_params.yaml: metrics as DeepRacer writes them
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    training = [
        {
            "reward_score": 10,
            "metric_time": 2000 * k + 1500,
            "start_time": 2000 * k,
            "elapsed_time_in_milliseconds": 1500,
            "episode": k + 1,
            "trial": k + 1,
            "phase": "training",
            "completion_percentage": 20,
            "episode_status": "Off track",
        }
        for k in range(2)
    ]
    (metrics / "TrainingMetrics.json").write_text(
        json.dumps({"metrics": training, "version": 2.0, "best_model_metric": "progress"})
    )
    # a continuous evaluation of 3 laps: the first two are "In progress" at 100 %
    laps = [
        {
            "completion_percentage": 100,
            "metric_time": 15000 * (k + 1),
            "start_time": 15000 * k,
            "elapsed_time_in_milliseconds": 15000,
            "episode_status": status,
            "crash_count": 0,
            "immobilized_count": 0,
            "off_track_count": 0,
            "reversed_count": 0,
            "reset_count": 0,
            "trial": k + 1,
        }
        for k, status in enumerate(["In progress", "In progress", "Lap complete"])
    ]
    (metrics / "EvaluationMetrics-20260101120000.json").write_text(json.dumps({"metrics": laps}))
    assert main(["analyze", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "track ?" in out and "3 lap(s), best lap 15.000 s" in out
    assert main(["analyze", str(tmp_path), "--track", "slipstream_oval"]) == 0
    assert "track slipstream_oval" in capsys.readouterr().out
    assert load_run(str(tmp_path), track="slipstream_oval").world_name == "slipstream_oval"
