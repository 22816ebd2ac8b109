"""Where every weight of a Slipstream network lives in rl_coach's TensorFlow graph, and back.

One table (`Tower`) describes a tower as rl_coach names it (DEEPRACER_MODEL.md 3-4): per sensor an
embedder scope ``<SENSOR>/`` with layers ``Conv2d_0, Conv2d_2, ...`` then ``Dense_<k>`` (the odd
indices are rl_coach's activation layers), ``middleware_fc_embedder/Dense_0, Dense_2, ...``, the
scalar ``gradients_from_head_0-0_rescalers`` and the head. Both directions use that table:
`tower_variables` (torch state dict -> TF variables by full name) and `tower_state_dict` (back).

Layouts: TF convolution kernels are HWIO (torch OIHW), TF dense kernels [in, out] (torch
[out, in]). rl_coach builds the embedders in sorted sensor-name order and concatenates them in
that order (``sorted(input_embedders_parameters)``), Slipstream in `SENSOR_ORDER` (cameras first):
the rows of the first middleware kernel are permuted between the two. Camera feature maps are
flattened in HWC order on both sides, so no other permutation is needed.

No TensorFlow here: numpy and torch state dicts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from slipstream.config.model_metadata import ModelMetadata
from slipstream.model.algorithms import algorithm_of
from slipstream.model.graph_names import PPO_SCOPE, SAC_SCOPE
from slipstream.rl.networks import (
    CAMERA_CHANNELS,
    CAMERA_CONV,
    CAMERA_DENSE,
    CAMERA_SENSORS,
    CONTINUOUS_ACTION_DIM,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    LIDAR_DENSE,
    MIDDLEWARE_DENSE,
    SAC_HEAD_UNITS,
    STEREO_CAMERAS,
    STEREO_CONV,
    canonical_sensors,
    conv_output_size,
)

RESCALER = "gradients_from_head_0-0_rescalers"
MIDDLEWARE = "middleware_fc_embedder"
LOG_STD = "ppo_head_0/policy_log_std"
OUTPUT = "policy"

# head kinds
PPO_DISCRETE = "ppo_discrete"
PPO_CONTINUOUS = "ppo_continuous"
PPO_VALUE = "ppo_value"
SAC_POLICY = "sac_policy"


class LayoutError(ValueError):
    """Weights that do not fit the network the model_metadata.json describes."""


@dataclass(frozen=True)
class Layer:
    """One convolution or dense layer: TF scope (relative to the tower), torch module, TF kernel shape."""

    scope: str
    module: str
    kind: str
    """``conv`` or ``dense``."""
    shape: tuple[int, ...]
    """TF kernel shape: HWIO for a convolution, [in, out] for a dense layer."""
    stride: int = 1
    relu: bool = True

    @property
    def kernel(self) -> str:
        return f"{self.scope}/kernel"

    @property
    def bias(self) -> str:
        return f"{self.scope}/bias"


@dataclass(frozen=True)
class Branch:
    """One sensor's embedder: input shape (no batch), its layers, output width."""

    sensor: str
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    out_features: int

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3


@dataclass(frozen=True)
class Tower:
    """One rl_coach network (a PPO tower or the SAC policy) and the torch module it mirrors."""

    kind: str
    scope: str
    """Full TF scope of the tower, e.g. ``main_level/agent/main/online/network_1``."""
    input_scope: str
    """Scope whose placeholders feed the tower (PPO: network_0's, shared by both towers)."""
    branches: tuple[Branch, ...]
    """Embedders in rl_coach's order (sorted sensor names)."""
    torch_sensors: tuple[str, ...]
    """The same sensors in Slipstream's concatenation order (`SENSOR_ORDER`)."""
    middleware: tuple[Layer, ...]
    head: tuple[Layer, ...]

    def name(self, relative: str) -> str:
        return f"{self.scope}/{relative}"

    def input_name(self, sensor: str) -> str:
        """Placeholder node name of `sensor` (``<input_scope>/<SENSOR>/<SENSOR>``)."""
        return f"{self.input_scope}/{sensor}/{sensor}"

    @property
    def head_scope(self) -> str:
        return self.head[0].scope.split("/", 1)[0]

    @property
    def output_name(self) -> str:
        """The output node: ``.../ppo_head_0/policy``, ``.../sac_policy_head_0/policy`` or the
        value head's ``.../v_values_head_0/output/BiasAdd``."""
        if self.kind == PPO_VALUE:
            return self.name(f"{self.head[0].scope}/BiasAdd")
        return self.name(f"{self.head_scope}/{OUTPUT}")

    @property
    def layers(self) -> tuple[Layer, ...]:
        return (*(x for b in self.branches for x in b.layers), *self.middleware, *self.head)

    def variable_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every variable of the tower by full name, with its TF shape."""
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in self.layers:
            shapes[self.name(layer.kernel)] = layer.shape
            shapes[self.name(layer.bias)] = (layer.shape[-1],)
        shapes[self.name(RESCALER)] = ()
        if self.kind == PPO_CONTINUOUS:
            shapes[self.name(LOG_STD)] = (1, CONTINUOUS_ACTION_DIM)
        return shapes

    def outside_frozen_graph(self) -> set[str]:
        """Variables a frozen graph of this tower lacks (not on the path to its output): the
        continuous PPO log-std and the SAC log-std layer."""
        if self.kind == PPO_CONTINUOUS:
            return {self.name(LOG_STD)}
        if self.kind == SAC_POLICY:
            return {self.name(self.head[2].kernel), self.name(self.head[2].bias)}
        return set()

    def middleware_rows(self) -> np.ndarray:
        """For each row of rl_coach's first middleware kernel, the torch input feature it is."""
        widths = {b.sensor: b.out_features for b in self.branches}
        offsets, start = {}, 0
        for sensor in self.torch_sensors:
            offsets[sensor] = start
            start += widths[sensor]
        return np.concatenate(
            [
                np.arange(offsets[b.sensor], offsets[b.sensor] + b.out_features)
                for b in self.branches
            ]
        )


def _lidar_dim(metadata: ModelMetadata, sensor: str) -> int:
    from slipstream.model.algorithms import lidar_dim
    from slipstream.rl.networks import DEFAULT_LIDAR_DIM

    dim = lidar_dim(metadata)
    return int(dim if dim is not None else DEFAULT_LIDAR_DIM[sensor])


def _branch(sensor: str, metadata: ModelMetadata) -> Branch:
    network = metadata.neural_network
    prefix = f"trunk.embedder.parts.{sensor}"
    layers: list[Layer] = []
    if sensor in CAMERA_SENSORS:
        channels = CAMERA_CHANNELS[sensor]
        convs = STEREO_CONV[network] if sensor == STEREO_CAMERAS else CAMERA_CONV[network]
        dense = () if sensor == STEREO_CAMERAS else CAMERA_DENSE[network]
        c = channels
        for i, (filters, kernel, stride) in enumerate(convs):
            scope, module = f"{sensor}/Conv2d_{2 * i}", f"{prefix}.convs.{2 * i}"
            layers.append(Layer(scope, module, "conv", (kernel, kernel, c, filters), stride))
            c = filters
        h, w, width = conv_output_size(IMAGE_HEIGHT, IMAGE_WIDTH, convs)
        for j, units in enumerate(dense):  # on each position of the last map, flattened after
            scope = f"{sensor}/Dense_{2 * (len(convs) + j)}"
            layers.append(Layer(scope, f"{prefix}.dense.{2 * j}", "dense", (width, units)))
            width = units
        return Branch(sensor, (IMAGE_HEIGHT, IMAGE_WIDTH, channels), tuple(layers), h * w * width)
    width = dim = _lidar_dim(metadata, sensor)
    for j, units in enumerate(LIDAR_DENSE):
        layers.append(
            Layer(f"{sensor}/Dense_{2 * j}", f"{prefix}.dense.{2 * j}", "dense", (width, units))
        )
        width = units
    return Branch(sensor, (dim,), tuple(layers), width)


def _tower(metadata: ModelMetadata, kind: str, scope: str, input_scope: str) -> Tower:
    torch_sensors = canonical_sensors(metadata.sensor)
    branches = tuple(_branch(s, metadata) for s in sorted(torch_sensors))
    width = sum(b.out_features for b in branches)
    middleware = []
    for k, units in enumerate(MIDDLEWARE_DENSE[metadata.neural_network]):
        scope_k = f"{MIDDLEWARE}/Dense_{2 * k}"
        middleware.append(Layer(scope_k, f"trunk.middleware.{2 * k}", "dense", (width, units)))
        width = units
    if kind == PPO_DISCRETE:
        head = (
            Layer(
                "ppo_head_0/policy_fc", "head", "dense", (width, metadata.num_actions), relu=False
            ),
        )
    elif kind == PPO_CONTINUOUS:
        head = (
            Layer(
                "ppo_head_0/policy_mean",
                "head",
                "dense",
                (width, CONTINUOUS_ACTION_DIM),
                relu=False,
            ),
        )
    elif kind == PPO_VALUE:
        head = (Layer("v_values_head_0/output", "head", "dense", (width, 1), relu=False),)
    else:
        # DeepRacer's SACPolicyHead: Dense(256, relu) (unnamed: "dense"), mean Dense(2)
        # "policy_mean" and log-std Dense(2) (unnamed: "dense_1"), both on the hidden layer
        head = (
            Layer("sac_policy_head_0/dense", "hidden.0", "dense", (width, SAC_HEAD_UNITS)),
            Layer(
                "sac_policy_head_0/policy_mean",
                "mean",
                "dense",
                (SAC_HEAD_UNITS, CONTINUOUS_ACTION_DIM),
                relu=False,
            ),
            Layer(
                "sac_policy_head_0/dense_1",
                "log_std",
                "dense",
                (SAC_HEAD_UNITS, CONTINUOUS_ACTION_DIM),
                relu=False,
            ),
        )
    return Tower(kind, scope, input_scope, branches, torch_sensors, tuple(middleware), head)


def policy_tower(metadata: ModelMetadata) -> Tower:
    """The tower the car runs: PPO ``network_1`` (inputs in ``network_0``), SAC ``policy/network_0``."""
    if metadata.training_algorithm == "sac":
        scope = f"{SAC_SCOPE}/network_0"
        return _tower(metadata, SAC_POLICY, scope, scope)
    kind = PPO_CONTINUOUS if metadata.is_continuous else PPO_DISCRETE
    return _tower(metadata, kind, f"{PPO_SCOPE}/network_1", f"{PPO_SCOPE}/network_0")


def value_tower(metadata: ModelMetadata) -> Tower:
    """Clipped PPO's value tower ``network_0``."""
    if not algorithm_of(metadata).value_tower:
        raise LayoutError(f"a {metadata.training_algorithm} model has no PPO value tower")
    scope = f"{PPO_SCOPE}/network_0"
    return _tower(metadata, PPO_VALUE, scope, scope)


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def tower_variables(tower: Tower, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """TF variables (full name -> float32 array in TF layout) of a torch state dict."""
    out: dict[str, np.ndarray] = {}
    first_middleware = tower.middleware[0] if tower.middleware else None
    for layer in tower.layers:
        weight = _numpy(state[f"{layer.module}.weight"])
        kernel = weight.transpose(2, 3, 1, 0) if layer.kind == "conv" else weight.T
        if layer is first_middleware:
            kernel = kernel[tower.middleware_rows()]
        out[tower.name(layer.kernel)] = np.ascontiguousarray(kernel)
        out[tower.name(layer.bias)] = _numpy(state[f"{layer.module}.bias"])
    out[tower.name(RESCALER)] = np.array(1.0, dtype=np.float32)
    if tower.kind == PPO_CONTINUOUS:
        out[tower.name(LOG_STD)] = _numpy(state["log_std"]).reshape(1, CONTINUOUS_ACTION_DIM)
    return out


def check_variables(
    tower: Tower, variables: Mapping[str, Any], source: str, frozen: bool = False
) -> None:
    """Raise `LayoutError` unless `variables` has every variable of `tower` with its shape
    (those of `Tower.outside_frozen_graph` may be absent when `frozen`)."""
    missing, wrong = [], []
    optional = {tower.name(RESCALER)} | (tower.outside_frozen_graph() if frozen else set())
    for name, shape in tower.variable_shapes().items():
        if name in optional and name not in variables:
            continue
        if name not in variables:
            missing.append(name)
        elif tuple(np.shape(variables[name])) != shape:
            wrong.append(f"{name} is {list(np.shape(variables[name]))}, expected {list(shape)}")
    if missing or wrong:
        lines = [f"- missing {n}" for n in missing[:8]] + [f"- {w}" for w in wrong[:8]]
        more = len(missing) + len(wrong) - len(lines)
        raise LayoutError(
            f"{source} does not hold the {tower.kind} network that its model_metadata.json "
            f"describes:\n"
            + "\n".join(lines)
            + (f"\n- and {more} more" if more > 0 else "")
            + "\ncheck that model_metadata.json (sensor, neural_network, action_space, "
            "training_algorithm) is the one the model was trained with"
        )


def tower_state_dict(
    tower: Tower, variables: Mapping[str, Any], source: str, frozen: bool = False
) -> dict[str, Any]:
    """The torch state-dict entries of `tower` from TF variables (checked first). With `frozen`,
    the entries of variables a frozen graph lacks are left out (the caller keeps fresh ones)."""
    import torch

    check_variables(tower, variables, source, frozen)
    out: dict[str, Any] = {}
    first_middleware = tower.middleware[0] if tower.middleware else None
    for layer in tower.layers:
        if tower.name(layer.kernel) not in variables:
            continue
        kernel = np.asarray(variables[tower.name(layer.kernel)], dtype=np.float32)
        if layer is first_middleware:
            unpermuted = np.empty_like(kernel)
            unpermuted[tower.middleware_rows()] = kernel
            kernel = unpermuted
        weight = kernel.transpose(3, 2, 0, 1) if layer.kind == "conv" else kernel.T
        out[f"{layer.module}.weight"] = torch.from_numpy(np.ascontiguousarray(weight))
        bias = np.asarray(variables[tower.name(layer.bias)], dtype=np.float32)
        out[f"{layer.module}.bias"] = torch.from_numpy(bias.copy())
    if tower.kind == PPO_CONTINUOUS and tower.name(LOG_STD) in variables:
        log_std = np.asarray(variables[tower.name(LOG_STD)], dtype=np.float32)
        out["log_std"] = torch.from_numpy(log_std.reshape(CONTINUOUS_ACTION_DIM).copy())
    return out
