"""DeepRacer's two discrete exploration types and the e-greedy epsilon schedule.

`categorical`: sample from the policy's probabilities while training, argmax when evaluating.
`e-greedy` (rl_coach EGreedy): take the argmax, except with probability epsilon a uniformly random
action; epsilon falls linearly from 1.0 to `e_greedy_value` over `epsilon_steps` training steps and
is 0.05 during evaluation. Continuous policies ignore both: Gaussian sample in training, mean in
evaluation.
"""

from __future__ import annotations

from typing import Literal

CATEGORICAL = "categorical"
E_GREEDY = "e-greedy"
EXPLORATION_TYPES = (CATEGORICAL, E_GREEDY)
EVALUATION_EPSILON = 0.05
"""Epsilon of e-greedy during evaluation episodes."""

ExplorationType = Literal["categorical", "e-greedy"]


class ExplorationError(ValueError):
    """An exploration setting DeepRacer does not have."""


def normalize_exploration_type(name: str) -> ExplorationType:
    """'categorical' or 'e-greedy' from DeepRacer spellings ('e_greedy', 'E-Greedy', 'egreedy')."""
    key = name.strip().lower().replace("_", "-")
    if key in ("e-greedy", "egreedy"):
        return "e-greedy"
    if key == CATEGORICAL:
        return "categorical"
    raise ExplorationError(f"exploration_type {name!r} is not one of {EXPLORATION_TYPES}")


def epsilon_schedule(step: int, epsilon_steps: int, final: float) -> float:
    """Linear 1.0 -> `final` over `epsilon_steps` steps, then `final` (final from step 0 if
    epsilon_steps <= 0). `step` counts environment steps taken in training."""
    if epsilon_steps <= 0 or step >= epsilon_steps:
        return float(final)
    fraction = max(step, 0) / epsilon_steps
    return 1.0 + (float(final) - 1.0) * fraction


def action_selection(
    exploration_type: str,
    step: int,
    epsilon_steps: int,
    e_greedy_value: float,
    *,
    evaluating: bool,
) -> tuple[bool, float]:
    """(deterministic, epsilon) to pass to `PPOLearner.act` for a discrete policy."""
    kind = normalize_exploration_type(exploration_type)
    if kind == CATEGORICAL:
        return evaluating, 0.0
    if evaluating:
        return True, EVALUATION_EPSILON
    return True, epsilon_schedule(step, epsilon_steps, e_greedy_value)
