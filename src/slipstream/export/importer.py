"""`slipstream import`: a DeepRacer model as a Slipstream run folder.

Reads one of
* the car's archive (``.tar.gz`` / ``.tar`` with one ``.pb`` and ``model_metadata.json``),
* a bare frozen ``model.pb`` with its ``model_metadata.json`` (beside it, or given),
* a DeepRacer model prefix (local folder or fsspec URL): ``model/<N>_Step-<S>.ckpt.*`` named by
  ``model/deepracer_checkpoints.json`` or ``model/.coach_checkpoint``, with
  ``model_metadata.json`` in ``model/`` or at the prefix root,

and writes ``RUN/model/model_metadata.json``, a checkpoint ``<N>_Step-<S>.pt`` with ``policy`` (and,
for Clipped PPO, ``value``) weights, ``deepracer_checkpoints.json`` naming it best and last, and the
prefix's ``reward_function.py``, ``training_params.yaml`` and ``ip/hyperparameters.json`` when it has
them. `evaluate`, `race`, `export` and `train --pretrained` read that folder like a trained run.

A frozen graph holds the policy tower only: the PPO value tower starts fresh (as does the
continuous PPO log-std, 0, and the SAC log-std layer); a checkpoint carries both PPO towers.
Everything is read and checked before anything is written.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slipstream.config.model_metadata import ModelMetadata, parse_model_metadata
from slipstream.export import rl_coach_layout as layout
from slipstream.export.car_package import read_car_archive

_CKPT = re.compile(r"^(\d+)_Step-(\d+)\.ckpt$")
_CKPT_SUFFIXES = (".index", ".data-00000-of-00001")
_PREFIX_INPUTS = {
    "reward_function.py": ("reward_function.py",),
    "training_params.yaml": ("training_params.yaml",),
    "ip/hyperparameters.json": ("ip/hyperparameters.json", "hyperparameters.json"),
}


class ImportModelError(ValueError):
    """A file or folder that is not a DeepRacer model Slipstream can import."""


@dataclass(frozen=True)
class ImportedModel:
    """A DeepRacer model read into torch state dicts."""

    metadata: ModelMetadata
    metadata_json: dict[str, Any]
    state: dict[str, Any]
    number: int
    steps: int
    source: str
    kind: str
    """``car archive``, ``frozen graph`` or ``checkpoint``."""
    avg_eval_metric: float = 0.0
    inputs: dict[str, bytes] = field(default_factory=dict)
    """Run inputs copied from a model prefix (``reward_function.py`` ...)."""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    run: str
    checkpoint: str
    model: ImportedModel
    written: tuple[str, ...]


def _metadata(data: Any, source: str) -> tuple[ModelMetadata, dict[str, Any]]:
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as err:
            raise ImportModelError(f"{source} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ImportModelError(f"{source} must hold a JSON object")
    metadata = parse_model_metadata(data, source=source)
    try:
        from slipstream.model.policy import build_policy

        build_policy(metadata)
    except ValueError as err:
        raise ImportModelError(f"{source}: {err}") from None
    return metadata, data


def _fresh_modules(metadata: ModelMetadata) -> tuple[Any, Any]:
    from slipstream.model.algorithms import algorithm_of, lidar_dim
    from slipstream.model.policy import build_policy
    from slipstream.rl.networks import PPOValue

    policy = build_policy(metadata)
    if not algorithm_of(metadata).value_tower:
        return policy, None
    value = PPOValue(metadata.sensor, metadata.neural_network, lidar_dim=lidar_dim(metadata))
    return policy, value


def _state(
    metadata: ModelMetadata, variables: dict[str, Any], source: str, frozen: bool
) -> dict[str, Any]:
    policy, value = _fresh_modules(metadata)
    policy_state = policy.state_dict()
    policy_state.update(
        layout.tower_state_dict(layout.policy_tower(metadata), variables, source, frozen)
    )
    policy.load_state_dict(policy_state)
    state = {"policy": policy.state_dict()}
    if value is not None:
        if not frozen:
            value_state = value.state_dict()
            tower = layout.value_tower(metadata)
            value_state.update(layout.tower_state_dict(tower, variables, source))
            value.load_state_dict(value_state)
        state["value"] = value.state_dict()
    return state


def _frozen_notes(metadata: ModelMetadata) -> tuple[str, ...]:
    notes = ["a frozen model.pb holds the policy tower only"]
    if metadata.training_algorithm == "sac":
        notes.append("SAC: the log-std layer is not in model.pb and starts fresh, as do q and v")
    else:
        notes.append("the value tower starts fresh (train --pretrained fits it anew)")
        if metadata.is_continuous:
            notes.append("the policy log-std is not in model.pb and starts at 0 (std 1)")
    return tuple(notes)


def _from_graph(pb: bytes, metadata_data: Any, source: str, kind: str) -> ImportedModel:
    from slipstream.export.tf_graph import check_graph_io, graph_constants, parse_graph

    metadata, metadata_json = _metadata(metadata_data, f"model_metadata.json of {source}")
    graph_def = parse_graph(pb, source)
    tower = layout.policy_tower(metadata)
    check_graph_io(graph_def, tower, source)
    state = _state(metadata, graph_constants(graph_def), source, frozen=True)
    return ImportedModel(
        metadata, metadata_json, state, 0, 0, source, kind, notes=_frozen_notes(metadata)
    )


def _looks_like_tar(data: bytes) -> bool:
    if data[:2] == b"\x1f\x8b":
        return True
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:"):
            return True
    except tarfile.TarError:
        return False


def _read_file(fs: Any, path: str) -> bytes:
    with fs.open(path, "rb") as f:
        return f.read()


def _from_file(fs: Any, path: str, source: str, metadata_path: str | None) -> ImportedModel:
    data = _read_file(fs, path)
    if _looks_like_tar(data):
        if metadata_path is not None:
            raise ImportModelError("--metadata is for a bare model.pb; the archive carries its own")
        pb, metadata = read_car_archive(data, source)
        return _from_graph(pb, metadata, source, "car archive")
    if not path.endswith(".pb"):
        raise ImportModelError(
            f"{source} is not a DeepRacer model: give the car's .tar.gz (or .tar), a model.pb "
            "with its model_metadata.json, or a DeepRacer model prefix folder"
        )
    if metadata_path is None:
        beside = posixpath.join(posixpath.dirname(path), "model_metadata.json")
        if not fs.exists(beside):
            raise ImportModelError(
                f"{source} is a bare model.pb without model_metadata.json beside it; pass "
                "--metadata model_metadata.json (the file the model was trained with)"
            )
        metadata_bytes = _read_file(fs, beside)
    else:
        metadata_bytes = Path(metadata_path).read_bytes()
    return _from_graph(data, metadata_bytes, source, "frozen graph")


def _choose_checkpoint(fs: Any, model_dir: str, which: str, source: str) -> tuple[str, float]:
    index_path = posixpath.join(model_dir, "deepracer_checkpoints.json")
    if fs.exists(index_path):
        try:
            doc = json.loads(_read_file(fs, index_path))
            entry = doc.get(f"{which}_checkpoint") or doc.get("last_checkpoint") or {}
        except (json.JSONDecodeError, AttributeError):
            entry = {}
        if entry.get("name"):
            metric = entry.get("avg_eval_metric", entry.get("avg_comp_pct", 0.0))
            return str(entry["name"]), float(metric or 0.0)
    coach = posixpath.join(model_dir, ".coach_checkpoint")
    if fs.exists(coach):
        return _read_file(fs, coach).decode().strip(), 0.0
    raise ImportModelError(
        f"{source} has neither model/deepracer_checkpoints.json nor model/.coach_checkpoint: "
        "not a DeepRacer model prefix"
    )


def _from_prefix(fs: Any, root: str, source: str, which: str) -> ImportedModel:
    from slipstream.export.tf_graph import checkpoint_variables, temporary_folder

    model_dir = posixpath.join(root, "model")
    if not fs.isdir(model_dir):
        if fs.exists(posixpath.join(root, ".coach_checkpoint")):
            model_dir, root = root, posixpath.dirname(root.rstrip("/"))
        else:
            raise ImportModelError(
                f"{source} is not a DeepRacer model prefix: it has no model/ folder (give the "
                "prefix that holds model/, reward_function.py ...; or a .tar.gz / model.pb)"
            )
    name, metric = _choose_checkpoint(fs, model_dir, which, source)
    match = _CKPT.match(name)
    if not match:
        raise ImportModelError(f"{source}: checkpoint name {name!r} is not <N>_Step-<S>.ckpt")
    metadata_bytes = None
    for folder in (model_dir, root):
        candidate = posixpath.join(folder, "model_metadata.json")
        if fs.exists(candidate):
            metadata_bytes = _read_file(fs, candidate)
            break
    if metadata_bytes is None:
        raise ImportModelError(f"{source} has no model_metadata.json (in model/ or at its root)")
    metadata, metadata_json = _metadata(metadata_bytes, f"model_metadata.json of {source}")
    with temporary_folder() as tmp:
        for suffix in _CKPT_SUFFIXES:
            remote = posixpath.join(model_dir, name + suffix)
            if not fs.exists(remote):
                raise ImportModelError(f"{source}: checkpoint file model/{name}{suffix} is missing")
            (Path(tmp) / (name + suffix)).write_bytes(_read_file(fs, remote))
        variables = checkpoint_variables(Path(tmp) / name, f"{source} model/{name}")
    state = _state(metadata, variables, f"{source} model/{name}", frozen=False)
    inputs = {}
    for target, candidates in _PREFIX_INPUTS.items():
        for candidate in candidates:
            path = posixpath.join(root, candidate)
            if fs.exists(path):
                inputs[target] = _read_file(fs, path)
                break
    notes = ()
    if metadata.training_algorithm == "sac":
        notes = ("SAC: the policy network is imported; q and v start fresh",)
    return ImportedModel(
        metadata,
        metadata_json,
        state,
        int(match[1]),
        int(match[2]),
        source,
        "checkpoint",
        metric,
        inputs,
        notes,
    )


def read_deepracer_model(
    source: str, metadata_path: str | None = None, checkpoint: str = "best"
) -> ImportedModel:
    """Read a DeepRacer model (car archive, model.pb or model prefix) without writing anything."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(str(source))
    if fs.isdir(path):
        if metadata_path is not None:
            raise ImportModelError("--metadata is for a bare model.pb; a model prefix has its own")
        return _from_prefix(fs, path.rstrip("/"), str(source), checkpoint)
    if not fs.exists(path):
        raise ImportModelError(f"{source} does not exist")
    return _from_file(fs, path, str(source), metadata_path)


def import_model(
    source: str, run: str, metadata_path: str | None = None, checkpoint: str = "best"
) -> ImportResult:
    """Read `source` and write it as the run folder `run` (which must hold no model yet)."""
    from slipstream.export.tf_graph import tf_v1
    from slipstream.runs import CheckpointIndex, RunLayout, RunStorage, list_checkpoints
    from slipstream.runs.checkpoints import save_checkpoint

    tf_v1("importing a DeepRacer model")
    storage = RunStorage(str(run))
    run_layout = RunLayout(storage)
    if list_checkpoints(storage) or storage.exists(run_layout.checkpoint_index):
        raise ImportModelError(
            f"{run} already holds a model; import into a new --run folder (nothing was changed)"
        )
    model = read_deepracer_model(source, metadata_path, checkpoint)
    storage.write_text(run_layout.model_metadata, json.dumps(model.metadata_json, indent=2))
    name = save_checkpoint(storage, model.state, model.number, model.steps)
    CheckpointIndex(storage).update(name, model.avg_eval_metric, time_stamp=0.0)
    written = [run_layout.model_metadata, run_layout.checkpoint(name), run_layout.checkpoint_index]
    for key, data in model.inputs.items():
        storage.write_bytes(key, data)
        written.append(key)
    return ImportResult(str(run), name, model, tuple(storage.path(k) for k in written))
