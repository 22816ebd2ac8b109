"""SACLearner on a one-step continuous bandit, target copies, checkpoints, and the replay buffer."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from slipstream.rl.networks import SHALLOW, SACPolicy, SACQNetwork, SACValue
from slipstream.rl.sac import ReplayBuffer, SACHyperparameters, SACLearner


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: the small networks here gain little from more, and on a shared
    2-core machine oversubscribed OpenMP threads slow everyone down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


LOW, HIGH = (-30.0, 0.5), (30.0, 4.0)  # steering degrees, speed m/s
BEST = np.array([10.0, 3.0], dtype=np.float32)
SCALE = np.array([30.0, 1.75], dtype=np.float32)


def bandit_reward(actions: np.ndarray) -> np.ndarray:
    return -(((actions - BEST) / SCALE) ** 2).sum(1)


def sac_learner(seed: int = 0, **hp) -> SACLearner:
    torch.manual_seed(seed)
    sensors = ("LIDAR",)
    return SACLearner(
        SACPolicy(sensors, SHALLOW, LOW, HIGH),
        SACQNetwork(sensors, SHALLOW, LOW, HIGH),
        SACValue(sensors, SHALLOW),
        SACHyperparameters(**hp),
        device="cpu",
        seed=seed,
    )


def test_one_step_bandit_losses_fall_and_mean_reaches_optimum():
    sac = sac_learner(lr=1e-3, sac_alpha=0.01)
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(capacity=10_000)
    obs = {"LIDAR": np.full((16, 64), 0.5, dtype=np.float32)}
    one = {"LIDAR": obs["LIDAR"][:1]}
    assert abs(sac.act(one, deterministic=True)[0][0] - BEST[0]) > 10.0  # starts far away
    history = []
    for _ in range(25):
        actions = sac.act(obs, deterministic=False)
        assert bool(((actions >= LOW) & (actions <= HIGH)).all())
        buffer.add(obs, actions, bandit_reward(actions), obs, np.ones(16, dtype=bool))
        history.append([sac.update(buffer.sample(64, rng)) for _ in range(10)])
        sac.update_target()
    mean = {k: [np.mean([m[k] for m in it]) for it in history] for k in history[0][0]}
    assert np.mean(mean["q_loss"][-5:]) < 0.2 * np.mean(mean["q_loss"][:5])
    assert np.mean(mean["v_loss"][-5:]) < 0.2 * np.mean(mean["v_loss"][:5])
    action = sac.act(one, deterministic=True)[0]
    assert abs(action[0] - BEST[0]) < 5.0 and abs(action[1] - BEST[1]) < 0.5


def test_update_target_is_a_hard_copy():
    sac = sac_learner()
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(capacity=100)
    obs = {"LIDAR": np.full((8, 64), 0.5, dtype=np.float32)}
    actions = sac.act(obs, deterministic=False)
    buffer.add(obs, actions, bandit_reward(actions), obs, np.zeros(8, dtype=bool))
    sac.update(buffer.sample(8, rng))
    online, target = sac.v.state_dict(), sac.v_target.state_dict()
    assert any(not torch.equal(online[k], target[k]) for k in online)
    sac.update_target()
    for k in online:
        torch.testing.assert_close(sac.v_target.state_dict()[k], sac.v.state_dict()[k])


def test_state_dict_round_trip_with_weights_only():
    sac = sac_learner()
    obs = {"LIDAR": np.full((4, 64), 0.5, dtype=np.float32)}
    buffer = ReplayBuffer(capacity=100)
    actions = sac.act(obs, deterministic=False)
    buffer.add(obs, actions, bandit_reward(actions), obs, np.ones(4, dtype=bool))
    batch = buffer.sample(4, np.random.default_rng(0))
    sac.update(batch)
    stream = io.BytesIO()
    torch.save(sac.state_dict(), stream)
    stream.seek(0)
    other = sac_learner(seed=5)
    other.load_state_dict(torch.load(stream, weights_only=True))
    np.testing.assert_array_equal(sac.act(obs, False), other.act(obs, False))
    assert sac.update(batch)["q_loss"] == pytest.approx(other.update(batch)["q_loss"], rel=1e-5)


def test_replay_buffer_ring_growth_and_dtypes():
    buffer = ReplayBuffer(capacity=5, initial_rows=2)

    def add(first: int, n: int) -> None:
        ids = np.arange(first, first + n)
        image = np.repeat(ids.astype(np.uint8)[:, None, None, None], 120, axis=1)
        image = np.repeat(image, 160, axis=2)
        buffer.add(
            {"FRONT_FACING_CAMERA": image},
            np.stack([ids, ids], axis=1).astype(np.float64),
            ids.astype(np.float64),
            {"FRONT_FACING_CAMERA": image + 1},
            ids % 2 == 0,
            ids % 2 == 1,
        )

    add(0, 3)
    assert len(buffer) == 3
    assert buffer.nbytes < 5 * 2 * 19200 + 1000  # grown to 4 rows, not the full capacity
    add(3, 4)  # 7 transitions into 5 slots: 0 and 1 are overwritten
    assert len(buffer) == 5
    batch = buffer.sample(200, np.random.default_rng(0))
    assert set(batch["rewards"].tolist()) == {2.0, 3.0, 4.0, 5.0, 6.0}
    assert batch["obs"]["FRONT_FACING_CAMERA"].dtype == np.uint8
    assert batch["actions"].dtype == np.float32
    # Every row stays one transition.
    ids = batch["rewards"].astype(int)
    np.testing.assert_array_equal(batch["obs"]["FRONT_FACING_CAMERA"][:, 0, 0, 0], ids)
    np.testing.assert_array_equal(batch["next_obs"]["FRONT_FACING_CAMERA"][:, 7, 9, 0], ids + 1)
    np.testing.assert_array_equal(batch["actions"][:, 1], ids)
    np.testing.assert_array_equal(batch["terminated"], ids % 2 == 0)
    np.testing.assert_array_equal(batch["truncated"], ids % 2 == 1)
    with pytest.raises(ValueError, match="rows"):
        buffer.add(
            {"FRONT_FACING_CAMERA": np.zeros((2, 120, 160, 1), np.uint8)},
            [[0, 0]],
            [0.0],
            {"FRONT_FACING_CAMERA": np.zeros((2, 120, 160, 1), np.uint8)},
            [True],
        )
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(4).sample(1, np.random.default_rng(0))
