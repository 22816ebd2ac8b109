"""Soft actor-critic as DeepRacer trains it (rl_coach SAC v1: policy, twin Q, V and a target V).

Targets and losses for a replay minibatch (s, a, r, s', terminated):

    Q target  y   = r + gamma * (1 - terminated) * V_target(s')     (truncation still bootstraps)
    V target      = min(Q1, Q2)(s, a~) - alpha * log pi(a~|s),      a~ ~ pi(.|s), reparameterised
    Q loss        = L(Q1(s, a), y) + L(Q2(s, a), y)                 L = MSE or Huber (`loss_type`)
    V loss        = L(V(s), V target)
    policy loss   = mean(alpha * log pi(a~|s) - min(Q1, Q2)(s, a~))

`alpha` is fixed (`sac_alpha`, no automatic tuning). Each network has its own Adam (eps 1e-5) and
takes one step per `update` call; the trainer calls `update` once per collected step, each on a
fresh `ReplayBuffer.sample`, and `update_target()` every `target_update_period` environment steps
(DeepRacer: tau = 1, a hard copy, every `num_episodes_between_training` steps).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from slipstream.rl.common import (
    HyperparameterError,
    TrainingDivergedError,
    adam,
    obs_to_device,
    resolve_device,
    to_tensor,
    value_loss,
    value_loss_kind,
)
from slipstream.rl.networks import SACPolicy, SACQNetwork, SACValue


@dataclass(frozen=True)
class SACHyperparameters:
    """SAC settings; defaults are the DeepRacer console's."""

    lr: float = 3e-4
    """Adam learning rate of the policy, Q and V networks."""
    batch_size: int = 64
    """Replay minibatch size."""
    discount_factor: float = 0.99
    """Gamma of the Q target."""
    sac_alpha: float = 0.2
    """Fixed entropy temperature."""
    loss_type: str = "mean squared error"
    """Q and V loss: 'mean squared error' or 'huber'."""
    tau: float = 1.0
    """Target-V update rate in `update_target` (1.0: hard copy, DeepRacer)."""
    target_update_period: int = 1
    """Environment steps between `update_target` calls (DeepRacer: num_episodes_between_training)."""

    def __post_init__(self) -> None:
        value_loss_kind(self.loss_type)
        if not self.lr > 0 or self.batch_size < 1:
            raise HyperparameterError(f"lr must be > 0 and batch_size >= 1, got {self}")
        if not 0 <= self.discount_factor <= 1:
            raise HyperparameterError(
                f"discount_factor must lie in [0, 1], got {self.discount_factor}"
            )
        if self.sac_alpha < 0:
            raise HyperparameterError(f"sac_alpha must be >= 0, got {self.sac_alpha}")
        if not 0 < self.tau <= 1 or self.target_update_period < 1:
            raise HyperparameterError("tau must lie in (0, 1] and target_update_period be >= 1")


def sac_losses(
    q1: torch.Tensor,
    q2: torch.Tensor,
    v: torch.Tensor,
    q_new: torch.Tensor,
    log_prob_new: torch.Tensor,
    rewards: torch.Tensor,
    next_v_target: torch.Tensor,
    terminated: torch.Tensor,
    *,
    gamma: float,
    alpha: float,
    loss_type: str = "mean squared error",
) -> dict[str, torch.Tensor]:
    """The three SAC losses (see the module docstring); all inputs (B,).

    q1, q2: Q(s, a) of the replayed actions; v: V(s); q_new: min(Q1, Q2)(s, a~) of fresh policy
    actions; log_prob_new: log pi(a~|s); next_v_target: V_target(s'); terminated: 1 for a true
    terminal s'. Targets are detached; gradients of `policy_loss` flow through q_new and
    log_prob_new."""
    q_target = (rewards + gamma * (1.0 - terminated.float()) * next_v_target).detach()
    v_target = (q_new - alpha * log_prob_new).detach()
    return {
        "q_loss": value_loss(q1, q_target, loss_type) + value_loss(q2, q_target, loss_type),
        "v_loss": value_loss(v, v_target, loss_type),
        "policy_loss": (alpha * log_prob_new - q_new).mean(),
    }


def sample_actions(
    policy: SACPolicy,
    obs: Mapping[str, torch.Tensor],
    deterministic: bool,
    generator: torch.Generator,
) -> torch.Tensor:
    """SAC's sampling rule (the learner's and the rollout workers' one copy): float32 (B, 2)
    actions in environment units, scale * tanh(mean) + bias when deterministic (DeepRacer's
    use_deterministic_for_evaluation), else a squashed sample."""
    if deterministic:
        return policy(obs).float()
    actions, _ = policy.sample(obs, generator)
    return actions.float()


class SACLearner:
    """Holds the SAC networks, the target V, three optimisers and an RNG; acts and updates."""

    def __init__(
        self,
        policy: SACPolicy,
        q: SACQNetwork,
        v: SACValue,
        hp: SACHyperparameters,
        *,
        device: str | torch.device = "auto",
        seed: int | None = None,
    ) -> None:
        self.hp = hp
        self.device = resolve_device(device)
        self.policy = policy.to(self.device)
        self.q = q.to(self.device)
        self.v = v.to(self.device)
        self.v_target = copy.deepcopy(self.v).requires_grad_(False)
        self.sensors = policy.input_sensors

        self.policy_optimizer = adam(self.policy.parameters(), hp.lr)
        self.q_optimizer = adam(self.q.parameters(), hp.lr)
        self.v_optimizer = adam(self.v.parameters(), hp.lr)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(
            seed if seed is not None else int(torch.randint(2**62, (1,)).item())
        )
        self.num_updates = 0

    @torch.no_grad()
    def act(self, obs: Mapping[str, Any], deterministic: bool) -> np.ndarray:
        """Actions float32 (B, 2) in environment units: scale * tanh(mean) + bias when
        deterministic (evaluation, DeepRacer's use_deterministic_for_evaluation), else a sample."""
        tensors = obs_to_device(obs, self.sensors, self.device)
        return sample_actions(self.policy, tensors, deterministic, self.generator).cpu().numpy()

    def update(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """One gradient step of each network on a replay minibatch (`ReplayBuffer.sample` output:
        obs, actions, rewards, next_obs, terminated). Returns q_loss, v_loss, policy_loss,
        mean q, mean log_prob."""
        obs = obs_to_device(batch["obs"], self.sensors, self.device)
        next_obs = obs_to_device(batch["next_obs"], self.sensors, self.device)

        def column(key: str) -> torch.Tensor:
            return to_tensor(batch[key], self.device, torch.float32)

        actions, rewards, terminated = column("actions"), column("rewards"), column("terminated")
        with torch.no_grad():
            next_v = self.v_target(next_obs)
        q1, q2 = self.q(obs, actions)
        new_actions, log_prob = self.policy.sample(obs, self.generator)
        q_new = self.q.min_q(obs, new_actions)
        losses = sac_losses(
            q1,
            q2,
            self.v(obs),
            q_new,
            log_prob,
            rewards,
            next_v,
            terminated,
            gamma=self.hp.discount_factor,
            alpha=self.hp.sac_alpha,
            loss_type=self.hp.loss_type,
        )
        for optimizer in (self.policy_optimizer, self.q_optimizer, self.v_optimizer):
            optimizer.zero_grad(set_to_none=True)
        # The policy loss reaches Q's parameters through q_new; take its gradient for the
        # policy only, then let the Q and V losses fill their own networks' gradients.
        policy_params = list(self.policy.parameters())
        policy_grads = torch.autograd.grad(losses["policy_loss"], policy_params)
        (losses["q_loss"] + losses["v_loss"]).backward()
        for param, grad in zip(policy_params, policy_grads, strict=True):
            param.grad = grad
        for optimizer in (self.policy_optimizer, self.q_optimizer, self.v_optimizer):
            optimizer.step()
        self.num_updates += 1
        metrics = {k: float(x.detach()) for k, x in losses.items()}
        metrics["q"] = float(torch.minimum(q1, q2).mean().detach())
        metrics["log_prob"] = float(log_prob.mean().detach())
        if not all(math.isfinite(x) for x in metrics.values()):
            raise TrainingDivergedError(f"SAC loss is not finite ({metrics}); lower lr")
        return metrics

    @torch.no_grad()
    def update_target(self) -> None:
        """V_target <- tau * V + (1 - tau) * V_target (tau = 1: hard copy)."""
        for target, online in zip(self.v_target.parameters(), self.v.parameters(), strict=True):
            target.lerp_(online, self.hp.tau)

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers and RNG: loadable with `torch.load(..., weights_only=True)`."""
        return {
            "policy": self.policy.state_dict(),
            "q": self.q.state_dict(),
            "v": self.v.state_dict(),
            "v_target": self.v_target.state_dict(),
            "policy_optimizer": self.policy_optimizer.state_dict(),
            "q_optimizer": self.q_optimizer.state_dict(),
            "v_optimizer": self.v_optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "num_updates": torch.tensor(self.num_updates),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name in ("policy", "q", "v", "v_target"):
            getattr(self, name).load_state_dict(state[name])
        for name in ("policy_optimizer", "q_optimizer", "v_optimizer"):
            getattr(self, name).load_state_dict(state[name])
        self.generator.set_state(state["generator"].cpu())
        self.num_updates = int(state["num_updates"])


class ReplayBuffer:
    """Ring buffer of transitions in numpy, allocated on first use and grown by doubling.

    Rows hold obs and next_obs per sensor (images stay uint8), actions, rewards, terminated and
    truncated. Memory: a FRONT_FACING_CAMERA transition stores 2 x 19,200 bytes of image, so the
    DeepRacer default capacity of 1,000,000 would reach about 38 GB once full (a stereo camera 77 GB,
    a 64-ray lidar adds 512 bytes); pick `capacity` to fit the machine, e.g. 100,000 for ~3.9 GB.
    `next_obs` of a truncated episode must be the final observation (not the reset one); the Q
    target bootstraps from it, while a terminated transition does not.
    """

    def __init__(self, capacity: int = 1_000_000, initial_rows: int = 4096) -> None:
        if capacity < 1:
            raise ValueError(f"replay capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self._initial_rows = max(1, int(initial_rows))
        self._columns: dict[str, np.ndarray] = {}
        self._size = 0
        self._next = 0

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Bytes allocated now (grows with the number of stored transitions)."""
        return sum(a.nbytes for a in self._columns.values())

    def add(
        self,
        obs: Mapping[str, Any],
        actions: Any,
        rewards: Any,
        next_obs: Mapping[str, Any],
        terminated: Any,
        truncated: Any = None,
    ) -> None:
        """Append a batch of B transitions (every array has B rows)."""
        rows = {f"obs/{k}": np.asarray(v) for k, v in obs.items()}
        rows.update({f"next_obs/{k}": np.asarray(v) for k, v in next_obs.items()})
        rows["actions"] = np.asarray(actions, dtype=np.float32)
        rows["rewards"] = np.asarray(rewards, dtype=np.float32)
        rows["terminated"] = np.asarray(terminated, dtype=bool)
        b = len(rows["rewards"])
        rows["truncated"] = (
            np.zeros(b, dtype=bool) if truncated is None else np.asarray(truncated, dtype=bool)
        )
        bad = {k: len(v) for k, v in rows.items() if len(v) != b}
        if bad:
            raise ValueError(f"transition arrays must all have {b} rows; got {bad}")
        if self._columns and set(rows) != set(self._columns):
            raise ValueError(f"transition keys changed: {sorted(rows)} vs {sorted(self._columns)}")
        if b > self.capacity:
            rows = {k: v[-self.capacity :] for k, v in rows.items()}
            b = self.capacity
        self._reserve(rows, self._size + b)
        index = (self._next + np.arange(b)) % self.capacity
        for key, value in rows.items():
            self._columns[key][index] = value
        self._next = int((self._next + b) % self.capacity)
        self._size = min(self._size + b, self.capacity)

    def _reserve(self, rows: Mapping[str, np.ndarray], needed: int) -> None:
        allocated = len(next(iter(self._columns.values()))) if self._columns else 0
        needed = min(needed, self.capacity)
        if needed <= allocated:
            return
        new_rows = min(self.capacity, max(needed, 2 * allocated, self._initial_rows))
        for key, value in rows.items():
            dtype = np.float32 if np.issubdtype(value.dtype, np.floating) else value.dtype
            grown = np.empty((new_rows, *value.shape[1:]), dtype=dtype)
            if key in self._columns:
                grown[:allocated] = self._columns[key]
            self._columns[key] = grown

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, Any]:
        """`batch_size` transitions drawn uniformly with replacement: obs and next_obs (dicts),
        actions, rewards, terminated, truncated."""
        if self._size == 0:
            raise ValueError("the replay buffer is empty; add transitions before sampling")
        index = rng.integers(0, self._size, size=batch_size)
        out: dict[str, Any] = {"obs": {}, "next_obs": {}}
        for key, column in self._columns.items():
            group, _, name = key.partition("/")
            if name:
                out[group][name] = column[index]
            else:
                out[key] = column[index]
        return out
