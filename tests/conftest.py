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
