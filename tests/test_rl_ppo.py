"""PPOLearner: acting rules, update bookkeeping, checkpoints, and learning small known problems."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from slipstream.rl.gae import compute_gae
from slipstream.rl.networks import SHALLOW, build_ppo_networks
from slipstream.rl.ppo import PPOHyperparameters, PPOLearner


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: the small networks here gain little from more, and on a shared
    2-core machine oversubscribed OpenMP threads slow everyone down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


NUM_CONTEXTS = 4


def lidar_context(contexts: np.ndarray) -> dict[str, np.ndarray]:
    """A 64-ray lidar reading with a near block (1.0) in the quarter given by the context."""
    x = np.full((len(contexts), 64), 0.15, dtype=np.float32)
    for i, c in enumerate(contexts):
        x[i, 16 * c : 16 * (c + 1)] = 1.0
    return {"LIDAR": x}


def camera_context(contexts: np.ndarray) -> dict[str, np.ndarray]:
    """A black frame with a white quadrant given by the context."""
    x = np.zeros((len(contexts), 120, 160, 1), dtype=np.uint8)
    for i, c in enumerate(contexts):
        row, col = divmod(int(c), 2)
        x[i, 60 * row : 60 * (row + 1), 80 * col : 80 * (col + 1)] = 255
    return {"FRONT_FACING_CAMERA": x}


def learner(sensor="LIDAR", num_actions=5, continuous=False, shared=False, **hp) -> PPOLearner:
    torch.manual_seed(0)
    policy, value = build_ppo_networks(
        (sensor,), SHALLOW, num_actions, continuous=continuous, shared_trunk=shared
    )
    return PPOLearner(policy, value, PPOHyperparameters(**hp), device="cpu", seed=0)


def one_step_batch(obs, actions, log_probs, values, rewards):
    """Every step is a whole (terminated) episode: advantages = r - V."""
    n = len(rewards)
    done = np.ones(n, dtype=bool)
    adv, ret = compute_gae(rewards, values, np.zeros(n), done, done, 0.99, 0.95)
    return {
        "obs": obs,
        "actions": actions,
        "log_probs": log_probs,
        "advantages": adv,
        "returns": ret,
    }


def train_bandit(ppo: PPOLearner, make_obs, iterations: int, n: int = 128) -> np.ndarray:
    rng = np.random.default_rng(1)
    for _ in range(iterations):
        contexts = rng.integers(0, NUM_CONTEXTS, n)
        obs = make_obs(contexts)
        actions, log_probs, values = ppo.act(obs, deterministic=False)
        rewards = (actions == contexts).astype(np.float64)
        ppo.update(one_step_batch(obs, actions, log_probs, values, rewards))
    contexts = np.arange(NUM_CONTEXTS)
    with torch.no_grad():
        probs = ppo.policy(make_obs(contexts)).numpy()
    return probs[contexts, contexts]


def test_discrete_bandit_on_lidar_learns_best_action():
    ppo = learner(lr=3e-4, num_epochs=4)
    assert train_bandit(ppo, lidar_context, 0).max() < 0.5
    assert train_bandit(ppo, lidar_context, 6).min() > 0.9


def test_discrete_bandit_on_camera_shallow_learns_best_action():
    ppo = learner("FRONT_FACING_CAMERA", lr=3e-4, num_epochs=4)
    assert train_bandit(ppo, camera_context, 3).min() > 0.9


@pytest.mark.parametrize("shared", [False, True])
def test_continuous_bandit_mean_moves_to_optimum(shared):
    ppo = learner(continuous=True, shared=shared, lr=1e-3, num_epochs=4)
    best = np.array([0.5, -0.3], dtype=np.float32)
    obs = {"LIDAR": np.full((256, 64), 0.5, dtype=np.float32)}
    one = {"LIDAR": obs["LIDAR"][:1]}
    start = np.linalg.norm(ppo.act(one, deterministic=True)[0][0] - best)
    for _ in range(12):
        actions, log_probs, values = ppo.act(obs, deterministic=False)
        rewards = -((actions - best) ** 2).sum(1)
        ppo.update(one_step_batch(obs, actions, log_probs, values, rewards))
    end = np.linalg.norm(ppo.act(one, deterministic=True)[0][0] - best)
    assert start > 0.45 and end < 0.2
    assert bool((ppo.policy.clipped_log_std() < 0).all())  # exploration narrows


def test_act_deterministic_is_argmax_and_sampling_follows_probs():
    ppo = learner(num_actions=3)
    with torch.no_grad():
        ppo.policy.head.bias.copy_(torch.tensor([0.0, np.log(2.0), np.log(5.0)]))
        ppo.policy.head.weight.zero_()  # probs (1, 2, 5) / 8 for every state
    obs = {"LIDAR": np.full((4000, 64), 0.5, dtype=np.float32)}
    actions, log_probs, values = ppo.act(obs, deterministic=True)
    assert actions.dtype == np.int64 and bool((actions == 2).all())
    np.testing.assert_allclose(log_probs, np.log(5 / 8), rtol=1e-5)
    assert values.shape == (4000,) and values.dtype == np.float32
    sampled, _, _ = ppo.act(obs, deterministic=False)
    np.testing.assert_allclose(
        np.bincount(sampled, minlength=3) / 4000, [1 / 8, 2 / 8, 5 / 8], atol=0.03
    )
    # epsilon = 1: uniform actions, each logged with its probability under the policy.
    uniform, uniform_log_probs, _ = ppo.act(obs, deterministic=True, epsilon=1.0)
    np.testing.assert_allclose(np.bincount(uniform, minlength=3) / 4000, [1 / 3] * 3, atol=0.03)
    np.testing.assert_allclose(
        uniform_log_probs, np.log(np.array([1, 2, 5]) / 8)[uniform], rtol=1e-5
    )


def test_continuous_act_mean_and_unclipped_samples():
    ppo = learner(continuous=True)
    with torch.no_grad():
        ppo.policy.log_std.fill_(np.log(2.0))
    obs = {"LIDAR": np.full((2000, 64), 0.5, dtype=np.float32)}
    mean = ppo.policy(obs).detach().numpy()
    actions, _, _ = ppo.act(obs, deterministic=True)
    np.testing.assert_allclose(actions, mean, rtol=1e-6)
    samples, sample_log_probs, _ = ppo.act(obs, deterministic=False)
    assert np.abs(samples).max() > 1.0  # not clipped to [-1, 1]
    z = (samples - mean) / 2.0
    expected = (-0.5 * z**2 - np.log(2.0) - 0.5 * np.log(2 * np.pi)).sum(1)
    np.testing.assert_allclose(sample_log_probs, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(samples.std(0), [2.0, 2.0], rtol=0.1)


def test_update_bookkeeping_small_dataset():
    ppo = learner(num_actions=3, batch_size=64, num_epochs=3)
    obs = lidar_context(np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1]))
    actions, _, values = ppo.act(obs, deterministic=False)
    batch = one_step_batch(obs, actions, None, values, np.linspace(0, 1, 10))
    batch.pop("log_probs")  # recomputed from the frozen policy
    metrics = ppo.update(batch)
    assert metrics["num_samples"] == 10 and metrics["batch_size"] == 8
    assert metrics["num_minibatches"] == 1
    assert [e["training_epoch"] for e in metrics["epochs"]] == [0, 1, 2]
    first = metrics["epochs"][0]
    assert first["learning_rate"] == pytest.approx(3e-4)
    # The old policy is frozen: the only minibatch of epoch 0 is scored before any step (KL 0),
    # later epochs measure how far the trained policy has moved from it.
    assert first["kl_divergence"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["epochs"][2]["kl_divergence"] > 1e-6


def test_shared_trunk_trains_the_trunk_from_both_losses():
    ppo = learner(num_actions=3, shared=True, num_epochs=1)
    trunk_weight = ppo.policy.trunk.embedder.parts["LIDAR"].dense[0].weight
    before = trunk_weight.detach().clone()
    obs = lidar_context(np.arange(8) % 4)
    actions, log_probs, values = ppo.act(obs, deterministic=False)
    ppo.update(one_step_batch(obs, actions, log_probs, values, np.ones(8)))
    assert not torch.equal(before, trunk_weight.detach())
    assert len(ppo.optimizer.param_groups[0]["params"]) == len(list(ppo.policy.parameters())) + 2


def test_state_dict_round_trip_with_weights_only():
    ppo = learner(num_actions=3)
    obs = lidar_context(np.arange(16) % 4)
    actions, log_probs, values = ppo.act(obs, deterministic=False)
    ppo.update(one_step_batch(obs, actions, log_probs, values, np.ones(16)))
    buffer = io.BytesIO()
    torch.save(ppo.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)

    other = learner(num_actions=3)
    other.generator.manual_seed(999)
    other.load_state_dict(state)
    assert other.num_updates == 1
    expected = ppo.state_dict()["policy"]
    for key, loaded in other.state_dict()["policy"].items():
        torch.testing.assert_close(loaded, expected[key])
    # Same networks, optimiser moments and RNG: the next samples and update agree.
    np.testing.assert_array_equal(ppo.act(obs, False)[0], other.act(obs, False)[0])
    batch = one_step_batch(obs, actions, log_probs, values, np.ones(16))
    assert ppo.update(batch)["epochs"][-1]["total_loss"] == pytest.approx(
        other.update(batch)["epochs"][-1]["total_loss"], rel=1e-5
    )


def test_fused_adam_matches_the_textbook_update():
    """`adam` (torch's fused kernel) against Adam written out (Kingma & Ba, with eps 1e-5)."""
    from slipstream.rl.common import ADAM_EPS, adam

    rng = np.random.default_rng(3)
    start = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(3)]
    param = torch.nn.Parameter(torch.tensor(start, dtype=torch.float32))
    optimiser = adam([param], lr=0.01)
    x, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for t, g in enumerate(grads, start=1):
        param.grad = torch.tensor(g, dtype=torch.float32)
        optimiser.step()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        x = x - 0.01 * m_hat / (np.sqrt(v_hat) + ADAM_EPS)
    np.testing.assert_allclose(param.detach().numpy(), x, rtol=0, atol=1e-6)


def test_read_only_arrays_become_tensors_of_their_own():
    """Ray returns batches read-only: the learner's tensor is a copy (torch would warn and share
    memory that must not be written); a writable array is shared, not copied."""
    import warnings

    from slipstream.rl.common import to_tensor

    frozen = np.arange(6, dtype=np.uint8)
    frozen.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tensor = to_tensor(frozen, torch.device("cpu"))
    tensor[0] = 9
    assert frozen[0] == 0 and tensor.dtype == torch.uint8
    writable = np.arange(3, dtype=np.float32)
    to_tensor(writable, torch.device("cpu"))[0] = 7
    assert writable[0] == 7
