"""The live channel between rollout workers and `slipstream dashboard` (same machine).

Nothing is encoded unless someone watches. A dashboard that shows worker ``w``'s cars keeps
touching ``watch-<w>`` in the run's live folder; while that file is fresh (modified less than
`WATCH_TIMEOUT_S` ago) worker ``w`` writes, at most `FPS` times a second,

* ``camera-<w>.png``: the camera image the network sees (the first active car; grey, 160x120),
* ``topdown-<w>.jpg``: the track seen from above with every car of the worker,

each written to a temporary name and renamed into place, so a reader never sees half a file.
When nobody watches, a worker pays one clock read per step and one ``stat`` every
`CHECK_EVERY_S` seconds.

The live folder is ``<temp dir>/slipstream-live/<hash of the run's location>``, outside the run
folder: the dashboard stays read-only on the run, and an s3:// run trained on this machine gets a
local channel too. Workers on other machines (a Ray cluster) publish into their own machine's
temp dir, which a dashboard elsewhere does not see.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FPS = 6.0
"""Frames per second a watched worker publishes (the dashboard asks for at least 5)."""
TOPDOWN_SIZE = (360, 480)
"""(H, W) of the published top-down view."""
WATCH_TIMEOUT_S = 3.0
"""A watch file older than this means nobody watches any more."""
CHECK_EVERY_S = 0.5
"""How often an unwatched worker looks at its watch file."""
CAMERA_SENSORS = ("FRONT_FACING_CAMERA", "STEREO_CAMERAS")
JPEG_QUALITY = 80


def live_dir(run_root: str) -> Path:
    """The live folder of the run at ``run_root`` (a local path or an fsspec URL)."""
    root = run_root if "://" in run_root else os.path.abspath(run_root)
    digest = hashlib.sha256(root.rstrip("/").encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "slipstream-live" / digest


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def encode_png(image: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def encode_jpeg(image: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def camera_image(obs: dict[str, np.ndarray], car: int) -> np.ndarray | None:
    """Car ``car``'s camera image (H, W) uint8 from an observation dict (left image of a stereo
    pair), or None for a model without a camera."""
    for name in CAMERA_SENSORS:
        if name in obs:
            return np.asarray(obs[name][car])[..., 0]
    return None


class FramePublisher:
    """Worker side: call `publish` after every step; it does work only while someone watches."""

    def __init__(self, folder: str | os.PathLike | None, worker: int) -> None:
        self.folder = Path(folder) if folder else None
        self.worker = int(worker)
        self._watched = False
        self._next_check = 0.0
        self._next_frame = 0.0

    def _is_watched(self, now: float) -> bool:
        if now >= self._next_check:
            self._next_check = now + CHECK_EVERY_S
            try:
                age = time.time() - (self.folder / f"watch-{self.worker}").stat().st_mtime
            except OSError:
                age = WATCH_TIMEOUT_S + 1.0
            self._watched = age < WATCH_TIMEOUT_S
        return self._watched

    def publish(self, core, obs: dict[str, np.ndarray], cars: np.ndarray) -> None:
        """Write the camera image and top-down view of ``core``'s cars if someone watches.

        ``core`` is the worker's `DeepRacerCore`, ``obs`` the observations after the step and
        ``cars`` the indices of the cars in an episode (the camera shows the first of them).
        """
        if self.folder is None:
            return
        now = time.monotonic()
        if now < self._next_frame or not self._is_watched(now):
            return
        self._next_frame = now + 1.0 / FPS
        folder = _ensure(self.folder)
        camera = camera_image(obs, int(cars[0]) if len(cars) else 0)
        if camera is not None:
            _write_atomic(folder / f"camera-{self.worker}.png", encode_png(camera))
        _write_atomic(
            folder / f"topdown-{self.worker}.jpg",
            encode_jpeg(core.render_topdown(size=TOPDOWN_SIZE)),
        )


@dataclass(frozen=True)
class Frame:
    """The latest published images of one worker (bytes; camera None for camera-less models)."""

    camera: bytes | None
    topdown: bytes | None
    stamp: float


class FrameWatcher:
    """Dashboard side: keeps a worker's watch file fresh and reads its newest frame."""

    def __init__(self, folder: str | os.PathLike, worker: int) -> None:
        self.folder = Path(folder)
        self.worker = int(worker)
        self._stamp = 0.0

    def touch(self) -> None:
        """Say "someone watches" (call at least every `WATCH_TIMEOUT_S` / 2 seconds)."""
        path = _ensure(self.folder) / f"watch-{self.worker}"
        path.touch()
        os.utime(path)

    def latest(self) -> Frame | None:
        """The frame written since the last call, or None if there is no newer one.

        A frame's stamp is its top-down file's (written after the camera image)."""
        camera = self.folder / f"camera-{self.worker}.png"
        topdown = self.folder / f"topdown-{self.worker}.jpg"
        try:
            stamp = topdown.stat().st_mtime
        except OSError:
            return None
        if stamp <= self._stamp:
            return None
        self._stamp = stamp
        try:
            picture = topdown.read_bytes()
        except OSError:
            return None
        try:
            image = camera.read_bytes()
        except OSError:
            image = None
        return Frame(image, picture, stamp)
