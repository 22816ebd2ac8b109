"""DeepRacer-for-Cloud's robomaker log, line for line (docs/drfc.md "Logs").

A DRfC rollout worker prints, in this order, what its readers (deepracer-log-guru's log parser,
deepracer-utils' `SimulationLogsIO` / `DeepRacerLog`) look for::

    [s3] Successfully downloaded yaml file from s3 key <prefix>/training_params.yaml to local ...
    {'ALTERNATE_DRIVING_DIRECTION': 'False', ..., 'RACE_TYPE': 'TIME_TRIAL', 'WORLD_NAME': '...'}
    SUMMARY / ======== / PARAMETERS and one `` * /KEY: value`` line per YAML key (roslaunch)
    Sensor list [...], network ..., simapp_version ..., ... lidar_config {...}
    Action space from file: [{'steering_angle': 0, 'speed': 4.0}, ...]
    Using the following hyper-parameters / the JSON, indent 2, keys sorted
    per training episode:   Reset agent / Reset agent finished / SIM_TRACE_LOG:... per step /
                            Training> Name=main_level/agent, Worker=0, Episode=<1-based>, ...
    per in-training evaluation episode (one bracket each, no SIM_TRACE_LOG lines, as DRfC):
        ## agent: Starting evaluation phase / Reset agent / Reset agent finished /
        Testing> ... / ## agent: Finished evaluation phase. Success rate = 0.0, Avg Total Reward = R
    after the evaluation of a checkpoint:
        [BestModelSelection] Number of evaluations: N Evaluation episode progress: [...]
        [BestModelSelection] Evaluation episode progress mean: M
        [BestModelSelection] current progress mean: M >= best progress mean: B
        [BestModelSelection] Updating the best checkpoint to "X" from "Y".   (when it is the best)

rl_coach's success rate is always 0.0 in DeepRacer (no target reward is set), and
deepracer-log-guru matches that text exactly, so it is written as 0.0. Each rollout worker's
rl_coach agent is ``Worker=0`` in its own log. A ``SIM_TRACE_LOG`` line is formatted from the
simtrace row (`sim_trace_lines`, DeepRacer's printf formats), so the log and the simtrace CSV
carry the same values in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from slipstream.runs.simtrace import SIMTRACE_COLUMNS, continuous_action_text

AGENT_NAME = "main_level/agent"
RESET_LINES = ("Reset agent", "Reset agent finished")
EVALUATION_START = "## agent: Starting evaluation phase"
EVALUATION_END = "## agent: Finished evaluation phase. Success rate = 0.0, Avg Total Reward = "
LOCAL_TRAINING_PARAMS = "./custom_files/training_params.yaml"


class Episode(Protocol):
    """What a log needs of a finished episode (`slipstream.rollout.worker.EpisodeSummary`)."""

    episode: int
    total_reward: float
    steps: int
    progress: float


def _value_text(value: object) -> str:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else ""
    return str(value)


def params_lines(params: Mapping[str, object], model_prefix: str) -> list[str]:
    """The training_params.yaml download line, the dict line and roslaunch's PARAMETERS list.

    deepracer-log-guru takes the model name from the download line (``<prefix>/training_params
    .yaml``), ``WORLD_NAME`` from the dict line and ``RACE_TYPE`` from the `` * /RACE_TYPE: ``
    line; deepracer-utils takes the world from `` * /WORLD_NAME: ``.
    """
    ordered = {str(k): params[k] for k in sorted(params, key=str)}
    as_loaded = {
        k: (list(v) if isinstance(v, list | tuple) else str(v)) for k, v in ordered.items()
    }
    prefix = model_prefix.strip("/")
    key = f"{prefix}/training_params.yaml" if prefix else "training_params.yaml"
    return [
        f"[s3] Successfully downloaded yaml file from s3 key {key} to local "
        f"{LOCAL_TRAINING_PARAMS}.",
        repr(as_loaded),
        "",
        "SUMMARY",
        "========",
        "",
        "PARAMETERS",
        *(f" * /{k}: {_value_text(v)}" for k, v in ordered.items()),
        "",
    ]


def reward_text(total_reward: float) -> str:
    """A total reward as rl_coach prints it (``1174.0``: a float, here to 2 places)."""
    return str(round(float(total_reward), 2))


def episode_line(prefix: str, episode: int, total_reward: float, steps: int, iteration: int) -> str:
    """``Training> ...`` / ``Testing> ...`` line of a finished episode (agent ``Worker=0``)."""
    return (
        f"{prefix}> Name={AGENT_NAME}, Worker=0, Episode={int(episode)}, "
        f"Total reward={reward_text(total_reward)}, Steps={int(steps)}, "
        f"Training iteration={int(iteration)}"
    )


def _action_texts(values: np.ndarray) -> list[str]:
    if values.ndim == 2:  # continuous: [steering speed]
        return [continuous_action_text(a, b) for a, b in values.astype(np.float64).tolist()]
    if values.dtype.kind in "US" or values.dtype == object:
        return [str(v) for v in values.tolist()]
    return [str(int(v)) for v in values.tolist()]


def sim_trace_lines(columns: Mapping[str, Any]) -> list[str]:
    """``SIM_TRACE_LOG:...`` lines of simtrace rows (the simtrace CSV's columns), column by
    column; each line equals `slipstream.runs.simtrace.sim_trace_log_line` of its row."""
    arrays = {name: np.asarray(columns[name]) for name in SIMTRACE_COLUMNS}
    n = max((len(a) for a in arrays.values() if a.ndim >= 1), default=0)
    arrays = {
        k: (a if a.ndim >= 1 else np.full(n, a.item(), dtype=a.dtype)) for k, a in arrays.items()
    }

    def floats(name: str, spec: str) -> list[str]:
        return [format(v, spec) for v in arrays[name].astype(np.float64).tolist()]

    def ints(name: str) -> list[str]:
        return [str(int(v)) for v in arrays[name].tolist()]

    def bools(name: str) -> list[str]:
        return [str(bool(v)) for v in arrays[name].tolist()]

    texts = [
        ints("episode"),
        ints("steps"),
        floats("X", ".4f"),
        floats("Y", ".4f"),
        floats("yaw", ".4f"),
        floats("steer", ".2f"),
        floats("throttle", ".2f"),
        _action_texts(arrays["action"]),
        floats("reward", ".4f"),
        bools("done"),
        bools("all_wheels_on_track"),
        floats("progress", ".4f"),
        ints("closest_waypoint"),
        floats("track_len", ".2f"),
        [str(v) for v in arrays["tstamp"].astype(np.float64).tolist()],
        [str(v) for v in arrays["episode_status"].tolist()],
        floats("pause_duration", ".2f"),
        ints("obstacle_crash_counter"),
        floats("wall_clock", ".4f"),
    ]
    return ["SIM_TRACE_LOG:" + ",".join(fields) for fields in zip(*texts, strict=True)]


def _lines_by_episode(columns: Mapping[str, Any]) -> dict[int, list[str]]:
    """SIM_TRACE_LOG lines of the simtrace rows, grouped by their ``episode``, in row order."""
    lines = sim_trace_lines(columns)
    numbers = np.broadcast_to(np.asarray(columns["episode"]), (len(lines),))
    grouped: dict[int, list[str]] = {}
    for number, line in zip(numbers.tolist(), lines, strict=True):
        grouped.setdefault(int(number), []).append(line)
    return grouped


def training_episode_lines(
    episodes: Sequence[Episode], simtrace: Mapping[str, Any], iteration: int
) -> list[str]:
    """One worker's training episodes of an iteration, each as DRfC prints it.

    Args:
        episodes: the finished episodes; ``episode`` is the worker's cumulative 1-based count.
        simtrace: the simtrace columns of these episodes (`SIMTRACE_COLUMNS`), ``episode``
            0-based, so episode ``e`` has the rows whose ``episode`` is ``e - 1``.
        iteration: the ``Training iteration`` field.
    """
    traced = _lines_by_episode(simtrace)
    lines: list[str] = []
    for e in episodes:
        lines.extend(RESET_LINES)
        lines.extend(traced.get(e.episode - 1, ()))
        lines.append(episode_line("Training", e.episode, e.total_reward, e.steps, iteration))
    return lines


def evaluation_episode_lines(
    evaluation: Sequence[Episode], last_training_episode: int, iteration: int
) -> list[str]:
    """In-training evaluation episodes: one evaluation-phase bracket each (DRfC's shape).

    ``Testing>`` lines carry the last training episode's number, as rl_coach prints them.
    """
    lines: list[str] = []
    for e in evaluation:
        lines.append(EVALUATION_START)
        lines.extend(RESET_LINES)
        lines.append(
            episode_line("Testing", last_training_episode, e.total_reward, e.steps, iteration)
        )
        lines.append(EVALUATION_END + reward_text(e.total_reward))
    return lines


def best_model_lines(
    values: Sequence[float],
    mean: float,
    best_before: float | None,
    checkpoint: str,
    previous_best: str | None,
    became_best: bool,
    metric: str = "progress",
) -> list[str]:
    """The ``[BestModelSelection]`` lines after a checkpoint's evaluation episodes.

    Args:
        values: the evaluation episodes' metric values (progress %, reward or lap time ms).
        mean: their mean (the checkpoint's score).
        best_before: the best score so far (None before the first).
        checkpoint, previous_best: the evaluated checkpoint and the best one before it.
        became_best: whether ``checkpoint`` is now the best one.
        metric: ``progress``, ``reward`` or ``laptime``.
    """
    listed = ", ".join(str(float(v)) for v in values)
    compare = "<=" if metric == "laptime" else ">="
    lines = [
        f"[BestModelSelection] Number of evaluations: {len(values)} "
        f"Evaluation episode {metric}: [{listed}]",
        f"[BestModelSelection] Evaluation episode {metric} mean: {float(mean)}",
        f"[BestModelSelection] current {metric} mean: {float(mean)} {compare} best {metric} mean: "
        f"{None if best_before is None else float(best_before)}",
    ]
    if became_best:
        lines.append(
            f'[BestModelSelection] Updating the best checkpoint to "{checkpoint}" '
            f'from "{previous_best}".'
        )
    return lines


__all__ = [
    "AGENT_NAME",
    "EVALUATION_END",
    "EVALUATION_START",
    "RESET_LINES",
    "best_model_lines",
    "episode_line",
    "evaluation_episode_lines",
    "params_lines",
    "reward_text",
    "sim_trace_lines",
    "training_episode_lines",
]
