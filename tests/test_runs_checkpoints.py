"""Checkpoints: safe round trip, digests, best/last selection, retention, on disk and memory://."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from pathlib import Path

import pytest
import torch

from slipstream.runs import (
    CheckpointCorruptError,
    CheckpointError,
    CheckpointIndex,
    CheckpointMissingError,
    RunLayout,
    RunStorage,
    UnsafeCheckpointError,
    average_eval_metric,
    list_checkpoints,
    load_checkpoint,
    next_checkpoint_number,
    prune_checkpoints,
    save_checkpoint,
)


@pytest.fixture(params=["local", "memory"])
def storage(request, tmp_path: Path):
    if request.param == "local":
        yield RunStorage(str(tmp_path / "run"))
        return
    store = RunStorage(f"memory://ckpt-{uuid.uuid4().hex}/run")
    yield store
    if store.fs.exists(store.path()):
        store.fs.rm(store.path(), recursive=True)


def small_state(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "policy.weight": torch.randn(4, 3, generator=g),
        "policy.bias": torch.zeros(4),
        "optimizer": {"step": 7, "lr": 3e-4, "betas": [0.9, 0.999]},
    }


class Payload:
    """Anything that is not a tensor or plain container: must never be unpickled."""

    def __init__(self) -> None:
        self.note = "arbitrary object"


def test_round_trip_and_files(storage: RunStorage) -> None:
    state = small_state()
    name = save_checkpoint(storage, state, number=3, steps=1234)
    assert name == "3_Step-1234.pt"
    layout = RunLayout(storage)
    data = storage.read_bytes(layout.checkpoint(name))
    digest = storage.read_text(layout.checkpoint_digest(name))
    assert digest == f"{hashlib.sha256(data).hexdigest()}  {name}\n"
    assert storage.read_text(layout.coach_checkpoint) == name
    loaded = load_checkpoint(storage, name)
    assert torch.equal(loaded["policy.weight"], state["policy.weight"])
    assert torch.equal(loaded["policy.bias"], state["policy.bias"])
    assert loaded["optimizer"] == state["optimizer"]
    assert list_checkpoints(storage) == [name]
    assert next_checkpoint_number(storage) == 4


def test_digest_mismatch_and_missing_files(storage: RunStorage) -> None:
    name = save_checkpoint(storage, small_state(), 0, 0)
    layout = RunLayout(storage)
    data = bytearray(storage.read_bytes(layout.checkpoint(name)))
    data[-30] ^= 0xFF
    storage.write_bytes(layout.checkpoint(name), bytes(data))
    with pytest.raises(CheckpointCorruptError, match="does not match its sha256"):
        load_checkpoint(storage, name)
    storage.rm(layout.checkpoint_digest(name))
    with pytest.raises(CheckpointCorruptError, match="verify=False"):
        load_checkpoint(storage, name)
    with pytest.raises(CheckpointMissingError, match=r"present: \['0_Step-0\.pt'\]"):
        load_checkpoint(storage, "9_Step-99.pt")
    storage.write_bytes(layout.checkpoint("1_Step-5.pt"), b"not a zip file at all")
    with pytest.raises(CheckpointCorruptError, match="torch cannot read"):
        load_checkpoint(storage, "1_Step-5.pt", verify=False)


def test_pickled_objects_are_refused(storage: RunStorage) -> None:
    buffer = io.BytesIO()
    torch.save({"weight": torch.ones(2), "payload": Payload()}, buffer)
    data = buffer.getvalue()
    layout = RunLayout(storage)
    name = "5_Step-50.pt"
    storage.write_bytes(layout.checkpoint(name), data)
    # a correct digest, so only weights_only stands between the file and unpickling
    storage.write_text(layout.checkpoint_digest(name), hashlib.sha256(data).hexdigest())
    with pytest.raises(UnsafeCheckpointError, match="refused to load"):
        load_checkpoint(storage, name)


def test_best_and_last_by_progress_and_reward(storage: RunStorage) -> None:
    for metric in ("progress", "reward"):
        index = CheckpointIndex(storage, metric)
        index.best = index.last = None
        assert index.update("0_Step-0.pt", 10.0, time_stamp=1.0) is True
        assert index.update("1_Step-100.pt", 30.0, time_stamp=2.0) is True
        assert index.update("2_Step-200.pt", 20.0, time_stamp=3.0) is False
        assert index.update("3_Step-300.pt", 30.0, time_stamp=4.0) is True  # >= : ties move on
        assert index.resolve("best") == "3_Step-300.pt"
        assert index.resolve("last") == "3_Step-300.pt"
        assert index.update("4_Step-400.pt", 29.9, time_stamp=5.0) is False
        assert index.resolve("best") == "3_Step-300.pt"
        assert index.resolve("last") == "4_Step-400.pt"
    doc = json.loads(storage.read_text("model/deepracer_checkpoints.json"))
    assert doc["best_checkpoint"] == {
        "name": "3_Step-300.pt",
        "avg_eval_metric": 30.0,
        "avg_comp_pct": 30.0,
        "time_stamp": 4.0,
    }
    assert doc["last_checkpoint"]["name"] == "4_Step-400.pt"
    reread = CheckpointIndex(storage, "reward")
    assert reread.resolve("best") == "3_Step-300.pt"
    assert reread.protected() == {"3_Step-300.pt", "4_Step-400.pt"}


def test_best_by_laptime_lower_wins(storage: RunStorage) -> None:
    index = CheckpointIndex(storage, "laptime")
    # lap times per evaluation episode; incomplete laps count 999999 ms
    first = average_eval_metric("laptime", [100, 100], lap_time_ms=[12000, 14000])
    assert first == 13000.0
    second = average_eval_metric("laptime", [100, 60], lap_time_ms=[11000, 5000])
    assert second == (11000 + 999999) / 2
    third = average_eval_metric("laptime", [100, 100], lap_time_ms=[13500, 12500])
    assert index.update("0_Step-0.pt", first, 0.0) is True
    assert index.update("1_Step-9.pt", second, 1.0) is False
    assert index.update("2_Step-19.pt", third, 2.0) is True  # <= : equal time moves best
    assert index.resolve("best") == "2_Step-19.pt"
    assert average_eval_metric("progress", [40, 60]) == 50.0
    assert average_eval_metric("reward", [40, 60], total_reward=[3, 4]) == 3.5
    with pytest.raises(CheckpointError, match="needs total_reward"):
        average_eval_metric("reward", [40])


def test_resolve_without_index(storage: RunStorage) -> None:
    index = CheckpointIndex(storage)
    with pytest.raises(CheckpointMissingError, match="no best checkpoint"):
        index.resolve("best")
    name = save_checkpoint(storage, small_state(), 2, 20)
    assert CheckpointIndex(storage).resolve("last") == name  # from .coach_checkpoint
    with pytest.raises(CheckpointError, match="'best' or 'last'"):
        index.resolve("newest")
    # an old-style index with avg_comp_pct only
    storage.write_text(
        "model/deepracer_checkpoints.json",
        json.dumps({"best_checkpoint": {"name": name, "avg_comp_pct": 12.5, "time_stamp": 1}}),
    )
    old = CheckpointIndex(storage)
    assert old.best is not None and old.best.avg_eval_metric == 12.5


def test_retention_keeps_last_four_and_best(storage: RunStorage) -> None:
    index = CheckpointIndex(storage, "progress")
    progress = [10, 80, 20, 30, 40, 50, 60]
    for number, value in enumerate(progress):
        name = save_checkpoint(storage, small_state(number), number, 100 * number)
        index.update(name, value, float(number))
        prune_checkpoints(storage, protect=index.protected())
    remaining = list_checkpoints(storage)
    assert remaining == [
        "1_Step-100.pt",
        "3_Step-300.pt",
        "4_Step-400.pt",
        "5_Step-500.pt",
        "6_Step-600.pt",
    ]
    digests = sorted(n for n in storage.ls("model") if n.endswith(".sha256"))
    assert digests == sorted(n + ".sha256" for n in remaining)
    assert torch.equal(
        load_checkpoint(storage, "1_Step-100.pt")["policy.weight"], small_state(1)["policy.weight"]
    )
    assert next_checkpoint_number(storage) == 7
