"""``model.tar.gz`` for the car, laid out as DeepRacer's SageMaker output (docs/deepracer.md 9).

DeepRacer's ``model.tar.gz`` holds ``model_metadata.json`` and ``agent/model.pb`` (the frozen
graph of the best checkpoint). Slipstream's holds the same with the ONNX graph in place of the
frozen graph::

    model_metadata.json
    agent/
    agent/model.onnx
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MODEL_ENTRY = "agent/model.onnx"
METADATA_ENTRY = "model_metadata.json"
AGENT_DIR = "agent"


class PackageError(ValueError):
    """A model file that is not an ONNX model or a model.tar.gz with one."""


def _file_info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime)
    info.mode = 0o644
    return info


def pack_model(
    onnx_bytes: bytes, model_metadata_json: Mapping[str, Any], mtime: float | None = None
) -> bytes:
    """Bytes of a ``model.tar.gz`` with ``model_metadata.json`` and ``agent/model.onnx``."""
    when = time.time() if mtime is None else mtime
    metadata = (json.dumps(dict(model_metadata_json), indent=4) + "\n").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(_file_info(METADATA_ENTRY, len(metadata), when), io.BytesIO(metadata))
        folder = tarfile.TarInfo(AGENT_DIR)
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        folder.mtime = int(when)
        tar.addfile(folder)
        tar.addfile(_file_info(MODEL_ENTRY, len(onnx_bytes), when), io.BytesIO(onnx_bytes))
    return buffer.getvalue()


def unpack_model(data: bytes) -> tuple[bytes, dict[str, Any]]:
    """(ONNX bytes, model_metadata.json dict) of a ``model.tar.gz``."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            names = {m.name.removeprefix("./"): m for m in tar.getmembers() if m.isfile()}
            missing = [n for n in (MODEL_ENTRY, METADATA_ENTRY) if n not in names]
            if missing:
                raise PackageError(
                    f"the archive lacks {missing} (it has {sorted(names)}); export the model "
                    "with `slipstream export RUN`"
                )
            onnx_bytes = tar.extractfile(names[MODEL_ENTRY]).read()
            metadata = json.loads(tar.extractfile(names[METADATA_ENTRY]).read())
    except tarfile.TarError as err:
        raise PackageError(f"not a readable tar.gz archive: {err}") from None
    return onnx_bytes, metadata


def read_model_file(path: str | Path) -> tuple[bytes, dict[str, Any] | None]:
    """(ONNX bytes, model_metadata dict or None) of an ``.onnx`` file or a ``model.tar.gz``.

    A bare ``.onnx`` gives the metadata stored in its properties by `export_onnx` (None if the
    file has none).
    """
    path = Path(path)
    if not path.is_file():
        raise PackageError(f"{path} does not exist; give an .onnx file or a model.tar.gz")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        return unpack_model(data)
    return data, onnx_metadata(data)


def onnx_metadata(onnx_bytes: bytes) -> dict[str, Any] | None:
    """The model_metadata.json stored in an ONNX model's properties, if any."""
    import onnx

    from slipstream.export.onnx_export import METADATA_PROP

    try:
        model = onnx.load_from_string(onnx_bytes)
    except Exception as err:  # onnx raises DecodeError and others from protobuf
        raise PackageError(f"not an ONNX model: {err}") from None
    props = {p.key: p.value for p in model.metadata_props}
    return json.loads(props[METADATA_PROP]) if METADATA_PROP in props else None
