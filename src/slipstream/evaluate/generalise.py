"""Generalisation benchmark (`slipstream bench generalise`): train the racing example's action
space on generated tracks only, with the example's files for many tracks (`REWARD_FILE`, which
pays speed the same on every track, and `HYPERPARAMETERS_FILE`), then race it on the official
tracks it has never seen.

The measure (issue 21): the share of official tracks, driven in their default direction, on which
at least 2 of 3 evaluation trials complete a lap at a mean lap speed of at least 2.0 m/s (the
track's centre-line length over the lap time), next to each track's yardstick (`lap_ceiling`).
The training keeps a moving average of the policy's weights (`train --policy-average`, half-life
`POLICY_AVERAGE_STEPS`), and the table races that average on every official track: what
`slipstream evaluate RUN --checkpoint averaged` drives. The policy swings from update to update,
and averaged weights lapped more unseen tracks at speed than the last copy in five of six paired
runs (docs/tracks.md).
While it trains, the policy and its average are copied every `curve_every` minutes; after
training each copy is evaluated on a fixed subset of the official tracks, which gives the curve
of the share against training minutes.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from slipstream.config import as_reward_function
from slipstream.evaluate.bench import progress_line
from slipstream.evaluate.tracks_table import MIN_LAPS, summarize_routes
from slipstream.evaluate.tracks_table import MIN_SPEED_MPS as MIN_SPEED
from slipstream.model.run_model import POLICY_AVERAGE
from slipstream.rollout.trainer import IterationReport, TrainConfig, Trainer
from slipstream.tracks.registry import official_tracks
from slipstream.tracks.track import TrackError
from slipstream.tracks.track_set import TrackSet

POPULAR_TRACKS = (
    "reInvent2019_track",
    "2022_reinvent_champ",
    "2024_reinvent_champ_ccw",
    "2024_reinvent_champ_cw",
)
"""Tracks DRfC racers train on most (the re:Invent championship tracks; 2024's is the newest
official file), reported on their own."""


REWARD_FILE = "reward_any_track.py"
"""The racing example's reward for many tracks: the pace so far times the mean of the pace and
the speed along the track, in metres per second, the same on every track (the example's own
pays lap percent per step, which favours short tracks in a mixed batch)."""
HYPERPARAMETERS_FILE = "hyperparameters_any_track.json"
"""The racing example's hyperparameters with 3 PPO epochs instead of 5: the learner takes most
of the hour, and 3 epochs over 1.5 times the samples lapped more official tracks with either
reward measured (docs/tracks.md)."""
POLICY_AVERAGE_STEPS = 75_000
"""Half-life (environment steps) of the policy's moving average the table races: about 7.5
minutes of the hour's 600k steps (docs/tracks.md, runs 15 and 16)."""
SNAPSHOTS = "bench-generalise"
"""Folder of the run holding the policy copies (`snapshot-<k>.pt`: minutes, steps, the policy's
weights and, when kept, their moving average)."""


def subset_of(names: list[str], count: int) -> list[str]:
    """`count` tracks spread evenly over the sorted names (the same subset every run)."""
    names = sorted(names)
    if count >= len(names):
        return names
    step = len(names) / count
    return [names[int(i * step)] for i in range(count)]


def _official() -> list[str]:
    official = sorted(official_tracks())
    if not official:
        raise TrackError(
            "bench generalise evaluates on the official tracks: run `slipstream tracks fetch` "
            "or set SLIPSTREAM_TRACKS to the folder of DeepRacer's route files"
        )
    return official


@dataclass(frozen=True)
class GeneralisePlan:
    """How the benchmark trains (`slipstream bench generalise` options)."""

    minutes: float = 60.0
    curve_every: float = 10.0
    """Minutes between policy copies (the curve's points)."""
    episodes_per_track: int = 10
    camera_augmentation: bool = False
    """CAMERA_AUGMENTATION (the real-car camera augmentation) on."""
    reward: str | None = None
    """A reward function file in place of the example's `REWARD_FILE`."""
    hyperparameters: str | None = None
    """A hyperparameters.json in place of the example's `HYPERPARAMETERS_FILE` (keys it leaves
    out take the DRfC defaults, as in `slipstream train`)."""
    eval_trials: int = 0
    """MIN_EVAL_TRIALS while training: evaluation episodes after every iteration (DeepRacer's
    default is 5). Slipstream runs them after the update, in the training's time; DeepRacer's
    worker 0 runs them while the trainer trains (docs/deepracer.md). The benchmark uses only
    the policy copies, so by default it gives their time to training."""
    workers: int = 1
    seed: int = 0
    policy_average: int | None = POLICY_AVERAGE_STEPS
    """Half-life (environment steps) of the policy's moving average (`train --policy-average`),
    which the table races; None: keep none and race the last policy."""


def train_on_generated(
    plan: GeneralisePlan, run: str | None = None, echo=sys.stdout
) -> dict[str, Any]:
    """Train the racing example for `plan.minutes` on generated tracks only, saving a copy of
    the policy (and of its moving average) every `plan.curve_every` minutes and at the end into
    RUN/bench-generalise/."""
    import torch

    from slipstream.config import load_hyperparameters, load_model_metadata
    from slipstream.examples import example_dir
    from slipstream.runs import RunStorage

    example = example_dir("racing")
    folder = run or tempfile.mkdtemp(prefix="slipstream-bench-generalise-")
    config = TrainConfig.build(
        run=folder,
        model_metadata=load_model_metadata(example / "model_metadata.json"),
        hyperparameters=load_hyperparameters(
            plan.hyperparameters or example / HYPERPARAMETERS_FILE
        ),
        reward_function=as_reward_function(plan.reward or example / REWARD_FILE),
        world={"CAMERA_AUGMENTATION": plan.camera_augmentation},
        track_set=TrackSet((), generated=True),
        episodes_per_track=plan.episodes_per_track,
        workers=plan.workers,
        minutes=plan.minutes,
        serial=plan.workers == 1,
        eval_episodes=plan.eval_trials,
        seed=plan.seed,
        policy_average=plan.policy_average,
    )
    trainer = Trainer(config, echo=None)
    storage = RunStorage(folder)
    start = time.monotonic()
    saved: list[dict[str, Any]] = []

    def snapshot(report: IterationReport, elapsed: float) -> None:
        buffer = io.BytesIO()
        state = {"minutes": round(elapsed, 2), "steps": report.total_steps}
        weights = {"policy": trainer.update.policy_weights()}
        if trainer.update.policy_average is not None:
            weights[POLICY_AVERAGE] = trainer.update.policy_average
        torch.save({**state, **weights}, buffer)
        storage.write_bytes(f"{SNAPSHOTS}/snapshot-{len(saved)}.pt", buffer.getvalue())
        saved.append(state)

    def note(report: IterationReport) -> None:
        elapsed = (time.monotonic() - start) / 60
        if elapsed >= (len(saved) + 1) * plan.curve_every:
            snapshot(report, elapsed)
        if echo is not None:
            progress = f"mean progress {report.mean_progress:5.1f}%"
            echo.write(progress_line(elapsed, report, progress) + "\n")
            echo.flush()

    reports = trainer.run(on_iteration=note)
    train_minutes = (time.monotonic() - start) / 60
    if reports and (not saved or saved[-1]["steps"] != reports[-1].total_steps):
        snapshot(reports[-1], train_minutes)
    return {
        "minutes": round(train_minutes, 2),
        "iterations": len(reports),
        "steps": reports[-1].total_steps if reports else 0,
        "snapshots": saved,
        "run": folder,
    }


def evaluate_generalisation(
    run: str,
    *,
    subset: int = 12,
    trials: int = 3,
    seed: int = 0,
    echo=sys.stdout,
) -> dict[str, Any]:
    """Evaluate the policy copies of a `train_on_generated` run on a fixed subset of the
    official tracks (the curve; each copy's moving average too, when it holds one), then race
    the last copy's moving average (or, in a run that kept none, the last copy) on every
    official track (the table)."""
    import torch

    from slipstream.evaluate.evaluation import evaluation_world, run_training_world
    from slipstream.evaluate.policy_loader import LoadedModel, read_run_metadata
    from slipstream.evaluate.track_evaluation import evaluate_routes, plan_routes
    from slipstream.model.policy import PolicyActor
    from slipstream.runs import RunStorage

    official = _official()
    storage = RunStorage(run)
    metadata = read_run_metadata(storage)
    world = evaluation_world(run_training_world(storage), trials=trials)
    keys = sorted(storage.glob(f"{SNAPSHOTS}/snapshot-*.pt"), key=_snapshot_number)
    if not keys:
        raise TrackError(
            f"{run} holds no {SNAPSHOTS}/snapshot-*.pt: train it with bench generalise"
        )

    def model_of(weights: Mapping[str, Any], label: str) -> LoadedModel:
        actor = PolicyActor(metadata)
        actor.set_weights(weights, 0)
        return LoadedModel(metadata, actor, label)

    def rows_of(model: LoadedModel, names: list[str]):
        routes = plan_routes(TrackSet(tuple(names)), "default")
        return evaluate_routes(model, world, routes, seed=seed)

    def on_subset(weights: Mapping[str, Any], label: str):
        return summarize_routes(rows_of(model_of(weights, label), fixed), MIN_LAPS, MIN_SPEED)

    fixed = subset_of(official, subset)
    curve = []
    for key in keys:
        state = torch.load(io.BytesIO(storage.read_bytes(key)), weights_only=True)
        info = {"minutes": float(state["minutes"]), "steps": int(state["steps"])}
        summary = on_subset(state["policy"], f"after {info['minutes']} min")
        point = {**info, "subset_lapped": summary.share_lapped, "subset_share": summary.share_fast}
        line = f"curve: {info['minutes']:6.1f} min, {info['steps']:>9,} steps: {summary.line()}"
        if POLICY_AVERAGE in state:
            mean = on_subset(state[POLICY_AVERAGE], f"average after {info['minutes']} min")
            point.update(
                averaged_subset_lapped=mean.share_lapped, averaged_subset_share=mean.share_fast
            )
            line += f"; averaged: {mean.line()}"
        curve.append(point)
        if echo is not None:
            echo.write(line + "\n")
            echo.flush()
    averaged = POLICY_AVERAGE in state
    policy = "the moving average of the policy" if averaged else "the last policy copy"
    model = model_of(state[POLICY_AVERAGE if averaged else "policy"], policy)
    final = rows_of(model, official)
    summary = summarize_routes(final, MIN_LAPS, MIN_SPEED)
    fast = {
        row.track
        for row in final
        if row.laps_completed >= MIN_LAPS and (row.mean_lap_speed_mps or 0.0) >= MIN_SPEED
    }
    ceilings = official_ceilings(official, int(world.SIMAPP_VERSION))
    reachable = [name for name, mps in ceilings.items() if mps is not None and mps >= MIN_SPEED]
    if echo is not None:
        echo.write(f"all official tracks ({policy}): {summary.line('tracks')}\n")
        echo.write(
            f"fastest laps the car allows (lap_ceiling): {len(reachable)} of {len(official)} "
            f"official tracks at >= {MIN_SPEED:.1f} m/s\n"
        )
    table = []
    for row in final:
        ceiling = ceilings.get(row.track)
        speed = row.mean_lap_speed_mps
        share = round(speed / ceiling, 3) if speed is not None and ceiling else None
        table.append({**asdict(row), "ceiling_mps": ceiling, "share_of_ceiling": share})
    return {
        "official_tracks": len(official),
        "subset": fixed,
        "share_lapped": summary.share_lapped,
        "share_lapped_at_2_mps": summary.share_fast,
        "share_reachable_at_2_mps": len(reachable) / len(official),
        "curve": curve,
        "raced": {"policy": "averaged" if averaged else "last", **curve[-1]},
        "popular": [row for row in table if row["track"] in POPULAR_TRACKS],
        "failed": [row["track"] for row in table if row["track"] not in fast],
        "table": table,
    }


def official_ceilings(names: list[str], simapp_version: int) -> dict[str, float | None]:
    """Each track's lap-speed yardstick (`lap_ceiling`: centre-line length over the fastest lap
    the car allows, m/s; None for an open track) for the car of `simapp_version`."""
    from slipstream.evaluate.lap_ceiling import car_limits, lap_ceiling
    from slipstream.sim.car import car_for_simapp
    from slipstream.tracks.registry import load_track

    limits = car_limits(car_for_simapp(simapp_version))
    ceilings: dict[str, float | None] = {}
    for name in names:
        ceiling = lap_ceiling(load_track(name), limits)
        ceilings[name] = round(ceiling.center_speed_mps, 3) if ceiling else None
    return ceilings


def _snapshot_number(key: str) -> int:
    return int(key.rsplit("-", 1)[1].removesuffix(".pt"))


def benchmark_generalise(
    plan: GeneralisePlan,
    *,
    subset: int = 12,
    trials: int = 3,
    run: str | None = None,
    echo=sys.stdout,
) -> dict[str, Any]:
    """Train on generated tracks only, then evaluate on the official ones (module docstring)."""
    _official()  # refuse before training when there is nothing to evaluate on
    trained = train_on_generated(plan, run=run, echo=echo)
    result = evaluate_generalisation(
        trained["run"], subset=subset, trials=trials, seed=plan.seed, echo=echo
    )
    return {"benchmark": "generalise", "plan": asdict(plan), **trained, **result}


__all__ = [
    "MIN_LAPS",
    "MIN_SPEED",
    "POLICY_AVERAGE_STEPS",
    "GeneralisePlan",
    "benchmark_generalise",
    "evaluate_generalisation",
    "subset_of",
    "train_on_generated",
]
