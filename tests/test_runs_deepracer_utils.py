"""A synthetic run written with slipstream.runs opens in deepracer-utils as a DRfC model folder."""

from __future__ import annotations

import io
import json
import math
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("deepracer.logs")
from deepracer.logs import (
    DeepRacerLog,
    FSFileHandler,
    LogFolderType,
    SimulationLogsIO,
    TrainingMetrics,
)

from slipstream.runs import (
    EvaluationMetricsWriter,
    RunLayout,
    RunLogger,
    RunStorage,
    SimtraceWriter,
    TrainingMetricsWriter,
    append_simtrace,
    write_run_inputs,
)

TRACK_LEN = 17.71
EPISODES_PER_ITERATION = 5
MODEL_METADATA = {
    "action_space": [
        {"steering_angle": -30, "speed": 0.6},
        {"steering_angle": 0, "speed": 0.6},
        {"steering_angle": 30, "speed": 0.6},
    ],
    "sensor": ["FRONT_FACING_CAMERA"],
    "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "training_algorithm": "clipped_ppo",
    "action_space_type": "discrete",
    "version": "5",
}
HYPERPARAMETERS = {
    "batch_size": 64,
    "beta_entropy": 0.01,
    "discount_factor": 0.99,
    "e_greedy_value": 0.05,
    "epsilon_steps": 10000,
    "exploration_type": "categorical",
    "loss_type": "huber",
    "lr": 0.0003,
    "num_episodes_between_training": EPISODES_PER_ITERATION,
    "num_epochs": 5,
    "stack_size": 1,
    "term_cond_avg_score": 350.0,
    "term_cond_max_episodes": 1000,
}


def episode_columns(episode: int, seed: int, sim_start: float, continuous: bool = False):
    """Steps of one synthetic episode; returns (columns, final progress, status, n_steps)."""
    n = 4 + seed % 4
    complete = seed % 3 == 0
    final_progress = 100.0 if complete else 11.0 * (1 + seed % 7)
    steps = np.arange(1, n + 1)
    progress = final_progress * steps / n
    angle = 2 * math.pi * progress / 100.0
    status = np.array(["in_progress"] * n, dtype=object)
    status[-1] = "lap_complete" if complete else "off_track"
    done = np.zeros(n, dtype=bool)
    done[-1] = True
    action = (
        np.stack([np.linspace(-20.0, 20.0, n), np.full(n, 1.25)], axis=1)
        if continuous
        else (steps + seed) % 3
    )
    columns = {
        "episode": np.full(n, episode),
        "steps": steps,
        "X": 2.0 * np.cos(angle),
        "Y": 2.0 * np.sin(angle),
        "yaw": np.degrees(angle) + 90.0,
        "steer": np.where(steps % 2 == 0, 15.0, -15.0),
        "throttle": np.full(n, 0.6),
        "action": action,
        "reward": np.full(n, 0.5) + 0.01 * seed,
        "done": done,
        "all_wheels_on_track": ~done | complete,
        "progress": progress,
        "closest_waypoint": (steps * 3) % 118,
        "track_len": TRACK_LEN,
        "tstamp": sim_start + steps / 15.0,
        "episode_status": status,
        "pause_duration": 0.0,
        "obstacle_crash_counter": 0,
        "wall_clock": 1.7e9 + sim_start + steps * 0.01,
    }
    return columns, final_progress, str(status[-1]), n


def episodes_of_worker(worker: int, num_workers: int) -> int:
    """DeepRacer's split of an iteration's episodes over workers (docs/deepracer.md 8.3)."""
    base, extra = divmod(EPISODES_PER_ITERATION, num_workers)
    return base + (1 if worker < extra else 0)


def write_synthetic_run(root: str, num_workers: int, iterations: int = 2) -> dict:
    """Writes inputs, simtraces, training metrics, one evaluation and logs; returns expectations."""
    storage = RunStorage(root)
    layout = RunLayout(storage, num_workers)
    write_run_inputs(
        layout,
        MODEL_METADATA,
        json.dumps(HYPERPARAMETERS, indent=2, sort_keys=True),
        "def reward_function(params):\n    return 1.0\n",
        {
            "WORLD_NAME": "reInvent2019_track",
            "RACE_TYPE": "TIME_TRIAL",
            "NUM_WORKERS": str(num_workers),
        },
    )
    simtraces = SimtraceWriter(layout)
    metrics = [
        TrainingMetricsWriter(storage, layout.training_metrics(w), "progress")
        for w in range(num_workers)
    ]
    expected = {}  # (worker, simtrace episode) -> (iteration, final progress, status, n)
    logger = RunLogger(layout)
    logger.startup(MODEL_METADATA, HYPERPARAMETERS)
    sim_clock = [0.0] * num_workers
    total_steps = 0
    for iteration in range(iterations):
        for w in range(num_workers):
            per_worker = episodes_of_worker(w, num_workers)
            for k in range(per_worker):
                episode = iteration * per_worker + k
                seed = 7 * w + episode
                cols, final, status, n = episode_columns(episode, seed, sim_clock[w])
                simtraces.add(cols, iteration=iteration, worker=w)
                logger.sim_trace(cols)
                total_steps += n
                logger.training_episode(w, episode, float(cols["reward"].sum()), total_steps, 0)
                metrics[w].add_episode(
                    episode=episode + 1,
                    trial=k + 1,
                    total_reward=float(cols["reward"].sum()),
                    progress=final,
                    status=status,
                    start_time_s=sim_clock[w],
                    end_time_s=sim_clock[w] + n / 15.0,
                )
                sim_clock[w] += n / 15.0 + 0.5
                expected[(w, episode)] = (iteration, final, status, n)
        # two in-training evaluation episodes on worker 0 (they keep the last episode/trial)
        last = metrics[0].entries[-1]
        metrics[0].add_episodes(
            episode=last["episode"],
            trial=last["trial"],
            total_reward=[3.0, 4.0],
            progress=[40.0, 100.0],
            status=["off_track", "lap_complete"],
            start_time_s=[sim_clock[0], sim_clock[0] + 10],
            end_time_s=[sim_clock[0] + 5, sim_clock[0] + 20],
            phase="evaluation",
        )
        sim_clock[0] += 21
        written = simtraces.write_iteration(iteration)
        assert len(written) == num_workers
    logger.close()

    stamp = layout.new_evaluation_timestamp(datetime(2024, 1, 2, 3, 4, 5))
    eval_metrics = EvaluationMetricsWriter(storage, layout.evaluation_metrics(stamp))
    t = 0.0
    for trial in range(3):
        cols, final, status, n = episode_columns(trial, 2 * trial, t)
        append_simtrace(storage, layout.evaluation_simtrace(stamp), cols)
        eval_metrics.add_trial(
            trial=trial + 1, progress=final, status=status, start_time_s=t, end_time_s=t + n / 15
        )
        t += n / 15 + 1
    return {"episodes": expected, "stamp": stamp, "layout": layout}


def _check_training_trace(folder: Path, num_workers: int, expected: dict) -> None:
    log = DeepRacerLog(model_folder=str(folder), filehandler=FSFileHandler(str(folder)))
    assert log.fh.type == (
        LogFolderType.DRFC_MODEL_SINGLE_WORKERS
        if num_workers == 1
        else LogFolderType.DRFC_MODEL_MULTIPLE_WORKERS
    )
    log.load_training_trace()
    df = log.dataframe()
    assert len(df) == sum(n for (_, _, _, n) in expected.values())
    for column in ("x", "y", "steering_angle", "speed", "on_track", "episode_status", "wall_clock"):
        assert column in df.columns
    assert set(df["worker"]) == set(range(num_workers))
    assert sorted(df["iteration"].unique()) == [0, 1]
    # DeepRacer's global episode numbering: every (worker, episode) maps to one unique episode
    assert sorted(df["unique_episode"].unique()) == list(range(2 * EPISODES_PER_ITERATION))
    ends = df[df["done"]]
    assert len(ends) == len(expected)
    for _, row in ends.iterrows():
        iteration, final, status, n = expected[(int(row["worker"]), int(row["episode"]))]
        assert row["iteration"] == iteration
        assert row["progress"] == pytest.approx(final)
        assert row["episode_status"] == status
        assert row["steps"] == n
        assert row["track_len"] == pytest.approx(TRACK_LEN)
    assert df["action"].between(0, 2).all()
    # metadata came from model/model_metadata.json and ip/hyperparameters.json
    assert log.hyperparameters()["num_episodes_between_training"] == EPISODES_PER_ITERATION
    assert log.action_space() == MODEL_METADATA["action_space"]
    assert log.agent_and_network()["network"] == "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"


def _check_metrics(folder: Path, num_workers: int, expected: dict) -> None:
    tm = TrainingMetrics(None, fname=str(folder / "metrics" / "TrainingMetrics.json"))
    for w in range(1, num_workers):
        tm.addRound(
            None,
            fname=str(folder / "metrics" / f"TrainingMetrics_{w}.json"),
            training_round=1,
            worker=w,
        )
    m = tm.metrics
    training = tm.getTraining()
    assert len(training) == len(expected)
    assert len(tm.getEvaluation()) == 4
    worker0 = training[training["worker"] == 0].sort_values("episode")
    per0 = episodes_of_worker(0, num_workers)
    assert list(worker0["episode"]) == list(range(1, 2 * per0 + 1))
    assert list(worker0["iteration"]) == [e // per0 for e in range(2 * per0)]
    for _, row in training.iterrows():
        _, final, status, n = expected[(int(row["worker"]), int(row["episode"]) - 1)]
        assert row["completion"] == int(final)
        assert row["complete"] == (1 if status == "lap_complete" else 0)
        assert row["time"] == pytest.approx(round(n / 15 * 1000) / 1000, abs=2e-3)
    evaluation = tm.getEvaluation()
    assert list(evaluation["completion"]) == [40, 100, 40, 100]
    assert list(evaluation["complete"]) == [0, 1, 0, 1]
    assert set(m["round"]) == {1}


@pytest.mark.parametrize("num_workers", [1, 3])
def test_local_run_loads_in_deepracer_utils(tmp_path: Path, num_workers: int) -> None:
    run = write_synthetic_run(str(tmp_path / "run"), num_workers)
    folder = tmp_path / "run"
    if num_workers == 1:
        assert (folder / "training-simtrace" / "0-iteration.csv").is_file()
        assert (folder / "training-simtrace" / "1-iteration.csv").is_file()
    else:
        for w in range(num_workers):
            assert (folder / str(w) / "training-simtrace" / "1-iteration.csv").is_file()
    _check_training_trace(folder, num_workers, run["episodes"])
    _check_metrics(folder, num_workers, run["episodes"])
    assert run["layout"].next_iteration_index() == 2


def test_evaluation_folder_loads(tmp_path: Path) -> None:
    run = write_synthetic_run(str(tmp_path / "run"), 1)
    stamp = run["stamp"]
    assert stamp == "20240102030405"
    folder = tmp_path / "run"
    log = DeepRacerLog(model_folder=str(folder), filehandler=FSFileHandler(str(folder)))
    log.load_evaluation_trace()
    df = log.dataframe()
    assert set(df["stream"]) == {stamp}
    assert sorted(df["episode"].unique()) == [0, 1, 2]
    ends = df[df["done"]].sort_values("episode")
    expected = [episode_columns(t, 2 * t, 0.0) for t in range(3)]
    assert list(ends["progress"]) == pytest.approx([e[1] for e in expected])
    assert list(ends["episode_status"]) == [e[2] for e in expected]
    assert len(df) == sum(e[3] for e in expected)
    doc = json.loads((folder / "metrics" / f"EvaluationMetrics-{stamp}.json").read_text())
    assert [m["trial"] for m in doc["metrics"]] == [1, 2, 3]
    assert [m["episode_status"] for m in doc["metrics"]] == [
        "Lap complete",
        "Off track",
        "Off track",
    ]
    assert [m["completion_percentage"] for m in doc["metrics"]] == [100, 33, 55]


def test_memory_run_has_the_same_files_and_loads(tmp_path: Path) -> None:
    root = f"memory://slipstream-test-{uuid.uuid4().hex}/run"
    run = write_synthetic_run(root, 3)
    storage = run["layout"].storage
    local = tmp_path / "copy"
    # copy the object-store run to disk byte for byte, then open it with deepracer-utils
    for key in storage.find():
        target = local / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(storage.read_bytes(key))
    reference = tmp_path / "reference"
    write_synthetic_run(str(reference), 3)
    local_files = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    reference_files = sorted(
        str(p.relative_to(reference)) for p in reference.rglob("*") if p.is_file()
    )
    assert local_files == reference_files
    for rel in reference_files:
        assert (local / rel).read_bytes() == (reference / rel).read_bytes(), rel
    _check_training_trace(local, 3, run["episodes"])
    _check_metrics(local, 3, run["episodes"])
    storage.fs.rm(storage.path(), recursive=True)


def test_robomaker_log_parses_in_deepracer_utils(tmp_path: Path) -> None:
    run = write_synthetic_run(str(tmp_path / "run"), 1)
    log_path = tmp_path / "run" / run["layout"].robomaker_log
    text = log_path.read_text()
    data = SimulationLogsIO.load_buffer(io.StringIO(text))
    df = SimulationLogsIO.convert_to_pandas(data, episodes_per_iteration=EPISODES_PER_ITERATION)
    assert len(df) == sum(n for (_, _, _, n) in run["episodes"].values())
    assert set(df["episode_status"]) == {"in_progress", "off_track", "lap_complete"}

    class LogOnly(FSFileHandler):
        """A console-style handler pointed at the robomaker log (public FileHandler API)."""

        def determine_root_folder_type(self):
            self.type = LogFolderType.CONSOLE_MODEL_WITH_LOGS
            self.training_robomaker_log_path = str(log_path)
            return self.type

    log = DeepRacerLog(filehandler=LogOnly(str(tmp_path / "run")))
    log.load_robomaker_logs()
    assert log.hyperparameters() == HYPERPARAMETERS
    assert log.action_space() == MODEL_METADATA["action_space"]
    assert log.agent_and_network()["sensor_list"] == ["FRONT_FACING_CAMERA"]
    assert log.agent_and_network()["simapp_version"] == "5.0"
    assert len(log.dataframe()) == len(df)
