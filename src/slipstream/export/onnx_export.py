"""The policy tower as ONNX, with the inputs, outputs and names of DeepRacer's frozen graph.

DeepRacer's car runs the policy tower of the best checkpoint (docs/deepracer.md 4.3, 9). The exported
graph here is the same computation:

* one input per sensor, in `input_sensors` order: cameras float32 ``[1, 120, 160, C]`` on the raw
  0..255 scale as the car feeds them (the division by 255 is inside the graph), lidar float32
  ``[1, N]``;
* one output: the action probabilities ``[1, num_actions]`` (discrete Clipped PPO), the mean
  ``[1, 2]`` in network space [-1, 1] (continuous Clipped PPO; the car rescales it onto the action
  ranges), or the deterministic action ``[1, 2]`` in steering degrees and m/s (SAC).

Tensor names are DeepRacer's node names (ONNX allows the slashes):
``main_level/agent/main/online/network_0/<SENSOR>/<SENSOR>`` in,
``main_level/agent/main/online/network_1/ppo_head_0/policy`` out (Clipped PPO), and
``main_level/agent/policy/online/network_0/...``, ``.../sac_policy_head_0/policy`` for SAC.
The model's ``metadata_props`` carry ``model_metadata`` (the model_metadata.json text) and
``sensors`` (a JSON list of the sensor of each input), so an ``.onnx`` file is self-describing.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from slipstream.config.model_metadata import ModelMetadata
from slipstream.model.graph_names import GRAPH_NAMES

IMAGE_SHAPE = (120, 160)
OPSET = 17
METADATA_PROP = "model_metadata"
SENSORS_PROP = "sensors"


class ExportError(ValueError):
    """The policy cannot be exported as asked."""


def input_node_name(training_algorithm: str, sensor: str) -> str:
    """DeepRacer's input placeholder name of `sensor` (docs/deepracer.md 4.3)."""
    return f"{GRAPH_NAMES[training_algorithm].scope}/network_0/{sensor}/{sensor}"


def output_node_name(training_algorithm: str) -> str:
    """DeepRacer's frozen-graph output node name (FROZEN_HEAD_OUTPUT_GRAPH_FORMAT_MAPPING)."""
    return GRAPH_NAMES[training_algorithm].output_node


@dataclass(frozen=True)
class InputSpec:
    """One graph input: tensor name, sensor and shape (batch 1)."""

    name: str
    sensor: str
    shape: tuple[int, ...]


def input_specs(policy: Any, metadata: ModelMetadata) -> tuple[InputSpec, ...]:
    """The inputs of the exported graph for `policy` (a `PPOPolicy` or `SACPolicy`)."""
    specs = []
    parts = policy.trunk.embedder.parts
    for sensor in policy.input_sensors:
        part = parts[sensor]
        if hasattr(part, "channels"):
            shape: tuple[int, ...] = (1, *IMAGE_SHAPE, int(part.channels))
        else:
            shape = (1, int(part.in_features))
        specs.append(InputSpec(input_node_name(metadata.training_algorithm, sensor), sensor, shape))
    return tuple(specs)


def example_inputs(specs: tuple[InputSpec, ...], seed: int = 0) -> list[np.ndarray]:
    """Random float32 inputs of the right shapes (images 0..255, lidar 0..1)."""
    rng = np.random.default_rng(seed)
    out = []
    for spec in specs:
        high = 255.0 if len(spec.shape) == 4 else 1.0
        out.append(rng.uniform(0.0, high, size=spec.shape).astype(np.float32))
    return out


def export_onnx(policy: Any, metadata: ModelMetadata, opset: int = OPSET) -> bytes:
    """The ONNX model (serialised bytes) of `policy`'s `forward_export`, in eval mode.

    Args:
        policy: a `PPOPolicy` or `SACPolicy` with the weights to export.
        metadata: the model's metadata (algorithm, action space; stored in the model).
        opset: ONNX opset version.
    """
    import onnx
    import torch

    class ExportGraph(torch.nn.Module):
        """`forward_export` as `forward`, which is what the exporter traces."""

        def __init__(self, tower: torch.nn.Module) -> None:
            super().__init__()
            self.tower = tower

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.tower.forward_export(*inputs)

    specs = input_specs(policy, metadata)
    was_training = policy.training
    policy.eval()
    graph = ExportGraph(policy).cpu()
    args = tuple(torch.from_numpy(x) for x in example_inputs(specs))
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            # the TorchScript exporter (no onnxscript needed) warns that it is the legacy one,
            # and about shape checks that are constant for the fixed [1, ...] input shapes
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                args,
                buffer,
                dynamo=False,
                input_names=[s.name for s in specs],
                output_names=[output_node_name(metadata.training_algorithm)],
                opset_version=opset,
                do_constant_folding=True,
            )
    finally:
        policy.train(was_training)
    model = onnx.load_from_string(buffer.getvalue())
    onnx.helper.set_model_props(
        model,
        {
            METADATA_PROP: json.dumps(metadata.to_json_dict()),
            SENSORS_PROP: json.dumps([s.sensor for s in specs]),
        },
    )
    model.producer_name = "slipstream"
    onnx.checker.check_model(model)
    return model.SerializeToString()
