"""`slipstream export --format car | deepracer`: a run's model in DeepRacer's TensorFlow files.

* `export_car`: ``model.tar.gz`` for the physical car (``model_metadata.json`` + ``agent/model.pb``,
  the frozen policy tower).
* `export_deepracer`: a DeepRacer model prefix as DRfC's upload and DeepRacer-on-AWS's import
  expect (DEEPRACER_MODEL.md 4)::

      model/<N>_Step-<S>.ckpt.index / .meta / .data-00000-of-00001   both PPO towers (rl_coach names)
      model/.coach_checkpoint   model/model_<N>.pb   model/deepracer_checkpoints.json
      model/model_metadata.json   model_metadata.json   reward_function.py   training_params.yaml
      hyperparameters.json   ip/hyperparameters.json   metrics/...  (copied from the run)

Both need TensorFlow (the ``deepracer`` extra).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slipstream.config.model_metadata import ModelMetadata
from slipstream.export import rl_coach_layout as layout
from slipstream.export.car_package import pack_car_model
from slipstream.export.training_params import exported_training_params
from slipstream.model.algorithms import algorithm_of

CAR_DIR = "export/car"
DEEPRACER_DIR = "export/deepracer"
CAR_ARCHIVE = "model.tar.gz"
CKPT_SUFFIXES = (".index", ".meta", ".data-00000-of-00001")


@dataclass(frozen=True)
class TFExportResult:
    """What an export wrote."""

    checkpoint: str
    """The run's checkpoint exported (``<N>_Step-<S>.pt``)."""
    files: tuple[tuple[str, int], ...]
    """(path or URL, bytes) of every file written."""
    inputs: tuple[tuple[str, tuple[int, ...]], ...]
    output: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _RunModel:
    storage: Any
    metadata: ModelMetadata
    name: str
    state: dict[str, Any]
    label: str
    """`checkpoint_label`: the name, marked when the policy is the averaged one."""


def _load(run: Any, checkpoint: str) -> _RunModel:
    from slipstream.model.policy import build_policy
    from slipstream.model.run_model import (
        RunModelError,
        as_storage,
        checkpoint_label,
        load_run_checkpoint,
        read_run_metadata,
    )

    storage = as_storage(run)
    metadata = read_run_metadata(storage)
    name, state = load_run_checkpoint(storage, checkpoint)
    try:
        build_policy(metadata).load_state_dict(state["policy"])
    except RuntimeError as err:
        raise RunModelError(
            f"checkpoint {name} does not fit the run's model_metadata.json: {err}"
        ) from None
    return _RunModel(storage, metadata, name, state, checkpoint_label(name, checkpoint))


def _io(tower: layout.Tower) -> tuple[tuple[tuple[str, tuple[int, ...]], ...], str]:
    inputs = tuple((tower.input_name(b.sensor), (-1, *b.input_shape)) for b in tower.branches)
    return inputs, tower.output_name


def car_graph(metadata: ModelMetadata, policy_state: dict[str, Any]) -> bytes:
    """The frozen ``model.pb`` of a policy state dict (the policy tower only)."""
    from slipstream.export.tf_graph import frozen_graph

    tower = layout.policy_tower(metadata)
    return frozen_graph([tower], layout.tower_variables(tower, policy_state), tower)


def export_car(run: Any, checkpoint: str = "best", out: str | None = None) -> TFExportResult:
    """Write the car's ``model.tar.gz`` of a run's checkpoint into `out` (default RUN/export/car)."""
    from slipstream.export.tf_graph import tf_v1
    from slipstream.runs import RunStorage

    tf_v1("the car's model.pb (export --format car)")
    model = _load(run, checkpoint)
    pb = car_graph(model.metadata, model.state["policy"])
    data = pack_car_model(pb, model.metadata.to_json_dict())
    target = RunStorage(out) if out is not None else RunStorage(model.storage.path(CAR_DIR))
    target.write_bytes(CAR_ARCHIVE, data)
    inputs, output = _io(layout.policy_tower(model.metadata))
    notes = ()
    if model.metadata.training_algorithm == "sac":
        notes = (
            "SAC: the output node is the policy's mean before tanh and scaling, as in DeepRacer's "
            "own SAC models",
        )
    return TFExportResult(
        model.label, ((target.path(CAR_ARCHIVE), len(data)),), inputs, output, notes
    )


def _towers(metadata: ModelMetadata) -> tuple[layout.Tower, ...]:
    if not algorithm_of(metadata).value_tower:
        raise layout.LayoutError(
            "--format deepracer writes Clipped PPO checkpoints; a SAC model's checkpoint also "
            "needs rl_coach's q and v networks, which Slipstream does not map yet. Export the "
            "car archive instead: slipstream export RUN --format car"
        )
    return layout.value_tower(metadata), layout.policy_tower(metadata)


def deepracer_checkpoint_files(
    metadata: ModelMetadata, state: dict[str, Any], ckpt_name: str, folder: Path
) -> bytes:
    """Write ``<ckpt_name>.index/.meta/.data-00000-of-00001`` into `folder` (both towers);
    return the frozen policy graph (``model_N.pb``)."""
    from slipstream.export.tf_graph import write_checkpoint

    towers = _towers(metadata)
    values: dict[str, Any] = {}
    for tower, key in zip(towers, ("value", "policy"), strict=True):
        if key not in state:
            raise layout.LayoutError(
                f"the checkpoint holds no {key!r} weights (keys {sorted(state)})"
            )
        values.update(layout.tower_variables(tower, state[key]))
    return write_checkpoint(towers, values, towers[1], folder / ckpt_name)


def export_deepracer(run: Any, checkpoint: str = "best", out: str | None = None) -> TFExportResult:
    """Write a DeepRacer model prefix of a run's checkpoint into `out` (local folder or fsspec
    URL such as ``s3://bucket/prefix``; default RUN/export/deepracer)."""
    from slipstream.export.tf_graph import temporary_folder, tf_v1
    from slipstream.runs import CheckpointIndex, RunLayout, RunStorage
    from slipstream.runs.checkpoints import parse_checkpoint_name

    tf_v1("a DeepRacer checkpoint (export --format deepracer)")
    from slipstream.model.run_model import as_storage, read_run_metadata

    _towers(read_run_metadata(as_storage(run)))  # refuses SAC before any work
    model = _load(run, checkpoint)
    number, steps = parse_checkpoint_name(model.name)
    ckpt = f"{number}_Step-{steps}.ckpt"
    source = RunLayout(model.storage)
    inputs_needed = {
        "reward_function.py": source.reward_function,
        "training_params.yaml": source.training_params(),
        "ip/hyperparameters.json": source.hyperparameters,
    }
    missing = [model.storage.path(k) for k in inputs_needed.values() if not model.storage.exists(k)]
    if missing:
        raise FileNotFoundError(
            f"the run lacks {missing}, which a DeepRacer model prefix must carry; export from "
            "a run folder written by `slipstream train`"
        )
    index = CheckpointIndex(model.storage)
    record = next(
        (r for r in (index.best, index.last) if r is not None and r.name == model.name), None
    )
    entry = {
        "name": ckpt,
        "avg_eval_metric": record.avg_eval_metric if record else 0.0,
        "avg_comp_pct": record.avg_eval_metric if record else 0.0,
        "time_stamp": record.time_stamp if record else 0.0,
    }
    metadata_text = json.dumps(model.metadata.to_json_dict(), indent=4) + "\n"
    with temporary_folder() as tmp:
        pb = deepracer_checkpoint_files(model.metadata, model.state, ckpt, Path(tmp))
        files: dict[str, bytes] = {
            f"model/{ckpt}{suffix}": (Path(tmp) / f"{ckpt}{suffix}").read_bytes()
            for suffix in CKPT_SUFFIXES
        }
    files[f"model/model_{number}.pb"] = pb
    files["model/.coach_checkpoint"] = ckpt.encode()
    files["model/deepracer_checkpoints.json"] = json.dumps(
        {"best_checkpoint": entry, "last_checkpoint": entry}, indent=4
    ).encode()
    files["model/model_metadata.json"] = metadata_text.encode()
    files["model_metadata.json"] = metadata_text.encode()
    for name, key in inputs_needed.items():
        files[name] = model.storage.read_bytes(key)
    files["training_params.yaml"] = exported_training_params(files["training_params.yaml"], out)
    files["hyperparameters.json"] = files["ip/hyperparameters.json"]
    for name in model.storage.find("metrics"):
        files[name] = model.storage.read_bytes(name)
    target = RunStorage(out) if out is not None else RunStorage(model.storage.path(DEEPRACER_DIR))
    for name, data in files.items():
        target.write_bytes(name, data)
    inputs, output = _io(layout.policy_tower(model.metadata))
    written = tuple((target.path(name), len(data)) for name, data in files.items())
    notes = ()
    if model.label != model.name:
        notes = (
            "the policy is the run's averaged one; the value network and the evaluation figures "
            "in deepracer_checkpoints.json are the last checkpoint's",
        )
    return TFExportResult(model.label, written, inputs, output, notes)
