"""Generalisation benchmark (`slipstream bench generalise`): train the racing example on
generated tracks only, then race it on the official tracks it has never seen.

The measure (issue 21): the share of official tracks, driven in their default direction, on which
at least 2 of 3 evaluation trials complete a lap at a mean lap speed of at least 2.0 m/s (the
track's centre-line length over the lap time). While it trains, the policy is copied every
`curve_every` minutes; after training each copy is evaluated on a fixed subset of the official
tracks, which gives the curve of the share against training minutes, and the last policy on
every official track, which gives the table.
"""

from __future__ import annotations

import copy
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from slipstream.config import as_reward_function
from slipstream.rollout.trainer import IterationReport, TrainConfig, Trainer
from slipstream.tracks.registry import official_tracks
from slipstream.tracks.track import TrackError
from slipstream.tracks.track_set import TrackSet

MIN_LAPS = 2
MIN_SPEED = 2.0
"""m/s: the issue's bar for "racing" on a track (centre-line length / mean lap time)."""
POPULAR_TRACKS = (
    "reInvent2019_track",
    "2022_reinvent_champ",
    "2024_reinvent_champ",
    "2023_reinvent_champ",
)
"""Tracks DRfC racers train on most (re:Invent championship tracks), reported on their own."""


@dataclass(frozen=True)
class Snapshot:
    """The policy as it was after `minutes` of training."""

    minutes: float
    steps: int
    weights: dict[str, Any]


def subset_of(names: list[str], count: int) -> list[str]:
    """`count` tracks spread evenly over the sorted names (the same subset every run)."""
    names = sorted(names)
    if count >= len(names):
        return names
    step = len(names) / count
    return [names[int(i * step)] for i in range(count)]


def benchmark_generalise(
    minutes: float = 60.0,
    *,
    curve_every: float = 10.0,
    subset: int = 12,
    trials: int = 3,
    episodes_per_track: int = 10,
    workers: int = 1,
    seed: int = 0,
    run: str | None = None,
    echo=sys.stdout,
) -> dict[str, Any]:
    """Train the racing example for `minutes` on generated tracks only, then evaluate (module
    docstring). Returns the curve, the table rows and the shares."""
    from slipstream.config import load_custom_files
    from slipstream.evaluate.policy_loader import LoadedModel
    from slipstream.evaluate.tracks_table import evaluate_model_on_tracks, lapped_share
    from slipstream.examples import example_dir
    from slipstream.model.policy import PolicyActor

    official = sorted(official_tracks())
    if not official:
        raise TrackError(
            "bench generalise evaluates on the official tracks: run `slipstream tracks fetch` "
            "or set SLIPSTREAM_TRACKS to the folder of DeepRacer's route files"
        )
    files = load_custom_files(example_dir("racing"))
    folder = run or tempfile.mkdtemp(prefix="slipstream-bench-generalise-")
    config = TrainConfig.build(
        run=folder,
        model_metadata=files.model_metadata,
        hyperparameters=files.hyperparameters,
        reward_function=as_reward_function(files.reward_function_path),
        track_set=TrackSet((), generated=True),
        episodes_per_track=episodes_per_track,
        workers=workers,
        minutes=minutes,
        serial=workers == 1,
        eval_episodes=int(files.world.MIN_EVAL_TRIALS),
        seed=seed,
    )
    trainer = Trainer(config, echo=None)
    start = time.monotonic()
    snapshots: list[Snapshot] = []

    def note(report: IterationReport) -> None:
        elapsed = (time.monotonic() - start) / 60
        due = (len(snapshots) + 1) * curve_every
        if elapsed >= due or elapsed >= minutes:
            weights = copy.deepcopy(trainer.update.policy_weights())
            snapshots.append(Snapshot(round(elapsed, 2), report.total_steps, weights))
        if echo is not None:
            echo.write(
                f"{elapsed:6.1f} min | iteration {report.iteration:>4} | "
                f"{report.total_steps:>9,} steps | mean progress {report.mean_progress:5.1f}% "
                f"| eval progress {','.join(f'{p:.0f}' for p in report.eval_progress)}%\n"
            )
            echo.flush()

    reports = trainer.run(on_iteration=note)
    train_minutes = (time.monotonic() - start) / 60
    if not snapshots or snapshots[-1].steps != reports[-1].total_steps:
        weights = copy.deepcopy(trainer.update.policy_weights())
        snapshots.append(Snapshot(round(train_minutes, 2), reports[-1].total_steps, weights))

    def model_of(snapshot: Snapshot) -> LoadedModel:
        actor = PolicyActor(config.model_metadata)
        actor.set_weights(snapshot.weights, 0)
        return LoadedModel(config.model_metadata, actor, f"after {snapshot.minutes} min")

    fixed = subset_of(official, subset)
    curve = []
    for snap in snapshots:
        rows = evaluate_model_on_tracks(model_of(snap), fixed, trials=trials, seed=seed)
        share = lapped_share(rows, MIN_LAPS, MIN_SPEED)
        curve.append({"minutes": snap.minutes, "steps": snap.steps, "subset_share": share})
        if echo is not None:
            echo.write(f"curve: {snap.minutes:6.1f} min, {snap.steps:>9,} steps: {share:.0%}\n")
    final = evaluate_model_on_tracks(model_of(snapshots[-1]), official, trials=trials, seed=seed)
    share = lapped_share(final, MIN_LAPS, MIN_SPEED)
    failed = [row.track for row in final if not row.races(MIN_LAPS, MIN_SPEED)]
    return {
        "benchmark": "generalise",
        "minutes": round(train_minutes, 2),
        "iterations": len(reports),
        "steps": reports[-1].total_steps if reports else 0,
        "official_tracks": len(official),
        "share_lapped_at_2_mps": share,
        "curve": curve,
        "popular": [row.as_dict() for row in final if row.track in POPULAR_TRACKS],
        "failed": failed,
        "table": [row.as_dict() for row in final],
        "run": folder,
    }


__all__ = ["MIN_LAPS", "MIN_SPEED", "benchmark_generalise", "subset_of"]
