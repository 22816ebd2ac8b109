"""e-greedy schedule and the (deterministic, epsilon) each exploration type asks for."""

from __future__ import annotations

import pytest

from slipstream.rl.exploration import (
    ExplorationError,
    action_selection,
    epsilon_schedule,
    normalize_exploration_type,
)


def test_linear_epsilon_schedule():
    assert epsilon_schedule(0, 10000, 0.05) == 1.0
    assert epsilon_schedule(5000, 10000, 0.05) == pytest.approx(0.525)
    assert epsilon_schedule(2500, 10000, 0.2) == pytest.approx(0.8)
    assert epsilon_schedule(10000, 10000, 0.05) == pytest.approx(0.05)
    assert epsilon_schedule(50000, 10000, 0.05) == pytest.approx(0.05)
    assert epsilon_schedule(7, 0, 0.1) == pytest.approx(0.1)


def test_action_selection_per_exploration_type():
    assert action_selection("categorical", 123, 10000, 0.05, evaluating=False) == (False, 0.0)
    assert action_selection("categorical", 123, 10000, 0.05, evaluating=True) == (True, 0.0)
    deterministic, eps = action_selection("e-greedy", 5000, 10000, 0.05, evaluating=False)
    assert deterministic and eps == pytest.approx(0.525)
    assert action_selection("e_greedy", 5000, 10000, 0.05, evaluating=True) == (True, 0.05)


def test_unknown_exploration_type():
    assert normalize_exploration_type("E-Greedy") == "e-greedy"
    with pytest.raises(ExplorationError, match="boltzmann"):
        normalize_exploration_type("boltzmann")
