"""The camera's per-pixel sampling plan, worked out once per camera and texture resolution.

Each 160x120 pixel is DeepRacer's bilinear shrink of 640x480 native pixels: a triangle filter
over the 8x8 native pixels around it. `ray_table` traces those native rays to the flat ground
(car frame) and summarises each pixel's ground footprint by its centroid and covariance. The
footprint is replaced by `n` texture samples ("taps") spread along its long axis, each read from
the mip level whose texel matches a 1/n share of the footprint (geometric mean of its axes).

Rows wholly below the horizon are stored as *runs*: along an image row the tap positions are
an exact affine function of the column (each native row's ground points are affine in the
column, and the filter weights are the same for every column), so the kernel steps a start
point by a fixed vector per column instead of reading a table per pixel. Rows that cross the
horizon are stored per pixel ("mixed"). Rows wholly above the horizon get one grey (what lies
above is painted by the wall kernel).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from slipstream.render.camera import CameraSpec


class RayTable(NamedTuple):
    """Sampling plan of one camera (pixels p = row * W + column). See the module docstring.

    Run positions are car-frame ground points relative to base_link in texel units of the
    run's mip level: tap at column j = (x0 + j * dx, y0 + j * dy).
    """

    sky_elev: np.ndarray  # (S,) elevation (rad) of pixels 0..S-1: whole rows of plain sky
    run_pix0: np.ndarray  # (R,) int64 pixel index of column 0 of the run's row
    run_j0: np.ndarray  # (R,) int64 first column
    run_j1: np.ndarray  # (R,) int64 one past the last column
    run_level: np.ndarray  # (R,) int64 mip level
    run_taps: np.ndarray  # (R,) int64 taps per pixel (their mean is the pixel)
    run_bilinear: np.ndarray  # (R,) bool: one tap, interpolated between texels (magnified)
    run_x0: np.ndarray  # (R, T) float64, per tap (T = max_ground_taps; unused taps 0)
    run_y0: np.ndarray  # (R, T) float64
    run_dx: np.ndarray  # (R, T) float64
    run_dy: np.ndarray  # (R, T) float64
    mix_pix: np.ndarray  # (Q,) int64
    mix_above: np.ndarray  # (Q,) float64 fraction of the pixel's filter above the horizon
    mix_start: np.ndarray  # (Q+1,) int64 taps of mixed pixel q: [mix_start[q], mix_start[q+1])
    mix_gx: np.ndarray  # (T,) float64 texel units of mix_level
    mix_gy: np.ndarray  # (T,) float64
    mix_level: np.ndarray  # (T,) int64
    mix_w: np.ndarray  # (T,) float64 weights; a pixel's sum is its ground fraction
    ground_points: np.ndarray  # (P, 2) car-frame ground point of each pixel-centre ray (NaN: sky)
    tap_count: np.ndarray  # (P,) int64 ground taps per pixel
    tap_level: np.ndarray  # (P,) int64 mip level of the pixel's taps (-1: none)
    column_az: np.ndarray  # (W,) car-frame azimuth (rad) of each column at the horizon


def resize_weights(native: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PIL's bilinear resize as (out, taps) native indices and normalised weights (0 pads)."""
    scale = native / out
    support = max(scale, 1.0)
    taps = math.ceil(support) * 2 + 1
    centre = (np.arange(out) + 0.5) * scale
    first = np.floor(centre - support + 0.5).astype(np.int64)
    idx = first[:, None] + np.arange(taps)[None, :]
    w = np.clip(1.0 - np.abs((idx + 0.5 - centre[:, None]) / support), 0.0, None)
    w[(idx < 0) | (idx >= native)] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    return np.clip(idx, 0, native - 1), w


class _Footprints(NamedTuple):
    ground: np.ndarray  # (P,) ground fraction of the filter
    mx: np.ndarray  # (P,) centroid, metres, car frame
    my: np.ndarray
    lam1: np.ndarray  # (P,) variance along the long axis (m^2)
    lam2: np.ndarray
    ex: np.ndarray  # (P,) long-axis unit vector
    ey: np.ndarray
    above: np.ndarray  # (P,) fraction above the horizon
    elev: np.ndarray  # (P,) mean elevation of that fraction


def _footprints(spec: CameraSpec, lateral_offset: float) -> _Footprints:
    from slipstream.render.camera import camera_origin, pixel_directions

    w, h = spec.width, spec.height
    cols, wx = resize_weights(spec.native_size[0], w)
    rows, wy = resize_weights(spec.native_size[1], h)
    u = cols[None, :, None, :] + 0.5
    v = rows[:, None, :, None] + 0.5
    weight = wy[:, None, :, None] * wx[None, :, None, :]
    u, v = np.broadcast_arrays(u, v)
    p_count = h * w
    d = pixel_directions(spec, u, v).reshape(p_count, -1, 3)
    weight = weight.reshape(p_count, -1)
    o = camera_origin(spec, lateral_offset)
    hit = d[..., 2] < -1e-12
    t = np.where(hit, -o[2] / np.where(hit, d[..., 2], -1.0), 0.0)
    gx = o[0] + t * d[..., 0]
    gy = o[1] + t * d[..., 1]
    gw = np.where(hit, weight, 0.0)
    g = gw.sum(axis=1)
    g[g < 1e-6] = 0.0
    safe = np.where(g > 0, g, 1.0)
    mx = (gw * gx).sum(axis=1) / safe
    my = (gw * gy).sum(axis=1) / safe
    cxx = (gw * (gx - mx[:, None]) ** 2).sum(axis=1) / safe
    cyy = (gw * (gy - my[:, None]) ** 2).sum(axis=1) / safe
    cxy = (gw * (gx - mx[:, None]) * (gy - my[:, None])).sum(axis=1) / safe
    half_tr = 0.5 * (cxx + cyy)
    disc = np.sqrt(np.maximum(0.25 * (cxx - cyy) ** 2 + cxy**2, 0.0))
    lam1 = np.maximum(half_tr + disc, 1e-14)
    lam2 = np.maximum(half_tr - disc, 1e-3 * lam1)
    ex, ey = cxy, lam1 - cxx
    degenerate = np.abs(ex) + np.abs(ey) < 1e-18
    ex = np.where(degenerate, np.where(cxx >= cyy, 1.0, 0.0), ex)
    ey = np.where(degenerate, np.where(cxx >= cyy, 0.0, 1.0), ey)
    norm = np.hypot(ex, ey)
    aw = np.where(hit, 0.0, weight)
    above = aw.sum(axis=1)
    above[above < 1e-6] = 0.0
    safe_a = np.where(above > 0, above, 1.0)
    elev = np.arctan2(d[..., 2], np.hypot(d[..., 0], d[..., 1]))
    return _Footprints(
        ground=g,
        mx=mx,
        my=my,
        lam1=lam1,
        lam2=lam2,
        ex=ex / norm,
        ey=ey / norm,
        above=above,
        elev=(aw * elev).sum(axis=1) / safe_a,
    )


def _levels(
    lam1: np.ndarray,
    lam2: np.ndarray,
    n_taps: np.ndarray,
    spec: CameraSpec,
    resolution: float,
    num_levels: int,
) -> np.ndarray:
    """Mip level per pixel for `n_taps` taps spread over footprints of variances lam1 >= lam2."""
    n = np.maximum(n_taps, 1)
    per_tap_var = np.sqrt(np.maximum(lam1 / n**2, lam2) * lam2)  # geometric mean of the axes
    size = np.sqrt(12.0 * per_tap_var)
    level = np.floor(np.log2(np.maximum(size, 1e-9) / resolution) + 0.5 + spec.mip_bias)
    return np.clip(level, 0, num_levels - 1).astype(np.int64)


@functools.lru_cache(maxsize=32)
def ray_table(
    spec: CameraSpec, lateral_offset: float, resolution: float, num_levels: int
) -> RayTable:
    """Build (and cache) the sampling plan for a texture of `resolution` m/texel at level 0."""
    from slipstream.render.camera import camera_origin, ground_hits

    w, h = spec.width, spec.height
    fp = _footprints(spec, lateral_offset)
    o = camera_origin(spec, lateral_offset)
    aniso = np.sqrt(fp.lam1 / fp.lam2)
    n_pixel = np.round(aniso / spec.anisotropy_per_tap)
    n_pixel = np.clip(n_pixel, 1, spec.max_ground_taps).astype(np.int64)
    n_pixel[fp.ground <= 0.0] = 0
    plain_sky = fp.ground <= 0.0
    ground_only = (fp.ground > 0.0) & (fp.above <= 0.0)
    plain_sky_rows = plain_sky.reshape(h, w).all(axis=1)
    sky_rows = int(np.argmin(plain_sky_rows)) if not plain_sky_rows.all() else h
    ground_rows = ground_only.reshape(h, w).all(axis=1)
    ground_rows[:sky_rows] = False

    taps_max = int(spec.max_ground_taps)
    tap_count = n_pixel.copy()
    tap_level = np.full(h * w, -1, dtype=np.int64)
    runs: dict[str, list] = {key: [] for key in RayTable._fields if key.startswith("run_")}
    interior = np.arange(1, w - 1) if w > 2 else np.arange(w)
    for row in np.flatnonzero(ground_rows):
        pix = row * w + np.arange(w)
        n = int(n_pixel[row * w + w // 2])
        tap_count[pix] = n
        level = _levels(fp.lam1[pix], fp.lam2[pix], n, spec, resolution, num_levels)
        tap_level[pix] = level
        # the centroid is affine in the column: fit it on the columns PIL does not clip
        cx = np.polyfit(interior, fp.mx[pix][interior], 1)
        cy = np.polyfit(interior, fp.my[pix][interior], 1)
        radial = np.hypot(fp.mx[pix] - o[0], fp.my[pix] - o[1])
        kappa = float(np.median(np.sqrt(12.0 * fp.lam1[pix]) / np.maximum(radial, 1e-9)))
        centre = row * w + w // 2
        magnified = (
            spec.bilinear_near
            and n == 1
            and math.sqrt(12.0 * math.sqrt(fp.lam1[centre] * fp.lam2[centre]))
            < spec.bilinear_below * resolution
        )
        bounds = np.flatnonzero(np.diff(level)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [w]])
        # tap k at column j: C(j) + f_k (C(j) - O) = (1 + f_k) C(j) - f_k O, affine in j
        f = kappa * ((np.arange(taps_max) + 0.5) / n - 0.5)
        f[n:] = 0.0
        for j0, j1 in zip(starts, ends, strict=True):
            texel = resolution * 2.0 ** level[j0]
            runs["run_pix0"].append(row * w)
            runs["run_j0"].append(j0)
            runs["run_j1"].append(j1)
            runs["run_level"].append(level[j0])
            runs["run_taps"].append(n)
            runs["run_bilinear"].append(magnified)
            runs["run_x0"].append(((1.0 + f) * cx[1] - f * o[0]) / texel)
            runs["run_y0"].append(((1.0 + f) * cy[1] - f * o[1]) / texel)
            runs["run_dx"].append((1.0 + f) * cx[0] / texel)
            runs["run_dy"].append((1.0 + f) * cy[0] / texel)

    row_of = np.repeat(np.arange(h), w)
    mixed = ~ground_rows[row_of] & (row_of >= sky_rows)
    mix_idx = np.flatnonzero(mixed)
    level_px = _levels(fp.lam1, fp.lam2, n_pixel, spec, resolution, num_levels)
    tap_level[mix_idx] = np.where(n_pixel[mix_idx] > 0, level_px[mix_idx], -1)
    counts = n_pixel[mix_idx]
    q = np.repeat(np.arange(len(mix_idx)), counts)
    pix = mix_idx[q]
    k = np.arange(len(q)) - np.repeat(np.cumsum(counts) - counts, counts)
    frac = (k + 0.5) / np.maximum(counts[q], 1) - 0.5
    spread = np.sqrt(12.0 * fp.lam1[pix]) * frac
    texel = resolution * 2.0 ** level_px[pix]
    mix_start = np.zeros(len(mix_idx) + 1, dtype=np.int64)
    mix_start[1:] = np.cumsum(counts)

    cu, cv = np.meshgrid((np.arange(w) + 0.5) * spec.scale, (np.arange(h) + 0.5) * spec.scale)
    centre_pts, centre_hit = ground_hits(spec, cu, cv, lateral_offset)
    tap_keys = ("run_x0", "run_y0", "run_dx", "run_dy")
    int_keys = ("run_pix0", "run_j0", "run_j1", "run_level", "run_taps")
    table = RayTable(
        sky_elev=fp.elev[: sky_rows * w].copy(),
        **{
            key: np.asarray(
                values,
                dtype=np.int64
                if key in int_keys
                else (np.bool_ if key == "run_bilinear" else np.float64),
            ).reshape((-1, taps_max) if key in tap_keys else (-1,))
            for key, values in runs.items()
        },
        mix_pix=mix_idx.astype(np.int64),
        mix_above=fp.above[mix_idx],
        mix_start=mix_start,
        mix_gx=(fp.mx[pix] + spread * fp.ex[pix]) / texel,
        mix_gy=(fp.my[pix] + spread * fp.ey[pix]) / texel,
        mix_level=level_px[pix],
        mix_w=fp.ground[pix] / np.maximum(counts[q], 1),
        ground_points=np.where(centre_hit[..., None], centre_pts, np.nan).reshape(h * w, 2),
        tap_count=tap_count,
        tap_level=tap_level,
        column_az=np.arctan2(
            -(np.arange(w) + 0.5 - 0.5 * w) / spec.focal * math.cos(spec.pitch), 1.0
        ),
    )
    for arr in table:
        arr.setflags(write=False)
    return table
