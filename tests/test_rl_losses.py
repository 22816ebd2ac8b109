"""PPO / SAC loss pieces and the distributions against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from slipstream.rl.distributions import Categorical, DiagGaussian
from slipstream.rl.ppo import (
    HyperparameterError,
    PPOHyperparameters,
    entropy,
    minibatch_size,
    ppo_policy_loss,
    value_loss,
)
from slipstream.rl.sac import sac_losses


def test_clipped_surrogate_on_both_sides():
    ratios = torch.tensor([0.5, 1.0, 1.5, 1.5, 0.5])
    advantages = torch.tensor([1.0, 2.0, 1.0, -1.0, -1.0])
    log_new = torch.log(ratios).requires_grad_(True)
    loss = ppo_policy_loss(log_new, torch.zeros(5), advantages, clip=0.2)
    # min(rA, clip(r)A): 0.5 | 2 | min(1.5, 1.2) = 1.2 | min(-1.5, -1.2) = -1.5 | min(-.5, -.8) = -.8
    assert loss.item() == pytest.approx(-(0.5 + 2.0 + 1.2 - 1.5 - 0.8) / 5)
    loss.backward()
    # d/dlog r of -rA/5 = -rA/5 where the unclipped term is the min; 0 where the clip binds.
    torch.testing.assert_close(log_new.grad, torch.tensor([-0.1, -0.4, 0.0, 0.3, 0.0]))


def test_value_losses_huber_and_mse():
    values = torch.zeros(3)
    returns = torch.tensor([0.5, 2.0, -3.0])
    assert value_loss(values, returns, "mean squared error").item() == pytest.approx(13.25 / 3)
    # Huber delta 1: 0.5 * 0.25 | 2 - 0.5 | 3 - 0.5
    assert value_loss(values, returns, "huber").item() == pytest.approx(4.125 / 3)
    with pytest.raises(HyperparameterError, match="loss_type"):
        value_loss(values, returns, "l1")


def test_categorical_entropy_kl_and_log_prob():
    d = Categorical(torch.tensor([[0.5, 0.25, 0.25]]))
    assert entropy(d).item() == pytest.approx(1.5 * math.log(2))
    assert d.log_prob(torch.tensor([1])).item() == pytest.approx(math.log(0.25))
    p, q = Categorical(torch.tensor([[0.5, 0.5]])), Categorical(torch.tensor([[0.25, 0.75]]))
    assert p.kl(q).item() == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))


def test_gaussian_entropy_kl_and_log_prob():
    d = DiagGaussian(torch.zeros(1, 2), torch.zeros(2))
    assert entropy(d).item() == pytest.approx(1 + math.log(2 * math.pi), rel=1e-6)
    # N(0, 1) at (1, 0): -0.5 - log(2 pi)
    lp = d.log_prob(torch.tensor([[1.0, 0.0]])).item()
    assert lp == pytest.approx(-0.5 - math.log(2 * math.pi), rel=1e-6)
    # KL(N(0,1) || N(1, e^2)) per dim = log(e) + (1 + 1) / (2 e^2) - 0.5
    other = DiagGaussian(torch.ones(1, 1), torch.ones(1))
    kl = DiagGaussian(torch.zeros(1, 1), torch.zeros(1)).kl(other).item()
    assert kl == pytest.approx(1 + 1 / math.e**2 - 0.5, rel=1e-6)


def test_minibatch_size_rule():
    assert minibatch_size(10, 64) == 8  # 2 ** floor(log2(10))
    assert minibatch_size(64, 64) == 64
    assert minibatch_size(1, 64) == 1
    assert minibatch_size(1000, 64) == 64
    with pytest.raises(HyperparameterError):
        minibatch_size(0, 64)


def test_hyperparameters_validate_up_front():
    assert PPOHyperparameters(loss_type="mean squared error", exploration_type="e-greedy")
    with pytest.raises(ValueError, match="exploration_type"):
        PPOHyperparameters(exploration_type="boltzmann")
    with pytest.raises(HyperparameterError, match="clip"):
        PPOHyperparameters(clip=1.5)


def test_sac_losses_hand_values():
    t = torch.tensor
    losses = sac_losses(
        q1=t([1.0, 2.0]),
        q2=t([1.5, 1.0]),
        v=t([0.5, 0.5]),
        q_new=t([2.0, 3.0]),
        log_prob_new=t([-1.0, -2.0]),
        rewards=t([1.0, 0.0]),
        next_v_target=t([4.0, 10.0]),
        terminated=t([0.0, 1.0]),  # row 0 truncated or ongoing: bootstraps; row 1 terminal
        gamma=0.9,
        alpha=0.5,
    )
    # Q target (4.6, 0): Q1 ((3.6^2 + 2^2) / 2 = 8.48), Q2 ((3.1^2 + 1^2) / 2 = 5.305)
    assert losses["q_loss"].item() == pytest.approx(8.48 + 5.305)
    # V target = q_new - alpha log pi = (2.5, 4): (2^2 + 3.5^2) / 2
    assert losses["v_loss"].item() == pytest.approx(8.125)
    # mean(alpha log pi - q_new) = mean(-2.5, -4)
    assert losses["policy_loss"].item() == pytest.approx(-3.25)
