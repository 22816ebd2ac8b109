"""`OnnxPolicy`: an exported model run with onnxruntime, acting like `PolicyActor` (no torch).

The graph takes one car at a time (inputs ``[1, ...]``, as on the car), so a batch of
observations runs one session call per car. Actions come out in the same format as
`PolicyActor.act(obs, deterministic=True)`: the argmax index (discrete), the mean in [-1, 1]
network space (continuous Clipped PPO) or the action in environment units (SAC).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from slipstream.config.model_metadata import ModelMetadata, parse_model_metadata
from slipstream.export.onnx_export import SENSORS_PROP
from slipstream.export.package import PackageError, read_model_file


class OnnxPolicy:
    """Deterministic actions from an exported ONNX policy.

    Args:
        model: ONNX bytes, or the path of an ``.onnx`` file or ``model.tar.gz``.
        metadata: the model's metadata; default: the one packed with or stored in the model.
        threads: onnxruntime intra-op threads.
    """

    def __init__(
        self,
        model: bytes | str | Path,
        metadata: ModelMetadata | None = None,
        threads: int = 1,
    ) -> None:
        import onnxruntime as ort

        if isinstance(model, bytes):
            from slipstream.export.package import onnx_metadata

            onnx_bytes, stored = model, onnx_metadata(model)
        else:
            onnx_bytes, stored = read_model_file(model)
        if metadata is None:
            if stored is None:
                raise PackageError(
                    "the ONNX model carries no model_metadata.json; pass metadata= (or use the "
                    "model.tar.gz that `slipstream export` writes)"
                )
            metadata = parse_model_metadata(stored, source="model_metadata.json of the model")
        self.metadata = metadata
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        props = self.session.get_modelmeta().custom_metadata_map
        if SENSORS_PROP in props:
            self.sensors = tuple(json.loads(props[SENSORS_PROP]))
        else:  # DeepRacer-style names end in /<SENSOR>
            self.sensors = tuple(name.rsplit("/", 1)[-1] for name in self.input_names)
        self.output_name = self.session.get_outputs()[0].name
        self.version = 0

    def outputs(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Raw graph outputs (B, A) for a batch of observations: probabilities or actions."""
        missing = [s for s in self.sensors if s not in obs]
        if missing:
            raise ValueError(f"observation lacks {missing}; the model reads {self.sensors}")
        batch = len(obs[self.sensors[0]])
        rows = []
        for b in range(batch):
            feed = {
                name: np.asarray(obs[sensor][b : b + 1], dtype=np.float32)
                for name, sensor in zip(self.input_names, self.sensors, strict=True)
            }
            rows.append(self.session.run([self.output_name], feed)[0])
        return np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def act(self, obs: Mapping[str, np.ndarray], deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of observations (deterministic only, as on the car)."""
        if not deterministic:
            raise ValueError(
                "an exported ONNX policy acts deterministically only (argmax or mean); "
                "sample with the checkpoint's PolicyActor instead"
            )
        out = self.outputs(obs)
        if self.metadata.is_continuous:
            return out.astype(np.float32)
        return np.argmax(out, axis=1).astype(np.int64)
