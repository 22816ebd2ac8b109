"""Incremental readers of a run folder's growing files (local or fsspec).

`TextTail` reads an append-only text file (logs, JSON lines) from where the previous call
stopped. `JsonListTail` follows DeepRacer's metrics files, which their writers rewrite whole at
each episode end with the old entries unchanged at the front: it reads only the bytes after the
last entry it parsed, after checking that this entry is still where it was, and reads the whole
file again only when the file was replaced by something else.
"""

from __future__ import annotations

import json
from typing import Any

from slipstream.runs import RunStorage

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"


def _size(storage: RunStorage, key: str) -> int | None:
    try:
        return int(storage.fs.size(storage.path(key)))
    except (FileNotFoundError, OSError):
        return None


def _read_range(storage: RunStorage, key: str, start: int, end: int) -> bytes:
    with storage.fs.open(storage.path(key), "rb") as f:
        f.seek(start)
        return f.read(end - start)


class TextTail:
    """New complete lines of an append-only text file since the previous `read`."""

    def __init__(self, storage: RunStorage, key: str) -> None:
        self.storage = storage
        self.key = key
        self.offset = 0
        self._partial = b""
        self.bytes_read = 0
        """Total bytes read so far (tests check nothing is read twice)."""

    def read(self) -> list[str]:
        size = _size(self.storage, self.key)
        if size is None:
            return []
        if size < self.offset:  # replaced by a shorter file: start again
            self.offset, self._partial = 0, b""
        if size == self.offset:
            return []
        data = _read_range(self.storage, self.key, self.offset, size)
        self.offset += len(data)
        self.bytes_read += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]


class JsonListTail:
    """Entries added to the ``list_key`` list of a JSON file that is rewritten whole.

    `read` returns ``(new_entries, reset)``; ``reset`` is True when the file had to be read
    from the start (first call, or the old entries changed): then ``new_entries`` is all of them.
    """

    def __init__(self, storage: RunStorage, key: str, list_key: str = "metrics") -> None:
        self.storage = storage
        self.key = key
        self.list_key = list_key
        self._size: int | None = None
        self._last_start = -1  # byte offset of the last parsed entry
        self._last_text = b""  # its bytes
        self.bytes_read = 0

    def read(self) -> tuple[list[dict[str, Any]], bool]:
        size = _size(self.storage, self.key)
        if size is None or size == self._size:
            return [], False
        if self._last_start >= 0 and size > self._last_start + len(self._last_text):
            data = _read_range(self.storage, self.key, self._last_start, size)
            self.bytes_read += len(data)
            if data.startswith(self._last_text):
                entries = self._scan(data.decode("latin-1"), len(self._last_text), self._last_start)
                if entries is not None:
                    self._size = size
                    return entries, False
        data = _read_range(self.storage, self.key, 0, size)
        self.bytes_read += len(data)
        text = data.decode("latin-1")
        start = self._list_start(text)
        entries = self._scan(text, start, 0) if start is not None else None
        if entries is None:  # half-written or not a metrics file: try again next time
            self._size, self._last_start, self._last_text = None, -1, b""
            return [], False
        self._size = size
        return entries, True

    def _list_start(self, text: str) -> int | None:
        """Offset just after the ``[`` of the list (before any entry), or None."""
        marker = text.find(json.dumps(self.list_key))
        if marker < 0:
            return None
        i = marker + len(json.dumps(self.list_key))
        while i < len(text) and text[i] in _WHITESPACE + ":":
            i += 1
        return i + 1 if i < len(text) and text[i] == "[" else None

    def _scan(self, text: str, i: int, base: int) -> list[dict[str, Any]] | None:
        """Entries from offset ``i`` of ``text`` (which starts at byte ``base`` of the file) up
        to the list's ``]``; remembers the last one. None if the text does not parse."""
        entries = []
        last_start, last_end = None, None
        while True:
            while i < len(text) and text[i] in _WHITESPACE + ",":
                i += 1
            if i >= len(text):
                return None
            if text[i] == "]":
                break
            try:
                entry, end = _DECODER.raw_decode(text, i)
            except json.JSONDecodeError:
                return None
            if not isinstance(entry, dict):
                return None
            entries.append(entry)
            last_start, last_end = i, end
            i = end
        if last_start is not None:
            self._last_start = base + last_start
            self._last_text = text[last_start:last_end].encode("latin-1")
        return entries
