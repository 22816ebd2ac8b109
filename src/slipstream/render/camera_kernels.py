"""Numba kernels of the camera: ground from a `RayTable`, walls and void, the LUT.

All kernels are single-threaded, compiled once (cache=True) and write into `out` (N, P) uint8,
one flattened image per car. See `camera.py` for the geometry and `camera_table.py` for the plan.
"""

from __future__ import annotations

import numba
import numpy as np

FIXED_ONE = 65536
"""Texel coordinates of the ground runs are stepped in 16.16 fixed point."""


@numba.njit(cache=True, fastmath=False)
def ground_kernel(
    out,
    poses,
    flat,
    level_offset,
    level_shape,
    origin_x,
    origin_y,
    resolution,
    above,
    n_sky_px,
    run_pix0,
    run_j0,
    run_j1,
    run_level,
    run_taps,
    run_bilinear,
    run_x0,
    run_y0,
    run_dx,
    run_dy,
    mix_pix,
    mix_above,
    mix_start,
    mix_gx,
    mix_gy,
    mix_level,
    mix_w,
    width,
):  # pragma: no cover - numba
    """Ground of every car into out (N, P) uint8; whatever lies above the horizon gets the grey
    `above` (the field: `wall_kernel` paints walls and void over it)."""
    n_cars = out.shape[0]
    n_levels = level_offset.shape[0]
    n_mix = mix_pix.shape[0]
    above_int = np.uint8(int(above))
    inv_texel = np.empty(n_levels, dtype=np.float64)
    for lv in range(n_levels):
        inv_texel[lv] = 1.0 / (resolution * 2.0**lv)
    taps_max = run_x0.shape[1]
    acc = np.zeros(max(width, 1), dtype=np.int64)
    fx0 = np.empty(taps_max, dtype=np.int64)
    fy0 = np.empty(taps_max, dtype=np.int64)
    fdx = np.empty(taps_max, dtype=np.int64)
    fdy = np.empty(taps_max, dtype=np.int64)
    for n in range(n_cars):
        x = poses[n, 0]
        y = poses[n, 1]
        yaw = poses[n, 2]
        c = np.cos(yaw)
        s = np.sin(yaw)
        image = out[n]
        image[:n_sky_px] = above_int
        # pixels crossing the horizon
        for q in range(n_mix):
            value = mix_above[q] * above
            for k in range(mix_start[q], mix_start[q + 1]):
                lv = mix_level[k]
                cols = level_shape[lv, 1]
                fx = (x - origin_x) * inv_texel[lv] + 1.0 + c * mix_gx[k] - s * mix_gy[k]
                fy = (y - origin_y) * inv_texel[lv] + 1.0 + s * mix_gx[k] + c * mix_gy[k]
                fx = min(max(fx, 0.0), cols - 1.0)
                fy = min(max(fy, 0.0), level_shape[lv, 0] - 1.0)
                value += mix_w[k] * flat[level_offset[lv] + int(fy) * cols + int(fx)]
            v = int(value)
            image[mix_pix[q]] = 255 if v > 255 else (0 if v < 0 else v)
        # rows wholly on the ground: step along each run in 16.16 fixed point (fast, exact
        # enough: 160 steps drift < 0.003 texel)
        for r in range(run_pix0.shape[0]):
            lv = run_level[r]
            # padded level: texel (0, 0) is the grass border one texel before the origin
            tx = (x - origin_x) * inv_texel[lv] + 1.0
            ty = (y - origin_y) * inv_texel[lv] + 1.0
            bilinear = run_bilinear[r]
            shift = 0.5 if bilinear else 0.0  # bilinear: measure from texel centres
            taps = run_taps[r]
            for k in range(taps):
                fx0[k] = np.int64(
                    np.floor((tx + c * run_x0[r, k] - s * run_y0[r, k] - shift) * FIXED_ONE)
                )
                fy0[k] = np.int64(
                    np.floor((ty + s * run_x0[r, k] + c * run_y0[r, k] - shift) * FIXED_ONE)
                )
                fdx[k] = np.int64(np.floor((c * run_dx[r, k] - s * run_dy[r, k]) * FIXED_ONE + 0.5))
                fdy[k] = np.int64(np.floor((s * run_dx[r, k] + c * run_dy[r, k]) * FIXED_ONE + 0.5))
            cols = level_shape[lv, 1]
            edge = 1 if bilinear else 0
            xmax = (cols - 1 - edge) * FIXED_ONE
            ymax = (level_shape[lv, 0] - 1 - edge) * FIXED_ONE
            tex = flat[level_offset[lv] :]
            dst = image[run_pix0[r] :]
            j0 = run_j0[r]
            j1 = run_j1[r]
            # positions are affine in j: if both ends of every tap are inside, all are
            inside = True
            for k in range(taps):
                for jj in (j0, j1 - 1):
                    fx = fx0[k] + jj * fdx[k]
                    fy = fy0[k] + jj * fdy[k]
                    if fx < 0 or fx > xmax or fy < 0 or fy > ymax:
                        inside = False
            if bilinear:
                # magnified (a texel is larger than the pixel's footprint): bilinear
                x0 = fx0[0]
                y0 = fy0[0]
                dx = fdx[0]
                dy = fdy[0]
                for j in range(j0, j1):
                    fx = min(max(x0 + j * dx, 0), xmax)
                    fy = min(max(y0 + j * dy, 0), ymax)
                    ax = (fx >> 8) & 255
                    ay = (fy >> 8) & 255
                    i00 = np.uint64((fy >> 16) * cols + (fx >> 16))
                    t00 = np.int64(tex[i00])
                    t01 = np.int64(tex[i00 + 1])
                    t10 = np.int64(tex[i00 + cols])
                    t11 = np.int64(tex[i00 + cols + 1])
                    upper = (t00 << 8) + ax * (t01 - t00)
                    lower = (t10 << 8) + ax * (t11 - t10)
                    dst[np.uint64(j)] = ((upper << 8) + ay * (lower - upper)) >> 16
            elif taps == 1:
                x0 = fx0[0]
                y0 = fy0[0]
                dx = fdx[0]
                dy = fdy[0]
                if inside:
                    for j in range(j0, j1):
                        fx = x0 + j * dx
                        fy = y0 + j * dy
                        dst[np.uint64(j)] = tex[np.uint64((fy >> 16) * cols + (fx >> 16))]
                else:
                    for j in range(j0, j1):
                        fx = min(max(x0 + j * dx, 0), xmax)
                        fy = min(max(y0 + j * dy, 0), ymax)
                        dst[np.uint64(j)] = tex[np.uint64((fy >> 16) * cols + (fx >> 16))]
            elif taps == 2 and inside:
                xa = fx0[0]
                ya = fy0[0]
                dxa = fdx[0]
                dya = fdy[0]
                xb = fx0[1]
                yb = fy0[1]
                dxb = fdx[1]
                dyb = fdy[1]
                for j in range(j0, j1):
                    ta = np.int64(
                        tex[np.uint64(((ya + j * dya) >> 16) * cols + ((xa + j * dxa) >> 16))]
                    )
                    tb = np.int64(
                        tex[np.uint64(((yb + j * dyb) >> 16) * cols + ((xb + j * dxb) >> 16))]
                    )
                    dst[np.uint64(j)] = (ta + tb) >> 1
            elif taps == 2:
                xa = fx0[0]
                ya = fy0[0]
                dxa = fdx[0]
                dya = fdy[0]
                xb = fx0[1]
                yb = fy0[1]
                dxb = fdx[1]
                dyb = fdy[1]
                for j in range(j0, j1):
                    fx = min(max(xa + j * dxa, 0), xmax)
                    fy = min(max(ya + j * dya, 0), ymax)
                    ta = np.int64(tex[np.uint64((fy >> 16) * cols + (fx >> 16))])
                    fx = min(max(xb + j * dxb, 0), xmax)
                    fy = min(max(yb + j * dyb, 0), ymax)
                    tb = np.int64(tex[np.uint64((fy >> 16) * cols + (fx >> 16))])
                    dst[np.uint64(j)] = (ta + tb) >> 1
            else:
                # 3+ taps (far, elongated footprints): one pass per tap into a row sum
                for j in range(j0, j1):
                    acc[j] = 0
                for k in range(taps):
                    x0 = fx0[k]
                    y0 = fy0[k]
                    dx = fdx[k]
                    dy = fdy[k]
                    if inside:
                        for j in range(j0, j1):
                            fx = x0 + j * dx
                            fy = y0 + j * dy
                            acc[j] += tex[np.uint64((fy >> 16) * cols + (fx >> 16))]
                    else:
                        for j in range(j0, j1):
                            fx = min(max(x0 + j * dx, 0), xmax)
                            fy = min(max(y0 + j * dy, 0), ymax)
                            acc[j] += tex[np.uint64((fy >> 16) * cols + (fx >> 16))]
                for j in range(j0, j1):
                    dst[np.uint64(j)] = acc[j] // taps


@numba.njit(cache=True, fastmath=False)
def apply_lut(out, lut):  # pragma: no cover - numba
    """out[n, p] = lut[n, out[n, p]]."""
    for n in range(out.shape[0]):
        for p in range(out.shape[1]):
            out[n, p] = lut[n, out[n, p]]


@numba.njit(cache=True, fastmath=False)
def _below(u):  # pragma: no cover - numba
    """Share of a pixel's [-1, 1] triangle filter (image rows) lying above offset u."""
    if u <= -1.0:
        return 0.0
    if u >= 1.0:
        return 1.0
    if u <= 0.0:
        return 0.5 * (1.0 + u) * (1.0 + u)
    return 1.0 - 0.5 * (1.0 - u) * (1.0 - u)


@numba.njit(cache=True, fastmath=False)
def wall_kernel(
    out,
    height,
    width,
    poses,
    cam_x,
    cam_y,
    cam_z,
    cos_pitch,
    sin_pitch,
    focal,
    column_az,
    rect,
    wall_height,
    face_grey,
    void_grey,
):  # pragma: no cover - numba
    """Walls (a box around the field) and the void above them over the ground in out (N, P).

    Per column, the wall is where the column's horizon azimuth leaves the box: its foot and top
    project to image rows, and each pixel blends ground (already in `out`), wall face and void by
    how much of its triangle filter (DeepRacer's bilinear shrink: +-1 image row) lies below the
    foot, between foot and top, and above the top.
    """
    half_h = 0.5 * height
    big = 1e30
    void_int = np.uint8(int(void_grey + 1e-6))
    foot = np.empty(width, dtype=np.float64)
    top = np.empty(width, dtype=np.float64)
    wall = np.empty(width, dtype=np.float64)
    cos_az = np.cos(column_az)
    for n in range(out.shape[0]):
        c = np.cos(poses[n, 2])
        s = np.sin(poses[n, 2])
        ox = poses[n, 0] + c * cam_x - s * cam_y
        oy = poses[n, 1] + s * cam_x + c * cam_y
        image = out[n]
        last = 0
        for j in range(width):
            az = poses[n, 2] + column_az[j]
            dx = np.cos(az)
            dy = np.sin(az)
            tx = big
            fx = 0
            if dx > 1e-12:
                tx = (rect[2] - ox) / dx
                fx = 1
            elif dx < -1e-12:
                tx = (rect[0] - ox) / dx
            ty = big
            fy = 2
            if dy > 1e-12:
                ty = (rect[3] - oy) / dy
                fy = 3
            elif dy < -1e-12:
                ty = (rect[1] - oy) / dy
            if tx < ty:
                t = tx
                face = fx
            else:
                t = ty
                face = fy
            if t < 0.01:
                t = 0.01
            fwd = t * cos_az[j]  # distance along the car's forward axis
            rise = -cam_z  # wall foot relative to the camera
            depth = fwd * cos_pitch - rise * sin_pitch
            foot[j] = half_h + focal * (-fwd * sin_pitch - rise * cos_pitch) / depth
            rise = wall_height - cam_z
            depth = fwd * cos_pitch - rise * sin_pitch
            if depth > 1e-9:
                top[j] = half_h + focal * (-fwd * sin_pitch - rise * cos_pitch) / depth
            else:
                top[j] = -big
            wall[j] = face_grey[face]
            rows = int(foot[j] + 1.5)
            if rows > last:
                last = rows
        if last > height:
            last = height
        for r in range(last):
            lo = r - 0.5  # the pixel's filter spans rows [r - 0.5, r + 1.5]
            hi = r + 1.5
            centre = r + 0.5
            row = image[r * width : (r + 1) * width]
            for j in range(width):
                if hi <= top[j]:  # the whole filter above the wall top
                    row[j] = void_int
                elif lo >= top[j] and hi <= foot[j]:  # the whole filter on the wall
                    row[j] = np.uint8(int(wall[j] + 1e-6))
                elif lo < foot[j]:
                    a_foot = _below(foot[j] - centre)
                    a_top = _below(top[j] - centre)
                    v = row[j] * (1.0 - a_foot) + wall[j] * (a_foot - a_top) + void_grey * a_top
                    row[j] = int(v + 1e-6)
