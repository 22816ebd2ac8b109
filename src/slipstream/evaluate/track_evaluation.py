"""Evaluation across tracks: the trials of one model on every route of a track set, batched.

`slipstream evaluate RUN --tracks SET` plans the routes (each track of the set in its default
direction, or in both with ``--directions both``), plays them in batches of `ROUTES_PER_CORE`
routes (one `DeepRacerCore` per batch: a track slot per route, `trials` cars per route) and writes
one table (evaluate/tracks_table.py) into ``RUN/evaluation/tracks-<ts>.csv`` and ``.json``.

Batching does not change a route's numbers. Car k of route r drives slot r with seed seed + k, as
car k of ``slipstream evaluate RUN --track T`` (``--reverse`` for a reversed route) does; each
car's reward params, camera and episode use its own slot's track, and the cars never interact.
Its steps are counted and timed by the same functions (`episode_trace`, `sequential_traces`) as
a per-track evaluation's, so its `TrialRecord`s are those of the per-track run
(tests/test_evaluate_tracks.py checks this). What a batch costs: one camera texture per track in
it (16-32 MB, 0.6-2.7 s to build) and the steps until its slowest trial ends; routes are batched in
order of length, so the cars of a batch tend to finish together. Per-route simtraces and metrics
files are not written (hundreds of files); the table is the output.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

import numpy as np

from slipstream.config import WorldConfig
from slipstream.env.episode_loop import LoopStep, play_episodes
from slipstream.evaluate.episodes import CarSteps, TrialRecord, sequential_traces
from slipstream.evaluate.evaluation import (
    DEFAULT_TRIALS,
    MAX_STEPS,
    EvaluationError,
    attach_policy,
    evaluation_world,
    make_core,
    run_training_world,
)
from slipstream.evaluate.policy_loader import LoadedModel, Policy, as_storage, load_run_model
from slipstream.evaluate.tracks_table import (
    DEFAULT_DIRECTION,
    REVERSED_DIRECTION,
    RouteRow,
    TracksTable,
    format_table,
    route_row,
    summary_lines,
    table_csv,
)
from slipstream.runs import RunLayout, RunStorage, evaluation_timestamp
from slipstream.tracks import Track, load_track
from slipstream.tracks.track_set import TrackSet, parse_track_set

ROUTES_PER_CORE = 16
"""Routes per `DeepRacerCore`: bounds the textures held at once (16-32 MB each)."""
DIRECTION_CHOICES = ("default", "both")
TRACKS_RACE_TYPE = "TIME_TRIAL"
"""The race type an evaluation across tracks runs (objects need a world of one track)."""


@dataclass(frozen=True)
class Route:
    """One track in one direction: what one row of the table evaluates."""

    name: str
    """The track as the set names it (``generated:<seed>`` for a generated one)."""
    track: Track
    """The loaded track, in file order."""
    reverse: bool
    """Driven against the file's waypoint order."""

    @property
    def slot_track(self) -> Track:
        """The track as its slot gets it: reversed for a reversed route."""
        return self.track.reversed() if self.reverse else self.track


def plan_routes(track_set: TrackSet, directions: str = "default") -> list[Route]:
    """The routes of a track set: each track in its default direction, then (``both``) reversed.

    Loads every track first, so a set that names a bad track fails before anything runs.
    """
    if directions not in DIRECTION_CHOICES:
        raise EvaluationError(
            f"directions must be one of {', '.join(DIRECTION_CHOICES)}, got {directions!r}"
        )
    if track_set.generated:
        raise EvaluationError(
            "'generated' draws a new track at every draw, which an evaluation cannot repeat; "
            "name generated tracks by seed instead, e.g. --tracks generated:0,generated:1"
        )
    routes = []
    for name in track_set.names:
        track = load_track(name)
        routes.append(Route(name, track, False))
        if directions == "both":
            routes.append(Route(name, track, True))
    return routes


def check_tracks_world(world: WorldConfig) -> None:
    """Refuse the settings an evaluation across tracks cannot run (the message says why)."""
    if world.RACE_TYPE != TRACKS_RACE_TYPE:
        raise EvaluationError(
            f"an evaluation across tracks runs {TRACKS_RACE_TYPE} trials, not {world.RACE_TYPE} "
            "(obstacles and bot cars need a world of one track): evaluate one track with "
            "--track, or leave out --race-type"
        )
    if world.IS_CONTINUOUS:
        raise EvaluationError(
            "an evaluation across tracks runs separate trials; --continuous (IS_CONTINUOUS) "
            "works with --track only"
        )


def direction_of(route: Route, world: WorldConfig) -> str:
    """The direction a route's cars drive (the world's REVERSE_DIR flips every route)."""
    return REVERSED_DIRECTION if route.reverse ^ bool(world.REVERSE_DIR) else DEFAULT_DIRECTION


# ------------------------------------------------------------------------------ running


_RECORDED = ("status", "progress", "lap_count", "done", "sim_time", "reward")


def play_trials(core, policy: Policy, slots: np.ndarray) -> list[CarSteps]:
    """One episode per car of `core` from a reset, car i on track slot ``slots[i]``, with the
    deterministic policy; each car's steps (what `StepRecorder` keeps of them for
    `episode_trace`, without the simtrace rows)."""
    slots = np.asarray(slots, dtype=np.int64)
    attach_policy(policy, core, np.arange(core.num_cars))
    parts: list[dict[str, np.ndarray]] = []

    def act(obs: dict[str, np.ndarray], cars: np.ndarray) -> np.ndarray:
        return policy.act(obs, deterministic=True)

    def record(loop: LoopStep) -> None:
        r, cars = loop.step.result, loop.cars
        parts.append(
            {
                "car": cars,
                "status": r.status[cars],
                "progress": r.progress[cars],
                "lap_count": r.lap_count[cars],
                "done": (r.terminated | r.truncated)[cars],
                "sim_time": r.sim_time[cars],
                "reward": np.asarray(loop.step.reward, dtype=np.float64)[cars],
            }
        )

    play_episodes(core, act, [1] * core.num_cars, record, before_reset=lambda cars: slots[cars])
    stacked = {key: np.concatenate([p[key] for p in parts]) for key in ("car", *_RECORDED)}
    order = np.argsort(stacked["car"], kind="stable")  # per car, in step order
    bounds = np.searchsorted(stacked["car"][order], np.arange(1, core.num_cars))
    return [
        CarSteps(**{key: stacked[key][rows] for key in _RECORDED})
        for rows in np.split(order, bounds)
    ]


def run_routes(
    model: LoadedModel,
    world: WorldConfig,
    routes: Sequence[Route],
    *,
    trials: int,
    seed: int = 0,
    max_steps: int = MAX_STEPS,
) -> list[list[TrialRecord]]:
    """The trials of `routes` in one core: car k of route r on slot r, seeded seed + k; per
    route, one `TrialRecord` per trial, numbered and timed as sequential trials."""
    slots = np.repeat(np.arange(len(routes)), trials)
    seeds = [int(seed) + k for _ in routes for k in range(trials)]
    core = make_core(
        model.metadata,
        world,
        len(slots),
        seed,
        max_steps,
        track=[r.slot_track for r in routes],
        seeds=seeds,
    )
    steps = play_trials(core, model.policy, slots)
    dt = core.sim.car.dt
    out = []
    for r in range(len(routes)):
        traces = sequential_traces(steps[r * trials : (r + 1) * trials], continuous=False, dt=dt)
        out.append([record for trace in traces for record in trace.records])
    return out


def evaluate_routes(
    model: LoadedModel,
    world: WorldConfig,
    routes: Sequence[Route],
    *,
    seed: int = 0,
    max_steps: int = MAX_STEPS,
    routes_per_core: int = ROUTES_PER_CORE,
    progress: Callable[[str], None] | None = None,
) -> list[RouteRow]:
    """The table rows of `routes` (in their order), NUMBER_OF_TRIALS trials each, played in
    batches of `routes_per_core` routes taken in order of track length; `progress` gets a line
    per batch."""
    check_tracks_world(world)
    if int(routes_per_core) < 1:
        raise EvaluationError(f"routes per core must be at least 1, got {routes_per_core}")
    trials = int(world.NUMBER_OF_TRIALS)
    order = sorted(
        range(len(routes)),
        key=lambda i: (routes[i].track.length, routes[i].name, routes[i].reverse),
    )
    records: dict[int, list[TrialRecord]] = {}
    batches = [order[k : k + routes_per_core] for k in range(0, len(order), routes_per_core)]
    for number, batch in enumerate(batches, start=1):
        began = time.perf_counter()
        chosen = [routes[i] for i in batch]
        done = run_routes(model, world, chosen, trials=trials, seed=seed, max_steps=max_steps)
        records.update(zip(batch, done, strict=True))
        if progress is not None:
            lengths = [r.track.length for r in chosen]
            progress(
                f"batch {number}/{len(batches)}: {len(batch)} route(s) of "
                f"{min(lengths):.1f}-{max(lengths):.1f} m, {time.perf_counter() - began:.1f} s"
            )
    return [
        route_row(r.name, direction_of(r, world), r.track.length, records[i])
        for i, r in enumerate(routes)
    ]


# ------------------------------------------------------------------------------ the run folder


@dataclass(frozen=True)
class TracksResult:
    """An evaluation across tracks and where its table went (keys relative to the run folder;
    None when no run folder was given)."""

    table: TracksTable
    csv: str | None
    json: str | None


def write_tracks_table(layout: RunLayout, table: TracksTable) -> tuple[str, str]:
    """Write the table as CSV, then as JSON (the JSON, which `track_evaluation_timestamps`
    lists, comes last so a listed table is complete); returns the two keys."""
    csv_key = layout.track_evaluation_csv(table.timestamp)
    json_key = layout.track_evaluation_json(table.timestamp)
    layout.storage.write_text(csv_key, table_csv(table.rows))
    layout.storage.write_text(json_key, json.dumps(table.to_json(), indent=2) + "\n")
    return csv_key, json_key


def evaluate_run_tracks(
    run: str | RunStorage | None,
    tracks: str,
    *,
    directions: str = "default",
    trials: int | None = DEFAULT_TRIALS,
    checkpoint: str = "best",
    race_type: str | None = None,
    sets: Sequence[str] = (),
    onnx: str | None = None,
    seed: int = 0,
    max_steps: int = MAX_STEPS,
    routes_per_core: int = ROUTES_PER_CORE,
    echo: TextIO | None = sys.stdout,
) -> TracksResult:
    """Evaluate a run's model on every route of a track set and write one table.

    Args:
        run: the run folder (path or fsspec URL): its metadata, training world, checkpoints.
        tracks: a track set (`parse_track_set`): names, globs, ``official``, ``builtin``,
            ``generated:<seed>``; plain ``generated`` is refused (it names no fixed track).
        directions: ``default`` (each track's default direction) or ``both``.
        trials: NUMBER_OF_TRIALS per route; None keeps the world's.
        checkpoint, sets, onnx, seed, max_steps: as `evaluate_run`.
        race_type: TIME_TRIAL (the default here); other race types are refused.
        routes_per_core: routes simulated together (memory: a texture per track).
        echo: where to print progress, the table and its summary (None: nowhere).

    Nothing is written unless every route was evaluated.
    """
    started = datetime.now(UTC)
    began = time.perf_counter()
    track_set = parse_track_set(tracks)
    storage = as_storage(run) if run is not None else None
    world = evaluation_world(
        run_training_world(storage), sets, race_type=race_type or TRACKS_RACE_TYPE, trials=trials
    )
    check_tracks_world(world)
    routes = plan_routes(track_set, directions)
    model = load_run_model(storage, checkpoint, onnx)
    say = None
    if echo is not None:
        named = len(track_set.names)
        echo.write(
            f"Evaluation of {model.source} on {len(routes)} route(s) ({named} track(s), "
            f"{'both directions' if directions == 'both' else 'default direction'}; "
            f"{world.RACE_TYPE}, {world.NUMBER_OF_TRIALS} trials each)\n"
        )
        echo.flush()

        def say(line: str) -> None:
            echo.write(line + "\n")
            echo.flush()

    rows = evaluate_routes(
        model,
        world,
        routes,
        seed=seed,
        max_steps=max_steps,
        routes_per_core=routes_per_core,
        progress=say,
    )
    layout = RunLayout(storage) if storage is not None else None
    table = TracksTable(
        timestamp=(
            layout.new_track_evaluation_timestamp(started)
            if layout is not None
            else evaluation_timestamp(started)
        ),
        model=model.source,
        track_set=tracks,
        directions=directions,
        trials=int(world.NUMBER_OF_TRIALS),
        seed=int(seed),
        race_type=str(world.RACE_TYPE),
        rows=tuple(rows),
        elapsed_s=time.perf_counter() - began,
    )
    csv_key = json_key = None
    if layout is not None:
        csv_key, json_key = write_tracks_table(layout, table)
    if echo is not None:
        echo.write(format_table(table.rows) + "\n")
        echo.write("\n".join(summary_lines(table.rows)) + "\n")
        where = f" -> {storage.path(csv_key)}" if storage is not None and csv_key else ""
        echo.write(f"{len(rows)} route(s) in {table.elapsed_s:.1f} s{where}\n")
        echo.flush()
    return TracksResult(table, csv_key, json_key)


__all__ = [
    "DIRECTION_CHOICES",
    "ROUTES_PER_CORE",
    "Route",
    "TracksResult",
    "check_tracks_world",
    "evaluate_routes",
    "evaluate_run_tracks",
    "plan_routes",
    "play_trials",
    "run_routes",
    "write_tracks_table",
]
