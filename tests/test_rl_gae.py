"""GAE against a hand-worked stream and a naive reference; truncation vs DeepRacer's zero bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from slipstream.rl.gae import GAEInputError, compute_gae, normalize_advantages

# Two episodes back to back: steps 0-1 end in a true termination, steps 2-3 are cut by a time
# limit after step 3, whose next_value is V(final obs) = 5.0. gamma 0.9, lambda 0.5.
REWARDS = [1.0, 2.0, 3.0, 4.0]
VALUES = [0.5, 1.0, 2.0, 3.0]
NEXT_VALUES = [1.0, 7.0, 3.0, 5.0]  # 7.0 follows a termination and must be ignored
TERMINATED = [False, True, False, False]
EPISODE_END = [False, True, False, True]


def test_hand_worked_stream_bootstraps_truncation():
    # deltas: 1 + .9*1 - .5 = 1.4 ; 2 - 1 = 1.0 ; 3 + .9*3 - 2 = 3.7 ; 4 + .9*5 - 3 = 5.5
    # A3 = 5.5, A2 = 3.7 + .45*5.5 = 6.175, A1 = 1.0 (episode end), A0 = 1.4 + .45*1.0 = 1.85
    adv, ret = compute_gae(REWARDS, VALUES, NEXT_VALUES, TERMINATED, EPISODE_END, 0.9, 0.5)
    np.testing.assert_allclose(adv, [1.85, 1.0, 6.175, 5.5])
    np.testing.assert_allclose(ret, [2.35, 2.0, 8.175, 8.5])


def test_deepracer_mode_bootstraps_zero_at_every_episode_end():
    # d3 = 4 - 3 = 1.0, A2 = 3.7 + .45*1.0 = 4.15; the first episode is unchanged.
    adv, ret = compute_gae(
        REWARDS,
        VALUES,
        NEXT_VALUES,
        TERMINATED,
        EPISODE_END,
        0.9,
        0.5,
        bootstrap_truncated=False,
    )
    np.testing.assert_allclose(adv, [1.85, 1.0, 4.15, 1.0])
    np.testing.assert_allclose(ret, [2.35, 2.0, 6.15, 4.0])


def test_stream_cut_mid_episode_bootstraps_from_last_next_value():
    adv, _ = compute_gae([1.0], [0.0], [2.0], [False], [False], 0.5, 0.9)
    np.testing.assert_allclose(adv, [2.0])  # 1 + 0.5 * 2


def naive_gae(r, v, nv, term, end, gamma, lam, bootstrap_truncated=True):
    """Sum of discounted TD errors up to the episode's last step, one step at a time."""
    n = len(r)
    adv = np.zeros(n)
    for t in range(n):
        total, weight, k = 0.0, 1.0, t
        while True:
            stop = term[k] if bootstrap_truncated else end[k]
            delta = r[k] + (0.0 if stop else gamma * nv[k]) - v[k]
            total += weight * delta
            if end[k] or k == n - 1:
                break
            weight *= gamma * lam
            k += 1
        adv[t] = total
    return adv


@pytest.mark.parametrize("bootstrap_truncated", [True, False])
def test_matches_naive_reference_on_random_streams(bootstrap_truncated):
    rng = np.random.default_rng(3)
    n = 60
    r, v, nv = rng.normal(size=(3, n))
    end = rng.random(n) < 0.2
    term = end & (rng.random(n) < 0.5)
    adv, ret = compute_gae(r, v, nv, term, end, 0.97, 0.9, bootstrap_truncated=bootstrap_truncated)
    expected = naive_gae(r, v, nv, term, end, 0.97, 0.9, bootstrap_truncated)
    np.testing.assert_allclose(adv, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ret, expected + v)


def _learned_start_value(bootstrap_truncated: bool) -> float:
    """One state, reward 1 every step, every episode cut after 5 steps by a time limit. A tabular
    value is moved toward the GAE returns; the true value is 1 / (1 - gamma) = 10."""
    gamma, steps = 0.9, 5
    v = 0.0
    end = np.zeros(steps, dtype=bool)
    end[-1] = True
    for _ in range(300):
        values = np.full(steps, v)
        _, ret = compute_gae(
            np.ones(steps),
            values,
            values,
            np.zeros(steps, dtype=bool),
            end,
            gamma,
            0.95,
            bootstrap_truncated=bootstrap_truncated,
        )
        v += 0.5 * (ret.mean() - v)
    return v


def test_infinite_horizon_value_only_with_truncation_bootstrap():
    assert _learned_start_value(True) == pytest.approx(10.0, abs=1e-3)
    assert _learned_start_value(False) < 6.0  # treats the time limit as the end of the world


def test_rejects_mismatched_or_inconsistent_inputs():
    with pytest.raises(GAEInputError, match="same"):
        compute_gae([1.0, 2.0], [0.0], [0.0], [False], [False], 0.9, 0.9)
    with pytest.raises(GAEInputError, match="episode end"):
        compute_gae([1.0], [0.0], [0.0], [True], [False], 0.9, 0.9)


def test_normalize_advantages_population_std():
    np.testing.assert_allclose(normalize_advantages(np.array([1.0, 3.0])), [-1.0, 1.0], rtol=1e-7)
