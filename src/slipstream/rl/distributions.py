"""The two action distributions of DeepRacer's PPO heads, as small explicit classes.

`Categorical` works on probabilities that the head already clamped to >= 1e-8 (DeepRacer's
`max(p, 1e-8)`); log-probabilities are `log(p)` of those clamped values, exactly as the frozen
graph's output would give, without renormalising. `DiagGaussian` is the continuous head: a mean per
action dimension and a log standard deviation shared by all states.

Batched over the leading axis: every method returns one value per row, shape (B,).
"""

from __future__ import annotations

import math

import torch

_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


class Categorical:
    """Distribution over `A` discrete actions from probabilities of shape (B, A)."""

    def __init__(self, probs: torch.Tensor) -> None:
        self.probs = probs

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """log p(action) for integer actions of shape (B,)."""
        chosen = self.probs.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        return torch.log(chosen)

    def entropy(self) -> torch.Tensor:
        """-sum p log p in nats, shape (B,)."""
        return -(self.probs * torch.log(self.probs)).sum(-1)

    def kl(self, other: Categorical) -> torch.Tensor:
        """KL(self || other) in nats, shape (B,)."""
        return (self.probs * (torch.log(self.probs) - torch.log(other.probs))).sum(-1)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """One action index per row, drawn with probability proportional to `probs`."""
        return torch.multinomial(self.probs, 1, generator=generator).squeeze(-1)

    def mode(self) -> torch.Tensor:
        """The most probable action of each row (argmax)."""
        return self.probs.argmax(-1)


class DiagGaussian:
    """Diagonal Gaussian with mean (B, D) and log standard deviation (D,) or (B, D)."""

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor) -> None:
        self.mean = mean
        self.log_std = log_std.expand_as(mean)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """Sum over dimensions of the log density at `actions` (B, D)."""
        z = (actions - self.mean) * torch.exp(-self.log_std)
        return (-0.5 * z * z - self.log_std - _HALF_LOG_TWO_PI).sum(-1)

    def entropy(self) -> torch.Tensor:
        """Differential entropy in nats, sum over dimensions, shape (B,)."""
        return (0.5 + _HALF_LOG_TWO_PI + self.log_std).sum(-1)

    def kl(self, other: DiagGaussian) -> torch.Tensor:
        """KL(self || other) in nats, shape (B,)."""
        var_ratio = torch.exp(2.0 * (self.log_std - other.log_std))
        mean_term = ((self.mean - other.mean) * torch.exp(-other.log_std)) ** 2
        return (other.log_std - self.log_std + 0.5 * (var_ratio + mean_term) - 0.5).sum(-1)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """mean + std * standard normal noise, shape (B, D), not clipped."""
        noise = torch.randn(
            self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype
        )
        return self.mean + torch.exp(self.log_std) * noise

    def mode(self) -> torch.Tensor:
        """The mean (the evaluation action)."""
        return self.mean


PolicyDistribution = Categorical | DiagGaussian
