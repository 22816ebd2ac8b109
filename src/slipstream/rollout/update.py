"""The learner update: one iteration's experience in, new network weights out.

`LearnerUpdate` owns the learner (Clipped PPO or SAC, built by `build_learner`) and, for SAC,
the replay buffer. It knows nothing of run folders or workers: the trainer hands it the
workers' `RolloutResult`s and gets back the per-epoch figures DeepRacer logs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from slipstream.config.hyperparameters import Hyperparameters
from slipstream.config.model_metadata import ModelMetadata
from slipstream.model.algorithms import algorithm_of
from slipstream.model.policy import build_learner
from slipstream.model.run_model import POLICY_AVERAGE
from slipstream.rl.averaging import moving_average
from slipstream.rl.gae import compute_gae
from slipstream.rl.ppo import PPOLearner
from slipstream.rl.sac import ReplayBuffer, SACLearner
from slipstream.rollout.worker import RolloutResult

# Ray hands numpy arrays over read-only (zero copy); the learner only reads them
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")

MAX_MEMORY_STEPS = {"DEEP_CONVOLUTIONAL_NETWORK_SHALLOW": 10_000}
"""DeepRacer's per-iteration step cap: 10,000 for the shallow network, 3,000 for the others."""
DEFAULT_MAX_MEMORY_STEPS = 3_000
AVERAGE_HALF_LIFE = "policy_average_half_life"
"""The checkpoint key of the moving average's half-life (environment steps)."""
REPLAY_CAPACITY = 50_000
"""SAC replay transitions kept on the trainer (DeepRacer: 1,000,000; a camera transition with
its next observation is ~38 KB, so 50,000 is ~1.9 GB)."""


class PretrainedMismatchError(ValueError):
    """Pretrained weights that do not fit this model's networks."""


def max_memory_steps(metadata: ModelMetadata) -> int:
    """DeepRacer's cap on the steps one iteration collects (all workers together)."""
    return MAX_MEMORY_STEPS.get(metadata.neural_network, DEFAULT_MAX_MEMORY_STEPS)


class LearnerUpdate:
    """The networks, their optimisers and the update rule for one model."""

    def __init__(
        self,
        metadata: ModelMetadata,
        hp: Hyperparameters,
        *,
        device: str = "auto",
        seed: int = 0,
        shared_trunk: bool = False,
        precision: str = "auto",
        average_half_life: int | None = None,
    ) -> None:
        """`average_half_life`: keep a moving average of the policy's weights with this
        half-life in environment steps (`slipstream.rl.averaging`); None: none."""
        self.hp = hp
        self.seed = seed
        self.average_half_life = average_half_life
        self.policy_average: dict[str, Any] | None = None
        self.learner = build_learner(
            metadata, hp, device=device, seed=seed, shared_trunk=shared_trunk, precision=precision
        )
        self.algorithm = algorithm_of(metadata)
        self.replay = ReplayBuffer(capacity=REPLAY_CAPACITY) if self.algorithm.replay else None

    # ------------------------------------------------------------------ weights

    def policy_weights(self) -> dict[str, Any]:
        """The policy tower's weights on the CPU (what the workers load)."""
        return {k: v.detach().cpu() for k, v in self.learner.policy.state_dict().items()}

    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds: networks and optimisers, and the policy's moving
        average under `POLICY_AVERAGE` when one is kept."""
        state = self.learner.state_dict()
        if self.policy_average is not None:
            state[POLICY_AVERAGE] = self.policy_average
            state[AVERAGE_HALF_LIFE] = self.average_half_life
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Go on from a checkpoint, its moving average too: with the half-life this update was
        given, else the checkpoint's (a resumed run keeps its average without the option)."""
        self.learner.load_state_dict(state)
        if POLICY_AVERAGE in state:
            if self.average_half_life is None:
                self.average_half_life = int(state[AVERAGE_HALF_LIFE])
            self.policy_average = dict(state[POLICY_AVERAGE])

    def load_pretrained(self, state: Mapping[str, Any]) -> None:
        """Start from another model's networks (not its optimiser): DRfC's pretrained start."""
        try:
            self.learner.policy.load_state_dict(state["policy"])
            if self.algorithm.value_tower:
                self.learner.value.load_state_dict(state["value"])
        except (KeyError, RuntimeError) as exc:
            raise PretrainedMismatchError(
                f"different network, sensors or action space? {exc}"
            ) from None

    # ------------------------------------------------------------------ the update

    def update(
        self,
        results: Sequence[RolloutResult],
        iteration: int,
        on_minibatch: Callable[[], None] | None = None,
        behaviour_log_probs: bool = False,
    ) -> list[dict[str, float]]:
        """Learn from one iteration's experience; returns PPO's per-epoch figures (SAC: []).
        `on_minibatch` is called before each gradient step. `behaviour_log_probs`: PPO clips its
        ratio against the probabilities the workers drew the actions with, not the learner's
        current policy (when that policy is newer than the one that sampled: `--pipeline`;
        otherwise the learner recomputes them, as DeepRacer does)."""
        results = [r for r in results if r.num_samples]
        if not results:
            return []
        if self.algorithm.replay:
            self._update_sac(results, iteration, on_minibatch)
            figures = []
        else:
            figures = self._update_ppo(results, on_minibatch, behaviour_log_probs)
        if self.average_half_life is not None:
            steps = sum(r.num_samples for r in results)
            self.policy_average = moving_average(
                self.policy_average, self.policy_weights(), steps, self.average_half_life
            )
        return figures

    def _update_ppo(
        self,
        results: list[RolloutResult],
        on_minibatch: Callable[[], None] | None,
        behaviour_log_probs: bool,
    ) -> list[dict[str, float]]:
        learner: PPOLearner = self.learner
        advantages, returns = [], []
        for r in results:
            values = learner.values(r.obs)
            next_values = np.append(values[1:], 0.0)
            if len(r.final_rows):
                next_values[r.final_rows] = learner.values(r.final_obs)
            adv, ret = compute_gae(
                r.rewards,
                values,
                next_values,
                r.terminated,
                r.episode_end,
                self.hp.discount_factor,
                learner.hp.gae_lambda,
            )
            advantages.append(adv)
            returns.append(ret)
        batch = {
            "obs": {k: np.concatenate([r.obs[k] for r in results]) for k in results[0].obs},
            "actions": np.concatenate([r.actions for r in results]),
            "advantages": np.concatenate(advantages),
            "returns": np.concatenate(returns),
        }
        if behaviour_log_probs:
            batch["log_probs"] = np.concatenate([r.log_probs for r in results])
        if len(batch["returns"]) < 2:
            return []
        return list(learner.update(batch, on_minibatch)["epochs"])

    def _update_sac(
        self,
        results: list[RolloutResult],
        iteration: int,
        on_minibatch: Callable[[], None] | None,
    ) -> None:
        learner: SACLearner = self.learner
        rng = np.random.default_rng(self.seed + iteration)
        for r in results:
            next_obs = {}
            for k, v in r.obs.items():
                nxt = np.concatenate([v[1:], v[:1]])
                if len(r.final_rows):
                    nxt[r.final_rows] = r.final_obs[k]
                next_obs[k] = nxt
            truncated = r.episode_end & ~r.terminated
            self.replay.add(r.obs, r.actions, r.rewards, next_obs, r.terminated, truncated)
        steps = sum(r.num_samples for r in results)
        period = max(1, self.hp.num_episodes_between_training)
        for i in range(steps):
            if on_minibatch is not None:
                on_minibatch()
            learner.update(self.replay.sample(learner.hp.batch_size, rng))
            if (i + 1) % period == 0:
                learner.update_target()


__all__ = [
    "AVERAGE_HALF_LIFE",
    "DEFAULT_MAX_MEMORY_STEPS",
    "MAX_MEMORY_STEPS",
    "REPLAY_CAPACITY",
    "LearnerUpdate",
    "PretrainedMismatchError",
    "max_memory_steps",
]
