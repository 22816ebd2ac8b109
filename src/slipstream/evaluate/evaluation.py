"""Evaluation of one model: trials (or continuous laps) as DeepRacer's evaluation job runs them.

DeepRacer (docs/deepracer.md 5.3) runs NUMBER_OF_TRIALS trials one after another, each one episode
from the start line with the deterministic policy (argmax / mean); with IS_CONTINUOUS one
episode of NUMBER_OF_TRIALS laps. Rule breaks end a trial unless NUMBER_OF_RESETS allows a reset,
which holds the car for OFF_TRACK_PENALTY (off track, reversed) or COLLISION_PENALTY (crash)
seconds. Evaluation defaults: no resets, penalties 2.0 s / 5.0 s, start line fixed.

Slipstream runs the trials side by side as one batch of cars, each in its own world with its own
seed (`seed + k` for trial k), and writes them as if they had run one after another: trial k's
clock starts where trial k-1 ended (rounded up to the next millisecond). Results do not depend
on the batching: the cars never interact.

The reward column is the DeepRacer default reward function's, as in DeepRacer's evaluation job
(it loads `markov.defaults.reward_function`, not the user's).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import yaml

from slipstream.config import WorldConfig, apply_overrides, load_hyperparameters
from slipstream.config.errors import ConfigError
from slipstream.env.episode_loop import LoopStep, play_episodes
from slipstream.evaluate.episodes import TrialRecord, sequential_traces
from slipstream.evaluate.outputs import StepRecorder, WrittenEvaluation, car_steps, write_evaluation
from slipstream.evaluate.policy_loader import LoadedModel, Policy, as_storage, load_run_model
from slipstream.evaluate.report import trial_summary, trial_table
from slipstream.runs import RunLayout, RunStorage
from slipstream.runs.simtrace import trace_actions
from slipstream.tracks import Track

log = logging.getLogger(__name__)

EVALUATION_RACE_TYPES = ("TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT")
DEFAULT_TRIALS = 3
"""DRfC's DR_EVAL_NUMBER_OF_TRIALS."""
MAX_STEPS = 100_000
"""DeepRacer's episode step cap (MAX_STEPS)."""
INHERITED_KEYS = (
    "NUMBER_OF_OBSTACLES",
    "MIN_DISTANCE_BETWEEN_OBSTACLES",
    "RANDOMIZE_OBSTACLE_LOCATIONS",
    "IS_OBSTACLE_BOT_CAR",
    "OBSTACLE_TYPE",
    "OBJECT_POSITIONS",
    "NUMBER_OF_BOT_CARS",
    "BOT_CAR_SPEED",
    "MIN_DISTANCE_BETWEEN_BOT_CARS",
    "RANDOMIZE_BOT_CAR_LOCATIONS",
    "IS_LANE_CHANGE",
    "LOWER_LANE_CHANGE_TIME",
    "UPPER_LANE_CHANGE_TIME",
    "LANE_CHANGE_DISTANCE",
    "PENALTY_SECONDS",
)
"""Object settings an evaluation takes over from the run's training_params.yaml (DRfC evaluates
with the same run.env), unless another race type is asked for."""


class EvaluationError(ValueError):
    """An evaluation that cannot run as asked (the message says how to fix it)."""


# ------------------------------------------------------------------------------ settings


def run_training_world(storage: RunStorage | None) -> dict[str, Any]:
    """The YAML keys of the run's training_params.yaml ({} when absent)."""
    if storage is None:
        return {}
    key = RunLayout(storage).training_params()
    if not storage.exists(key):
        return {}
    data = yaml.safe_load(storage.read_text(key)) or {}
    return dict(data) if isinstance(data, dict) else {}


def evaluation_world(
    training_world: dict[str, Any] | None = None,
    sets: Sequence[str] = (),
    *,
    race_type: str | None = None,
    trials: int | None = None,
    continuous: bool | None = None,
    reverse: bool | None = None,
    track: str | None = None,
) -> WorldConfig:
    """The evaluation job's world settings (JOB_TYPE EVALUATION defaults).

    Starts from DeepRacer's evaluation defaults, takes the track, race type and object settings
    of the training run, then the ``--set KEY=VALUE`` assignments, then the explicit arguments.
    """
    training_world = dict(training_world or {})
    base: dict[str, Any] = {}
    for key in ("WORLD_NAME", "TRACK_DIRECTION_CLOCKWISE", "RACE_TYPE"):
        if key in training_world:
            base[key] = training_world[key]
    trained_type = str(training_world.get("RACE_TYPE", "TIME_TRIAL"))
    if race_type is None or race_type == trained_type:
        base.update({k: training_world[k] for k in INHERITED_KEYS if k in training_world})
    world = WorldConfig.for_job("EVALUATION").with_overrides(base, source="training_params.yaml")
    lower = [s for s in sets if s.partition("=")[0].strip().islower()]
    if lower:
        raise ConfigError(
            "evaluation takes world keys only",
            source="--set",
            value=lower[0],
            fix="use upper-case RoboMaker YAML keys, e.g. --set NUMBER_OF_RESETS=10000",
        )
    _, world = apply_overrides(load_hyperparameters(None), world, sets)
    explicit: dict[str, Any] = {}
    if race_type is not None:
        explicit["RACE_TYPE"] = race_type
    if trials is not None:
        explicit["NUMBER_OF_TRIALS"] = int(trials)
    if continuous is not None:
        explicit["IS_CONTINUOUS"] = bool(continuous)
    if reverse:
        explicit["REVERSE_DIR"] = True
    if track is not None:
        explicit["WORLD_NAME"] = track
        explicit["TRACK_DIRECTION_CLOCKWISE"] = None
    if explicit:
        world = world.with_overrides(explicit, source="evaluate arguments")
    # a race type with objects but no count gets DRfC's defaults, as training does
    world = world.with_race_type(world.RACE_TYPE)
    if world.RACE_TYPE not in EVALUATION_RACE_TYPES:
        raise EvaluationError(
            f"race type {world.RACE_TYPE} cannot be evaluated alone; use one of "
            f"{', '.join(EVALUATION_RACE_TYPES)} (two models race with `slipstream race`)"
        )
    if world.NUMBER_OF_TRIALS < 1:
        raise EvaluationError(f"NUMBER_OF_TRIALS must be at least 1, got {world.NUMBER_OF_TRIALS}")
    return world


# ------------------------------------------------------------------------------ running


def attach_policy(policy: Policy, core, cars: np.ndarray) -> None:
    """Hand the simulator to a policy that drives from its state (a scripted driver), if the
    policy has an ``attach(core, cars)`` method: it will act for `cars`, in that order."""
    attach = getattr(policy, "attach", None)
    if attach is not None:
        attach(core, np.asarray(cars))


StepHook = Callable[[Any, np.ndarray, np.ndarray], None]
"""Called after every step with (CoreStep, simtrace actions, indices of the cars recorded)."""


def run_episodes(core, policy: Policy, on_step: StepHook | None = None) -> StepRecorder:
    """One episode per car of `core` (from a reset) with the deterministic policy.

    Plays every car's episode to its end (terminated or truncated) with the one episode loop;
    records each car's steps up to and including its last one.
    """
    attach_policy(policy, core, np.arange(core.num_cars))
    recorder = StepRecorder()

    def act(obs: dict[str, np.ndarray], cars: np.ndarray) -> np.ndarray:
        return policy.act(obs, deterministic=True)

    def record(loop: LoopStep) -> None:
        traced = trace_actions(core.actions.continuous, loop.actions, loop.step.result)
        recorder.add(core, loop.step, traced, loop.cars)
        if on_step is not None:
            on_step(loop.step, traced, loop.cars)

    play_episodes(core, act, [1] * core.num_cars, record)
    return recorder


def make_core(
    metadata,
    world: WorldConfig,
    num_cars: int,
    seed: int,
    max_steps: int = MAX_STEPS,
    track: str | Track | Sequence[Track] | None = None,
    extra_world: dict[str, Any] | None = None,
    seeds: Sequence[int] | None = None,
):
    """The simulator for an evaluation: `num_cars` cars, default reward function, seeded.

    `track`: a track, or several (one per slot of a multi-track world); default the world's.
    Car k is seeded with `seeds[k]`, by default seed + k."""
    from slipstream.env.core import DeepRacerCore

    if extra_world:
        world = world.with_overrides(extra_world, source="evaluation")
    core = DeepRacerCore(
        num_cars,
        track=track or world.track_name,
        model_metadata=metadata,
        reward_function=None,
        world=world,
        job_type="EVALUATION",
        max_steps=max_steps,
    )
    if seeds is None:
        seeds = [int(seed) + k for k in range(num_cars)]
    core.seed([int(s) for s in seeds])
    return core


@dataclass
class EvaluationResult:
    """Records of an evaluation and where its files went."""

    records: list[TrialRecord]
    written: WrittenEvaluation | None
    source: str
    track: str
    continuous: bool
    videos: list[str] = field(default_factory=list)

    @property
    def laps_completed(self) -> int:
        return sum(r.completed for r in self.records)

    def table(self) -> str:
        return trial_table(self.records, "lap" if self.continuous else "trial")

    def summary(self) -> str:
        return trial_summary(self.records)


def episode_traces(recorder: StepRecorder, num_cars: int, continuous: bool, dt: float):
    """(rows, trace) per car, cars in order, clocks chained as sequential trials."""
    rows = [recorder.car(car) for car in range(num_cars)]
    traces = sequential_traces([car_steps(r) for r in rows], continuous=continuous, dt=dt)
    return list(zip(rows, traces, strict=True))


def evaluate_model(
    model: LoadedModel,
    world: WorldConfig,
    *,
    layout: RunLayout | None = None,
    seed: int = 0,
    max_steps: int = MAX_STEPS,
    video: bool = False,
    track: str | None = None,
) -> EvaluationResult:
    """Run the trials of `world` with `model` and (with a `layout`) write the evaluation.

    Non-continuous: NUMBER_OF_TRIALS cars, one trial each. Continuous: one car, one episode of
    NUMBER_OF_TRIALS laps.
    """
    continuous = bool(world.IS_CONTINUOUS)
    num_cars = 1 if continuous else int(world.NUMBER_OF_TRIALS)
    core = make_core(model.metadata, world, num_cars, seed, max_steps, track=track)
    timestamp = layout.new_evaluation_timestamp() if layout is not None else None
    videos = None
    if video:
        if layout is None:
            raise EvaluationError("videos are written into a run folder; give one")
        from slipstream.evaluate.video import TrialVideos

        videos = TrialVideos(core, layout, timestamp, continuous)
    try:
        recorder = run_episodes(core, model.policy, videos.on_step if videos else None)
    finally:
        if videos is not None:
            videos.close()
    episodes = episode_traces(recorder, num_cars, continuous, core.sim.car.dt)
    records = [r for _, trace in episodes for r in trace.records]
    written = None
    if layout is not None:
        written = write_evaluation(layout, timestamp, episodes, model.metadata.to_json_dict())
    return EvaluationResult(
        records,
        written,
        model.source,
        core.track.name,
        continuous,
        videos.keys if videos else [],
    )


def evaluate_run(
    run: str | RunStorage | None,
    *,
    track: str | None = None,
    trials: int | None = DEFAULT_TRIALS,
    checkpoint: str = "best",
    race_type: str | None = None,
    sets: Sequence[str] = (),
    continuous: bool | None = None,
    reverse: bool = False,
    video: bool = False,
    onnx: str | Path | None = None,
    seed: int = 0,
    max_steps: int = MAX_STEPS,
    echo: TextIO | None = sys.stdout,
) -> EvaluationResult:
    """Evaluate a run folder's model (or an exported ONNX model) and write the evaluation.

    Args:
        run: the run folder (path or fsspec URL); its metadata, training world and checkpoints.
        track: track name or path (default: the run's WORLD_NAME).
        trials: NUMBER_OF_TRIALS (trials, or laps when continuous); None keeps the world's.
        checkpoint: ``best`` or ``last`` (DeepRacer's EVAL_CHECKPOINT).
        race_type: TIME_TRIAL, OBJECT_AVOIDANCE or HEAD_TO_BOT (default: the run's).
        sets: ``KEY=VALUE`` world keys, e.g. ``NUMBER_OF_RESETS=10000``.
        continuous: IS_CONTINUOUS (None keeps the world's, False by default).
        reverse: drive the track in reverse (REVERSE_DIR).
        video: write an MP4 per trial into ``RUN/videos/``.
        onnx: evaluate this exported ``.onnx`` / ``model.tar.gz`` instead of a checkpoint.
        seed: trial k's cars and objects use seed + k.
        max_steps: episode step cap (DeepRacer's MAX_STEPS).
        echo: where to print the table and summary (None: nowhere).
    """
    storage = as_storage(run) if run is not None else None
    model = load_run_model(storage, checkpoint, onnx)
    world = evaluation_world(
        run_training_world(storage),
        sets,
        race_type=race_type,
        trials=trials,
        continuous=continuous,
        reverse=reverse,
        track=None,
    )
    layout = RunLayout(storage) if storage is not None else None
    result = evaluate_model(
        model, world, layout=layout, seed=seed, max_steps=max_steps, video=video, track=track
    )
    if echo is not None:
        where = f" -> {storage.path(result.written.metrics)}" if result.written else ""
        echo.write(
            f"Evaluation of {model.source} on {result.track} ({world.RACE_TYPE}, "
            f"{world.NUMBER_OF_TRIALS} {'laps' if result.continuous else 'trials'}){where}\n"
        )
        echo.write(result.table() + "\n" + result.summary() + "\n")
        for key in result.videos:
            echo.write(f"video: {storage.path(key)}\n")
        echo.flush()
    return result
