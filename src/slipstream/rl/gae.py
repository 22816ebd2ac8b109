"""Generalised advantage estimation over one time-major stream of steps (episodes back to back).

For step t of the stream (all arrays shape (T,)):

    bootstrap_t = 0 if terminated[t] else next_values[t]
    delta_t     = rewards[t] + gamma * bootstrap_t - values[t]
    A_t         = delta_t + gamma * lam * (0 if episode_end[t] else A_{t+1})      (A_T = 0)
    returns_t   = A_t + values[t]                       (the value targets, as DeepRacer uses)

`next_values[t]` is V of the observation that followed step t; at a truncated episode end it is
V(final observation), so a time-limit cut bootstraps like any other step (Stable-Baselines3's
handling of timeouts). A stream that stops mid-episode (last step with episode_end False) is
bootstrapped from its last `next_values` as well.

DeepRacer itself (rl_coach) treats every episode end as terminal and bootstraps 0 even when the
episode was cut by a limit; `bootstrap_truncated=False` reproduces that.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


class GAEInputError(ValueError):
    """Arrays passed to `compute_gae` that do not describe one stream of steps."""


def compute_gae(
    rewards: ArrayLike,
    values: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike,
    episode_end: ArrayLike,
    gamma: float,
    lam: float,
    *,
    bootstrap_truncated: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(advantages, returns), float64 arrays of shape (T,); see the module docstring.

    rewards, values, next_values: (T,) floats; terminated, episode_end: (T,) bools with
    terminated implying episode_end. gamma: discount, lam: GAE lambda, both in [0, 1].
    """
    r = np.asarray(rewards, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    nv = np.asarray(next_values, dtype=np.float64)
    term = np.asarray(terminated, dtype=bool)
    end = np.asarray(episode_end, dtype=bool)
    shapes = {a.shape for a in (r, v, nv, term, end)}
    if len(shapes) != 1 or r.ndim != 1:
        raise GAEInputError(
            "rewards, values, next_values, terminated and episode_end must all be 1-D of the same "
            f"length; got shapes {[a.shape for a in (r, v, nv, term, end)]}"
        )
    if np.any(term & ~end):
        raise GAEInputError("a terminated step must also be an episode end (episode_end[t] True)")
    if not (0.0 <= gamma <= 1.0 and 0.0 <= lam <= 1.0):
        raise GAEInputError(f"gamma and lam must lie in [0, 1], got gamma={gamma}, lam={lam}")

    stop_bootstrap = term if bootstrap_truncated else end
    deltas = r + gamma * np.where(stop_bootstrap, 0.0, nv) - v
    carry = gamma * lam * ~end
    advantages = np.empty_like(deltas)
    running = 0.0
    for t in range(len(deltas) - 1, -1, -1):
        running = deltas[t] + carry[t] * running
        advantages[t] = running
    return advantages, advantages + v


def normalize_advantages(advantages: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """(A - mean) / (std + eps) over the whole array (population std), DeepRacer's standardisation."""
    a = np.asarray(advantages, dtype=np.float64)
    return (a - a.mean()) / (a.std() + eps)
