"""`slipstream dashboard`: incremental readers, the series it shows, safety, live frames.

The run folder here is written with the project's own writers (metrics JSON, logs, iteration
record) from hand-picked numbers, so every plotted value is worked out by hand below.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dashboard_server import running_dashboard
from slipstream.runs import RunLayout, RunLogger, RunStorage, TrainingMetricsWriter
from slipstream.runs.iteration_log import IterationLog
from slipstream.runs.live import FramePublisher, FrameWatcher, live_dir
from slipstream.viz.dashboard import make_server
from slipstream.viz.feed import RunFeed
from slipstream.viz.tail import JsonListTail, TextTail

pytest.importorskip("starlette")
warnings.filterwarnings("ignore", category=DeprecationWarning)


def _episodes(writer, episodes, rewards, progress, statuses, phase="training", trials=None):
    writer.add_episodes(
        episode=episodes,
        trial=trials if trials is not None else [(e - 1) % 2 + 1 for e in episodes],
        total_reward=rewards,
        progress=progress,
        status=statuses,
        start_time_s=0.0,
        end_time_s=[12.5] * len(rewards),
        phase=phase,
    )


@pytest.fixture()
def run(tmp_path):
    """Two workers, 2 episodes per iteration each, two iterations, one evaluation phase."""
    root = tmp_path / "run"
    storage = RunStorage(str(root))
    layout = RunLayout(storage, num_workers=2)
    storage.write_text("reward_function.py", "def reward_function(params):\n    return 1.0\n")
    storage.write_text(
        "model/model_metadata.json",
        json.dumps({"action_space": [{"steering_angle": 0, "speed": 1}], "sensor": []}),
    )
    w0 = TrainingMetricsWriter(storage, layout.training_metrics(0))
    w1 = TrainingMetricsWriter(storage, layout.training_metrics(1))
    lap, off = "lap_complete", "off_track"
    _episodes(w0, [1, 2], [10, 20], [50, 100], [off, lap])
    _episodes(w1, [1, 2], [4, 6], [20, 30], [off, off])
    _episodes(w0, 2, [7, 9], [40, 100], [off, lap], phase="evaluation", trials=[1, 2])
    _episodes(w0, [3, 4], [30, 50], [100, 100], [lap, lap])
    _episodes(w1, [3, 4], [8, 12], [60, 80], [off, off])
    logger = RunLogger(layout)
    logger.policy_training(-0.1, 0.01, 1.5, 0, 3e-4)
    logger.policy_training(-0.3, 0.03, 1.7, 1, 3e-4)
    logger.checkpoint_saved("1_Step-100.pt", 1, 1, 1)
    logger.training_episode(0, 1, 10.0, 50, 0)
    logger.policy_training(0.2, 0.05, 1.2, 0, 3e-4)
    logger.checkpoint_saved("2_Step-200.pt", 2, 2, 2)
    logger.close()
    record = IterationLog(layout, tensorboard=False)
    record.append({"iteration": 0, "rollout_steps_per_second": 300.0, "samples": 100})
    record.append({"iteration": 1, "rollout_steps_per_second": 350.0, "samples": 100})
    return root


def test_feed_series_are_the_hand_computed_means(run):
    feed = RunFeed(str(run))
    assert feed.poll() is True
    snap = feed.snapshot()
    assert snap["episodes_per_iteration"] == 2
    w0, w1 = snap["workers"]["0"], snap["workers"]["1"]
    assert w0 == {
        "iteration": [0, 1],
        "reward": [15.0, 40.0],
        "progress": [75.0, 100.0],
        "completion": [50.0, 100.0],
    }
    assert w1["reward"] == [5.0, 10.0] and w1["progress"] == [25.0, 70.0]
    assert w1["completion"] == [0.0, 0.0]
    # evaluation rows carry episode 2: iteration 0; one of two completed, in 12.5 s
    assert snap["evaluation"] == {
        "iteration": [0],
        "progress": [70.0],
        "completion": [50.0],
        "best_lap_s": [12.5],
    }
    learner = snap["learner"]
    assert learner["iteration"] == [0, 1]
    assert learner["surrogate_loss"] == pytest.approx([-0.2, 0.2])
    assert learner["kl_divergence"] == pytest.approx([0.02, 0.05])
    assert learner["entropy"] == pytest.approx([1.6, 1.2])
    assert snap["speed"]["rollout_steps_per_second"] == [300.0, 350.0]
    assert "Training> Name=main_level/agent, Worker=0, Episode=1" in "\n".join(snap["log"])
    assert snap["inputs"]["reward_function"].startswith("def reward_function")
    assert snap["inputs"]["model_metadata"]["action_space"][0]["speed"] == 1
    assert feed.poll() is False  # nothing new


def test_feed_reads_only_what_was_added(run):
    feed = RunFeed(str(run))
    feed.poll()
    storage = RunStorage(str(run))
    w0 = TrainingMetricsWriter(storage, "metrics/TrainingMetrics.json")
    _episodes(w0, [5, 6], [70, 90], [100, 100], ["lap_complete", "lap_complete"])
    tail = feed._metrics[0]
    before = tail.bytes_read
    assert feed.poll() is True
    size = (run / "metrics" / "TrainingMetrics.json").stat().st_size
    assert tail.bytes_read - before < size / 2  # the new entries and the one before, not all
    w0s = feed.snapshot()["workers"]["0"]
    assert w0s["iteration"] == [0, 1, 2] and w0s["reward"][2] == 80.0


def test_json_list_tail_appends_and_restarts(tmp_path):
    storage = RunStorage(str(tmp_path))
    entries = [{"episode": i, "x": "a" * 50} for i in range(1, 21)]
    storage.write_text("m.json", json.dumps({"metrics": entries[:10], "version": 2.0}))
    tail = JsonListTail(storage, "m.json")
    got, reset = tail.read()
    assert reset and [e["episode"] for e in got] == list(range(1, 11))
    assert tail.read() == ([], False)
    first = tail.bytes_read
    storage.write_text("m.json", json.dumps({"metrics": entries, "version": 2.0}))
    got, reset = tail.read()
    assert not reset and [e["episode"] for e in got] == list(range(11, 21))
    added = len(json.dumps(entries[9:])) + 30
    assert tail.bytes_read - first < added
    # a different file under the same name (the old entries changed): read from the start
    storage.write_text("m.json", json.dumps({"metrics": [{"episode": 99}] * 30}))
    got, reset = tail.read()
    assert reset and len(got) == 30
    # half written: nothing, no error; next complete version is read
    storage.write_text("m.json", '{"metrics": [{"episode": 1}, {"epi')
    assert JsonListTail(storage, "m.json").read() == ([], False)


def test_text_tail_returns_complete_new_lines_once(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("one\ntwo\nthr")
    tail = TextTail(RunStorage(str(tmp_path)), "log.txt")
    assert tail.read() == ["one", "two"]
    with path.open("a") as f:
        f.write("ee\nfour\n")
    assert tail.read() == ["three", "four"]
    assert tail.read() == []
    assert tail.bytes_read == path.stat().st_size
    path.write_text("new\n")  # replaced by a shorter file
    assert tail.read() == ["new"]


# ---------------------------------------------------------------------- safety


def _get(base: str, raw_path: str) -> tuple[int, bytes]:
    """GET with the path sent exactly as given (no client-side normalisation)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("GET", raw_path, skip_accept_encoding=True)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_files_outside_the_run_folder_are_refused(run, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    (run / "link.txt").symlink_to(secret)
    with running_dashboard([run]) as (base, _, _):
        status, body = _get(base, "/files/0/reward_function.py")
        assert status == 200 and body.startswith(b"def reward_function")
        refused = [
            "/files/0/../secret.txt",
            "/files/0/model/../../secret.txt",
            "/files/0/%2e%2e/secret.txt",
            "/files/0/%2E%2E%2Fsecret.txt",
            "/files/0/model%2F..%2F..%2Fsecret.txt",
            "/files/0/%252e%252e/secret.txt",
            "/files/0//" + str(secret).lstrip("/"),
            "/files/0/" + "%2F" + str(secret).lstrip("/").replace("/", "%2F"),
            "/files/0/..%5Csecret.txt",
            "/files/0/./reward_function.py",
        ]
        for path in refused:
            status, body = _get(base, path)
            assert status == 400, (path, status)
            assert b"TOP SECRET" not in body
        status, body = _get(base, "/files/0/link.txt")  # symlink out of the run folder
        assert status == 404 and b"TOP SECRET" not in body
        assert _get(base, "/files/7/reward_function.py")[0] == 404
        # read-only: nothing but GET
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", "/files/0/reward_function.py", body=b"x")
        assert conn.getresponse().status == 405
        conn.close()


def test_binds_loopback_by_default_and_needs_a_token_beyond(run):
    # the command as a user runs it: prints where it listens
    proc = subprocess.Popen(
        [sys.executable, "-m", "slipstream.cli", "dashboard", str(run), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert line.startswith(f"dashboard of {run} at http://127.0.0.1:"), line
    assert "token" not in line
    server, token = make_server([str(run)])
    assert server.config.host == "127.0.0.1" and token is None
    with running_dashboard([run]) as (base, server, _):
        (sock,) = server.servers[0].sockets
        assert sock.getsockname()[0] == "127.0.0.1"
        assert sock.family == socket.AF_INET
        assert _get(base, "/")[0] == 200
    _, token = make_server([str(run)], host="0.0.0.0")
    assert token and len(token) >= 20


def _request(base: str, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_token_gate_and_host_check(run):
    with running_dashboard([run], token="s3cret-token") as (base, _, token):
        assert token == "s3cret-token"
        assert _request(base, "/api/runs").status == 403
        assert _request(base, "/api/runs?token=wrong").status == 403
        ok = _request(base, "/?token=s3cret-token")
        assert ok.status == 200
        cookie = ok.headers["set-cookie"].split(";")[0]
        assert cookie == "slipstream_dashboard_token=s3cret-token"
        assert _request(base, "/api/runs", {"Cookie": cookie}).status == 200
        assert _request(base, "/api/runs", {"Cookie": cookie + "x"}).status == 403
    with running_dashboard([run]) as (base, _, _):
        assert _request(base, "/api/runs").status == 200
        # DNS rebinding: a page of another site that resolves to 127.0.0.1 is refused
        assert _request(base, "/api/runs", {"Host": "evil.example"}).status == 400


# ---------------------------------------------------------------------- pushes


def _events(base: str, path: str, count: int, timeout: float = 20.0) -> list[dict]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    conn.request("GET", path)
    response = conn.getresponse()
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    out = []
    while len(out) < count:
        line = response.fp.readline()
        if line.startswith(b"data: "):
            out.append(json.loads(line[6:]))
    conn.close()
    return out


def test_events_push_a_new_point_when_an_iteration_ends(run):
    with running_dashboard([run]) as (base, _, _):
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=20)
        conn.request("GET", "/api/events")
        response = conn.getresponse()

        def next_event() -> dict:
            while True:
                line = response.fp.readline()
                if line.startswith(b"data: "):
                    return json.loads(line[6:])

        first = next_event()
        assert first["runs"][0]["workers"]["0"]["iteration"] == [0, 1]
        w0 = TrainingMetricsWriter(RunStorage(str(run)), "metrics/TrainingMetrics.json")
        _episodes(w0, [5, 6], [70, 90], [100, 100], ["lap_complete", "lap_complete"])
        second = next_event()
        assert second["runs"][0]["workers"]["0"]["iteration"] == [0, 1, 2]
        assert second["runs"][0]["workers"]["0"]["reward"][-1] == 80.0
        conn.close()


class _Core:
    def __init__(self) -> None:
        self.calls = 0

    def render_topdown(self, size=(480, 640)) -> np.ndarray:
        self.calls += 1
        img = np.zeros((48, 64, 3), np.uint8)
        img[10:20, 10:20] = (230, 60, 50)
        return img


def _camera_obs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"FRONT_FACING_CAMERA": rng.integers(0, 255, (3, 120, 160, 1), dtype=np.uint8)}


def test_frames_only_while_watched(tmp_path):
    folder = tmp_path / "live"
    core, obs = _Core(), _camera_obs()
    active = np.array([1, 2])  # cars in an episode
    idle = FramePublisher(folder, worker=0)
    for _ in range(50):
        idle.publish(core, obs, active)
    assert core.calls == 0 and not folder.exists()  # nobody watches: nothing rendered

    watcher = FrameWatcher(folder, worker=0)
    watcher.touch()
    publisher = FramePublisher(folder, worker=0)
    publisher.publish(core, obs, active)
    publisher.publish(core, obs, active)  # within 1/FPS: skipped
    assert core.calls == 1
    frame = watcher.latest()
    camera = np.asarray(Image.open(io.BytesIO(frame.camera)))
    np.testing.assert_array_equal(camera, obs["FRONT_FACING_CAMERA"][1, :, :, 0])  # 1st active
    top = np.asarray(Image.open(io.BytesIO(frame.topdown)).convert("RGB")).astype(int)
    assert np.abs(top[15, 15] - [230, 60, 50]).max() < 30
    assert watcher.latest() is None  # nothing newer
    # another worker's watch file does not wake worker 1
    other = FramePublisher(folder, worker=1)
    other.publish(core, obs, active)
    assert core.calls == 1
    # an old watch file means nobody watches any more
    stale = time.time() - 10
    os.utime(folder / "watch-0", (stale, stale))
    late = FramePublisher(folder, worker=0)
    late.publish(core, obs, active)
    assert core.calls == 1


def test_live_stream_pushes_the_published_camera_image(run):
    core, obs = _Core(), _camera_obs()
    folder = live_dir(str(run))
    with running_dashboard([run]) as (base, _, _):
        import threading

        stop = threading.Event()

        def worker() -> None:  # what a rollout worker does every step
            publisher = FramePublisher(folder, worker=0)
            while not stop.is_set():
                publisher.publish(core, obs, np.arange(3))
                time.sleep(0.01)

        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        try:
            (event,) = _events(base, "/api/live/0/0", 1)
        finally:
            stop.set()
            thread.join(timeout=5)
    camera = np.asarray(Image.open(io.BytesIO(base64.b64decode(event["camera"]))))
    np.testing.assert_array_equal(camera, obs["FRONT_FACING_CAMERA"][0, :, :, 0])
    assert base64.b64decode(event["topdown"])[:2] == b"\xff\xd8"  # JPEG
    assert Path(folder, "watch-0").exists()


def test_several_runs_side_by_side(run, tmp_path):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(run, other)
    w1 = TrainingMetricsWriter(RunStorage(str(other)), "metrics/TrainingMetrics_1.json")
    _episodes(w1, [5, 6], [1, 3], [10, 10], ["off_track", "off_track"])
    with running_dashboard([run, other]) as (base, _, _):
        status, body = _get(base, "/api/runs")
        assert status == 200
        assert json.loads(body) == [{"id": 0, "run": str(run)}, {"id": 1, "run": str(other)}]
        status, body = _get(base, "/api/snapshot")
        first, second = json.loads(body)["runs"]
        assert (first["id"], second["id"]) == (0, 1)
        assert first["workers"]["1"]["iteration"] == [0, 1]
        assert second["workers"]["1"]["iteration"] == [0, 1, 2]
        assert second["workers"]["1"]["reward"][-1] == 2.0
        assert _get(base, "/files/1/metrics/TrainingMetrics_1.json")[0] == 200
        assert _get(base, "/api/live/2/0")[0] == 404
        assert _get(base, "/api/live/0/x")[0] == 404
