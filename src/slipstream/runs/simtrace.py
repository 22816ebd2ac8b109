"""DeepRacer simtrace CSV files and ``SIM_TRACE_LOG`` lines (docs/deepracer.md 7.1).

One row per traced step, 19 columns in `SIMTRACE_COLUMNS` order. Values are written the way
DeepRacer writes them, ``str()`` of each value with no quoting:

* ``episode``, ``closest_waypoint``, ``obstacle_crash_counter``: integers (``12``);
* ``steps`` and every other number: floats at full precision, as Python's ``str(float)``
  writes them (``1.0``, ``0.2333``, ``1772822267.8575``: the shortest text that reads back to
  the same float); float32 columns get the shortest text of the float32 value
  (``str(np.float32(x))``);
* ``done``, ``all_wheels_on_track``: ``True`` / ``False``;
* ``action``: the action index (discrete) or ``[steer speed]`` (continuous, e.g.
  ``[-12.5 1.25]``: one space, no comma, so neither CSV readers nor the comma-split log
  parsers need quotes);
* ``episode_status``: DeepRacer status strings (``in_progress``, ``off_track``, ...).

Each file starts with its own header line. Column inputs are dicts of equal-length arrays,
one entry per step; scalars are repeated over all rows.
"""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np

from slipstream.runs.layout import RunLayout
from slipstream.runs.storage import RunStorage
from slipstream.sim.episode import STATUS_NAMES

SIMTRACE_COLUMNS: tuple[str, ...] = (
    "episode",
    "steps",
    "X",
    "Y",
    "yaw",
    "steer",
    "throttle",
    "action",
    "reward",
    "done",
    "all_wheels_on_track",
    "progress",
    "closest_waypoint",
    "track_len",
    "tstamp",
    "episode_status",
    "pause_duration",
    "obstacle_crash_counter",
    "wall_clock",
)
SIMTRACE_HEADER = ",".join(SIMTRACE_COLUMNS) + "\n"

INT_COLUMNS = frozenset({"episode", "closest_waypoint", "obstacle_crash_counter"})
BOOL_COLUMNS = frozenset({"done", "all_wheels_on_track"})
STRING_COLUMNS = frozenset({"episode_status"})
FLOAT_COLUMNS = (
    frozenset(SIMTRACE_COLUMNS) - INT_COLUMNS - BOOL_COLUMNS - STRING_COLUMNS - {"action"}
)

# printf formats of DeepRacer's SIM_TRACE_LOG stdout line, in column order.
SIM_TRACE_LOG_FORMAT = (
    "SIM_TRACE_LOG:%d,%d,%.4f,%.4f,%.4f,%.2f,%.2f,%s,%.4f,%s,%s,%.4f,%d,%.2f,%s,%s,%.2f,%d,%.4f"
)


class SimtraceError(ValueError):
    """Simtrace columns are missing, of unequal length, or hold values DeepRacer cannot have."""


# ----------------------------------------------------------------- rows of the episode loop
def trace_actions(continuous: bool, actions: np.ndarray, result) -> np.ndarray:
    """Simtrace ``action`` values of every car of a step: the discrete action indices, or
    [steering deg, speed m/s] of the step's commands (continuous action space)."""
    if continuous:
        return np.column_stack([result.steering_deg, result.speed])
    return np.asarray(actions, dtype=np.int64).reshape(-1)


def simtrace_row(
    core,
    step,
    actions: np.ndarray,
    cars: np.ndarray,
    *,
    tstamp: float | np.ndarray | None = None,
    episode: int | np.ndarray | None = None,
    wall_clock: float | None = None,
) -> dict[str, np.ndarray]:
    """DeepRacer's simtrace columns (docs/deepracer.md 7.1) of one step of the episode loop, for the
    cars `cars` of `core` (a `DeepRacerCore`), keyed in `SIMTRACE_COLUMNS` order: the one place
    training, evaluation and races turn a step into simtrace rows.

    `step`: the `CoreStep`; `actions`: `trace_actions` of every car. `tstamp` (the simulation
    clock when the step's frame arrived) and `episode` belong to the caller's clock and episode
    numbering: a column given None is left out, for the caller to add before writing.
    `wall_clock` defaults to now.
    """
    r = step.result
    n = len(cars)
    row = {
        "episode": None if episode is None else np.broadcast_to(episode, (n,)),
        "steps": r.steps[cars],
        "X": r.front[cars, 0],
        "Y": r.front[cars, 1],
        "yaw": r.heading_deg[cars],
        "steer": r.steering_deg[cars],
        "throttle": r.speed[cars],
        "action": np.asarray(actions)[cars],
        "reward": np.asarray(step.reward, dtype=np.float64)[cars],
        "done": (r.terminated | r.truncated)[cars],
        "all_wheels_on_track": r.all_wheels_on_track[cars],
        "progress": r.progress[cars],
        "closest_waypoint": core.closest_waypoint(r)[cars],
        "track_len": core.track_lengths(r)[cars],
        "tstamp": None if tstamp is None else np.broadcast_to(tstamp, (n,)),
        "episode_status": np.array([STATUS_NAMES[s] for s in r.status[cars]], dtype=object),
        "pause_duration": r.pause_duration[cars],
        "obstacle_crash_counter": r.obstacle_crash_counter[cars],
        "wall_clock": np.full(n, time.time() if wall_clock is None else wall_clock),
    }
    return {k: v for k, v in row.items() if v is not None}


# ----------------------------------------------------------------- formatting
def _float_text(values: np.ndarray) -> list[str]:
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    return values.astype(str).tolist()


def _int_text(name: str, values: np.ndarray) -> list[str]:
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
            raise SimtraceError(f"column {name!r} must hold whole numbers")
    elif values.dtype.kind not in "iub":
        raise SimtraceError(f"column {name!r} must be integers, got dtype {values.dtype}")
    return values.astype(np.int64).astype(str).tolist()


def _bool_text(name: str, values: np.ndarray) -> list[str]:
    if values.dtype.kind not in "biuf":
        raise SimtraceError(f"column {name!r} must be booleans, got dtype {values.dtype}")
    return np.where(values.astype(bool), "True", "False").tolist()


def _check_plain_strings(name: str, values: list[str]) -> list[str]:
    for text in set(values):
        if any(c in text for c in ',"\n\r'):
            raise SimtraceError(
                f"column {name!r} value {text!r} contains a comma, quote or newline; "
                "simtrace values are written unquoted"
            )
    return values


def continuous_action_text(steer: float, speed: float) -> str:
    """``[steer speed]`` text of one continuous action (degrees, m/s)."""
    return f"[{float(steer)!s} {float(speed)!s}]"


def _action_text(values: np.ndarray) -> list[str]:
    if values.ndim == 2:
        if values.shape[1] != 2 or values.dtype.kind not in "iuf":
            raise SimtraceError(
                "continuous 'action' must be an (N, 2) array of [steering deg, speed m/s]"
            )
        steer = _float_text(values[:, 0])
        speed = _float_text(values[:, 1])
        return [f"[{s} {v}]" for s, v in zip(steer, speed, strict=True)]
    if values.dtype.kind in "iu":
        return values.astype(np.int64).astype(str).tolist()
    if values.dtype.kind == "f":
        return _int_text("action", values)
    if values.dtype.kind in "US":
        return _check_plain_strings("action", values.astype(str).tolist())
    raise SimtraceError(
        f"'action' must be indices, an (N, 2) float array or strings, got {values.dtype}"
    )


def _column_arrays(columns: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], int]:
    missing = [c for c in SIMTRACE_COLUMNS if c not in columns]
    extra = [c for c in columns if c not in SIMTRACE_COLUMNS]
    if missing or extra:
        raise SimtraceError(
            f"simtrace columns do not match SIMTRACE_COLUMNS: missing {missing}, unknown {extra}"
        )
    arrays = {name: np.asarray(columns[name]) for name in SIMTRACE_COLUMNS}
    lengths = {name: len(a) for name, a in arrays.items() if a.ndim >= 1}
    if not lengths:
        raise SimtraceError("give at least one simtrace column as an array (one entry per step)")
    n = max(lengths.values())
    bad = {name: length for name, length in lengths.items() if length != n}
    if bad:
        raise SimtraceError(f"simtrace columns must have {n} entries each; these differ: {bad}")
    for name, a in arrays.items():
        if a.ndim == 0:
            arrays[name] = np.full(n, a.item(), dtype=a.dtype)
    return arrays, n


def format_simtrace_rows(columns: Mapping[str, Any]) -> str:
    """CSV rows (no header) of the steps in ``columns``, each line ending in a newline.

    Args:
        columns: one entry per name of `SIMTRACE_COLUMNS`: an array with one value per step, or
            a scalar used for every step. ``action`` is an (N,) index array (discrete), an (N, 2)
            array of [steering deg, speed m/s] (continuous) or preformatted strings.
    """
    arrays, n = _column_arrays(columns)
    if n == 0:
        return ""
    texts: list[list[str]] = []
    for name in SIMTRACE_COLUMNS:
        values = arrays[name]
        if name == "action":
            texts.append(_action_text(values))
            continue
        if values.ndim != 1:
            raise SimtraceError(
                f"column {name!r} must be one-dimensional, got shape {values.shape}"
            )
        if name in INT_COLUMNS:
            texts.append(_int_text(name, values))
        elif name in BOOL_COLUMNS:
            texts.append(_bool_text(name, values))
        elif name in STRING_COLUMNS:
            texts.append(_check_plain_strings(name, values.astype(str).tolist()))
        else:
            if values.dtype.kind not in "iufb":
                raise SimtraceError(f"column {name!r} must be numbers, got dtype {values.dtype}")
            texts.append(_float_text(values))
    return "".join(",".join(row) + "\n" for row in zip(*texts, strict=True))


def sim_trace_log_line(row: Mapping[str, Any]) -> str:
    """DeepRacer's ``SIM_TRACE_LOG:...`` stdout line of one step (a dict keyed by column)."""
    missing = [c for c in SIMTRACE_COLUMNS if c not in row]
    if missing:
        raise SimtraceError(f"SIM_TRACE_LOG row lacks columns {missing}")
    action = row["action"]
    if isinstance(action, str):
        action_text = action
    elif np.ndim(action) == 1:
        steer, speed = np.asarray(action, dtype=np.float64)
        action_text = continuous_action_text(steer, speed)
    else:
        action_text = str(int(action))
    values = (
        int(row["episode"]),
        int(row["steps"]),
        float(row["X"]),
        float(row["Y"]),
        float(row["yaw"]),
        float(row["steer"]),
        float(row["throttle"]),
        action_text,
        float(row["reward"]),
        bool(row["done"]),
        bool(row["all_wheels_on_track"]),
        float(row["progress"]),
        int(row["closest_waypoint"]),
        float(row["track_len"]),
        float(row["tstamp"]),
        str(row["episode_status"]),
        float(row["pause_duration"]),
        int(row["obstacle_crash_counter"]),
        float(row["wall_clock"]),
    )
    return SIM_TRACE_LOG_FORMAT % values


def sim_trace_log_lines(columns: Mapping[str, Any]) -> list[str]:
    """`sim_trace_log_line` of every step in ``columns`` (same input as `format_simtrace_rows`)."""
    arrays, n = _column_arrays(columns)
    return [
        sim_trace_log_line({name: arrays[name][i] for name in SIMTRACE_COLUMNS}) for i in range(n)
    ]


# --------------------------------------------------------------- files
def append_simtrace(storage: RunStorage, key: str, columns: Mapping[str, Any] | str) -> None:
    """Add steps to the simtrace CSV at ``key``, writing the header first if the file is new.

    ``columns`` is as for `format_simtrace_rows`, or rows it already formatted.
    """
    rows = columns if isinstance(columns, str) else format_simtrace_rows(columns)
    if storage.exists(key):
        if rows:  # rewritten whole (atomically), never appended in place
            storage.write_text(key, storage.read_text(key) + rows)
    else:
        storage.write_text(key, SIMTRACE_HEADER + rows)


class SimtraceWriter:
    """Buffers training-simtrace rows per (worker, iteration) and writes one CSV per iteration.

    Call `add` with each batch of steps as they are produced, then `write_iteration` when a
    training iteration ends (DeepRacer uploads the file after each iteration). A file that
    already exists is appended to, without a second header.
    """

    def __init__(self, layout: RunLayout) -> None:
        self.layout = layout
        self._pending: dict[tuple[int, int], list[str]] = defaultdict(list)
        self._pending_rows: dict[tuple[int, int], int] = defaultdict(int)

    def add(self, columns: Mapping[str, Any], *, iteration: int, worker: int = 0) -> None:
        """Buffer the steps in ``columns`` for ``worker``'s file of ``iteration``."""
        self.layout.training_simtrace(iteration, worker)  # validates worker and iteration
        text = format_simtrace_rows(columns)
        key = (int(worker), int(iteration))
        self._pending[key].append(text)
        self._pending_rows[key] += text.count("\n")

    @property
    def pending_rows(self) -> dict[tuple[int, int], int]:
        """Buffered row counts keyed by (worker, iteration)."""
        return {k: v for k, v in self._pending_rows.items() if v}

    def write_iteration(self, iteration: int) -> list[str]:
        """Write every worker's buffered rows of ``iteration``; returns the keys written."""
        written = []
        for worker, it in sorted(k for k in self._pending if k[1] == int(iteration)):
            key = self.layout.training_simtrace(it, worker)
            append_simtrace(self.layout.storage, key, "".join(self._pending.pop((worker, it))))
            self._pending_rows.pop((worker, it), None)
            written.append(key)
        return written

    def discard(self) -> None:
        """Drop every buffered row (e.g. those of an iteration that failed)."""
        self._pending.clear()
        self._pending_rows.clear()

    def flush(self) -> list[str]:
        """Write everything buffered (all iterations); returns the keys written."""
        written = []
        for iteration in sorted({it for _, it in self._pending}):
            written += self.write_iteration(iteration)
        return written


def _parse_column(name: str, values: list[str]) -> np.ndarray:
    if name in INT_COLUMNS:
        return np.array([int(float(v)) for v in values], dtype=np.int64)
    if name in FLOAT_COLUMNS:
        return np.array(values, dtype=np.float64)
    if name in BOOL_COLUMNS:
        return np.array([v.strip() == "True" for v in values], dtype=bool)
    if name == "action":
        try:
            return np.array([int(v) for v in values], dtype=np.int64)
        except ValueError:
            return np.array(values, dtype=object)
    return np.array(values, dtype=object)


def parse_simtrace(text: str) -> dict[str, np.ndarray]:
    """Columns of simtrace CSV text, typed: ints, floats, bools, action ints or strings."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise SimtraceError("simtrace file is empty (no header line)") from None
    rows = [r for r in reader if r]
    bad = [i + 2 for i, r in enumerate(rows) if len(r) != len(header)]
    if bad:
        raise SimtraceError(
            f"simtrace lines {bad[:5]} do not have the {len(header)} fields of the header"
        )
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    return {
        name: _parse_column(name, list(values))
        for name, values in zip(header, by_column, strict=True)
    }


def read_simtrace(storage: RunStorage, key: str) -> dict[str, np.ndarray]:
    """Columns of the simtrace CSV at ``key`` (see `parse_simtrace`)."""
    return parse_simtrace(storage.read_text(key))
