"""DeepRacer's networks in torch: sensor embedders, middleware, the PPO and SAC heads.

The layer lists are DeepRacer's (docs/deepracer.md 4.2-4.3): for each `neural_network` name a list of
convolutions per camera, an optional dense list after the camera convolutions, a lidar embedder of
dense [256, 256], and a middleware of dense [512] ([256, 128] for DEEP_CONVOLUTIONAL_NETWORK_DEEP).
Convolutions use 'valid' padding; ReLU follows every convolution and every dense layer of embedders
and middleware. Several sensors are embedded separately and the flat embeddings concatenated, in
the fixed order of `SENSOR_ORDER` (cameras first, then the lidar), whatever order the caller names
the sensors in.

Inputs are the observation dict keyed by sensor name, batched on the first axis:
cameras (B, 120, 160, C) channels-last, uint8 or float on the 0..255 scale (divided by 255 inside
the module, as DeepRacer's frozen graph does); lidar vectors (B, N) float32 used as they are.
Numpy arrays are accepted and moved to the module's device.

A camera embedder's dense layers act on each position of the last feature map (on its channels),
and the map is flattened afterwards, in height-width-channel order: DeepRacer's scheme is
[Conv2d, ..., Dense, ...] and rl_coach flattens only at the end of the embedder, while TF's dense
layer on a rank-4 tensor maps the last axis. So DEEP_CONVOLUTIONAL_NETWORK's camera embedding is
25x35x64 = 56000 wide (Dense 64 on each of the 25x35 positions), DEEP's 3x6x512 = 9216, and every
kernel lines up with a DeepRacer checkpoint's (rl_coach_layout in slipstream.export).

Initialisation follows rl_coach: Glorot-uniform weights and zero biases for convolutions and dense
layers; "normalized columns" (Gaussian rows rescaled to a fixed L2 norm per output unit) for the PPO
value head (norm 1.0) and the continuous PPO mean (norm 0.01).

The whole tower of `PPOPolicy` (embedder, middleware, head) is what DeepRacer exports; its
`forward_export` takes positional tensors in `input_sensors` order for ONNX.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from slipstream.rl.distributions import Categorical, DiagGaussian

FRONT_FACING_CAMERA = "FRONT_FACING_CAMERA"
LEFT_CAMERA = "LEFT_CAMERA"
STEREO_CAMERAS = "STEREO_CAMERAS"
LIDAR = "LIDAR"
SECTOR_LIDAR = "SECTOR_LIDAR"
DISCRETIZED_SECTOR_LIDAR = "DISCRETIZED_SECTOR_LIDAR"

CAMERA_SENSORS = (FRONT_FACING_CAMERA, LEFT_CAMERA, STEREO_CAMERAS)
LIDAR_SENSORS = (LIDAR, SECTOR_LIDAR, DISCRETIZED_SECTOR_LIDAR)
SENSOR_ORDER = CAMERA_SENSORS + LIDAR_SENSORS
"""Order in which embeddings are concatenated and `forward_export` takes its inputs."""

CAMERA_CHANNELS = {FRONT_FACING_CAMERA: 1, LEFT_CAMERA: 1, STEREO_CAMERAS: 2}
IMAGE_HEIGHT = 120
IMAGE_WIDTH = 160
DEFAULT_LIDAR_DIM = {LIDAR: 64, SECTOR_LIDAR: 8}
"""Vector length when `lidar_dim` is not given; DISCRETIZED_SECTOR_LIDAR always needs it."""

SHALLOW = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
STANDARD = "DEEP_CONVOLUTIONAL_NETWORK"
DEEP = "DEEP_CONVOLUTIONAL_NETWORK_DEEP"
NETWORKS = (SHALLOW, STANDARD, DEEP)

ConvSpec = tuple[tuple[int, int, int], ...]
"""(filters, kernel, stride) per convolution."""

_SHALLOW_CONV: ConvSpec = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
CAMERA_CONV: dict[str, ConvSpec] = {
    SHALLOW: _SHALLOW_CONV,
    STANDARD: ((32, 5, 2), (32, 3, 1), (64, 3, 2), (64, 3, 1)),
    DEEP: ((32, 8, 4), (32, 4, 2), (64, 4, 2), (64, 3, 1)),
}
CAMERA_DENSE: dict[str, tuple[int, ...]] = {SHALLOW: (), STANDARD: (64,), DEEP: (512, 512)}
_STEREO_DEEP_CONV: ConvSpec = ((32, 3, 1), (64, 3, 2), (64, 3, 1), (128, 3, 2), (128, 3, 1))
STEREO_CONV: dict[str, ConvSpec] = {
    SHALLOW: _SHALLOW_CONV,
    STANDARD: _STEREO_DEEP_CONV,
    DEEP: _STEREO_DEEP_CONV,
}
LIDAR_DENSE = (256, 256)
MIDDLEWARE_DENSE: dict[str, tuple[int, ...]] = {SHALLOW: (512,), STANDARD: (512,), DEEP: (256, 128)}

CONTINUOUS_ACTION_DIM = 2
"""Continuous DeepRacer actions: (steering_angle, speed)."""
PPO_LOG_STD_BOUNDS = (-20.0, 3.0)
SAC_LOG_STD_BOUNDS = (-20.0, 2.0)
SAC_HEAD_UNITS = 256
SAC_Q_UNITS = (256, 256)


class NetworkConfigError(ValueError):
    """A sensor list, network name or action setting that cannot build a network."""


class ObservationError(ValueError):
    """An observation dict that lacks a sensor the network reads, or has the wrong shape."""


# ----------------------------------------------------------------------------------------------
# Initialisation


def glorot_init_(module: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases for every Conv2d and Linear in `module` (Keras default)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return module


def normalized_columns_init_(layer: nn.Linear, std: float) -> nn.Linear:
    """rl_coach's normalized-columns init: Gaussian weights scaled so each output unit's weight
    vector has L2 norm `std`; zero bias. (TF's kernel columns are torch's weight rows.)"""
    with torch.no_grad():
        weight = torch.randn_like(layer.weight)
        weight *= std / weight.pow(2).sum(dim=1, keepdim=True).sqrt()
        layer.weight.copy_(weight)
        layer.bias.zero_()
    return layer


# ----------------------------------------------------------------------------------------------
# Embedders and middleware


def conv_output_size(height: int, width: int, convs: ConvSpec) -> tuple[int, int, int]:
    """(height, width, channels) after 'valid' convolutions: n -> floor((n - k) / s) + 1."""
    channels = 0
    for filters, kernel, stride in convs:
        height = (height - kernel) // stride + 1
        width = (width - kernel) // stride + 1
        channels = filters
    return height, width, channels


def _dense_stack(in_features: int, units: Sequence[int]) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    for n in units:
        layers += [nn.Linear(in_features, n), nn.ReLU()]
        in_features = n
    return nn.Sequential(*layers), in_features


class CameraEmbedder(nn.Module):
    """Convolutions (+ dense layers) over one camera image (B, 120, 160, C) on the 0..255 scale."""

    def __init__(self, channels: int, convs: ConvSpec, dense: Sequence[int] = ()) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = channels
        for filters, kernel, stride in convs:
            layers += [nn.Conv2d(in_channels, filters, kernel, stride), nn.ReLU()]
            in_channels = filters
        self.convs = nn.Sequential(*layers)
        h, w, c = conv_output_size(IMAGE_HEIGHT, IMAGE_WIDTH, convs)
        self.flat_features = h * w * c
        """Width of the flattened last convolution's map."""
        self.dense, width = _dense_stack(c, dense)  # on each position's channels
        self.out_features = h * w * width
        self.channels = channels

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.to(torch.float32).permute(0, 3, 1, 2) * (1.0 / 255.0)
        x = self.convs(x)
        # channels-last as TensorFlow: dense layers map each position's channels, then the map
        # is flattened in height-width-channel order
        x = self.dense(x.permute(0, 2, 3, 1))
        return x.flatten(1)


class VectorEmbedder(nn.Module):
    """Dense layers over a lidar vector (B, N), scale 1.0."""

    def __init__(self, in_features: int, dense: Sequence[int] = LIDAR_DENSE) -> None:
        super().__init__()
        self.dense, self.out_features = _dense_stack(in_features, dense)
        self.in_features = in_features

    def forward(self, vector: torch.Tensor) -> torch.Tensor:
        return self.dense(vector.to(torch.float32))


def _check_network(network: str) -> None:
    if network not in NETWORKS:
        raise NetworkConfigError(
            f"unknown neural_network {network!r}; model_metadata.json must name one of {NETWORKS}"
        )


def canonical_sensors(sensors: Sequence[str]) -> tuple[str, ...]:
    """The sensors in `SENSOR_ORDER`, validated: known names, no duplicates, one camera kind at most
    besides FRONT/LEFT, at most one lidar kind, at least one sensor."""
    unknown = [s for s in sensors if s not in SENSOR_ORDER]
    if unknown:
        raise NetworkConfigError(f"unknown sensor(s) {unknown}; valid sensors are {SENSOR_ORDER}")
    if len(set(sensors)) != len(sensors):
        raise NetworkConfigError(f"sensor list {list(sensors)} names a sensor twice")
    lidars = [s for s in sensors if s in LIDAR_SENSORS]
    if len(lidars) > 1:
        raise NetworkConfigError(f"choose one lidar kind, not {lidars}")
    if not sensors:
        raise NetworkConfigError(f"the sensor list is empty; name at least one of {SENSOR_ORDER}")
    return tuple(s for s in SENSOR_ORDER if s in sensors)


def _lidar_dim(sensor: str, lidar_dim: int | None) -> int:
    if lidar_dim is None:
        if sensor not in DEFAULT_LIDAR_DIM:
            raise NetworkConfigError(
                f"{sensor} needs lidar_dim = num_sectors * num_values_per_sector from lidar_config"
            )
        return DEFAULT_LIDAR_DIM[sensor]
    if lidar_dim < 1:
        raise NetworkConfigError(f"lidar_dim must be a positive vector length, got {lidar_dim}")
    return int(lidar_dim)


class Embedder(nn.Module):
    """Maps the observation dict to one flat feature vector (B, out_features)."""

    def __init__(self, sensors: Sequence[str], network: str, lidar_dim: int | None = None) -> None:
        super().__init__()
        _check_network(network)
        self.sensors = canonical_sensors(sensors)
        self.network = network
        self.parts = nn.ModuleDict()
        for sensor in self.sensors:
            if sensor == STEREO_CAMERAS:
                self.parts[sensor] = CameraEmbedder(2, STEREO_CONV[network])
            elif sensor in CAMERA_SENSORS:
                part = CameraEmbedder(1, CAMERA_CONV[network], CAMERA_DENSE[network])
                self.parts[sensor] = part
            else:
                self.parts[sensor] = VectorEmbedder(_lidar_dim(sensor, lidar_dim))
        self.out_features = sum(part.out_features for part in self.parts.values())
        glorot_init_(self)

    def forward(self, obs: Mapping[str, Any]) -> torch.Tensor:
        device = next(self.parameters()).device
        features = []
        for sensor in self.sensors:
            if sensor not in obs:
                raise ObservationError(
                    f"observation has no {sensor!r} (keys: {sorted(obs)}); the network reads {self.sensors}"
                )
            x = obs[sensor]
            if not isinstance(x, torch.Tensor):
                x = torch.as_tensor(np.asarray(x))
            x = x.to(device, non_blocking=True)
            _check_shape(sensor, x, self.parts[sensor])
            features.append(self.parts[sensor](x))
        return features[0] if len(features) == 1 else torch.cat(features, dim=-1)


def _check_shape(sensor: str, x: torch.Tensor, part: nn.Module) -> None:
    if isinstance(part, CameraEmbedder):
        expected: tuple[int, ...] = (IMAGE_HEIGHT, IMAGE_WIDTH, part.channels)
        ok = x.dim() == 4 and tuple(x.shape[1:]) == expected
    else:
        expected = (part.in_features,)
        ok = x.dim() == 2 and x.shape[1] == part.in_features
    if not ok:
        raise ObservationError(
            f"{sensor} has shape {tuple(x.shape)}; expected (batch, {', '.join(map(str, expected))})"
        )


def build_embedder(sensors: Sequence[str], network: str, lidar_dim: int | None = None) -> Embedder:
    """DeepRacer's input embedders for `sensors` and `neural_network` name, concatenated."""
    return Embedder(sensors, network, lidar_dim)


def middleware(network: str, in_features: int) -> nn.Sequential:
    """DeepRacer's middleware: dense [512] + ReLU, or [256, 128] for DEEP_CONVOLUTIONAL_NETWORK_DEEP.

    Output width is `MIDDLEWARE_DENSE[network][-1]`."""
    _check_network(network)
    stack, _ = _dense_stack(in_features, MIDDLEWARE_DENSE[network])
    return glorot_init_(stack)


class Trunk(nn.Module):
    """Embedder followed by middleware (or no middleware): obs dict -> (B, out_features)."""

    def __init__(
        self,
        sensors: Sequence[str],
        network: str,
        lidar_dim: int | None = None,
        *,
        with_middleware: bool = True,
    ) -> None:
        super().__init__()
        self.embedder = build_embedder(sensors, network, lidar_dim)
        if with_middleware:
            self.middleware = middleware(network, self.embedder.out_features)
            self.out_features = MIDDLEWARE_DENSE[network][-1]
        else:
            self.middleware = nn.Sequential()
            self.out_features = self.embedder.out_features

    @property
    def sensors(self) -> tuple[str, ...]:
        return self.embedder.sensors

    def forward(self, obs: Mapping[str, Any]) -> torch.Tensor:
        return self.middleware(self.embedder(obs))


def float32_layer(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """`layer(x)` in float32 with autocast off: the learner runs trunks under bf16 autocast, but
    heads (a few thousand weights) stay float32 so values and probabilities keep float32
    resolution (a bf16 value head would round V ~ 100 to +-0.4, as large as a step's reward)."""
    with torch.autocast(x.device.type, enabled=False):
        return layer(x.float())


# ----------------------------------------------------------------------------------------------
# PPO


class PPOPolicy(nn.Module):
    """DeepRacer's Clipped-PPO policy tower (network_1): embedder + middleware + PPO head.

    Discrete: Dense(num_actions) -> softmax -> clamp(min=1e-8); `forward` returns the probabilities.
    Continuous: mean Dense(2) (normalized-columns 0.01) and a state-independent `log_std` parameter
    (init 0, clipped to [-20, 3] when used); `forward` returns the mean in network space [-1, 1]
    (not squashed; the environment clips and rescales to its steering and speed ranges).

    Pass `trunk` to share the embedder + middleware with a `PPOValue` (an experiment option; the
    exported module is the same policy tower either way).
    """

    def __init__(
        self,
        sensors: Sequence[str],
        network: str,
        num_actions: int | None = None,
        *,
        continuous: bool = False,
        lidar_dim: int | None = None,
        trunk: Trunk | None = None,
    ) -> None:
        super().__init__()
        self.trunk = trunk if trunk is not None else Trunk(sensors, network, lidar_dim)
        self.continuous = continuous
        if continuous:
            self.num_actions = CONTINUOUS_ACTION_DIM
            self.head = normalized_columns_init_(
                nn.Linear(self.trunk.out_features, CONTINUOUS_ACTION_DIM), 0.01
            )
            self.log_std = nn.Parameter(torch.zeros(CONTINUOUS_ACTION_DIM))
        else:
            if num_actions is None or num_actions < 2:
                raise NetworkConfigError(
                    f"a discrete PPO policy needs num_actions >= 2 (the action_space list), got {num_actions}"
                )
            self.num_actions = int(num_actions)
            self.head = glorot_init_(nn.Linear(self.trunk.out_features, self.num_actions))

    @property
    def input_sensors(self) -> tuple[str, ...]:
        """Sensor names in the order `forward_export` takes them."""
        return self.trunk.sensors

    def clipped_log_std(self) -> torch.Tensor:
        return self.log_std.clamp(*PPO_LOG_STD_BOUNDS)

    def head_output(self, features: torch.Tensor) -> torch.Tensor:
        """Probabilities (B, A) or mean (B, 2) from trunk features; float32 even when the trunk
        ran under bf16 autocast (see `float32_layer`)."""
        out = float32_layer(self.head, features)
        if self.continuous:
            return out
        return torch.softmax(out, dim=-1).clamp_min(1e-8)

    def head_distribution(self, features: torch.Tensor) -> Categorical | DiagGaussian:
        out = self.head_output(features)
        if self.continuous:
            return DiagGaussian(out, self.clipped_log_std())
        return Categorical(out)

    def distribution(self, obs: Mapping[str, Any]) -> Categorical | DiagGaussian:
        return self.head_distribution(self.trunk(obs))

    def forward(self, obs: Mapping[str, Any]) -> torch.Tensor:
        return self.head_output(self.trunk(obs))

    def forward_export(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The exported graph: one tensor per sensor in `input_sensors` order (cameras NHWC on the
        0..255 scale, uint8 or float; lidar float) -> probabilities or continuous mean."""
        if len(inputs) != len(self.input_sensors):
            raise ObservationError(
                f"forward_export takes {len(self.input_sensors)} input(s) {self.input_sensors}, got {len(inputs)}"
            )
        return self.forward(dict(zip(self.input_sensors, inputs, strict=True)))


class PPOValue(nn.Module):
    """DeepRacer's PPO value tower (network_0): embedder + middleware + Dense(1), normalized-columns 1.0.

    `forward` returns V(s) of shape (B,). Pass `trunk` to share it with the policy."""

    def __init__(
        self,
        sensors: Sequence[str],
        network: str,
        *,
        lidar_dim: int | None = None,
        trunk: Trunk | None = None,
    ) -> None:
        super().__init__()
        self.trunk = trunk if trunk is not None else Trunk(sensors, network, lidar_dim)
        self.head = normalized_columns_init_(nn.Linear(self.trunk.out_features, 1), 1.0)

    def head_output(self, features: torch.Tensor) -> torch.Tensor:
        return float32_layer(self.head, features).squeeze(-1)

    def forward(self, obs: Mapping[str, Any]) -> torch.Tensor:
        return self.head_output(self.trunk(obs))


def build_ppo_networks(
    sensors: Sequence[str],
    network: str,
    num_actions: int | None = None,
    *,
    continuous: bool = False,
    lidar_dim: int | None = None,
    shared_trunk: bool = False,
) -> tuple[PPOPolicy, PPOValue]:
    """Policy and value networks; separate towers as DeepRacer unless `shared_trunk`."""
    policy = PPOPolicy(sensors, network, num_actions, continuous=continuous, lidar_dim=lidar_dim)
    trunk = policy.trunk if shared_trunk else None
    value = PPOValue(sensors, network, lidar_dim=lidar_dim, trunk=trunk)
    return policy, value


# ----------------------------------------------------------------------------------------------
# SAC


def _action_bounds(
    low: Sequence[float], high: Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    low_t = torch.as_tensor(np.asarray(low, dtype=np.float32)).reshape(-1)
    high_t = torch.as_tensor(np.asarray(high, dtype=np.float32)).reshape(-1)
    if low_t.shape != (CONTINUOUS_ACTION_DIM,) or high_t.shape != (CONTINUOUS_ACTION_DIM,):
        raise NetworkConfigError(
            f"action bounds must be (steering, speed) pairs, got low={list(low)} high={list(high)}"
        )
    if not bool((high_t > low_t).all()):
        raise NetworkConfigError(f"action high {list(high)} must exceed low {list(low)} everywhere")
    return (high_t - low_t) / 2.0, (high_t + low_t) / 2.0


def log_one_minus_tanh_squared(u: torch.Tensor) -> torch.Tensor:
    """log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|."""
    return 2.0 * (np.log(2.0) - u - nn.functional.softplus(-2.0 * u))


class SACPolicy(nn.Module):
    """DeepRacer's SAC policy: embedder + middleware + Dense(256, relu) -> mean Dense(2) and
    log_std Dense(2) clipped to [-20, 2]; action = scale * tanh(u) + bias, u ~ N(mean, std).

    Actions are in environment units (steering degrees, speed m/s) between `action_low` and
    `action_high`. `forward` is the exported deterministic action scale * tanh(mean) + bias.
    `sample` returns a reparameterised action and its log-probability with the tanh correction
    computed in the squashed [-1, 1] space, i.e. without the constant sum(log scale) term
    (a constant shift of V by alpha * sum(log scale) that does not change any gradient).
    """

    def __init__(
        self,
        sensors: Sequence[str],
        network: str,
        action_low: Sequence[float],
        action_high: Sequence[float],
        *,
        lidar_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.trunk = Trunk(sensors, network, lidar_dim)
        self.hidden = glorot_init_(
            nn.Sequential(nn.Linear(self.trunk.out_features, SAC_HEAD_UNITS), nn.ReLU())
        )
        self.mean = glorot_init_(nn.Linear(SAC_HEAD_UNITS, CONTINUOUS_ACTION_DIM))
        self.log_std = glorot_init_(nn.Linear(SAC_HEAD_UNITS, CONTINUOUS_ACTION_DIM))
        scale, bias = _action_bounds(action_low, action_high)
        self.register_buffer("action_scale", scale)
        self.register_buffer("action_bias", bias)

    @property
    def input_sensors(self) -> tuple[str, ...]:
        return self.trunk.sensors

    def mean_and_log_std(self, obs: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.hidden(self.trunk(obs))
        return self.mean(h), self.log_std(h).clamp(*SAC_LOG_STD_BOUNDS)

    def forward(self, obs: Mapping[str, Any]) -> torch.Tensor:
        mean, _ = self.mean_and_log_std(obs)
        return self.action_scale * torch.tanh(mean) + self.action_bias

    def forward_export(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Deterministic action from positional inputs in `input_sensors` order."""
        return self.forward(dict(zip(self.input_sensors, inputs, strict=True)))

    def sample(
        self, obs: Mapping[str, Any], generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(action (B, 2) in env units, log-prob (B,)), differentiable w.r.t. the policy."""
        mean, log_std = self.mean_and_log_std(obs)
        gaussian = DiagGaussian(mean, log_std)
        u = gaussian.sample(generator)
        log_prob = gaussian.log_prob(u) - log_one_minus_tanh_squared(u).sum(-1)
        return self.action_scale * torch.tanh(u) + self.action_bias, log_prob


class SACQNetwork(nn.Module):
    """DeepRacer's SAC Q network: embedder (no middleware) shared by two streams, each
    concat(embedding, action) -> Dense 256 relu -> Dense 256 relu -> Dense 1.

    Actions come in environment units and are mapped to [-1, 1] with the action bounds before
    entering the streams (DeepRacer feeds raw units; normalising only conditions the inputs).
    `forward` returns (q1, q2), each (B,); `min_q` their element-wise minimum."""

    def __init__(
        self,
        sensors: Sequence[str],
        network: str,
        action_low: Sequence[float],
        action_high: Sequence[float],
        *,
        lidar_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.trunk = Trunk(sensors, network, lidar_dim, with_middleware=False)
        scale, bias = _action_bounds(action_low, action_high)
        self.register_buffer("action_scale", scale)
        self.register_buffer("action_bias", bias)
        in_features = self.trunk.out_features + CONTINUOUS_ACTION_DIM
        self.streams = nn.ModuleList()
        for _ in range(2):
            stack, width = _dense_stack(in_features, SAC_Q_UNITS)
            self.streams.append(glorot_init_(nn.Sequential(*stack, nn.Linear(width, 1))))

    def forward(
        self, obs: Mapping[str, Any], actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(obs)
        unit_actions = (actions.to(features.dtype) - self.action_bias) / self.action_scale
        x = torch.cat([features, unit_actions], dim=-1)
        q1, q2 = (stream(x).squeeze(-1) for stream in self.streams)
        return q1, q2

    def min_q(self, obs: Mapping[str, Any], actions: torch.Tensor) -> torch.Tensor:
        q1, q2 = self(obs, actions)
        return torch.minimum(q1, q2)


class SACValue(nn.Module):
    """DeepRacer's SAC V network: embedder + middleware + Dense(1) (Glorot). Returns (B,)."""

    def __init__(
        self, sensors: Sequence[str], network: str, *, lidar_dim: int | None = None
    ) -> None:
        super().__init__()
        self.trunk = Trunk(sensors, network, lidar_dim)
        self.head = glorot_init_(nn.Linear(self.trunk.out_features, 1))

    def forward(self, obs: Mapping[str, Any]) -> torch.Tensor:
        return self.head(self.trunk(obs)).squeeze(-1)
