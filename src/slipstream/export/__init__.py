"""Models out of and into Slipstream: DeepRacer's TensorFlow files, and ONNX.

DeepRacer's files (TensorFlow, the optional ``deepracer`` extra; imported only when used):

* `deepracer_export.export_car`: the car's ``model.tar.gz`` (``agent/model.pb``, a TF1 frozen graph
  with DeepRacer's node names); `deepracer_export.export_deepracer`: a DeepRacer model prefix
  (rl_coach checkpoint of both PPO towers, ``model_N.pb``, run inputs) for DRfC / DeepRacer-on-AWS.
* `importer.import_model`: a car archive, a bare ``model.pb`` or a model prefix -> a run folder.
* `rl_coach_layout` (no TensorFlow): where each torch weight lives in rl_coach's graph, and back;
  `tf_graph`: builds, freezes, saves and reads the TF graph; `car_package`: the car's archive.

ONNX (no TensorFlow):

* `export_run(run, checkpoint, out)`: the policy of a run's ``best``/``last`` checkpoint as
  ``model.onnx``, ``model_metadata.json`` and ``model.tar.gz`` (``agent/model.onnx`` +
  ``model_metadata.json``, DeepRacer's car package with ONNX in place of the frozen graph).
* `export_onnx`: the ONNX bytes of a policy tower (DeepRacer's tensor names and shapes).
* `OnnxPolicy`: runs an export with onnxruntime, `PolicyActor`'s act() contract, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from slipstream.export.onnx_export import (
    ExportError,
    InputSpec,
    export_onnx,
    input_node_name,
    input_specs,
    output_node_name,
)
from slipstream.export.onnx_policy import OnnxPolicy
from slipstream.export.package import (
    METADATA_ENTRY,
    MODEL_ENTRY,
    PackageError,
    pack_model,
    read_model_file,
    unpack_model,
)

EXPORT_DIR = "export"
"""Default output folder inside the run."""
TAR_NAME = "model.tar.gz"
ONNX_NAME = "model.onnx"
METADATA_NAME = "model_metadata.json"


@dataclass(frozen=True)
class ExportResult:
    """What `export_run` wrote (full paths or URLs) and what the graph looks like."""

    checkpoint: str
    tar_path: str
    onnx_path: str
    metadata_path: str
    inputs: tuple[InputSpec, ...]
    output: str
    output_shape: tuple[int, ...]


def export_run(run, checkpoint: str = "best", out: str | None = None) -> ExportResult:
    """Export a run folder's policy (checkpoint ``best`` or ``last``).

    Writes ``model.tar.gz``, ``model.onnx`` and ``model_metadata.json`` into `out` (a local
    folder or fsspec URL; default ``RUN/export/``).
    """
    import json

    from slipstream.model.run_model import as_storage, load_policy_module, read_run_metadata
    from slipstream.runs import RunStorage

    storage = as_storage(run)
    metadata = read_run_metadata(storage)
    policy, name = load_policy_module(storage, metadata, checkpoint)
    onnx_bytes = export_onnx(policy, metadata)
    metadata_json = metadata.to_json_dict()
    target = RunStorage(out) if out is not None else RunStorage(storage.path(EXPORT_DIR))
    target.write_bytes(TAR_NAME, pack_model(onnx_bytes, metadata_json))
    target.write_bytes(ONNX_NAME, onnx_bytes)
    target.write_text(METADATA_NAME, json.dumps(metadata_json, indent=4) + "\n")
    specs = input_specs(policy, metadata)
    action_dim = 2 if metadata.is_continuous else metadata.num_actions
    return ExportResult(
        checkpoint=name,
        tar_path=target.path(TAR_NAME),
        onnx_path=target.path(ONNX_NAME),
        metadata_path=target.path(METADATA_NAME),
        inputs=specs,
        output=output_node_name(metadata.training_algorithm),
        output_shape=(1, action_dim),
    )


__all__ = [
    "METADATA_ENTRY",
    "MODEL_ENTRY",
    "ExportError",
    "ExportResult",
    "InputSpec",
    "OnnxPolicy",
    "PackageError",
    "export_onnx",
    "export_run",
    "input_node_name",
    "input_specs",
    "output_node_name",
    "pack_model",
    "read_model_file",
    "unpack_model",
]
