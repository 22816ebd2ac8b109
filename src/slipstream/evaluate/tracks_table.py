"""The table of an evaluation across tracks: one row per route (a track in one direction).

`slipstream evaluate RUN --tracks SET` (evaluate/track_evaluation.py) runs the trials of every
route and hands each route's `TrialRecord`s to `route_row`; everything here is a pure function of
those rows (docs/tracks.md, "Evaluation across tracks"):

=====================  =====================================================================
column                 meaning
=====================  =====================================================================
track                  the track as the set names it (``generated:<seed>`` for generated ones)
direction              ``default`` (the route file's waypoint order) or ``reversed``
length_m               centre-line length (m)
trials                 trials run on the route
laps_completed         trials that completed the lap (progress 100 %)
mean_completion_pct    mean progress of the trials (%, each capped at 100)
mean_lap_time_s        mean lap time of the completed trials (s, DeepRacer's
                       ``elapsed_time_in_milliseconds``: reset to last step); empty if none
best_lap_time_s        the fastest completed trial's lap time (s)
mean_lap_speed_mps     length_m / mean_lap_time_s (m/s): the speed of the average lap
off_tracks             trials that ended off track
=====================  =====================================================================

`summarize_routes` gives the issue's measure: the share of routes on which at least `min_laps`
trials complete, and the share that also reach a mean lap speed of `min_speed_mps`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from slipstream.evaluate.episodes import TrialRecord

DEFAULT_DIRECTION = "default"
REVERSED_DIRECTION = "reversed"
DIRECTIONS = (DEFAULT_DIRECTION, REVERSED_DIRECTION)
MIN_LAPS = 2
"""Laps (of 3 trials) a route needs to count as lapped (the issue's measure)."""
MIN_SPEED_MPS = 2.0
"""Mean lap speed (m/s) a lapped route needs to count as fast (the issue's measure)."""
TABLE_FORMAT = "slipstream-track-evaluation"
TABLE_VERSION = 1


@dataclass(frozen=True)
class RouteRow:
    """One line of the table: the trials of one track in one direction (module docstring)."""

    track: str
    direction: str
    length_m: float
    trials: int
    laps_completed: int
    mean_completion_pct: float
    mean_lap_time_s: float | None
    best_lap_time_s: float | None
    mean_lap_speed_mps: float | None
    off_tracks: int

    @property
    def completes(self) -> float:
        """Share of the trials that completed the lap."""
        return self.laps_completed / self.trials if self.trials else 0.0


COLUMNS = tuple(f.name for f in fields(RouteRow))
"""The CSV header, in column order."""


def route_row(
    track: str, direction: str, length_m: float, records: Sequence[TrialRecord]
) -> RouteRow:
    """The table row of one route from its trials' records (one `TrialRecord` per trial)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if not records:
        raise ValueError(f"route {track} ({direction}) has no trials")
    laps = [r.elapsed for r in records if r.completed]
    mean_lap = sum(laps) / len(laps) if laps else None
    return RouteRow(
        track=track,
        direction=direction,
        length_m=float(length_m),
        trials=len(records),
        laps_completed=len(laps),
        mean_completion_pct=sum(min(r.progress, 100.0) for r in records) / len(records),
        mean_lap_time_s=mean_lap,
        best_lap_time_s=min(laps) if laps else None,
        mean_lap_speed_mps=float(length_m) / mean_lap if mean_lap else None,
        off_tracks=sum(r.status == "off_track" for r in records),
    )


@dataclass(frozen=True)
class RoutesSummary:
    """How many routes were lapped (at least `min_laps` completed trials), and how many of
    those also at a mean lap speed of at least `min_speed_mps`."""

    routes: int
    lapped: int
    lapped_fast: int
    min_laps: int
    min_speed_mps: float

    @property
    def share_lapped(self) -> float:
        return self.lapped / self.routes if self.routes else 0.0

    @property
    def share_fast(self) -> float:
        return self.lapped_fast / self.routes if self.routes else 0.0

    def line(self, label: str = "routes") -> str:
        """One line for people, e.g. ``lapped (>= 2 laps): 12/20 routes (60.0 %); ...``."""
        return (
            f"lapped (>= {self.min_laps} laps): {self.lapped}/{self.routes} {label} "
            f"({100 * self.share_lapped:.1f} %); also at >= {self.min_speed_mps:g} m/s mean lap "
            f"speed: {self.lapped_fast}/{self.routes} ({100 * self.share_fast:.1f} %)"
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "share_lapped": self.share_lapped, "share_fast": self.share_fast}


def summarize_routes(
    rows: Sequence[RouteRow], min_laps: int = MIN_LAPS, min_speed_mps: float = MIN_SPEED_MPS
) -> RoutesSummary:
    """The shares of `rows` that are lapped, and lapped at speed (`RoutesSummary`)."""
    lapped = [r for r in rows if r.laps_completed >= min_laps]
    fast = [
        r
        for r in lapped
        if r.mean_lap_speed_mps is not None and r.mean_lap_speed_mps >= min_speed_mps
    ]
    return RoutesSummary(len(rows), len(lapped), len(fast), int(min_laps), float(min_speed_mps))


def summary_lines(
    rows: Sequence[RouteRow], min_laps: int = MIN_LAPS, min_speed_mps: float = MIN_SPEED_MPS
) -> list[str]:
    """The summary of all rows; with both directions present, also one line per direction."""
    lines = [summarize_routes(rows, min_laps, min_speed_mps).line()]
    present = [d for d in DIRECTIONS if any(r.direction == d for r in rows)]
    if len(present) > 1:
        for direction in present:
            part = [r for r in rows if r.direction == direction]
            lines.append(
                "  " + summarize_routes(part, min_laps, min_speed_mps).line(f"{direction} routes")
            )
    return lines


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(rows: Sequence[RouteRow]) -> str:
    """The plain-text table the command prints, one line per route ("-": no lap)."""
    width = max([len("track"), *(len(r.track) for r in rows)])
    header = (
        f"{'track':<{width}} {'direction':<9} {'length m':>8} {'laps':>5} {'completion':>10} "
        f"{'mean lap s':>10} {'best lap s':>10} {'speed m/s':>9} {'off-track':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.track:<{width}} {r.direction:<9} {r.length_m:>8.2f} "
            f"{f'{r.laps_completed}/{r.trials}':>5} {r.mean_completion_pct:>9.1f}% "
            f"{_cell(r.mean_lap_time_s, '.3f'):>10} {_cell(r.best_lap_time_s, '.3f'):>10} "
            f"{_cell(r.mean_lap_speed_mps, '.2f'):>9} {r.off_tracks:>9}"
        )
    return "\n".join(lines)


def table_csv(rows: Sequence[RouteRow]) -> str:
    """CSV text: `COLUMNS` then one line per route (an empty cell where there was no lap)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(["" if v is None else v for v in (getattr(r, c) for c in COLUMNS)])
    return out.getvalue()


@dataclass(frozen=True)
class TracksTable:
    """An evaluation across tracks as the run folder keeps it (``evaluation/tracks-<ts>.json``)."""

    timestamp: str
    model: str
    """Which model: ``checkpoint 12_Step-4356.pt``, ``ONNX model.tar.gz``..."""
    track_set: str
    """The ``--tracks`` value."""
    directions: str
    """``default`` or ``both``."""
    trials: int
    seed: int
    """Trial k of every route used seed + k."""
    race_type: str
    rows: tuple[RouteRow, ...]
    elapsed_s: float = math.nan
    """Wall-clock seconds the evaluation took."""

    def summary(
        self, min_laps: int = MIN_LAPS, min_speed_mps: float = MIN_SPEED_MPS
    ) -> RoutesSummary:
        return summarize_routes(self.rows, min_laps, min_speed_mps)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": TABLE_FORMAT,
            "version": TABLE_VERSION,
            "timestamp": self.timestamp,
            "model": self.model,
            "track_set": self.track_set,
            "directions": self.directions,
            "trials": self.trials,
            "seed": self.seed,
            "race_type": self.race_type,
            "elapsed_s": None if math.isnan(self.elapsed_s) else round(self.elapsed_s, 3),
            "columns": list(COLUMNS),
            "rows": [asdict(r) for r in self.rows],
            "summary": self.summary().to_json(),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> TracksTable:
        """The table of a ``tracks-<ts>.json`` document (`to_json`); ValueError if it is not one."""
        if doc.get("format") != TABLE_FORMAT:
            raise ValueError(f"not a track evaluation table (format {doc.get('format')!r})")
        try:
            rows = tuple(RouteRow(**{c: row[c] for c in COLUMNS}) for row in doc["rows"])
            elapsed = doc.get("elapsed_s")
            return cls(
                timestamp=str(doc["timestamp"]),
                model=str(doc["model"]),
                track_set=str(doc["track_set"]),
                directions=str(doc["directions"]),
                trials=int(doc["trials"]),
                seed=int(doc["seed"]),
                race_type=str(doc["race_type"]),
                rows=rows,
                elapsed_s=math.nan if elapsed is None else float(elapsed),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"track evaluation table lacks {exc}") from None


__all__ = [
    "COLUMNS",
    "DIRECTIONS",
    "MIN_LAPS",
    "MIN_SPEED_MPS",
    "RouteRow",
    "RoutesSummary",
    "TracksTable",
    "format_table",
    "route_row",
    "summarize_routes",
    "summary_lines",
    "table_csv",
]
