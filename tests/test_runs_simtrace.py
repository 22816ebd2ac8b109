"""Simtrace CSV text and SIM_TRACE_LOG lines, checked against hand-written DeepRacer rows."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import numpy as np
import pytest

from slipstream.runs import (
    SIMTRACE_COLUMNS,
    RunLayout,
    RunStorage,
    SimtraceError,
    SimtraceWriter,
    append_simtrace,
    format_simtrace_rows,
    read_simtrace,
    sim_trace_log_line,
)
from slipstream.runs.simtrace import parse_simtrace

# The values of docs/deepracer.md 7.1's example SIM_TRACE_LOG line.
EXAMPLE = {
    "episode": 0,
    "steps": 2,
    "X": 0.2078,
    "Y": -2.1730,
    "yaw": 179.9865,
    "steer": 20.0,
    "throttle": 1.25,
    "action": 9,
    "reward": 0.2333,
    "done": False,
    "all_wheels_on_track": True,
    "progress": 0.2333,
    "closest_waypoint": 0,
    "track_len": 60.0,
    "tstamp": 36.75,
    "episode_status": "in_progress",
    "pause_duration": 0.0,
    "obstacle_crash_counter": 0,
    "wall_clock": 1772822267.8575,
}
EXAMPLE_LINE = (
    "SIM_TRACE_LOG:0,2,0.2078,-2.1730,179.9865,20.00,1.25,9,0.2333,False,True,0.2333,0,60.00,"
    "36.75,in_progress,0.00,0,1772822267.8575"
)


def two_rows(**overrides):
    cols = {k: np.array([v, v]) for k, v in EXAMPLE.items()}
    cols["steps"] = np.array([1, 2])
    cols["done"] = np.array([False, True])
    cols["episode_status"] = np.array(["in_progress", "off_track"])
    cols.update(overrides)
    return cols


def test_columns_are_deepracers_19_in_order() -> None:
    assert SIMTRACE_COLUMNS == tuple(
        "episode,steps,X,Y,yaw,steer,throttle,action,reward,done,all_wheels_on_track,progress,"
        "closest_waypoint,track_len,tstamp,episode_status,pause_duration,obstacle_crash_counter,"
        "wall_clock".split(",")
    )


def test_sim_trace_log_line_matches_deepracer_example() -> None:
    assert sim_trace_log_line(EXAMPLE) == EXAMPLE_LINE
    # numpy scalars (as they come out of batched arrays) give the same line
    as_numpy = {k: (np.asarray(v)[()] if not isinstance(v, str) else v) for k, v in EXAMPLE.items()}
    as_numpy["steps"] = np.float64(2.0)
    assert sim_trace_log_line(as_numpy) == EXAMPLE_LINE


def test_sim_trace_log_line_continuous_action() -> None:
    row = dict(EXAMPLE, action=np.array([-12.5, 1.25]))
    line = sim_trace_log_line(row)
    assert line.split(",")[7] == "[-12.5 1.25]"
    assert len(line.split(",")) == 19


def test_rows_render_like_python_str() -> None:
    text = format_simtrace_rows(two_rows())
    expected = (
        "0,1.0,0.2078,-2.173,179.9865,20.0,1.25,9,0.2333,False,True,0.2333,0,60.0,36.75,"
        "in_progress,0.0,0,1772822267.8575\n"
        "0,2.0,0.2078,-2.173,179.9865,20.0,1.25,9,0.2333,True,True,0.2333,0,60.0,36.75,"
        "off_track,0.0,0,1772822267.8575\n"
    )
    assert text == expected


def test_float_text_is_full_precision_python_str() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.normal(size=200) * 10.0 ** rng.integers(-8, 12, size=200),
            [0.1, 1 / 3, 1e-5, 1e16, -0.0, 123456789012345.6, 2.5e-300],
        ]
    )
    cols = two_rows()
    cols = {k: (np.resize(v, values.size) if k != "reward" else values) for k, v in cols.items()}
    rendered = [line.split(",")[8] for line in format_simtrace_rows(cols).splitlines()]
    assert rendered == [str(float(v)) for v in values]
    assert [float(r) for r in rendered] == values.tolist()  # round trip exact
    # float32 columns: the shortest text of the float32 value, as str(np.float32) writes it
    f32 = values[:50].astype(np.float32)
    cols32 = {k: v[:50] for k, v in cols.items()}
    cols32["reward"] = f32
    rendered32 = [line.split(",")[8] for line in format_simtrace_rows(cols32).splitlines()]
    assert rendered32 == [str(v) for v in f32]
    assert np.array_equal(np.array(rendered32, dtype=np.float64).astype(np.float32), f32)


def test_scalars_broadcast_and_empty_input() -> None:
    cols = two_rows(track_len=17.71, episode_status="in_progress")
    lines = format_simtrace_rows(cols).splitlines()
    assert [ln.split(",")[13] for ln in lines] == ["17.71", "17.71"]
    empty = {k: np.array([]) for k in SIMTRACE_COLUMNS}
    assert format_simtrace_rows(empty) == ""


def test_continuous_action_parses_with_csv_and_pandas() -> None:
    pd = pytest.importorskip("pandas")
    cols = two_rows(action=np.array([[-12.5, 1.25], [30.0, 4.0]]))
    text = ",".join(SIMTRACE_COLUMNS) + "\n" + format_simtrace_rows(cols)
    rows = list(csv.reader(io.StringIO(text)))
    assert all(len(r) == 19 for r in rows)
    assert [r[7] for r in rows[1:]] == ["[-12.5 1.25]", "[30.0 4.0]"]
    df = pd.read_csv(io.StringIO(text))
    assert list(df["action"]) == ["[-12.5 1.25]", "[30.0 4.0]"]
    assert list(df["done"]) == [False, True]
    parsed = parse_simtrace(text)
    assert parsed["action"].tolist() == ["[-12.5 1.25]", "[30.0 4.0]"]


def test_bad_columns_are_explained() -> None:
    cols = two_rows()
    del cols["wall_clock"]
    with pytest.raises(SimtraceError, match="missing \\['wall_clock'\\]"):
        format_simtrace_rows(cols)
    with pytest.raises(SimtraceError, match="unknown \\['speed'\\]"):
        format_simtrace_rows(dict(two_rows(), speed=np.ones(2)))
    with pytest.raises(SimtraceError, match="must have 3 entries"):
        format_simtrace_rows(two_rows(X=np.ones(3)))
    with pytest.raises(SimtraceError, match="comma"):
        format_simtrace_rows(two_rows(episode_status=np.array(["a,b", "c"])))
    with pytest.raises(SimtraceError, match="whole numbers"):
        format_simtrace_rows(two_rows(closest_waypoint=np.array([1.5, 2.0])))
    with pytest.raises(SimtraceError, match=r"\(N, 2\)"):
        format_simtrace_rows(two_rows(action=np.ones((2, 3))))


def test_writer_one_file_per_worker_and_iteration(tmp_path: Path) -> None:
    storage = RunStorage(str(tmp_path / "run"))
    layout = RunLayout(storage, num_workers=2)
    writer = SimtraceWriter(layout)
    writer.add(two_rows(), iteration=0, worker=0)
    writer.add(two_rows(episode=np.array([1, 1])), iteration=0, worker=0)
    writer.add(two_rows(), iteration=0, worker=1)
    writer.add(two_rows(), iteration=1, worker=1)
    assert writer.pending_rows == {(0, 0): 4, (1, 0): 2, (1, 1): 2}
    assert writer.write_iteration(0) == [
        "0/training-simtrace/0-iteration.csv",
        "1/training-simtrace/0-iteration.csv",
    ]
    assert writer.pending_rows == {(1, 1): 2}
    text = storage.read_text("0/training-simtrace/0-iteration.csv")
    assert text.startswith(",".join(SIMTRACE_COLUMNS) + "\n")
    assert text.count("\n") == 5 and text.count("episode,") == 1
    cols = read_simtrace(storage, "0/training-simtrace/0-iteration.csv")
    assert cols["episode"].tolist() == [0, 0, 1, 1]
    assert cols["steps"].tolist() == [1.0, 2.0, 1.0, 2.0]
    assert cols["done"].tolist() == [False, True, False, True]
    assert cols["action"].tolist() == [9, 9, 9, 9]
    assert cols["episode_status"].tolist() == ["in_progress", "off_track"] * 2
    assert writer.flush() == ["1/training-simtrace/1-iteration.csv"]
    assert writer.flush() == []
    with pytest.raises(ValueError, match="worker 2 is outside"):
        writer.add(two_rows(), iteration=0, worker=2)


def test_append_keeps_one_header_on_object_store() -> None:
    storage = RunStorage(f"memory://simtrace-{uuid.uuid4().hex}/run")
    key = RunLayout(storage).evaluation_simtrace("20240101000000")
    append_simtrace(storage, key, two_rows())
    append_simtrace(storage, key, two_rows(episode=np.array([1, 1])))
    cols = read_simtrace(storage, key)
    assert cols["episode"].tolist() == [0, 0, 1, 1]
    assert storage.read_text(key).count("episode,steps") == 1
    storage.fs.rm(storage.path(), recursive=True)


def test_simtrace_row_of_a_loop_step_in_deepracer_column_order():
    """Two cars, two steps: the row of car 1 at the second (first run) step, checked against the
    step's own quantities; the continuous action is [steer speed] of the commands."""
    from slipstream.env.core import DeepRacerCore
    from slipstream.runs.simtrace import SIMTRACE_COLUMNS, simtrace_row, trace_actions

    core = DeepRacerCore(2, track="slipstream_oval", model_metadata=None)
    core.seed([0, 1])
    core.reset()
    commands = (np.array([10.0, -5.0]), np.array([1.0, 2.0]))
    core.step(commands=commands)
    step = core.step(commands=commands)
    r = step.result
    actions = trace_actions(True, None, r)
    row = simtrace_row(core, step, actions, np.array([1]), tstamp=2 / 15, episode=7, wall_clock=5.0)
    assert tuple(row) == SIMTRACE_COLUMNS
    assert row["episode"].tolist() == [7] and row["tstamp"].tolist() == [2 / 15]
    assert row["steps"].tolist() == [2.0] and row["episode_status"].tolist() == ["in_progress"]
    assert row["action"].tolist() == [[-5.0, 2.0]]
    assert (row["steer"].tolist(), row["throttle"].tolist()) == ([-5.0], [2.0])
    assert (row["X"][0], row["Y"][0]) == (r.front[1, 0], r.front[1, 1])
    assert row["track_len"].tolist() == [core.track.length] and row["wall_clock"].tolist() == [5.0]
    assert row["reward"].tolist() == [step.reward[1]]
    # without a clock or episode number the caller adds those two columns
    partial = simtrace_row(core, step, actions, np.array([0, 1]))
    assert "tstamp" not in partial and "episode" not in partial and len(partial["X"]) == 2
    assert trace_actions(False, np.array([3, 1]), r).tolist() == [3, 1]
