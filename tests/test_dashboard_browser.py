"""The dashboard in headless Chromium while a real (short) training runs.

Checks what a user sees: the camera image changes from one screenshot to the next, the track
view shows the worker's cars, and the charts gain a point when an iteration ends.
Screenshots go to $SLIPSTREAM_SCREENSHOTS when set (else the test's tmp folder).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dashboard_server import running_dashboard

pytestmark = pytest.mark.slow

CAR_RED = np.array([230, 60, 50])
"""`slipstream.render.topdown.CAR_PALETTE[0]`: car 0's colour in the top-down view."""


def _image(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _points(page, chart: str) -> int:
    return page.evaluate(
        f"() => {{ const d = document.getElementById('{chart}').data || [];"
        " return d.length ? d[0].x.length : 0; }"
    )


def _wait(predicate, timeout: float, what: str, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None and proc.returncode != 0:
            raise AssertionError(f"training failed while waiting for {what}: {proc.stdout.read()}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_dashboard_shows_live_cars_and_growing_charts(tmp_path, chromium_executable):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("SLIPSTREAM_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    run = tmp_path / "run"
    train = [
        sys.executable, "-m", "slipstream.cli", "train", "--run", str(run),
        "--track", "slipstream_oval", "--iterations", "3", "--workers", "1", "--serial",
        "--set", "num_episodes_between_training=3", "--set", "num_epochs=1",
        "--set", "batch_size=32", "--eval-trials", "1", "--seed", "3",
    ]  # fmt: skip
    proc = subprocess.Popen(
        train, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy()
    )
    try:
        with (
            running_dashboard([run]) as (url, _server, _token),
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(
                executable_path=chromium_executable, headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(url + "/")
            frames = lambda: int(page.evaluate("() => document.body.dataset.frames || 0"))  # noqa: E731
            _wait(lambda: frames() >= 2, 60, "the first camera frames", proc)
            camera, topdown = page.locator("#camera"), page.locator("#topdown")
            first = camera.screenshot(path=str(shots / "camera-1.png"))
            seen = frames()
            _wait(lambda: frames() >= seen + 3, 20, "more camera frames", proc)
            second = camera.screenshot(path=str(shots / "camera-2.png"))
            track = topdown.screenshot(path=str(shots / "topdown.png"))
            page.screenshot(path=str(shots / "dashboard-live.png"), full_page=True)

            a, b = _image(first), _image(second)
            assert a.shape == b.shape and a.std() > 5  # a real picture, not a blank element
            assert np.mean(np.abs(a - b)) > 0.5, "the camera image did not change"
            red = np.all(np.abs(_image(track) - CAR_RED) < 45, axis=-1)
            assert red.sum() >= 20, "no car drawn on the track view"

            _wait(lambda: _points(page, "chart-progress") >= 1, 90, "the first iteration", proc)
            before = _points(page, "chart-progress")
            page.screenshot(path=str(shots / "dashboard-charts-before.png"), full_page=True)
            _wait(lambda: _points(page, "chart-progress") > before, 90, "the next iteration", proc)
            assert _points(page, "chart-speed") >= 1
            page.screenshot(path=str(shots / "dashboard-charts-after.png"), full_page=True)
            log_text = page.inner_text("#log")
            assert "Training> Name=main_level/agent" in log_text
            assert "def reward_function" in page.inner_text("#inputs")
            browser.close()
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=30)
