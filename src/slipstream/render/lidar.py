"""DeepRacer's 64-beam lidar, ray-cast against boxes for N cars at once, and its observation filters.

Mount (docs/deepracer.md 5.2): `hokuyo_joint` at (0.02913, 0, 0.16145) on the chassis, which is
0.023249 m above base_link, turned by yaw pi (the sensor faces backwards). The 64 beams span
-2.61799..+2.61799 rad in the laser frame, so beam 0 points 30 degrees left of the car's nose,
the middle beams point backwards and the 60 degree blind cone is toward the car's front. Range
0.15-12.0 m; a beam that hits nothing reads inf.

The world has no walls, only boxes (obstacles, other cars): each beam is a 2-D ray tested
against every box footprint (slab test on the oriented rectangle); box heights are ignored, as
in a planar scan. Hits closer than the minimum range read the minimum range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from slipstream.render.boxes import BoxSet


class LidarSpecError(ValueError):
    """Lidar settings or inputs that cannot be used."""


@dataclass(frozen=True)
class LidarSpec:
    """A planar scanning lidar rigidly mounted on the car (defaults: DeepRacer's Hokuyo).

    Lengths in metres in the base_link frame (x forward, y left), angles in radians.
    """

    position: tuple[float, float, float] = (0.02913, 0.0, 0.16145 + 0.023249)
    yaw: float = math.pi
    num_beams: int = 64
    angle_min: float = -2.61799
    angle_max: float = 2.61799
    range_min: float = 0.15
    range_max: float = 12.0
    noise_sigma: float = 0.01
    """Gaussian range noise (m), added only when a Generator is passed."""

    def __post_init__(self) -> None:
        if int(self.num_beams) != self.num_beams or self.num_beams < 1:
            raise LidarSpecError(f"num_beams must be a whole number >= 1, got {self.num_beams!r}")
        if not (self.angle_min <= self.angle_max):
            raise LidarSpecError("need angle_min <= angle_max")
        if not (0.0 <= self.range_min < self.range_max):
            raise LidarSpecError(
                f"need 0 <= range_min < range_max, got {self.range_min!r}, {self.range_max!r}"
            )
        if not (self.noise_sigma >= 0.0):
            raise LidarSpecError(f"noise_sigma must be >= 0 m, got {self.noise_sigma!r}")

    def beam_angles(self) -> np.ndarray:
        """(num_beams,) beam directions in the car frame (rad, CCW from the car's nose)."""
        return self.yaw + np.linspace(self.angle_min, self.angle_max, self.num_beams)


def lidar_ranges(
    poses: np.ndarray,
    boxes: BoxSet | None,
    spec: LidarSpec = LidarSpec(),
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Ranges (N, num_beams) float64 in metres for cars at poses (N, 3) [x, y, yaw].

    Car n sees the boxes of world n except those it owns. No hit (or beyond range_max): inf.
    With `rng`, Gaussian noise of `spec.noise_sigma` is added to the hits (then clipped to the
    range limits).
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] != 3:
        raise LidarSpecError(f"poses must have shape (N, 3) [x, y, yaw], got {poses.shape}")
    n = poses.shape[0]
    out = np.full((n, spec.num_beams), np.inf)
    if boxes is None or boxes.num_boxes == 0:
        return out
    boxes.check_batch(n)
    c, s = np.cos(poses[:, 2]), np.sin(poses[:, 2])
    ox = poses[:, 0] + c * spec.position[0] - s * spec.position[1]
    oy = poses[:, 1] + s * spec.position[0] + c * spec.position[1]
    beam = poses[:, 2, None] + spec.beam_angles()[None, :]  # (N, B) world angles
    # ray into each box's frame: (N, B, K)
    by = boxes.yaw[:, None, :]
    cb, sb = np.cos(by), np.sin(by)
    rx = (ox[:, None] - boxes.centers[:, :, 0])[:, None, :]
    ry = (oy[:, None] - boxes.centers[:, :, 1])[:, None, :]
    lox = cb * rx + sb * ry
    loy = -sb * rx + cb * ry
    dxw = np.cos(beam)[:, :, None]
    dyw = np.sin(beam)[:, :, None]
    ldx = cb * dxw + sb * dyw
    ldy = -sb * dxw + cb * dyw
    hl = 0.5 * boxes.size[:, None, :, 0]
    hw = 0.5 * boxes.size[:, None, :, 1]
    t_enter, t_exit = _slab_2d(lox, loy, ldx, ldy, hl, hw)
    seen = boxes.valid & (boxes.owner != np.arange(n)[:, None])
    hit = (t_enter <= t_exit) & (t_exit >= 0.0) & seen[:, None, :]
    dist = np.where(hit, np.maximum(t_enter, 0.0), np.inf).min(axis=2)
    if rng is not None and spec.noise_sigma > 0:
        finite = np.isfinite(dist)
        dist = np.where(finite, dist + spec.noise_sigma * rng.standard_normal(dist.shape), dist)
    dist = np.where(dist > spec.range_max, np.inf, dist)
    out[...] = np.where(np.isfinite(dist), np.maximum(dist, spec.range_min), np.inf)
    return out


def _slab_2d(ox, oy, dx, dy, hl, hw):
    """Entry/exit distances of rays o + t d through rectangles |x| <= hl, |y| <= hw."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tx1 = (-hl - ox) / dx
        tx2 = (hl - ox) / dx
        ty1 = (-hw - oy) / dy
        ty2 = (hw - oy) / dy
    # a ray parallel to a slab is inside it for all t or never
    par_x = dx == 0.0
    inside_x = np.abs(ox) <= hl
    tx_lo = np.where(par_x, np.where(inside_x, -np.inf, np.inf), np.minimum(tx1, tx2))
    tx_hi = np.where(par_x, np.where(inside_x, np.inf, -np.inf), np.maximum(tx1, tx2))
    par_y = dy == 0.0
    inside_y = np.abs(oy) <= hw
    ty_lo = np.where(par_y, np.where(inside_y, -np.inf, np.inf), np.minimum(ty1, ty2))
    ty_hi = np.where(par_y, np.where(inside_y, np.inf, -np.inf), np.maximum(ty1, ty2))
    return np.maximum(tx_lo, ty_lo), np.minimum(tx_hi, ty_hi)


def lidar_observation(ranges: np.ndarray, low: float = 0.15, high: float = 1.0) -> np.ndarray:
    """DeepRacer's LIDAR observation: ranges clipped to [0.15, 1.0] (inf reads 1.0), float32."""
    return np.clip(np.asarray(ranges, dtype=np.float64), low, high).astype(np.float32)


def sector_lidar(
    ranges: np.ndarray,
    num_sectors: int = 8,
    values_per_sector: int = 1,
    clip: float = 0.5,
) -> np.ndarray:
    """DeepRacer's sector filters (docs/deepracer.md 4.1) over ranges (..., B): float32 (..., S*V).

    Each sector is the minimum of B / num_sectors neighbouring beams (inf reads `clip`). With
    one value per sector (SECTOR_LIDAR) a sector is 1 when something is closer than `clip`.
    With V values (DISCRETIZED_SECTOR_LIDAR) the sector is one-hot over V distance bins of
    width clip / V: bin floor(min(d, clip) / (clip / V)); bin V (nothing within clip) is dropped,
    so an empty sector is all zeros.
    """
    r = np.asarray(ranges, dtype=np.float64)
    beams = r.shape[-1]
    if int(num_sectors) != num_sectors or num_sectors < 1 or beams % num_sectors:
        raise LidarSpecError(
            f"num_sectors must divide the {beams} beams evenly, got {num_sectors!r}"
        )
    if int(values_per_sector) != values_per_sector or values_per_sector < 1:
        raise LidarSpecError(f"values_per_sector must be >= 1, got {values_per_sector!r}")
    if not (clip > 0.0):
        raise LidarSpecError(f"clip must be > 0 m, got {clip!r}")
    sectors = r.reshape(*r.shape[:-1], num_sectors, beams // num_sectors).min(axis=-1)
    sectors = np.minimum(np.nan_to_num(sectors, nan=clip, posinf=clip), clip)
    v = int(values_per_sector)
    bins = np.floor(sectors / (clip / v)).astype(np.int64)
    onehot = bins[..., None] == np.arange(v)
    return onehot.reshape(*r.shape[:-1], num_sectors * v).astype(np.float32)
