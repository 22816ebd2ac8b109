"""bf16 autocast in the PPO learner: same loss and gradients as float32 within bf16's rounding,
float32 weights, optimiser state and exported model.

Tolerances. bfloat16 keeps 8 significant bits: unit roundoff u = 2**-8 ~ 0.0039. The heads run in
float32 on bf16-rounded trunk features, so the loss (a float32 function of the head outputs) moves
by about u * |loss| at most, and the heads' gradients (float32 products of the same features with
float32 upstream gradients) by a few u. Inside the trunks each convolution rounds its operands to
bf16 on the way forward and back; gradients of early layers are sums over 64 images and ~500
positions with mixed signs, so their relative error is u times the cancellation factor and reaches
~10 % of the tensor's norm. What matters for SGD is that this error is small against the
gradient's own sampling noise: we require it to be at most 1/8 of the difference between the
gradients of the two halves of the minibatch (measured: ~1/20).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slipstream.rl.networks import SHALLOW, build_ppo_networks
from slipstream.rl.ppo import PPOHyperparameters, PPOLearner
from slipstream.rl.precision import PrecisionError, autocast_dtype, cpu_has_native_bf16

U = 2.0**-8
N = 64
DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(precision: str, device: str = "cpu") -> PPOLearner:
    torch.manual_seed(0)
    policy, value = build_ppo_networks(("FRONT_FACING_CAMERA",), SHALLOW, 5)
    return PPOLearner(
        policy, value, PPOHyperparameters(), device=device, seed=0, precision=precision
    )


@pytest.fixture(scope="module")
def batch():
    """Road-like camera frames (a dark band on a light field, stripes, noise), fixed actions,
    advantages and returns."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:120, 0:160]
    frames = []
    for i in range(N):
        a, b, c = rng.uniform(-1, 1, 3)
        road = (np.abs(xx - 80 - 40 * a - 0.8 * b * (yy - 120)) < 25 + 10 * c) & (yy > 40)
        frame = np.where(road, 90, 160) + 20 * np.sin(xx / 7 + i) + rng.normal(0, 4, (120, 160))
        frames.append(np.clip(frame, 0, 255))
    images = torch.as_tensor(np.array(frames, dtype=np.uint8)[..., None])
    actions = torch.as_tensor(rng.integers(0, 5, N))
    advantages = torch.as_tensor(rng.standard_normal(N), dtype=torch.float32)
    returns = torch.as_tensor(3 * rng.standard_normal(N), dtype=torch.float32)
    return images, actions, advantages, returns


def loss_and_grads(precision: str, batch, rows: slice = slice(None), device: str = "cpu"):
    images, actions, advantages, returns = (x.to(device) for x in batch)
    learner = make(precision, device)
    obs = {"FRONT_FACING_CAMERA": images[rows]}
    with torch.no_grad():
        probs = learner.policy(obs)
    old_log_probs = torch.log(probs.gather(1, actions[rows, None])[:, 0]) + 0.05
    loss, _, _ = learner.minibatch_loss(
        obs, actions[rows], old_log_probs, advantages[rows], returns[rows]
    )
    loss.backward()
    grads = {
        f"{tower}.{name}": p.grad.detach().cpu().clone()
        for tower, module in (("policy", learner.policy), ("value", learner.value))
        for name, p in module.named_parameters()
    }
    return loss, grads


def flat(grads: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([g.flatten() for g in grads.values()])


@pytest.mark.parametrize("device", DEVICES)
def test_bf16_loss_and_gradients_match_float32_within_rounding(batch, device):
    loss32, grads32 = loss_and_grads("fp32", batch, device=device)
    loss16, grads16 = loss_and_grads("bf16", batch, device=device)
    assert loss16.dtype == torch.float32
    assert loss16.item() != loss32.item()  # autocast really ran
    assert abs(loss16.item() - loss32.item()) <= U * abs(loss32.item())
    for name in ("policy.head.weight", "policy.head.bias", "value.head.weight", "value.head.bias"):
        error = (grads16[name] - grads32[name]).norm() / grads32[name].norm()
        assert error <= 4 * U, name
    error = (flat(grads16) - flat(grads32)).norm()
    _, first_half = loss_and_grads("fp32", batch, slice(0, N // 2), device)
    _, second_half = loss_and_grads("fp32", batch, slice(N // 2, N), device)
    sampling_noise = (flat(first_half) - flat(second_half)).norm()
    assert error <= sampling_noise / 8
    cosine = torch.nn.functional.cosine_similarity(flat(grads16), flat(grads32), dim=0)
    assert cosine >= 0.99


def test_bf16_update_keeps_float32_weights_optimizer_state_and_export_structure(batch):
    images, actions, advantages, returns = batch
    learner = make("bf16")
    fresh = make("fp32")
    obs = {"FRONT_FACING_CAMERA": images[:16].numpy()}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        conv_out = learner.policy.trunk.embedder.parts["FRONT_FACING_CAMERA"].convs(
            torch.zeros(1, 1, 120, 160)
        )
    assert conv_out.dtype == torch.bfloat16  # the trunk's kernels do run in bf16
    learner.update(
        {
            "obs": obs,
            "actions": actions[:16].numpy(),
            "advantages": advantages[:16].numpy(),
            "returns": returns[:16].numpy(),
        }
    )
    state = learner.policy.state_dict()
    expected = fresh.policy.state_dict()
    assert list(state) == list(expected)
    for key, tensor in state.items():
        assert tensor.dtype == torch.float32 and tensor.shape == expected[key].shape, key
    assert not torch.equal(state["head.weight"], expected["head.weight"])  # it trained
    for moments in learner.optimizer.state.values():
        assert moments["exp_avg"].dtype == torch.float32
        assert moments["exp_avg_sq"].dtype == torch.float32
    with torch.no_grad():
        probs = learner.policy(obs)
    assert probs.dtype == torch.float32
    torch.testing.assert_close(probs.sum(1), torch.ones(16))


def test_precision_names_and_detection(tmp_path):
    cpu = torch.device("cpu")
    assert autocast_dtype("fp32", cpu) is None
    assert autocast_dtype("bf16", cpu) == torch.bfloat16
    with pytest.raises(PrecisionError, match="must be one of"):
        autocast_dtype("fp16", cpu)
    with_bf16 = tmp_path / "with"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 avx512_vnni\n")
    without = tmp_path / "without"
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n")
    assert cpu_has_native_bf16(str(with_bf16))
    assert not cpu_has_native_bf16(str(without))
    assert not cpu_has_native_bf16(str(tmp_path / "missing"))
