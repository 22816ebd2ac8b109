"""Timing of the sensors: `benchmark_camera` returns figures for `slipstream bench` to print.

Single-threaded kernels; run under NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 for per-core figures.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from slipstream.render.boxes import BoxSet
from slipstream.render.camera import CameraSpec, render_cameras, render_stereo
from slipstream.render.lidar import lidar_ranges
from slipstream.render.texture import TrackTexture
from slipstream.render.topdown import render_topdown
from slipstream.tracks import Track, TrackError, load_track

log = logging.getLogger(__name__)

BENCH_TRACK = "reInvent2019_track"


def _timed(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"min_ms": 1e3 * min(times), "median_ms": 1e3 * float(np.median(times))}


def _fallback_track() -> Track:
    """A 3 m radius loop, 1.07 m wide, when the benchmark track is not installed."""
    a = np.linspace(0.0, 2.0 * math.pi, 121)
    ring = np.column_stack([np.cos(a), np.sin(a)])
    route = np.hstack([3.0 * ring, 2.465 * ring, 3.535 * ring])
    return Track.from_route(route, name="bench_circle")


def _scene(track: Track, n: int, rng: np.random.Generator) -> tuple[np.ndarray, BoxSet]:
    """Cars spread around the track and, per car, 6 boxes and 3 car-sized boxes ahead of it."""
    arc = rng.uniform(0.0, track.length, n)
    xy, heading = track.point_at(arc)
    poses = np.column_stack([xy, heading + rng.uniform(-0.2, 0.2, n)])
    ahead = arc[:, None] + np.array([1.0, 2.0, 3.5, 5.0, 7.0, 9.0, 1.5, 4.0, 6.0])
    lanes = np.array([1, -1, 1, -1, 1, -1, -1, 1, -1], dtype=np.float64)
    centers = track.lane_point_at(ahead.ravel(), np.tile(lanes, n)).reshape(n, 9, 2)
    _, yaw = track.point_at(ahead.ravel())
    size = np.array([[0.5, 0.4, 0.3]] * 6 + [[0.32352, 0.1961, 0.2]] * 3)
    boxes = BoxSet(
        centers=centers,
        yaw=yaw.reshape(n, 9),
        size=np.broadcast_to(size, (n, 9, 3)),
        shade=np.broadcast_to(np.array([170.0] * 6 + [90.0] * 3), (n, 9)),
        valid=np.ones((n, 9), dtype=bool),
        owner=np.full((n, 9), -1),
    )
    return poses, boxes


def _sparse(boxes: BoxSet) -> BoxSet:
    """Only the boxes 2 m and 5 m ahead: a typical object-avoidance view."""
    valid = np.zeros_like(boxes.valid)
    valid[:, [1, 3]] = True
    return BoxSet(boxes.centers, boxes.yaw, boxes.size, boxes.shade, valid, boxes.owner)


def benchmark_camera(
    batch_sizes: Sequence[int] = (1, 64), repeats: int = 20, spec: CameraSpec | None = None
) -> dict:
    """Time texture build, first call (JIT compile or cache load) and sensors per batch size.

    Returns a dict: "track", "texture_build_s", "texture_mbytes", "first_call_s", and per batch
    size N under "batch" -> str(N): min/median ms of the mono camera without boxes, with 9 boxes
    per car within 9 m ahead (a dense worst case, about 3,000 box pixels per image), with 2 of
    them (typical), stereo and lidar with the 9 boxes, and car-steps/s of the mono camera alone. Also "topdown_ms" for one 480x640 frame.
    """
    spec = CameraSpec() if spec is None else spec
    try:
        track = load_track(BENCH_TRACK)
    except TrackError:
        log.info("%s not found; benchmarking on a generated loop", BENCH_TRACK)
        track = _fallback_track()
    start = time.perf_counter()
    texture = TrackTexture.from_track(track)
    build_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    warm_poses, warm_boxes = _scene(track, 2, rng)
    render_cameras(texture, warm_poses, spec, warm_boxes)
    first_s = time.perf_counter() - start
    render_stereo(texture, warm_poses, spec, warm_boxes)
    result: dict = {
        "track": track.name,
        "texture_build_s": build_s,
        "texture_mbytes": texture.nbytes / 1e6,
        "first_call_s": first_s,
        "batch": {},
    }
    for n in batch_sizes:
        poses, boxes = _scene(track, int(n), rng)
        sparse = _sparse(boxes)
        mono = _timed(lambda p=poses: render_cameras(texture, p, spec), repeats)
        entry = {
            "mono_ms": mono,
            "mono_boxes_ms": _timed(
                lambda p=poses, b=boxes: render_cameras(texture, p, spec, b), repeats
            ),
            "mono_2boxes_ms": _timed(
                lambda p=poses, b=sparse: render_cameras(texture, p, spec, b), repeats
            ),
            "stereo_boxes_ms": _timed(
                lambda p=poses, b=boxes: render_stereo(texture, p, spec, b), repeats
            ),
            "lidar_boxes_ms": _timed(lambda p=poses, b=boxes: lidar_ranges(p, b), repeats),
            "mono_car_steps_per_s": 1e3 * int(n) / mono["min_ms"],
        }
        result["batch"][str(int(n))] = entry
    poses, boxes = _scene(track, 4, rng)
    result["topdown_ms"] = _timed(lambda: render_topdown(texture, poses, boxes), 5)
    return result
