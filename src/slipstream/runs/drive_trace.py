"""Reading DeepRacer simtrace CSVs and robomaker logs (`SIM_TRACE_LOG` lines) into a `DriveTrace`.

Accepted: simtrace CSVs with a header row, named either as DeepRacer's S3 simtraces (`X`, `Y`,
`yaw`, `steer`, `throttle`) or as log parsers write them (`x`, `y`, `heading`, `steering_angle`,
`speed`), optionally with a `src_file` column (rows of several logs); and robomaker logs, whose
`SIM_TRACE_LOG:` lines carry episode, steps, x, y, heading, steering, speed, action, reward, done,
all_wheels_on_track, progress, closest_waypoint, track_len, tstamp, episode_status, ... in order.
"""

from __future__ import annotations

import csv
import io
from os import PathLike

import fsspec
import numpy as np

from slipstream.sim.calibration import DriveTrace

_ALIASES = {
    "x": ("x", "X"),
    "y": ("y", "Y"),
    "heading": ("heading", "yaw"),
    "steer": ("steering_angle", "steer"),
    "speed": ("speed", "throttle"),
    "episode": ("episode",),
    "steps": ("steps",),
    "status": ("episode_status",),
}
_LOG_FIELDS = {"episode": 0, "steps": 1, "x": 2, "y": 3, "heading": 4, "steer": 5, "speed": 6}
_LOG_STATUS = 15
LOG_MARKER = "SIM_TRACE_LOG:"


class TraceError(ValueError):
    """A trace file that cannot be read; the message names the file and what is wrong."""


def read_drive_trace(path: str | PathLike) -> DriveTrace:
    """Read one simtrace CSV or robomaker log (local path or fsspec URL)."""
    with fsspec.open(str(path), "r", encoding="utf-8", errors="replace") as f:
        text = f.read()
    if LOG_MARKER in text:
        return _from_log(text, str(path))
    return _from_csv(text, str(path))


def read_drive_traces(paths: list[str | PathLike]) -> DriveTrace:
    """Read several traces into one (episodes kept apart)."""
    traces = [read_drive_trace(p) for p in paths]
    if len(traces) == 1:
        return traces[0]
    offset = 0
    parts = []
    for t in traces:
        parts.append(t.episode + offset)
        offset += int(t.episode.max()) + 1 if len(t) else 0
    cat = {
        name: np.concatenate([getattr(t, name) for t in traces])
        for name in ("x", "y", "heading", "steer_cmd", "speed_cmd")
    }
    valid = np.concatenate([t.valid for t in traces])
    return DriveTrace(episode=np.concatenate(parts), valid=valid, **cat)


def _build(cols: dict[str, list], src: list[str], where: str) -> DriveTrace:
    try:
        num = {k: np.array(cols[k], dtype=np.float64) for k in _LOG_FIELDS}
    except ValueError as exc:
        raise TraceError(f"{where}: a numeric column holds text ({exc})") from None
    if len(num["x"]) == 0:
        raise TraceError(f"{where}: no simtrace rows found")
    if not all(np.isfinite(v).all() for v in num.values()):
        raise TraceError(f"{where}: NaN or infinite values in x, y, heading, steering or speed")
    # one episode id per (source file, episode)
    keys = list(zip(src, num["episode"].astype(np.int64).tolist(), strict=True))
    ids: dict = {}
    episode = np.array([ids.setdefault(k, len(ids)) for k in keys], dtype=np.int64)
    status = np.array(cols["status"], dtype=object)
    return DriveTrace.from_columns(
        episode,
        num["steps"],
        num["x"],
        num["y"],
        num["heading"],
        num["steer"],
        num["speed"],
        status == "in_progress",
    )


def _from_csv(text: str, where: str) -> DriveTrace:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise TraceError(f"{where}: empty file") from None
    index = {}
    for key, names in _ALIASES.items():
        found = [header.index(n) for n in names if n in header]
        if not found:
            raise TraceError(
                f"{where}: not a simtrace CSV or robomaker log: no column {' or '.join(map(repr, names))} "
                f"in the header ({', '.join(header[:8])}, ...)"
            )
        index[key] = found[0]
    src_col = header.index("src_file") if "src_file" in header else None
    cols: dict[str, list] = {k: [] for k in index}
    src: list[str] = []
    for row in reader:
        if not row:
            continue
        if len(row) < len(header):
            raise TraceError(
                f"{where}: row {reader.line_num} has {len(row)} fields, not {len(header)}"
            )
        for k, i in index.items():
            cols[k].append(row[i])
        src.append(row[src_col] if src_col is not None else "")
    return _build(cols, src, where)


def _from_log(text: str, where: str) -> DriveTrace:
    cols: dict[str, list] = {k: [] for k in (*_LOG_FIELDS, "status")}
    for line in text.splitlines():
        at = line.find(LOG_MARKER)
        if at < 0:
            continue
        fields = line[at + len(LOG_MARKER) :].strip().split(",")
        if len(fields) <= _LOG_STATUS:
            continue  # a line cut short (log rotation); DeepRacer's parsers skip these too
        for k, i in _LOG_FIELDS.items():
            cols[k].append(fields[i])
        cols["status"].append(fields[_LOG_STATUS])
    return _build(cols, [""] * len(cols["x"]), where)


def logged_simapp_version(path: str | PathLike) -> str | None:
    """The `simapp_version` a robomaker log states (e.g. "5.0"), or None (simtrace CSVs)."""
    with fsspec.open(str(path), "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            at = line.find("simapp_version")
            if at >= 0:
                words = line[at + len("simapp_version") :].replace(":", " ").split()
                if words:
                    return words[0].strip("'\",")
    return None
