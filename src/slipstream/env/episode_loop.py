"""The one episode loop: cars of a `DeepRacerCore` play episodes until each has played its share.

Rollout workers (training and in-training evaluation), evaluation trials and races all run
their episodes through `play_episodes`. A car whose episode ended is frozen by the simulator
(not stepped, rendered, rewarded or counted) until the loop resets it for its next episode, so
nothing after an episode's last step reaches the reward function, the records or the round
robin (which advances exactly once per finished training episode).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from slipstream.config.errors import RewardFunctionError
from slipstream.env.core import CoreStep, DeepRacerCore


@dataclass(frozen=True)
class LoopStep:
    """One step of the loop, as the `on_step` hook sees it."""

    step: CoreStep
    actions: Any
    """What `act` returned for this step (actions of all cars, or (steering, speed) commands)."""
    cars: np.ndarray
    """Indices of the cars that were in an episode during this step (the others were frozen)."""
    ended: np.ndarray
    """Indices of the cars whose episode ended at this step (terminated or truncated)."""
    episode: np.ndarray
    """Per car, the number (0, 1, ... in start order) of the episode it is playing."""
    clock: int
    """Steps of the loop before this one."""


Act = Callable[[dict[str, np.ndarray], np.ndarray], Any]
"""``act(obs, cars)``: actions of all cars for `core.step` (rows of cars not in `cars` are
ignored), or a ``(steering_deg, speed)`` tuple of commands."""


def play_episodes(
    core: DeepRacerCore,
    act: Act,
    episodes: int | Sequence[int],
    on_step: Callable[[LoopStep], None] | None = None,
    *,
    may_start: Callable[[], bool] | None = None,
    end_together: bool = False,
    before_reset: Callable[[np.ndarray], np.ndarray | None] | None = None,
) -> int:
    """Play episodes on the cars of `core`, each from a reset, until all are played.

    Args:
        episodes: a total, started on the first free car (lowest index first) as cars finish;
            or one count per car (car i plays episodes[i] episodes, 0 = it sits out).
        on_step: called after every step, before the cars that finished are reset.
        may_start: asked before each new episode after the first batch (False: start no more,
            e.g. once a step budget is spent; episodes under way still finish).
        end_together: every car's episode ends when the first one ends (a race).
        before_reset: called with the cars about to start an episode; may put tracks in the
            core's slots and returns the slot of each of those cars (None: keep their slots).

    Returns the number of steps of the loop (batched steps of `core`).
    """
    n = core.num_cars
    if isinstance(episodes, int):
        share = None
        total = episodes
        first = np.arange(n) < total
    else:
        share = np.asarray(episodes, dtype=np.int64).reshape(n).copy()
        total = int(share.sum())
        first = share > 0
    live = first.copy()
    number = np.where(live, np.cumsum(live) - 1, -1)
    started = int(live.sum())
    played = np.zeros(n, dtype=np.int64)
    obs = _reset(core, live, before_reset)
    clock = 0
    while live.any():
        cars = np.flatnonzero(live)
        actions = act(obs, cars)
        try:
            if isinstance(actions, tuple):
                step = core.step(commands=actions)
            else:
                step = core.step(actions)
        except RewardFunctionError as exc:
            if exc.car is not None:
                exc.episode = int(number[exc.car])  # which of this call's episodes failed
            raise
        done = (step.terminated | step.truncated) & live
        if end_together and done.any():
            done = live.copy()
        ended = np.flatnonzero(done)
        if on_step is not None:
            on_step(LoopStep(step, actions, cars, ended, number.copy(), clock))
        obs = step.obs
        clock += 1
        if not len(ended):
            continue
        live[ended] = False
        played[ended] += 1
        if end_together:
            break
        if share is None:
            restart = ended[: max(0, total - started)]
        else:
            restart = ended[played[ended] < share[ended]]
        if len(restart) and may_start is not None and not may_start():
            restart = restart[:0]
        if len(restart):
            mask = np.zeros(n, dtype=bool)
            mask[restart] = True
            obs = _reset(core, mask, before_reset)
            live[restart] = True
            number[restart] = np.arange(started, started + len(restart))
            started += len(restart)
    return clock


def _reset(
    core: DeepRacerCore,
    mask: np.ndarray,
    before_reset: Callable[[np.ndarray], np.ndarray | None] | None,
) -> dict[str, np.ndarray]:
    slots = None if before_reset is None else before_reset(np.flatnonzero(mask))
    return core.reset(mask, slots=slots)


__all__ = ["Act", "LoopStep", "play_episodes"]
