"""DeepRacer architectures: feature sizes (docs/deepracer.md 4.2), parameter counts, input handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slipstream.rl.networks import (
    DEEP,
    SHALLOW,
    STANDARD,
    CameraEmbedder,
    NetworkConfigError,
    ObservationError,
    PPOPolicy,
    SACPolicy,
    build_embedder,
    build_ppo_networks,
    middleware,
)


def camera(channels: int = 1, batch: int = 2) -> np.ndarray:
    return np.zeros((batch, 120, 160, channels), dtype=np.uint8)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("network", "flat", "out"),
    [
        (SHALLOW, 11 * 16 * 64, 11264),  # 29x39x32 -> 13x18x64 -> 11x16x64
        # the camera's dense layers map each position's channels; the map is flattened after
        # them (rl_coach's embedder), as in DeepRacer's checkpoints
        (STANDARD, 25 * 35 * 64, 25 * 35 * 64),  # ... -> 25x35x64 -> dense 64 per position
        (DEEP, 3 * 6 * 64, 3 * 6 * 512),  # ... -> 3x6x64 -> 512 -> 512 per position
    ],
)
def test_front_camera_feature_sizes(network, flat, out):
    embedder = build_embedder(("FRONT_FACING_CAMERA",), network, None)
    assert embedder.parts["FRONT_FACING_CAMERA"].flat_features == flat
    features = embedder({"FRONT_FACING_CAMERA": camera()})
    assert features.shape == (2, out)
    assert embedder.out_features == out


@pytest.mark.parametrize(
    ("network", "out"),
    [
        (SHALLOW, 11264),
        # 120x160 -> 118x158 -> 58x78 -> 56x76 -> 27x37 -> 25x35, 128 channels
        (STANDARD, 25 * 35 * 128),
        (DEEP, 25 * 35 * 128),
    ],
)
def test_stereo_feature_sizes(network, out):
    embedder = build_embedder(("STEREO_CAMERAS",), network, None)
    assert embedder({"STEREO_CAMERAS": camera(2)}).shape == (2, out)


def test_lidar_variants_and_concatenation_order():
    lidar = build_embedder(("LIDAR",), SHALLOW, None)
    assert lidar({"LIDAR": np.full((2, 64), 0.5, np.float32)}).shape == (2, 256)
    sector = build_embedder(("SECTOR_LIDAR",), SHALLOW, None)
    assert sector({"SECTOR_LIDAR": np.zeros((2, 8), np.float32)}).shape == (2, 256)
    discretized = build_embedder(("DISCRETIZED_SECTOR_LIDAR",), SHALLOW, 8 * 4)
    assert discretized({"DISCRETIZED_SECTOR_LIDAR": np.zeros((2, 32), np.float32)}).shape == (
        2,
        256,
    )
    with pytest.raises(NetworkConfigError, match="lidar_dim"):
        build_embedder(("DISCRETIZED_SECTOR_LIDAR",), SHALLOW, None)
    both = build_embedder(("LIDAR", "FRONT_FACING_CAMERA"), SHALLOW, None)
    assert both.sensors == ("FRONT_FACING_CAMERA", "LIDAR")
    obs = {"LIDAR": np.full((2, 64), 0.5, np.float32), "FRONT_FACING_CAMERA": camera()}
    assert both(obs).shape == (2, 11264 + 256)


def test_middleware_widths():
    assert middleware(SHALLOW, 11264)(torch.zeros(2, 11264)).shape == (2, 512)
    deep = middleware(DEEP, 512)
    assert [m.out_features for m in deep if isinstance(m, torch.nn.Linear)] == [256, 128]


def test_shallow_ppo_policy_parameter_count_by_hand():
    policy = PPOPolicy(("FRONT_FACING_CAMERA",), SHALLOW, num_actions=5)
    conv = (8 * 8 * 1 * 32 + 32) + (4 * 4 * 32 * 64 + 64) + (3 * 3 * 64 * 64 + 64)
    dense = 11264 * 512 + 512
    head = 512 * 5 + 5
    assert n_params(policy) == conv + dense + head == 5_842_085
    continuous = PPOPolicy(("FRONT_FACING_CAMERA",), SHALLOW, continuous=True)
    assert n_params(continuous) == conv + dense + (512 * 2 + 2) + 2  # + log_std


def test_separate_and_shared_towers():
    policy, value = build_ppo_networks(("LIDAR",), SHALLOW, 3)
    assert value.trunk is not policy.trunk
    shared_policy, shared_value = build_ppo_networks(("LIDAR",), SHALLOW, 3, shared_trunk=True)
    assert shared_value.trunk is shared_policy.trunk
    # The exported policy tower is the same architecture either way.
    assert n_params(shared_policy) == n_params(policy)
    obs = {"LIDAR": np.full((4, 64), 0.5, np.float32)}
    assert value(obs).shape == (4,)


def test_discrete_probabilities_and_uint8_scaling():
    torch.manual_seed(0)
    policy = PPOPolicy(("FRONT_FACING_CAMERA",), SHALLOW, num_actions=4)
    image = np.random.default_rng(0).integers(0, 256, size=(3, 120, 160, 1), dtype=np.uint8)
    probs = policy({"FRONT_FACING_CAMERA": image})
    torch.testing.assert_close(probs.sum(-1), torch.ones(3))
    assert bool((probs >= 1e-8).all())
    # uint8 and 0..255 floats mean the same picture; forward_export agrees with forward.
    as_float = policy.forward_export(torch.as_tensor(image, dtype=torch.float32))
    torch.testing.assert_close(as_float, probs)
    with torch.no_grad():
        policy.head.weight.mul_(1e4)  # saturate the softmax: the clamp keeps log p finite
        clamped = policy({"FRONT_FACING_CAMERA": image})
    assert float(clamped.min()) == pytest.approx(1e-8)


def test_continuous_policy_log_std_clipped():
    policy = PPOPolicy(("LIDAR",), SHALLOW, continuous=True)
    with torch.no_grad():
        policy.log_std.fill_(10.0)
    torch.testing.assert_close(policy.clipped_log_std(), torch.full((2,), 3.0))
    mean = policy({"LIDAR": np.zeros((2, 64), np.float32)})
    assert mean.shape == (2, 2)


def test_flatten_order_is_channels_last():
    # A 1x1 convolution that copies the grey value into channel 0 and its double into channel 1:
    # the flat vector must run (h, w, c) as TensorFlow's does.
    embedder = CameraEmbedder(1, ((2, 1, 1),))
    with torch.no_grad():
        conv = embedder.convs[0]
        conv.weight.copy_(torch.tensor([1.0, 2.0]).reshape(2, 1, 1, 1))
        conv.bias.zero_()
    image = torch.zeros(1, 120, 160, 1)
    image[0, 3, 5, 0] = 255.0
    with torch.no_grad():
        flat = embedder(image)[0]
    base = (3 * 160 + 5) * 2
    assert flat[base].item() == pytest.approx(1.0)
    assert flat[base + 1].item() == pytest.approx(2.0)
    assert float(flat.sum()) == pytest.approx(3.0)


def test_errors_name_the_problem():
    with pytest.raises(NetworkConfigError, match="neural_network"):
        build_embedder(("FRONT_FACING_CAMERA",), "RESNET", None)
    with pytest.raises(NetworkConfigError, match="unknown sensor"):
        build_embedder(("REAR_CAMERA",), SHALLOW, None)
    with pytest.raises(NetworkConfigError, match="one lidar"):
        build_embedder(("LIDAR", "SECTOR_LIDAR"), SHALLOW, None)
    embedder = build_embedder(("FRONT_FACING_CAMERA",), SHALLOW, None)
    with pytest.raises(ObservationError, match="FRONT_FACING_CAMERA"):
        embedder({"LIDAR": np.zeros((1, 64))})
    with pytest.raises(ObservationError, match="expected"):
        embedder({"FRONT_FACING_CAMERA": np.zeros((1, 160, 120, 1), np.uint8)})
    with pytest.raises(NetworkConfigError, match="num_actions"):
        PPOPolicy(("LIDAR",), SHALLOW)


def test_sac_policy_log_prob_matches_torch_tanh_transform():
    torch.manual_seed(1)
    policy = SACPolicy(("LIDAR",), SHALLOW, (-1.0, -1.0), (1.0, 1.0))
    obs = {"LIDAR": np.random.default_rng(0).random((5, 64), dtype=np.float32)}
    with torch.no_grad():
        actions, log_prob = policy.sample(obs)
        mean, log_std = policy.mean_and_log_std(obs)
        reference = torch.distributions.TransformedDistribution(
            torch.distributions.Normal(mean, log_std.exp()),
            [torch.distributions.TanhTransform(cache_size=0)],
        )
        expected = reference.log_prob(actions.clamp(-1 + 1e-6, 1 - 1e-6)).sum(-1)
    torch.testing.assert_close(log_prob, expected, rtol=1e-3, atol=1e-3)


def test_sac_policy_scales_to_action_bounds():
    policy = SACPolicy(("LIDAR",), SHALLOW, (-30.0, 0.5), (30.0, 4.0))
    obs = {"LIDAR": np.zeros((3, 64), np.float32)}
    with torch.no_grad():
        mean, _ = policy.mean_and_log_std(obs)
        expected = torch.tanh(mean) * torch.tensor([30.0, 1.75]) + torch.tensor([0.0, 2.25])
        torch.testing.assert_close(policy(obs), expected)
