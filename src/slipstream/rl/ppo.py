"""Clipped PPO as DeepRacer trains it (rl_coach ClippedPPOAgent with DeepRacer's fixed constants).

One `PPOLearner.update` is one training iteration on the iteration's whole on-policy dataset:

1. advantages standardised (A - mean) / (std + 1e-8) over the whole dataset;
2. the policy at the start of the update is the frozen "old policy" for every epoch;
3. `num_epochs` passes, each over a fresh shuffle cut into minibatches of `batch_size`
   (the remainder dropped; when the dataset has <= batch_size steps, the minibatch is
   2 ** floor(log2(steps)), DeepRacer's rule);
4. per minibatch: loss = clipped surrogate + value loss (Huber or MSE vs GAE returns)
   - beta_entropy * entropy, one Adam step (eps 1e-5), no gradient clipping.

The policy and value towers are separate networks as in DeepRacer; one Adam optimiser over both is
the same as one per tower (Adam acts per parameter). With a shared trunk the trunk receives both
losses' gradients.

Acting (`PPOLearner.act`): discrete policies sample from the probabilities or take the argmax
(`deterministic`), and with probability `epsilon` take a uniformly random action instead
(e-greedy, see `exploration.action_selection`). The returned log-probability is that of the taken
action under the policy, whatever chose it, as rl_coach records it. Continuous policies sample
mean + std * noise, unclipped (the environment clips), with the log-density of that unclipped sample;
deterministic mode returns the mean; epsilon is ignored.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from slipstream.rl.common import (
    HyperparameterError,
    TrainingDivergedError,
    adam,
    chunked,
    obs_to_device,
    resolve_device,
    to_tensor,
    value_loss,
    value_loss_kind,
)
from slipstream.rl.distributions import Categorical, DiagGaussian
from slipstream.rl.exploration import normalize_exploration_type
from slipstream.rl.gae import normalize_advantages
from slipstream.rl.networks import PPOPolicy, PPOValue
from slipstream.rl.precision import autocast, autocast_dtype

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PPOHyperparameters:
    """Clipped-PPO settings. Defaults are the DeepRacer console's; DeepRacer's fixed constants
    (clip, GAE lambda) are fields so experiments can vary them."""

    lr: float = 3e-4
    """Adam learning rate of both towers."""
    batch_size: int = 64
    """Minibatch size (steps)."""
    num_epochs: int = 10
    """Full passes over the iteration's data."""
    beta_entropy: float = 0.01
    """Entropy bonus coefficient."""
    discount_factor: float = 0.99
    """Gamma used by GAE (the trainer passes it to `compute_gae`)."""
    gae_lambda: float = 0.95
    """GAE lambda (fixed 0.95 in DeepRacer)."""
    clip: float = 0.2
    """Likelihood-ratio clip epsilon (fixed 0.2 in DeepRacer)."""
    loss_type: str = "huber"
    """Value loss: 'huber' (delta 1) or 'mean squared error'."""
    exploration_type: str = "categorical"
    """'categorical' or 'e-greedy' (discrete action spaces)."""
    e_greedy_value: float = 0.05
    """Final epsilon of e-greedy."""
    epsilon_steps: int = 10000
    """Steps over which e-greedy epsilon falls from 1.0 to e_greedy_value."""

    def __post_init__(self) -> None:
        value_loss_kind(self.loss_type)
        normalize_exploration_type(self.exploration_type)
        if not self.lr > 0:
            raise HyperparameterError(f"lr must be > 0, got {self.lr}")
        if self.batch_size < 1 or self.num_epochs < 1:
            raise HyperparameterError(
                f"batch_size and num_epochs must be >= 1, got {self.batch_size}, {self.num_epochs}"
            )
        if not (0 <= self.discount_factor <= 1 and 0 <= self.gae_lambda <= 1):
            raise HyperparameterError("discount_factor and gae_lambda must lie in [0, 1]")
        if not 0 < self.clip < 1:
            raise HyperparameterError(f"clip must lie in (0, 1), got {self.clip}")
        if not 0 <= self.e_greedy_value <= 1:
            raise HyperparameterError(
                f"e_greedy_value must lie in [0, 1], got {self.e_greedy_value}"
            )


# ----------------------------------------------------------------------------------------------
# Pure pieces


def ppo_policy_loss(
    log_prob_new: torch.Tensor,
    log_prob_old: torch.Tensor,
    advantages: torch.Tensor,
    clip: float = 0.2,
) -> torch.Tensor:
    """-mean(min(r A, clip(r, 1 - clip, 1 + clip) A)) with r = exp(log_prob_new - log_prob_old)."""
    ratio = torch.exp(log_prob_new - log_prob_old)
    clipped = ratio.clamp(1.0 - clip, 1.0 + clip)
    return -torch.minimum(ratio * advantages, clipped * advantages).mean()


def entropy(distribution: Categorical | DiagGaussian) -> torch.Tensor:
    """Mean entropy (nats) of a batch of action distributions."""
    return distribution.entropy().mean()


def minibatch_size(num_samples: int, batch_size: int) -> int:
    """DeepRacer's rule: batch_size, or 2 ** floor(log2(num_samples)) when num_samples <= batch_size."""
    if num_samples < 1:
        raise HyperparameterError("a PPO update needs at least one step of experience")
    if num_samples <= batch_size:
        return 1 << (num_samples.bit_length() - 1)
    return batch_size


def sample_actions(
    distribution: Categorical | DiagGaussian,
    deterministic: bool,
    epsilon: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Clipped PPO's sampling rule (the learner's and the rollout workers' one copy): the mode
    when deterministic, else a sample; discrete actions are replaced with probability `epsilon`
    by a uniform random action (e-greedy). Returns the actions and their float32 log-probs."""
    actions = distribution.mode() if deterministic else distribution.sample(generator)
    if epsilon > 0.0 and isinstance(distribution, Categorical):
        batch, num_actions = distribution.probs.shape
        device = distribution.probs.device
        explore = torch.rand(batch, generator=generator, device=device) < epsilon
        uniform = torch.randint(num_actions, (batch,), generator=generator, device=device)
        actions = torch.where(explore, uniform, actions)
    return actions, distribution.log_prob(actions).float()


# ----------------------------------------------------------------------------------------------
# Learner


class PPOLearner:
    """Holds the policy and value networks, the optimiser and an RNG; acts and updates.

    `device`: 'auto' (cuda when visible), 'cpu' or 'cuda'. `seed` seeds the learner's own
    generator (sampling, e-greedy draws, minibatch shuffles). `precision`: 'auto', 'bf16' or
    'fp32' (see `slipstream.rl.precision`): forward passes under bf16 autocast, while weights,
    gradients, optimiser state, losses and checkpoints stay float32."""

    def __init__(
        self,
        policy: PPOPolicy,
        value: PPOValue,
        hp: PPOHyperparameters,
        *,
        device: str | torch.device = "auto",
        seed: int | None = None,
        precision: str = "auto",
    ) -> None:
        self.hp = hp
        self.device = resolve_device(device)
        self.amp_dtype = autocast_dtype(precision, self.device)
        self.policy = policy.to(self.device)
        self.value = value.to(self.device)
        self.shared_trunk = value.trunk is policy.trunk
        self.sensors = policy.input_sensors
        params = {id(p): p for m in (self.policy, self.value) for p in m.parameters()}
        self.optimizer = adam(list(params.values()), hp.lr)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(
            seed if seed is not None else int(torch.randint(2**62, (1,)).item())
        )
        self.num_updates = 0

    # -- acting -----------------------------------------------------------------------------

    def _forward(
        self, obs: dict[str, torch.Tensor], amp: bool = True
    ) -> tuple[Categorical | DiagGaussian, torch.Tensor]:
        with autocast(self.device, self.amp_dtype if amp else None):
            features = self.policy.trunk(obs)
            distribution = self.policy.head_distribution(features)
            value_features = features if self.shared_trunk else self.value.trunk(obs)
            return distribution, self.value.head_output(value_features)

    def _autocast(self, fn: Callable[[dict[str, torch.Tensor]], torch.Tensor]):
        """`fn` run under the learner's autocast (float32 out: the heads cast back)."""

        def run(obs: dict[str, torch.Tensor]) -> torch.Tensor:
            with autocast(self.device, self.amp_dtype):
                return fn(obs)

        return run

    @torch.no_grad()
    def act(
        self, obs: Mapping[str, Any], deterministic: bool, epsilon: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Actions for a batch of observations: (actions, log_probs, values), in float32 like
        the rollout workers' `PolicyActor`.

        Discrete: actions int64 (B,); continuous: float32 (B, 2) in network space. log_probs and
        values float32 (B,). See the module docstring for the sampling rules."""
        tensors = obs_to_device(obs, self.sensors, self.device)
        distribution, values = self._forward(tensors, amp=False)
        actions, log_probs = sample_actions(distribution, deterministic, epsilon, self.generator)
        return (
            actions.cpu().numpy(),
            log_probs.cpu().numpy(),
            values.float().cpu().numpy(),
        )

    @torch.no_grad()
    def values(self, obs: Mapping[str, Any]) -> np.ndarray:
        """V(s) float32 (B,) for any number of observations (e.g. final observations of
        truncated episodes, to bootstrap GAE)."""
        tensors = obs_to_device(obs, self.sensors, self.device)
        return chunked(self._autocast(self.value), tensors).float().cpu().numpy()

    # -- training ---------------------------------------------------------------------------

    def update(
        self, batch: Mapping[str, Any], on_minibatch: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        """One training iteration over the whole dataset (`on_minibatch`, if given, is called
        before each minibatch: the trainer adjusts its threads there).

        batch: `obs` (dict of arrays, N rows), `actions` (N,) int or (N, 2) float, `advantages`
        (N,) raw GAE advantages (standardised here), `returns` (N,) value targets, and optionally
        `log_probs` (N,) of the behaviour policy (default: recomputed from the frozen policy).

        Returns {'epochs': [per-epoch dict of surrogate_loss, value_loss, entropy, kl_divergence,
        total_loss, training_epoch, learning_rate], 'num_samples', 'batch_size',
        'num_minibatches', 'seconds', 'samples_per_second'}.
        """
        start = time.perf_counter()
        obs = obs_to_device(batch["obs"], self.sensors, self.device)
        action_dtype = torch.float32 if self.policy.continuous else torch.int64
        actions = to_tensor(batch["actions"], self.device, action_dtype)
        n = len(actions)
        advantages = to_tensor(
            normalize_advantages(np.asarray(batch["advantages"])), self.device, torch.float32
        )
        returns = to_tensor(batch["returns"], self.device, torch.float32)
        if not (len(advantages) == len(returns) == n):
            raise ValueError(
                f"batch arrays disagree in length: actions {n}, advantages {len(advantages)}, "
                f"returns {len(returns)}"
            )
        bs = minibatch_size(n, self.hp.batch_size)
        num_minibatches = n // bs

        with torch.no_grad():  # the frozen old policy
            old_out = chunked(self._autocast(self.policy), obs)
            old_log_std = self.policy.clipped_log_std().clone() if self.policy.continuous else None
            old_log_probs = self._distribution(old_out, old_log_std).log_prob(actions)
        if batch.get("log_probs") is not None:
            old_log_probs = to_tensor(batch["log_probs"], self.device, torch.float32)

        epochs = []
        lr = self.optimizer.param_groups[0]["lr"]
        for epoch in range(self.hp.num_epochs):
            order = torch.randperm(n, generator=self.generator, device=self.device)
            sums = torch.zeros(5, device=self.device)
            for i in range(num_minibatches):
                if on_minibatch is not None:
                    on_minibatch()
                idx = order[i * bs : (i + 1) * bs]
                loss, (surrogate, v_loss, mean_entropy), distribution = self.minibatch_loss(
                    {k: v[idx] for k, v in obs.items()},
                    actions[idx],
                    old_log_probs[idx],
                    advantages[idx],
                    returns[idx],
                )
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                with torch.no_grad():
                    old = self._distribution(old_out[idx], old_log_std)
                    kl = old.kl(distribution).mean()  # type: ignore[arg-type]
                    sums += torch.stack([surrogate, v_loss, mean_entropy, kl, loss]).detach()
            means = (sums / num_minibatches).tolist()
            if not all(math.isfinite(x) for x in means):
                raise TrainingDivergedError(
                    f"PPO loss is not finite at epoch {epoch} ({means}); lower lr or check rewards"
                )
            epochs.append(
                {
                    "surrogate_loss": means[0],
                    "value_loss": means[1],
                    "entropy": means[2],
                    "kl_divergence": means[3],
                    "total_loss": means[4],
                    "training_epoch": epoch,
                    "learning_rate": lr,
                }
            )
        self.num_updates += 1
        seconds = time.perf_counter() - start
        trained = num_minibatches * bs * self.hp.num_epochs
        return {
            "epochs": epochs,
            "num_samples": n,
            "batch_size": bs,
            "num_minibatches": num_minibatches,
            "seconds": seconds,
            "samples_per_second": trained / seconds if seconds > 0 else float("inf"),
        }

    def minibatch_loss(
        self,
        obs: dict[str, torch.Tensor],
        actions: torch.Tensor,
        old_log_probs: torch.Tensor,
        advantages: torch.Tensor,
        returns: torch.Tensor,
    ) -> tuple[
        torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor], Categorical | DiagGaussian
    ]:
        """One minibatch's loss = surrogate + value loss - beta_entropy * entropy (float32, the
        forward under the learner's autocast), its three parts, and the current distribution."""
        distribution, values = self._forward(obs)
        surrogate = ppo_policy_loss(
            distribution.log_prob(actions), old_log_probs, advantages, self.hp.clip
        )
        v_loss = value_loss(values, returns, self.hp.loss_type)
        mean_entropy = entropy(distribution)
        loss = surrogate + v_loss - self.hp.beta_entropy * mean_entropy
        return loss, (surrogate, v_loss, mean_entropy), distribution

    def _distribution(
        self, head_out: torch.Tensor, log_std: torch.Tensor | None
    ) -> Categorical | DiagGaussian:
        if log_std is None:
            return Categorical(head_out)
        return DiagGaussian(head_out, log_std)

    # -- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimiser and RNG state: tensors and plain containers only, so
        `torch.load(..., weights_only=True)` reads it."""
        return {
            "policy": self.policy.state_dict(),
            "value": self.value.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "num_updates": torch.tensor(self.num_updates),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.value.load_state_dict(state["value"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"].cpu())
        self.num_updates = int(state["num_updates"])
