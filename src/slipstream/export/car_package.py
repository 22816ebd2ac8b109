"""The car's model archive: ``model_metadata.json`` + ``agent/model.pb`` in a tar.gz.

The DeepRacer car's loader (DEEPRACER_MODEL.md 1) takes a ``.tar.gz`` (or ``.tar``), walks the
extracted tree and needs exactly one ``.pb`` anywhere in it and ``model_metadata.json`` at its
root. `pack_car_model` writes the layout DeepRacer's console and DRfC produce; `read_car_archive`
applies the loader's checks and returns the graph and the metadata::

    model_metadata.json
    agent/
    agent/model.pb
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Mapping
from typing import Any

PB_ENTRY = "agent/model.pb"
METADATA_ENTRY = "model_metadata.json"
AGENT_DIR = "agent"


class CarArchiveError(ValueError):
    """An archive the car's loader would refuse."""


def _file(name: str, data: bytes, mtime: int) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    return info, io.BytesIO(data)


def pack_car_model(
    pb_bytes: bytes, model_metadata_json: Mapping[str, Any], mtime: float | None = None
) -> bytes:
    """Bytes of the car's ``.tar.gz``: ``model_metadata.json`` and ``agent/model.pb``."""
    when = int(time.time() if mtime is None else mtime)
    metadata = (json.dumps(dict(model_metadata_json), indent=4) + "\n").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.addfile(*_file(METADATA_ENTRY, metadata, when))
        folder = tarfile.TarInfo(AGENT_DIR)
        folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, when
        tar.addfile(folder)
        tar.addfile(*_file(PB_ENTRY, pb_bytes, when))
    return buffer.getvalue()


def read_car_archive(data: bytes, source: str = "the archive") -> tuple[bytes, dict[str, Any]]:
    """(model.pb bytes, model_metadata.json dict) of a car archive, with the car loader's checks:
    exactly one ``.pb`` anywhere, ``model_metadata.json`` at the root."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            files = {m.name.removeprefix("./"): m for m in tar.getmembers() if m.isfile()}
            graphs = sorted(n for n in files if n.endswith(".pb"))
            if len(graphs) != 1:
                found = f"{len(graphs)} ({', '.join(graphs)})" if graphs else "none"
                raise CarArchiveError(
                    f"{source} must hold exactly one .pb model (the car ignores an archive with "
                    f"more than one); found {found}"
                )
            if METADATA_ENTRY not in files:
                raise CarArchiveError(
                    f"{source} has no model_metadata.json at its root (it has {sorted(files)}); "
                    "the car needs it beside the model"
                )
            pb = tar.extractfile(files[graphs[0]]).read()
            raw = tar.extractfile(files[METADATA_ENTRY]).read()
    except tarfile.TarError as err:
        raise CarArchiveError(f"{source} is not a readable .tar.gz / .tar archive: {err}") from None
    try:
        metadata = json.loads(raw)
    except json.JSONDecodeError as err:
        raise CarArchiveError(f"model_metadata.json in {source} is not valid JSON: {err}") from None
    if not isinstance(metadata, dict):
        raise CarArchiveError(f"model_metadata.json in {source} must hold a JSON object")
    return pb, metadata
