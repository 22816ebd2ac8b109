"""Head-to-head race of two models (HEAD_TO_MODEL): both cars on one track at once.

The two cars share one world (the simulator's CARS_PER_WORLD = 2): each is an obstacle in the
other's camera and collision tests. DeepRacer's grid: car A (racecar_0) starts on the outer lane
at the start line, car B (racecar_1) 0.75 m behind it on the inner lane. A collision counts as a
crash only for the car that is behind (it is reset and held for COLLISION_PENALTY); the car
ahead carries on (status in_progress). Each car runs its own model: its own sensors rendered
from the shared state, its own action space turned into steering and speed commands.

The race is one episode of `laps` laps (IS_CONTINUOUS when laps > 1) and ends, as DeepRacer's
default DONE_CONDITION "any" says, when either car's episode ends: the first to complete all
laps wins. Race defaults are the evaluation job's (penalties 2 s off track, 5 s crash) with
NUMBER_OF_RESETS = 10000 (the console's race setting) so that a crash or an off-track costs time
instead of ending the race; ``--set NUMBER_OF_RESETS=0`` restores the evaluation job's default.
Each model gets its evaluation folder, metrics file and log in its own run folder.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from slipstream.config import WorldConfig, apply_overrides, load_hyperparameters
from slipstream.env.episode_loop import LoopStep, play_episodes
from slipstream.evaluate.episodes import TrialRecord, episode_trace
from slipstream.evaluate.evaluation import (
    MAX_STEPS,
    EvaluationError,
    attach_policy,
    make_core,
    run_training_world,
)
from slipstream.evaluate.outputs import StepRecorder, WrittenEvaluation, car_steps, write_evaluation
from slipstream.evaluate.policy_loader import LoadedModel, as_storage, load_run_model
from slipstream.evaluate.report import trial_table
from slipstream.runs import RunLayout, RunStorage
from slipstream.sim import episode as ep
from slipstream.sim.actions import ActionTable

RACE_RESETS = 10000
"""NUMBER_OF_RESETS of a race unless set (DeepRacer console races; evaluation_worker's
MIN_RESET_COUNT)."""
CARS = ("A", "B")


def race_world(
    training_world: Mapping[str, Any] | None = None,
    sets: Sequence[str] = (),
    laps: int = 1,
) -> WorldConfig:
    """Evaluation-job world settings for a HEAD_TO_MODEL race of `laps` laps."""
    if laps < 1:
        raise EvaluationError(f"a race needs at least 1 lap, got {laps}")
    base: dict[str, Any] = {"RACE_TYPE": "HEAD_TO_MODEL", "NUMBER_OF_RESETS": RACE_RESETS}
    for key in ("WORLD_NAME", "TRACK_DIRECTION_CLOCKWISE"):
        if training_world and key in training_world:
            base[key] = training_world[key]
    world = WorldConfig.for_job("EVALUATION").with_overrides(base, source="race defaults")
    _, world = apply_overrides(load_hyperparameters(None), world, sets)
    world = world.with_overrides(
        {"NUMBER_OF_TRIALS": int(laps), "IS_CONTINUOUS": laps > 1, "RACE_TYPE": "HEAD_TO_MODEL"},
        source="race arguments",
    )
    if world.DONE_CONDITION != "any":
        raise EvaluationError(
            "DONE_CONDITION=all (park the first finisher and race on) is not supported; "
            "races end when the first car finishes (DONE_CONDITION=any)"
        )
    return world


@dataclass
class RacerResult:
    """One car of a race."""

    label: str
    """``A`` (starts ahead, outer lane) or ``B`` (0.75 m behind, inner lane)."""
    source: str
    records: list[TrialRecord]
    laps_completed: int
    progress: float
    """Progress (percent) of the lap the car was on when the race ended (100 if finished)."""
    finish_time: float | None
    """Race clock (s) when the car completed its last lap; None if it did not."""
    written: WrittenEvaluation | None = None

    @property
    def crash_count(self) -> int:
        return sum(r.crash_count for r in self.records)

    @property
    def off_track_count(self) -> int:
        return sum(r.off_track_count for r in self.records)

    @property
    def distance(self) -> float:
        """Laps completed plus the fraction of the current one (for ranking non-finishers)."""
        return self.laps_completed + (0.0 if self.finish_time else self.progress / 100.0)


@dataclass
class RaceResult:
    laps: int
    track: str
    racers: tuple[RacerResult, RacerResult]
    winner: int | None
    """Index (0 = A, 1 = B) of the first car to complete all laps; None if nobody did or both
    finished in the same step."""
    videos: list[str] = field(default_factory=list)

    def table(self) -> str:
        """Printed result: who finished first, lap times, crashes, off-tracks."""
        header = (
            f"{'car':<4} {'laps':>5} {'progress':>9} {'race time':>10} {'crashes':>8} "
            f"{'off-track':>10}  model"
        )
        lines = [f"Head-to-head race on {self.track}, {self.laps} lap(s)", header]
        lines.append("-" * len(header))
        for i, r in enumerate(self.racers):
            finish = f"{r.finish_time:9.3f}s" if r.finish_time is not None else "      DNF"
            mark = "  << winner" if self.winner == i else ""
            lines.append(
                f"{r.label:<4} {r.laps_completed:>5} {r.progress:>8.1f}% {finish:>10} "
                f"{r.crash_count:>8} {r.off_track_count:>10}  {r.source}{mark}"
            )
        for r in self.racers:
            laps = [f"{x.elapsed:.3f}" for x in r.records if x.completed]
            lines.append(f"lap times {r.label}: {', '.join(laps) if laps else '-'} s")
        if self.winner is not None:
            w = self.racers[self.winner]
            lines.append(f"{w.label} finished first ({w.source})")
        else:
            a, b = self.racers
            if a.finish_time is not None and b.finish_time is not None:
                lines.append("dead heat: both finished in the same step")
            else:
                ahead = a if a.distance >= b.distance else b
                lines.append(f"nobody finished; {ahead.label} was further ahead")
        return "\n".join(lines)

    def lap_tables(self) -> str:
        return "\n".join(f"car {r.label}:\n{trial_table(r.records, 'lap')}" for r in self.racers)


def _rows(obs: Mapping[str, np.ndarray], car: int) -> dict[str, np.ndarray]:
    return {k: v[car : car + 1] for k, v in obs.items()}


def _traced(table: ActionTable, actions: np.ndarray, steering: float, speed: float) -> Any:
    if table.continuous:
        return np.array([steering, speed])
    return int(np.asarray(actions).reshape(-1)[0])


def make_race_core(model_a: LoadedModel, world: WorldConfig, seed: int = 0, **kwargs):
    """The simulator of a race: two cars in one world, car A's sensors and reward function."""
    return make_core(model_a.metadata, world, 2, seed, extra_world={"CARS_PER_WORLD": 2}, **kwargs)


def run_race(
    core, model_a: LoadedModel, model_b: LoadedModel, on_step=None, seed: int = 0
) -> tuple[StepRecorder, StepRecorder]:
    """Drive cars 0 (A) and 1 (B) of `core` with their models until either episode ends;
    returns each car's recorded steps (their action formats may differ).

    `on_step(step, observations (obs_a, obs_b), actions)` is called after every step.
    """
    from slipstream.env.sensors import SensorSuite

    tables = (core.actions, ActionTable.from_metadata(model_b.metadata))
    if tuple(model_b.metadata.sensor) == tuple(core.sensors.sensors):
        sensors_b = None
    else:
        sensors_b = SensorSuite(
            core.track, model_b.metadata, domain_randomization=core.sensors.domain_randomization
        )
        sensors_b.seed([int(seed), int(seed) + 1])
    policies = (model_a.policy, model_b.policy)
    for car, policy in enumerate(policies):
        attach_policy(policy, core, np.array([car]))
    recorders = (StepRecorder(), StepRecorder())
    seen: dict[str, object] = {}

    def act(obs_a: dict[str, np.ndarray], cars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        obs_b = seen.pop("obs_b", None)  # rendered after the last step already (for on_step)
        if obs_b is None:
            obs_b = obs_a if sensors_b is None else sensors_b.observe(core.sim)
        views = (obs_a, obs_b)
        actions = [
            policies[car].act(_rows(views[car], car), deterministic=True) for car in range(2)
        ]
        commands = [tables[car].commands(actions[car]) for car in range(2)]
        steering = np.concatenate([c[0] for c in commands])
        speed = np.concatenate([c[1] for c in commands])
        traced = np.empty(2, dtype=object)
        for car in range(2):
            traced[car] = _traced(tables[car], actions[car], steering[car], speed[car])
        seen["traced"] = traced
        return steering, speed

    def record(loop: LoopStep) -> None:
        traced = seen["traced"]
        for car in range(2):
            recorders[car].add(core, loop.step, _column(traced, car), np.array([car]))
        if on_step is not None:
            obs_a = loop.step.obs
            obs_b = obs_a if sensors_b is None else sensors_b.observe(core.sim)
            seen["obs_b"] = obs_b
            on_step(loop.step, (obs_a, obs_b), traced)

    # a race ends for both cars when either car's episode ends
    play_episodes(core, act, [1, 1], record, end_together=True)
    return recorders


def _column(traced: np.ndarray, car: int) -> np.ndarray:
    """A 2-row action array holding car `car`'s simtrace action in its own format."""
    value = traced[car]
    if isinstance(value, np.ndarray):
        out = np.zeros((2, 2))
        out[car] = value
        return out
    out = np.zeros(2, dtype=np.int64)
    out[car] = value
    return out


def race_models(
    model_a: LoadedModel,
    model_b: LoadedModel,
    world: WorldConfig,
    *,
    layouts: tuple[RunLayout, RunLayout] | None = None,
    seed: int = 0,
    max_steps: int = MAX_STEPS,
    video: bool = False,
    track: str | None = None,
    core=None,
) -> RaceResult:
    """Race two loaded models and (with `layouts`) write each one's evaluation.

    `core` may be a prepared `make_race_core` (for drivers that need it before the race).
    """
    laps = int(world.NUMBER_OF_TRIALS)
    continuous = bool(world.IS_CONTINUOUS)
    if core is None:
        core = make_race_core(model_a, world, seed, max_steps=max_steps, track=track)
    stamp_a = layouts[0].new_evaluation_timestamp() if layouts else None
    videos = None
    if video:
        if layouts is None:
            raise EvaluationError("videos are written into the run folders; give them")
        from slipstream.evaluate.video import RaceVideo

        videos = RaceVideo(core, layouts[0], stamp_a, (model_a.source, model_b.source))
    try:
        recorders = run_race(core, model_a, model_b, videos.on_step if videos else None, seed)
    finally:
        if videos is not None:
            videos.close()
    dt = core.sim.car.dt
    racers = []
    traces = []
    for car, model in enumerate((model_a, model_b)):
        rows = recorders[car].car(car)
        trace = episode_trace(
            car_steps(rows), start_time=0.0, first_trial=0, continuous=continuous, dt=dt
        )
        traces.append((rows, trace))
        last = len(rows["status"]) - 1
        finished = bool(rows["done"][last]) and rows["status"][last] == ep.LAP_COMPLETE
        racers.append(
            RacerResult(
                label=CARS[car],
                source=model.source,
                records=trace.records,
                laps_completed=int(rows["lap_count"][last]),
                progress=float(rows["progress"][last]),
                finish_time=float(trace.tstamp[last]) if finished else None,
            )
        )
    finishers = [i for i, r in enumerate(racers) if r.finish_time is not None]
    winner = finishers[0] if len(finishers) == 1 else None
    result = RaceResult(laps, core.track.name, (racers[0], racers[1]), winner)
    if layouts is not None:
        stamps = [stamp_a, None]
        for car in range(2):
            layout = layouts[car]
            stamp = stamps[car] or layout.new_evaluation_timestamp()
            rows, trace = traces[car]
            metadata = (model_a, model_b)[car].metadata.to_json_dict()
            racers[car].written = write_evaluation(layout, stamp, [(rows, trace)], metadata)
            if videos is not None and videos.key is not None:
                key = f"{layout.videos_dir}/race-{stamp}.mp4"
                if car == 1:
                    data = layouts[0].storage.read_bytes(videos.key)
                    layout.storage.write_bytes(key, data)
                result.videos.append(layout.storage.path(key))
    return result


def race_runs(
    run_a: str | RunStorage,
    run_b: str | RunStorage,
    *,
    track: str | None = None,
    laps: int = 1,
    checkpoint: str = "best",
    sets: Sequence[str] = (),
    video: bool = False,
    seed: int = 0,
    max_steps: int = MAX_STEPS,
    echo: TextIO | None = sys.stdout,
) -> RaceResult:
    """Race the models of two run folders (A starts ahead) and write both evaluations.

    The track defaults to run A's WORLD_NAME.
    """
    storages = (as_storage(run_a), as_storage(run_b))
    models = tuple(load_run_model(s, checkpoint) for s in storages)
    labelled = [
        LoadedModel(model.metadata, model.policy, f"{storage.root} ({model.source})")
        for storage, model in zip(storages, models, strict=True)
    ]
    world = race_world(run_training_world(storages[0]), sets, laps)
    layouts = (RunLayout(storages[0]), RunLayout(storages[1]))
    result = race_models(
        labelled[0],
        labelled[1],
        world,
        layouts=layouts,
        seed=seed,
        max_steps=max_steps,
        video=video,
        track=track,
    )
    if echo is not None:
        echo.write(result.table() + "\n")
        for r in result.racers:
            if r.written is not None:
                echo.write(f"metrics {r.label}: {r.written.metrics}\n")
        for path in result.videos:
            echo.write(f"video: {path}\n")
        echo.flush()
    return result
