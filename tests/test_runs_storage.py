"""RunStorage: the same behaviour on a local folder, memory:// and a real S3 API (moto server)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from slipstream.runs import RunStorage, RunStorageError


@pytest.fixture(params=["local", "memory", "s3"])
def storage(request, tmp_path: Path):
    if request.param == "local":
        yield RunStorage(str(tmp_path / "run"))
    elif request.param == "s3":  # a real S3 API: moto's server on 127.0.0.1
        yield RunStorage(f"s3://{request.getfixturevalue('s3_bucket')}/prefix/run")
    else:
        store = RunStorage(f"memory://storage-test-{uuid.uuid4().hex}/run")
        yield store
        if store.fs.exists(store.path()):
            store.fs.rm(store.path(), recursive=True)


def test_write_read_exists_ls_find(storage: RunStorage) -> None:
    assert not storage.exists("model/a.json")
    assert storage.ls("model") == []
    storage.write_text("model/a.json", '{"x": 1}')
    storage.write_bytes("model/b.bin", b"\x00\x01")
    storage.write_text("top.txt", "hello")
    assert storage.exists("model/a.json") and storage.exists("model")
    assert storage.read_text("model/a.json") == '{"x": 1}'
    assert storage.read_bytes("model/b.bin") == b"\x00\x01"
    assert storage.ls("model") == ["a.json", "b.bin"]
    assert storage.ls("") == ["model", "top.txt"]
    assert storage.find() == ["model/a.json", "model/b.bin", "top.txt"]
    assert storage.glob("model/*.json") == ["model/a.json"]
    storage.write_text("model/a.json", "replaced")
    assert storage.read_text("model/a.json") == "replaced"
    storage.rm("model/a.json")
    storage.rm("model/a.json")  # deleting a missing file is not an error
    assert storage.ls("model") == ["b.bin"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        storage.read_text("nothing/here.txt")


def test_append_text(storage: RunStorage) -> None:
    storage.append_text("logs/x.log", "one\n")
    storage.append_text("logs/x.log", "two\n")
    assert storage.read_text("logs/x.log") == "one\ntwo\n"
    # a fresh RunStorage on the same root continues the file (reads it once on object stores)
    again = RunStorage(storage.root)
    again.append_text("logs/x.log", "three\n")
    assert again.read_text("logs/x.log") == "one\ntwo\nthree\n"
    # a full rewrite resets what append continues from
    storage.write_text("logs/x.log", "new\n")
    storage.append_text("logs/x.log", "after\n")
    assert storage.read_text("logs/x.log") == "new\nafter\n"


def test_bad_keys_are_refused(storage: RunStorage) -> None:
    for key in ("../escape.txt", "model/../../x", "a//b", "./a"):
        with pytest.raises(RunStorageError, match="bad run-folder key"):
            storage.write_text(key, "x")


def test_path_names_the_location(tmp_path: Path) -> None:
    local = RunStorage(str(tmp_path / "a" / ".." / "run"))
    assert local.is_local
    assert local.path("model", "x.json") == str(tmp_path / "run" / "model" / "x.json")
    assert RunStorage(f"file://{tmp_path}/run").path("m") == str(tmp_path / "run" / "m")
    memory = RunStorage("memory://bucket/prefix/")
    assert not memory.is_local
    assert memory.path("model", "x.json") == "memory://bucket/prefix/model/x.json"


def test_local_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path, monkeypatch) -> None:
    storage = RunStorage(str(tmp_path / "run"))
    storage.write_text("metrics/m.json", '{"old": true}')

    def failing_replace(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated crash"):
        storage.write_text("metrics/m.json", '{"new": tru')
    monkeypatch.undo()
    # the old content is intact and the temporary file was cleaned up
    assert storage.read_text("metrics/m.json") == '{"old": true}'
    assert sorted(os.listdir(tmp_path / "run" / "metrics")) == ["m.json"]


def test_makedirs_local_only(tmp_path: Path) -> None:
    storage = RunStorage(str(tmp_path / "run"))
    storage.makedirs("videos")
    assert (tmp_path / "run" / "videos").is_dir()
    memory = RunStorage(f"memory://mk-{uuid.uuid4().hex}")
    memory.makedirs("videos")  # object stores have no folders: a no-op, not an error
