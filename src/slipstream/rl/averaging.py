"""Averages of a policy's weights over its training (stochastic weight averaging).

A PPO policy's weights swing from update to update, and a copy taken at one moment may drive
much worse than one taken ten minutes earlier or later; the mean of several late copies'
weights drives more tracks than any of them (docs/tracks.md, "The generalisation benchmark").
`moving_average` keeps an exponential moving average while training, a pure function of state
dicts (name -> tensor), with a half-life in environment steps: after an update that took `steps`
samples, the average moves a share ``1 - 0.5 ** (steps / half_life)`` of the way to the new
weights. The weights of `half_life` steps ago count half as much as the newest, whatever the
iterations' sizes.

Tensors that are not floating point (none in today's networks) are taken from the newest
weights, never averaged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def _same_keys(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> list[str]:
    if list(a) != list(b):
        raise ValueError("policy weights to average must have the same tensors (keys differ)")
    return list(b)


def moving_average_share(steps: int, half_life: float) -> float:
    """How far (0-1) the moving average moves towards new weights after `steps` samples."""
    if half_life <= 0:
        raise ValueError(f"the moving average's half-life must be > 0 steps, got {half_life}")
    return 1.0 - 0.5 ** (max(0, steps) / half_life)


def moving_average(
    average: Mapping[str, torch.Tensor] | None,
    weights: Mapping[str, torch.Tensor],
    steps: int,
    half_life: float,
) -> dict[str, torch.Tensor]:
    """The moving average after an update of `steps` samples gave `weights` (a new dict; the
    inputs are not changed). With no average yet it starts at `weights`."""
    if average is None:
        return {key: value.detach().clone() for key, value in weights.items()}
    share = moving_average_share(steps, half_life)
    return {
        key: (
            average[key].lerp(weights[key].to(average[key].dtype), share)
            if weights[key].is_floating_point()
            else weights[key].detach().clone()
        )
        for key in _same_keys(average, weights)
    }


__all__ = ["moving_average", "moving_average_share"]
