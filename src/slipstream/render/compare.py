"""Slipstream's camera next to DeepRacer's frames: per-frame pose fit and image statistics.

For each real frame, `fit_poses` searches the car pose (arc length along the centre line,
lateral offset, heading relative to the centre line) whose rendered camera image has the lowest
mean absolute grey difference (the frame's *residual*). Consecutive frames of an episode are
tracked: each frame starts from the previous pose with a local grid, then a pattern search
refines it; a frame that fits badly is searched again over the whole track. Renders are
batched (`render_cameras` with many poses at once).

Whole-set statistics (`compare_stats`): the *row profile* error (mean over image rows of the
absolute difference of the mean grey of that row, over all frames and columns) and the
Wasserstein-1 distance between the grey-level histograms of all real and all rendered pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from slipstream.render.camera import render_cameras
from slipstream.render.texture import GREY_WEIGHTS, TrackTexture
from slipstream.tracks.track import Track


class CompareError(ValueError):
    """Frames or settings that cannot be compared."""


@dataclass(frozen=True)
class PoseFit:
    """Best pose of one frame: arc length s (m), lateral offset d (m, left +), heading offset
    psi (rad, from the centre line's heading), world pose (x, y, yaw) and the residual."""

    s: float
    d: float
    psi: float
    pose: tuple[float, float, float]
    residual: float


def grey_frames(paths: list[Path]) -> np.ndarray:
    """Frames (N, 120, 160) uint8 grey as DeepRacer's agent sees them (Y weights, truncated)."""
    if not paths:
        raise CompareError("no frames given")
    out = []
    for path in paths:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.float64)
        if arr.shape != (120, 160, 3):
            raise CompareError(
                f"{path}: expected a 160x120 image, got {arr.shape[1]}x{arr.shape[0]}"
            )
        out.append(np.floor(arr @ np.asarray(GREY_WEIGHTS) + 1e-6).astype(np.uint8))
    return np.stack(out)


def poses_at(track: Track, s: np.ndarray, d: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """World poses (K, 3) of cars at arc length s, lateral offset d, heading offset psi."""
    xy, heading = track.point_at(np.mod(s, track.length))
    normal = np.stack([-np.sin(heading), np.cos(heading)], axis=1)
    return np.column_stack([xy + d[:, None] * normal, heading + psi])


def residuals(texture: TrackTexture, frame: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """Mean absolute grey difference (K,) of the renders at poses (K, 3) to one frame."""
    img = render_cameras(texture, poses)
    return np.abs(img.astype(np.int16) - frame[None].astype(np.int16)).mean(axis=(1, 2))


def _grid(s0, d0, p0, ds, dd, dp, ns, nd, np_):
    s = s0 + ds * np.arange(-ns, ns + 1)
    d = d0 + dd * np.arange(-nd, nd + 1)
    p = p0 + dp * np.arange(-np_, np_ + 1)
    S, D, P = np.meshgrid(s, d, p, indexing="ij")
    return S.ravel(), D.ravel(), P.ravel()


def _best(track, texture, frame, s, d, p):
    r = residuals(texture, frame, poses_at(track, s, d, p))
    k = int(np.argmin(r))
    return float(s[k]), float(d[k]), float(p[k]), float(r[k])


def _global(track, texture, frame, max_offset):
    s = np.arange(0.0, track.length, 0.1)
    d = np.linspace(-max_offset, max_offset, 7)
    p = np.radians(np.arange(-40.0, 41.0, 10.0))
    S, D, P = (a.ravel() for a in np.meshgrid(s, d, p, indexing="ij"))
    best = None
    for chunk in range(0, len(S), 4096):
        sl = slice(chunk, chunk + 4096)
        cand = _best(track, texture, frame, S[sl], D[sl], P[sl])
        if best is None or cand[3] < best[3]:
            best = cand
    assert best is not None
    return best


def _refine(track, texture, frame, s, d, p, r):
    """Pattern search: move to the best of the 3x3x3 neighbours, halve the steps when none is
    better, down to 5 mm, 3 mm and 0.3 degrees."""
    steps = np.array([0.08, 0.05, np.radians(5.0)])
    for _ in range(40):
        cand = _best(track, texture, frame, *_grid(s, d, p, *steps, 1, 1, 1))
        if cand[3] < r - 1e-9:
            s, d, p, r = cand
        else:
            steps = steps / 2
            if steps[0] < 0.005:
                break
    return s, d, p, r


def fit_poses(
    track: Track, texture: TrackTexture, frames: np.ndarray, max_offset: float = 0.6
) -> list[PoseFit]:
    """Best pose per frame (consecutive frames of one episode, see module docstring)."""
    fits: list[PoseFit] = []
    prev = None
    for frame in frames:
        cand = None
        if prev is not None:
            s0, d0, p0 = prev
            grid = _grid(s0 + 0.25, d0, p0, 0.05, 0.05, np.radians(4), 10, 3, 4)
            cand = _refine(track, texture, frame, *_best(track, texture, frame, *grid))
            median = float(np.median([f.residual for f in fits[-20:]]))
            if cand[3] > 1.25 * median:
                wide = _refine(track, texture, frame, *_global(track, texture, frame, max_offset))
                cand = wide if wide[3] < cand[3] else cand
        if cand is None:
            cand = _refine(track, texture, frame, *_global(track, texture, frame, max_offset))
        s, d, p, r = cand
        pose = poses_at(track, np.array([s]), np.array([d]), np.array([p]))[0]
        fits.append(PoseFit(s % track.length, d, p, tuple(float(v) for v in pose), r))
        prev = (s, d, p)
    return fits


def row_profile_error(real: np.ndarray, rendered: np.ndarray) -> float:
    """Mean over rows of |mean grey of the row (all frames, all columns) real - rendered|."""
    a = real.astype(np.float64).mean(axis=(0, 2))
    b = rendered.astype(np.float64).mean(axis=(0, 2))
    return float(np.abs(a - b).mean())


def histogram_distance(real: np.ndarray, rendered: np.ndarray) -> float:
    """Wasserstein-1 distance (grey levels) between the grey histograms of all pixels."""
    ha = np.bincount(real.ravel(), minlength=256).astype(np.float64)
    hb = np.bincount(rendered.ravel(), minlength=256).astype(np.float64)
    return float(np.abs(np.cumsum(ha / ha.sum()) - np.cumsum(hb / hb.sum())).sum())


def side_by_side(real: np.ndarray, rendered: np.ndarray, scale: int = 2) -> Image.Image:
    """Rows of [real | rendered | |difference|] for frames (K, H, W), enlarged `scale` times."""
    rows = [
        np.concatenate(
            [a, b, np.abs(a.astype(np.int16) - b.astype(np.int16)).astype(np.uint8)], axis=1
        )
        for a, b in zip(real, rendered, strict=True)
    ]
    grid = np.concatenate(rows, axis=0)
    img = Image.fromarray(grid)
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST)


def compare_frames(paths: list[Path], track: Track, worst: int, out: Path) -> dict[str, Any]:
    """Slipstream's camera against DeepRacer's frames `paths` (160x120 PNGs of one episode on
    `track`): a car pose fitted to each frame, then residuals, row-profile and histogram errors.

    Writes `out`/worst_frames.png (the `worst` frames beside their renders) and
    `out`/compare.json (summary and per-frame fits); returns the summary."""
    real = grey_frames(paths)
    texture = TrackTexture.from_track(track)
    fits = fit_poses(track, texture, real)
    rendered = render_cameras(texture, np.array([f.pose for f in fits]))
    res = np.array([f.residual for f in fits])
    worst_rows = np.argsort(-res)[:worst]
    out.mkdir(parents=True, exist_ok=True)
    png = out / "worst_frames.png"
    if len(worst_rows):
        side_by_side(real[worst_rows], rendered[worst_rows]).save(png)
    summary = {
        "track": track.name,
        "frames": len(paths),
        "residual_median": float(np.median(res)),
        "residual_mean": float(res.mean()),
        "residual_max": float(res.max()),
        "row_profile": row_profile_error(real, rendered),
        "row_profile_per_frame": float(
            np.mean(
                [row_profile_error(a[None], b[None]) for a, b in zip(real, rendered, strict=True)]
            )
        ),
        "histogram_w1": histogram_distance(real, rendered),
        "worst": [paths[i].name for i in worst_rows],
        "side_by_side": str(png),
    }
    per_frame = [
        {"frame": p.name, "s": f.s, "d": f.d, "psi": f.psi, "residual": f.residual}
        for p, f in zip(paths, fits, strict=True)
    ]
    (out / "compare.json").write_text(json.dumps({"summary": summary, "frames": per_frame}))
    return summary
