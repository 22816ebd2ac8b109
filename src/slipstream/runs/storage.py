"""A run folder on any fsspec filesystem: a local path, ``memory://`` or ``s3://bucket/prefix``.

`RunStorage` is the only place in ``slipstream.runs`` that touches a filesystem. Every method takes
a *key*: a ``/``-separated path relative to the run root (``"model/model_metadata.json"``).

Write semantics
---------------
* Local folders: ``write_text``/``write_bytes`` write a temporary file next to the target and
  ``os.replace`` it into place, so a crash (of the process) never leaves a half-written JSON or
  checkpoint; readers see the old or the new file. There is no ``fsync``: a power cut may still
  lose the last write.
* Object stores (s3, gcs, memory, ...): one ``pipe_file`` (a single PUT) per write, which object
  stores apply atomically.
* ``append_text``: local files are opened in append mode. Object stores cannot append, so the
  whole object is rewritten with the new text at the end; the current content is read once and
  then kept in memory for the later appends of this `RunStorage` (one writer per file is
  assumed). Each append therefore costs a PUT of the whole object: callers batch their lines
  (`slipstream.runs.logs.RunLogger` does).
"""

from __future__ import annotations

import os
import posixpath
import uuid
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem


class RunStorageError(ValueError):
    """A key is malformed or a file of the run folder cannot be read."""


class RunStorage:
    """Files of one run folder, addressed by keys relative to ``root``.

    Args:
        root: a local path (``runs/my-model``, ``file:///...``) or an fsspec URL
            (``memory://run``, ``s3://bucket/prefix``). Local roots are made absolute.
        **storage_options: passed to fsspec (e.g. ``endpoint_url``, ``profile`` for s3fs).
    """

    def __init__(self, root: str, **storage_options: Any) -> None:
        root = os.fspath(root)
        fs, path = fsspec.core.url_to_fs(root, **storage_options)
        self.fs = fs
        self.is_local = isinstance(fs, LocalFileSystem)
        if self.is_local:
            path = os.path.abspath(path)
        self._root = path.rstrip("/") or "/"
        self.root = self._root if self.is_local else root.rstrip("/")
        self._append_cache: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"RunStorage({self.root!r})"

    # ------------------------------------------------------------------ paths
    @staticmethod
    def _check_key(key: str) -> str:
        key = key.replace("\\", "/").strip("/")
        parts = key.split("/") if key else []
        if any(p in ("", ".", "..") for p in parts):
            raise RunStorageError(
                f"bad run-folder key {key!r}: use a relative path like 'model/x.json' "
                "without '.', '..' or empty parts"
            )
        return key

    def _fs_path(self, key: str) -> str:
        key = self._check_key(key)
        return posixpath.join(self._root, key) if key else self._root

    def path(self, *parts: str) -> str:
        """Full location of ``parts`` joined under the root: an absolute local path, or a URL."""
        key = self._check_key("/".join(parts))
        if self.is_local:
            return os.path.normpath(self._fs_path(key))
        return f"{self.root}/{key}" if key else self.root

    # ------------------------------------------------------------------ reads
    def exists(self, key: str) -> bool:
        """Whether a file or folder exists at ``key``."""
        return bool(self.fs.exists(self._fs_path(key)))

    def read_bytes(self, key: str) -> bytes:
        """Content of the file at ``key``; `FileNotFoundError` if there is none."""
        try:
            return self.fs.cat_file(self._fs_path(key))
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.path(key)} does not exist") from None

    def read_text(self, key: str) -> str:
        """Content of the UTF-8 text file at ``key``."""
        return self.read_bytes(key).decode("utf-8")

    def ls(self, key: str = "") -> list[str]:
        """Sorted names (not paths) of the entries directly under folder ``key``; [] if absent."""
        fs_path = self._fs_path(key)
        try:
            entries = self.fs.ls(fs_path, detail=False)
        except FileNotFoundError:
            return []
        names = {posixpath.basename(str(e).rstrip("/")) for e in entries}
        names.discard("")
        if self.is_local:
            names = {n for n in names if not _is_temp_name(n)}
        return sorted(names)

    def glob(self, pattern: str) -> list[str]:
        """Sorted keys matching a glob pattern relative to the root (``"*/training-simtrace/*"``)."""
        prefix = self._root.rstrip("/") + "/"
        keys = []
        for match in self.fs.glob(prefix + self._check_key(pattern)):
            match = str(match)
            if not match.startswith(prefix):
                match = "/" + match  # some filesystems drop the leading slash
            if match.startswith(prefix):
                key = match[len(prefix) :]
                if not _is_temp_name(posixpath.basename(key)):
                    keys.append(key)
        return sorted(keys)

    def find(self, key: str = "") -> list[str]:
        """Sorted keys of every file under folder ``key`` (recursively)."""
        prefix = self._root.rstrip("/") + "/"
        keys = []
        for found in self.fs.find(self._fs_path(key)):
            found = str(found)
            if not found.startswith(prefix):
                found = "/" + found
            if found.startswith(prefix) and not _is_temp_name(posixpath.basename(found)):
                keys.append(found[len(prefix) :])
        return sorted(keys)

    # ----------------------------------------------------------------- writes
    def makedirs(self, key: str) -> None:
        """Create folder ``key`` (local only; object stores have no folders, so it is a no-op)."""
        if self.is_local:
            os.makedirs(self._fs_path(key), exist_ok=True)

    def write_bytes(self, key: str, data: bytes) -> None:
        """Replace the file at ``key`` with ``data`` (atomically, see the module docstring)."""
        fs_path = self._fs_path(key)
        if not fs_path or fs_path == self._root:
            raise RunStorageError("cannot write to the run root itself; give a file key")
        self._append_cache.pop(fs_path, None)
        if self.is_local:
            folder = os.path.dirname(fs_path)
            os.makedirs(folder, exist_ok=True)
            tmp = os.path.join(
                folder, f".{os.path.basename(fs_path)}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            )
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, fs_path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        else:
            self.fs.pipe_file(fs_path, bytes(data))

    def write_text(self, key: str, text: str) -> None:
        """Replace the file at ``key`` with UTF-8 ``text``."""
        self.write_bytes(key, text.encode("utf-8"))

    def append_text(self, key: str, text: str) -> None:
        """Add ``text`` at the end of the file at ``key`` (created if missing).

        Local: append mode. Object stores: rewrite the whole object (see the module docstring).
        """
        fs_path = self._fs_path(key)
        if self.is_local:
            os.makedirs(os.path.dirname(fs_path), exist_ok=True)
            with open(fs_path, "a", encoding="utf-8") as fh:
                fh.write(text)
            return
        current = self._append_cache.get(fs_path)
        if current is None:
            current = self.read_text(key) if self.fs.exists(fs_path) else ""
        current += text
        self.fs.pipe_file(fs_path, current.encode("utf-8"))
        self._append_cache[fs_path] = current

    def rm(self, key: str) -> None:
        """Delete the file at ``key``; nothing happens if it does not exist."""
        fs_path = self._fs_path(key)
        self._append_cache.pop(fs_path, None)
        if self.fs.exists(fs_path):
            self.fs.rm_file(fs_path)


def _is_temp_name(name: str) -> bool:
    return name.startswith(".") and ".tmp-" in name
