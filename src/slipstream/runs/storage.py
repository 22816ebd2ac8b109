"""A run folder on any fsspec filesystem: a local path, ``memory://`` or ``s3://bucket/prefix``.

`RunStorage` is the only place in ``slipstream.runs`` that touches a filesystem. Every method takes
a *key*: a ``/``-separated path relative to the run root (``"model/model_metadata.json"``).

Write semantics
---------------
* Local folders: ``write_text``/``write_bytes`` write a temporary file next to the target and
  ``os.replace`` it into place, so a crash (of the process) never leaves a half-written JSON or
  checkpoint; readers see the old or the new file. The data is ``fsync``-ed before the rename.
* Object stores (s3, gcs, memory, ...): one ``pipe_file`` (a single PUT) per write, which object
  stores apply atomically.
* ``append_text`` (used for logs only): local files are opened in append mode, so a crash can cut
  the last line of a log; every other file is replaced whole. Object stores cannot append, so the
  whole object is rewritten with the new text at the end; the current content is read once and
  then kept in memory for the later appends of this `RunStorage` (one writer per file is
  assumed). Each append therefore costs a PUT of the whole object: callers batch their lines
  (`slipstream.runs.logs.RunLogger` does).
* Large objects: s3fs sends data above its block size as a multipart upload; S3 makes the object
  visible only when the upload completes, so readers still see the old or the whole new object.

S3 settings
-----------
``s3://`` roots take the usual AWS settings from the environment, read once when the
`RunStorage` is made (`s3_storage_options`): ``AWS_PROFILE``, ``AWS_REGION`` /
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` (MinIO, moto and other
S3-compatible stores) and the credential variables or files botocore reads. Directory listings
are not cached, so a run that another process is writing (the dashboard, ``analyze`` during
training) is seen as it is now.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Mapping
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem


class RunStorageError(ValueError):
    """A key is malformed or a file of the run folder cannot be read."""


S3_PROTOCOLS = ("s3", "s3a")


def s3_storage_options(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """s3fs options from the usual AWS environment variables (profile, region, endpoint).

    Explicit values here make the behaviour the same for every botocore version (older ones
    ignore ``AWS_ENDPOINT_URL``). Variables that are not set are left to botocore's own
    lookup (``~/.aws/config``, instance roles, ...).
    """
    env = os.environ if env is None else env
    options: dict[str, Any] = {"use_listings_cache": False}
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["endpoint_url"] = endpoint
    profile = env.get("AWS_PROFILE")
    if profile:
        options["profile"] = profile
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        options["client_kwargs"] = {"region_name": region}
    return options


def _filesystem(root: str, storage_options: dict[str, Any]):
    protocol = root.split("://", 1)[0].lower() if "://" in root else "file"
    if protocol in S3_PROTOCOLS:
        storage_options = {**s3_storage_options(), **storage_options}
    try:
        return fsspec.core.url_to_fs(root, **storage_options)
    except ImportError as err:
        raise RunStorageError(
            f"cannot open {root}: {err}. Install the S3 support with "
            "`pip install 'slipstream[s3]'` (s3fs and boto3)"
            if protocol in S3_PROTOCOLS
            else f"cannot open {root}: {err}"
        ) from None


class RunStorage:
    """Files of one run folder, addressed by keys relative to ``root``.

    Args:
        root: a local path (``runs/my-model``, ``file:///...``) or an fsspec URL
            (``memory://run``, ``s3://bucket/prefix``). Local roots are made absolute.
        **storage_options: passed to fsspec (e.g. ``endpoint_url``, ``profile`` for s3fs);
            for ``s3://`` they override what `s3_storage_options` reads from the environment.
    """

    def __init__(self, root: str, **storage_options: Any) -> None:
        root = os.fspath(root)
        fs, path = _filesystem(root, dict(storage_options))
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
                    fh.flush()
                    os.fsync(fh.fileno())
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
