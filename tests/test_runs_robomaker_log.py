"""Training logs in DRfC's shape: read by deepracer-utils, line grammar as in DRfC's own logs."""

from __future__ import annotations

import ast
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deepracer.logs import DeepRacerLog, FSFileHandler, SimulationLogsIO
from deepracer.logs.misc import LogFolderType

from slipstream.rollout.trainer import Trainer
from slipstream.runs.robomaker_log import (
    best_model_lines,
    evaluation_episode_lines,
    params_lines,
    sim_trace_lines,
    training_episode_lines,
)
from slipstream.runs.simtrace import SIMTRACE_COLUMNS, sim_trace_log_lines
from small_training import small_config

REAL_LOGS = sorted(
    Path("/work/shared/traces/reinvent_champ_2022_drfc_logs").glob("deepracer-0_robomaker.*.log")
)
EPISODES = 4  # per iteration, over two workers
EVAL_EPISODES = 2

# the printf shapes of the 17 fields of simapp 5.0's SIM_TRACE_LOG (the shared logs) and the two
# that current simapp appends (obstacle_crash_counter %d, wall_clock %.4f)
INT = r"-?\d+"
F4 = r"-?\d+\.\d{4}"
F2 = r"-?\d+\.\d{2}"
BOOL = r"(True|False)"
FIELD_SHAPES = [
    INT,  # episode
    INT,  # steps
    F4,  # X
    F4,  # Y
    F4,  # yaw
    F2,  # steer
    F2,  # throttle
    r"(\d+|\[\S+ \S+\])",  # action
    F4,  # reward
    BOOL,  # done
    BOOL,  # all_wheels_on_track
    F4,  # progress
    INT,  # closest_waypoint
    F2,  # track_len
    r"-?\d+(\.\d+)?",  # tstamp
    r"[a-z_]+",  # episode_status
    F2,  # pause_duration
    INT,  # obstacle_crash_counter
    F4,  # wall_clock
]
EPISODE_LINE = re.compile(
    r"^(Training|Testing)> Name=main_level/agent, Worker=0, Episode=(\d+), "
    r"Total reward=(-?\d+\.\d+), Steps=(\d+), Training iteration=(\d+)$"
)
EVAL_END = re.compile(
    r"^## agent: Finished evaluation phase\. Success rate = 0\.0, Avg Total Reward = (-?\d+\.\d+)$"
)


@pytest.fixture(scope="module")
def run(module_tmp_path) -> Path:
    folder = module_tmp_path / "run"
    config = small_config(
        folder, EPISODES, workers=2, serial=True, eval_episodes=EVAL_EPISODES, iterations=2
    )
    Trainer(config, echo=None).run()
    return folder


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _simtrace_csv(run: Path, worker: int) -> pd.DataFrame:
    files = sorted((run / str(worker) / "training-simtrace").glob("*-iteration.csv"))
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


@pytest.mark.parametrize("worker", [0, 1])
def test_simulation_logs_io_reads_the_rows_of_the_simtrace_csv(run: Path, worker: int) -> None:
    name = "slipstream-robomaker.log" if worker == 0 else f"slipstream-robomaker-{worker}.log"
    text = (run / "logs" / "training" / name).read_text()
    data = SimulationLogsIO.load_buffer(io.StringIO(text))
    df = SimulationLogsIO.convert_to_pandas(data, episodes_per_iteration=EPISODES // 2)
    csv = _simtrace_csv(run, worker)
    assert len(df) == len(csv) > 0
    assert df["episode"].tolist() == csv["episode"].tolist()
    assert df["steps"].tolist() == csv["steps"].astype(int).tolist()
    assert df["episode_status"].tolist() == csv["episode_status"].tolist()
    assert df["done"].tolist() == csv["done"].tolist()
    assert df["on_track"].tolist() == csv["all_wheels_on_track"].tolist()
    assert df["action"].tolist() == csv["action"].tolist()
    assert df["closest_waypoint"].tolist() == csv["closest_waypoint"].tolist()
    # printf precision: %.4f and %.2f round to half a unit of the last place (+ float64 spacing
    # at epoch seconds)
    for log_col, csv_col, places in [
        ("x", "X", 4),
        ("y", "Y", 4),
        ("yaw", "yaw", 4),
        ("reward", "reward", 4),
        ("progress", "progress", 4),
        ("steering_angle", "steer", 2),
        ("speed", "throttle", 2),
        ("track_len", "track_len", 2),
        ("pause_duration", "pause_duration", 2),
        ("wall_clock", "wall_clock", 4),
    ]:
        np.testing.assert_allclose(df[log_col], csv[csv_col], rtol=0, atol=0.5 * 10**-places + 1e-6)
    np.testing.assert_array_equal(df["tstamp"], csv["tstamp"])


def test_deepracer_log_reads_metadata_and_rows(run: Path) -> None:
    log_path = run / "logs" / "training" / "slipstream-robomaker.log"

    class LogOnly(FSFileHandler):
        """A console-style handler pointed at the robomaker log (public FileHandler API)."""

        def determine_root_folder_type(self):
            self.type = LogFolderType.CONSOLE_MODEL_WITH_LOGS
            self.training_robomaker_log_path = str(log_path)
            return self.type

    log = DeepRacerLog(filehandler=LogOnly(str(run)))
    log.load_robomaker_logs()
    assert log.hyperparameters() == json.loads((run / "ip" / "hyperparameters.json").read_text())
    metadata = json.loads((run / "model" / "model_metadata.json").read_text())
    assert log.action_space() == metadata["action_space"]
    assert log.agent_and_network()["world"] == "slipstream_oval"
    assert log.agent_and_network()["network"] == metadata["neural_network"]
    assert len(log.dataframe()) == len(_simtrace_csv(run, 0))


def _check_grammar(lines: list[str]) -> dict[str, int]:
    """Counts of each kind of line, asserting the shapes DRfC's logs have."""
    counts = {"sim_trace": 0, "training": 0, "testing": 0, "eval_start": 0, "eval_end": 0}
    # params: the dict line with WORLD_NAME and the roslaunch PARAMETERS list with RACE_TYPE
    dict_lines = [ln for ln in lines if ln.startswith("{'") and "'WORLD_NAME': '" in ln]
    assert len(dict_lines) == 1
    params = ast.literal_eval(dict_lines[0])
    assert f" * /WORLD_NAME: {params['WORLD_NAME']}" in lines
    assert f" * /RACE_TYPE: {params['RACE_TYPE']}" in lines
    assert any(ln.startswith("Sensor list ['") for ln in lines)
    assert any(ln.startswith("Action space from file: [{") for ln in lines)
    # hyperparameter block: the header, then "{", two-space-indented keys, "}"
    start = lines.index("Using the following hyper-parameters")
    end = lines.index("}", start)
    assert lines[start + 1] == "{"
    assert all(re.match(r'^  "[a-z_]+": \S', ln) for ln in lines[start + 2 : end])
    assert isinstance(json.loads("\n".join(lines[start + 1 : end + 1])), dict)
    previous = ""
    for ln in lines:
        if ln.startswith("SIM_TRACE_LOG:"):
            counts["sim_trace"] += 1
            fields = ln[len("SIM_TRACE_LOG:") :].split(",")
            assert len(fields) in (17, 19), ln
            for text, shape in zip(fields, FIELD_SHAPES, strict=False):
                assert re.fullmatch(shape, text), (text, shape, ln)
        elif ln.startswith(("Training>", "Testing>")):
            assert EPISODE_LINE.match(ln), ln
            counts["training" if ln.startswith("Training>") else "testing"] += 1
        elif ln == "## agent: Starting evaluation phase":
            counts["eval_start"] += 1
        elif ln.startswith("## agent: Finished evaluation phase"):
            assert EVAL_END.match(ln), ln
            assert previous.startswith("Testing>")  # one bracket per evaluation episode
            counts["eval_end"] += 1
        previous = ln
    return counts


@pytest.mark.skipif(not REAL_LOGS, reason="the shared DRfC logs are not on this machine")
def test_line_grammar_is_that_of_drfc_logs(run: Path) -> None:
    for real in REAL_LOGS:  # the grammar holds for DRfC's own logs
        counts = _check_grammar(_lines(real))
        assert counts["sim_trace"] > 0 and counts["training"] > 0
        assert counts["eval_start"] == counts["testing"] == counts["eval_end"]
    ours = _check_grammar(_lines(run / "logs" / "training" / "slipstream-robomaker.log"))
    # 2 iterations x 2 training episodes on worker 0, and EVAL_EPISODES per iteration
    assert ours["training"] == 2 * EPISODES // 2
    assert ours["eval_start"] == ours["testing"] == ours["eval_end"] == 2 * EVAL_EPISODES
    assert ours["sim_trace"] == len(_simtrace_csv(run, 0))
    other = _check_grammar(_lines(run / "logs" / "training" / "slipstream-robomaker-1.log"))
    assert other["training"] == 2 * EPISODES // 2 and other["testing"] == 0


class _Ep:
    def __init__(self, episode: int, total_reward: float, steps: int) -> None:
        self.episode, self.total_reward, self.steps, self.progress = episode, total_reward, steps, 0


def _columns(episode: list[int]) -> dict[str, object]:
    n = len(episode)
    cols: dict[str, object] = {name: np.zeros(n) for name in SIMTRACE_COLUMNS}
    cols.update(
        episode=np.array(episode),
        steps=np.array([1.0, 2.0, 1.0, 2.0, 3.0]),
        action=np.array([0, 1, 2, 3, 4]),
        done=np.array([False, True, False, False, True]),
        all_wheels_on_track=np.ones(n, bool),
        closest_waypoint=np.zeros(n, int),
        episode_status=np.array(["in_progress"] * n, dtype=object),
        obstacle_crash_counter=np.zeros(n, int),
    )
    return cols


def test_training_episode_lines_put_each_episodes_rows_before_its_training_line() -> None:
    # worker rows of episodes 7 and 8 (0-based), summaries numbered 8 and 9 (1-based)
    lines = training_episode_lines(
        [_Ep(8, 1.5, 2), _Ep(9, 2.25, 5)], _columns([7, 7, 8, 8, 8]), iteration=3
    )
    kinds = [ln.split(":")[0].split(">")[0] for ln in lines]
    assert kinds == [
        "Reset agent",
        "Reset agent finished",
        "SIM_TRACE_LOG",
        "SIM_TRACE_LOG",
        "Training",
        "Reset agent",
        "Reset agent finished",
        "SIM_TRACE_LOG",
        "SIM_TRACE_LOG",
        "SIM_TRACE_LOG",
        "Training",
    ]
    assert lines[2].startswith("SIM_TRACE_LOG:7,1,") and lines[9].startswith("SIM_TRACE_LOG:8,3,")
    assert lines[4].endswith("Episode=8, Total reward=1.5, Steps=2, Training iteration=3")


def test_evaluation_and_best_model_lines_parse_as_log_guru_expects() -> None:
    lines = evaluation_episode_lines([_Ep(1, 10.0, 5), _Ep(2, 12.5, 9)], 20, 1)
    assert lines.count("## agent: Starting evaluation phase") == 2
    assert [float(m.group(1)) for m in map(EVAL_END.match, lines) if m] == [10.0, 12.5]
    testing = [EPISODE_LINE.match(ln) for ln in lines if ln.startswith("Testing>")]
    assert [(m.group(2), m.group(4)) for m in testing] == [("20", "5"), ("20", "9")]
    best = best_model_lines([30.0, 50.0], 40.0, 35.0, "3_Step-90.pt", "2_Step-60.pt", True)
    # log-guru: count, then the list between "[" and the last "]"
    count, rest = best[0][len("[BestModelSelection] Number of evaluations: ") :].split(" ", 1)
    assert int(count) == 2 and rest.split("[")[1].rstrip("]").split(", ") == ["30.0", "50.0"]
    assert best[2].endswith("current progress mean: 40.0 >= best progress mean: 35.0")
    assert best[3] == (
        '[BestModelSelection] Updating the best checkpoint to "3_Step-90.pt" from "2_Step-60.pt".'
    )
    assert len(best_model_lines([1.0], 1.0, 2.0, "a", "b", False)) == 3


def test_params_lines_name_the_model_and_keep_lists() -> None:
    lines = params_lines(
        {"WORLD_NAME": "x", "CAR_COLOR": ["Black"], "RACE_TYPE": "TIME_TRIAL"}, "m"
    )
    assert lines[0].startswith("[s3] Successfully downloaded yaml file from s3 key m/training_")
    assert ast.literal_eval(lines[1]) == {
        "CAR_COLOR": ["Black"],
        "RACE_TYPE": "TIME_TRIAL",
        "WORLD_NAME": "x",
    }
    assert " * /CAR_COLOR: Black" in lines


@pytest.mark.parametrize("continuous", [False, True])
def test_sim_trace_lines_equal_the_row_formatter(continuous: bool) -> None:
    rng = np.random.default_rng(1)
    n = 50
    cols: dict[str, object] = {name: rng.normal(size=n) * 40 for name in SIMTRACE_COLUMNS}
    cols.update(
        episode=rng.integers(0, 9, n),
        steps=rng.integers(1, 300, n).astype(float),
        action=rng.normal(size=(n, 2)).astype(np.float32) if continuous else rng.integers(0, 7, n),
        done=rng.random(n) < 0.5,
        all_wheels_on_track=rng.random(n) < 0.5,
        closest_waypoint=rng.integers(0, 200, n),
        track_len=23.12,
        episode_status=np.array(["in_progress", "off_track"] * (n // 2), dtype=object),
        obstacle_crash_counter=rng.integers(0, 3, n),
        X=rng.normal(size=n).astype(np.float32),
    )
    assert sim_trace_lines(cols) == sim_trace_log_lines(cols)
    # the example line of DeepRacer's simapp, from its values
    row = dict(
        episode=[0], steps=[2.0], X=[0.2078], Y=[-2.1730], yaw=[179.9865], steer=[20.0],
        throttle=[1.25], action=[9], reward=[0.2333], done=[False], all_wheels_on_track=[True],
        progress=[0.2333], closest_waypoint=[0], track_len=[60.0], tstamp=[36.75],
        episode_status=["in_progress"], pause_duration=[0.0], obstacle_crash_counter=[0],
        wall_clock=[1772822267.8575],
    )  # fmt: skip
    assert sim_trace_lines(row) == [
        "SIM_TRACE_LOG:0,2,0.2078,-2.1730,179.9865,20.00,1.25,9,0.2333,False,True,0.2333,0,"
        "60.00,36.75,in_progress,0.00,0,1772822267.8575"
    ]
