"""Shared test set-up: the official DeepRacer tracks from ../shared/tracks when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _official_tracks() -> Path:
    """../shared/tracks, else a SLIPSTREAM_TRACKS folder holding the official route files."""
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "tracks"
    if shared.is_dir():
        return shared
    for folder in os.environ.get("SLIPSTREAM_TRACKS", "").split(os.pathsep):
        if folder and (Path(folder) / "reInvent2019_track.npy").is_file():
            return Path(folder)
    return shared


SHARED_TRACKS = _official_tracks()

if SHARED_TRACKS.is_dir() and str(SHARED_TRACKS) not in os.environ.get("SLIPSTREAM_TRACKS", ""):
    os.environ["SLIPSTREAM_TRACKS"] = os.pathsep.join(
        p for p in (os.environ.get("SLIPSTREAM_TRACKS", ""), str(SHARED_TRACKS)) if p
    )


@pytest.fixture(scope="module")
def module_tmp_path(tmp_path_factory, request):
    """A folder the tests of one module share (a trained run, say), deleted when the module ends:
    run folders hold full-size checkpoints, and kept ones would add up to gigabytes by the end of
    the suite."""
    import shutil

    path = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def official_tracks_dir() -> Path:
    """Folder of the 135 official route files; tests that need it skip when it is absent."""
    if not SHARED_TRACKS.is_dir():
        pytest.skip("../shared/tracks is not present")
    return SHARED_TRACKS


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's chromium for the browser tests (a browser is never downloaded); `make test`
    installs it when run as root. Set SLIPSTREAM_CHROMIUM to use another executable."""
    import shutil

    pytest.importorskip(
        "playwright", reason="playwright is not installed (pip install -e '.[test]')"
    )
    found = os.environ.get("SLIPSTREAM_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.skip(
            "Debian's chromium is not installed: apt-get install -y chromium (make test does "
            "this when run as root), or set SLIPSTREAM_CHROMIUM to a Chromium executable"
        )
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real S3 API (moto's server mode) on 127.0.0.1 at a free port, for the whole session."""
    import logging

    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


S3_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_bucket(moto_endpoint, monkeypatch):
    """A fresh bucket on the moto server; AWS_ENDPOINT_URL and credentials point at it."""
    import uuid

    import boto3

    for key in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key, value in S3_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    name = f"slipstream-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=name)
    return name
