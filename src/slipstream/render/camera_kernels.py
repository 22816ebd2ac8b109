"""Numba kernels of the camera: ground and sky from a `RayTable`, boxes by ray casting, LUT.

All kernels are single-threaded, compiled once (cache=True) and write into `out` (N, P) uint8,
one flattened image per car. See `camera.py` for the geometry and `camera_table.py` for the plan.
"""

from __future__ import annotations

import numba
import numpy as np

SKY_GRADIENT_SPAN = 0.18
"""Elevation (rad) above the horizon where the sky gradient reaches the top colour."""
FIXED_ONE = 65536
"""Texel coordinates of the ground runs are stepped in 16.16 fixed point."""
FACE_SHADE = (0.82, 0.62, 1.22)
"""Box face brightness relative to its shade: the faces across its length (front/back), the
faces along it (sides), the top."""


@numba.njit(cache=True, fastmath=False)
def _sky_grey(elev, sky_horizon, sky_top):  # pragma: no cover - numba
    grad = elev / SKY_GRADIENT_SPAN
    if grad > 1.0:
        grad = 1.0
    elif grad < 0.0:
        grad = 0.0
    return sky_horizon + (sky_top - sky_horizon) * grad


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
    sky_horizon,
    sky_top,
    band,
    skyline,
    pix_angle,
    sky_elev,
    run_pix0,
    run_j0,
    run_j1,
    run_level,
    run_x0,
    run_y0,
    run_dx,
    run_dy,
    run_kind,
    run_inv_n,
    mix_pix,
    mix_above,
    mix_elev,
    mix_az,
    mix_band,
    mix_start,
    mix_gx,
    mix_gy,
    mix_level,
    mix_w,
    column_az,
):  # pragma: no cover - numba
    """Ground, sky and background band of every car into out (N, P) uint8."""
    n_cars = out.shape[0]
    width = 0
    for r in range(run_j1.shape[0]):
        width = max(width, run_j1[r])
    n_levels = level_offset.shape[0]
    n_mix = mix_pix.shape[0]
    n_sky_px = sky_elev.shape[0]
    n_skyline = skyline.shape[0]
    turn = n_skyline / (2.0 * np.pi)
    sky_values = np.empty(n_sky_px, dtype=np.uint8)
    for r in range(n_sky_px):
        sky_values[r] = int(_sky_grey(sky_elev[r], sky_horizon, sky_top))
    mix_static = np.empty(n_mix, dtype=np.float64)
    mix_delta = np.empty(n_mix, dtype=np.float64)
    for q in range(n_mix):
        sky = _sky_grey(mix_elev[q], sky_horizon, sky_top)
        mix_static[q] = mix_above[q] * sky
        mix_delta[q] = mix_above[q] * (band - sky)
    inv_texel = np.empty(n_levels, dtype=np.float64)
    for lv in range(n_levels):
        inv_texel[lv] = 1.0 / (resolution * 2.0**lv)
    acc = np.zeros(max(width, 1), dtype=np.uint16)
    top = np.empty(max(width, 1), dtype=np.float64)
    for n in range(n_cars):
        x = poses[n, 0]
        y = poses[n, 1]
        yaw = poses[n, 2]
        c = np.cos(yaw)
        s = np.sin(yaw)
        image = out[n]
        image[:n_sky_px] = sky_values
        # pixels crossing the horizon or showing the band: the skyline turns with the car
        yaw_index = (yaw % (2.0 * np.pi)) * turn + n_skyline
        for j in range(width):
            top[j] = skyline[int(yaw_index + column_az[j] * turn) & (n_skyline - 1)]
        for q in range(n_mix):
            value = mix_static[q]
            if mix_band[q]:
                cov = (top[mix_pix[q] % width] - mix_elev[q]) / pix_angle + 0.5
                if cov > 1.0:
                    cov = 1.0
                elif cov < 0.0:
                    cov = 0.0
                value += mix_delta[q] * cov
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
            kind = run_kind[r]
            shift = 0.5 if kind == 4 else 0.0  # bilinear: measure from texel centres
            x0 = np.int64(np.floor((tx + c * run_x0[r] - s * run_y0[r] - shift) * FIXED_ONE))
            y0 = np.int64(np.floor((ty + s * run_x0[r] + c * run_y0[r] - shift) * FIXED_ONE))
            dx = np.int64(np.floor((c * run_dx[r] - s * run_dy[r]) * FIXED_ONE + 0.5))
            dy = np.int64(np.floor((s * run_dx[r] + c * run_dy[r]) * FIXED_ONE + 0.5))
            cols = level_shape[lv, 1]
            edge = 1 if kind == 4 else 0
            xmax = (cols - 1 - edge) * FIXED_ONE
            ymax = (level_shape[lv, 0] - 1 - edge) * FIXED_ONE
            tex = flat[level_offset[lv] :]
            dst = image[run_pix0[r] :]
            j0 = run_j0[r]
            j1 = run_j1[r]
            if kind == 0:
                for j in range(j0, j1):
                    fx = min(max(x0 + j * dx, 0), xmax)
                    fy = min(max(y0 + j * dy, 0), ymax)
                    dst[np.uint64(j)] = tex[np.uint64((fy >> 16) * cols + (fx >> 16))]
            elif kind == 4:
                # magnified (a texel is larger than the pixel's footprint): bilinear
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
            elif kind == 1:
                for j in range(j0, j1):
                    fx = min(max(x0 + j * dx, 0), xmax)
                    fy = min(max(y0 + j * dy, 0), ymax)
                    acc[np.uint64(j)] = tex[np.uint64((fy >> 16) * cols + (fx >> 16))]
            elif kind == 2:
                for j in range(j0, j1):
                    fx = min(max(x0 + j * dx, 0), xmax)
                    fy = min(max(y0 + j * dy, 0), ymax)
                    acc[np.uint64(j)] += tex[np.uint64((fy >> 16) * cols + (fx >> 16))]
            else:
                inv_n = np.float32(run_inv_n[r])
                for j in range(j0, j1):
                    fx = min(max(x0 + j * dx, 0), xmax)
                    fy = min(max(y0 + j * dy, 0), ymax)
                    total = acc[np.uint64(j)] + np.uint16(
                        tex[np.uint64((fy >> 16) * cols + (fx >> 16))]
                    )
                    dst[np.uint64(j)] = np.uint8(np.float32(total) * inv_n)


@numba.njit(cache=True, fastmath=False)
def apply_lut(out, lut):  # pragma: no cover - numba
    """out[n, p] = lut[n, out[n, p]]."""
    for n in range(out.shape[0]):
        for p in range(out.shape[1]):
            out[n, p] = lut[n, out[n, p]]


@numba.njit(cache=True, fastmath=False)
def _slab(lox, loy, loz, dx, dy, dz, hl, hw, hh):  # pragma: no cover - numba
    """Entry distance and face (0: x faces, 1: y faces, 2: top) of a ray into a box, or -1."""
    tmin = 0.0
    tmax = 1e30
    face = -1
    # x slab
    if abs(dx) < 1e-12:
        if lox < -hl or lox > hl:
            return 1e30, -1
    else:
        t1 = (-hl - lox) / dx
        t2 = (hl - lox) / dx
        if t1 > t2:
            t1, t2 = t2, t1
        if t1 > tmin:
            tmin = t1
            face = 0
        if t2 < tmax:
            tmax = t2
    if abs(dy) < 1e-12:
        if loy < -hw or loy > hw:
            return 1e30, -1
    else:
        t1 = (-hw - loy) / dy
        t2 = (hw - loy) / dy
        if t1 > t2:
            t1, t2 = t2, t1
        if t1 > tmin:
            tmin = t1
            face = 1
        if t2 < tmax:
            tmax = t2
    if abs(dz) < 1e-12:
        if loz < 0.0 or loz > hh:
            return 1e30, -1
    else:
        t1 = (0.0 - loz) / dz
        t2 = (hh - loz) / dz
        if t1 > t2:
            t1, t2 = t2, t1
        if t1 > tmin:
            tmin = t1
            face = 2
        if t2 < tmax:
            tmax = t2
    if face < 0 or tmin > tmax:
        return 1e30, -1
    return tmin, face


@numba.njit(cache=True, fastmath=False)
def _nearest_box(
    bi, nb, b_lo, b_rot, b_half, b_face, dx, dy, dz, col, row, b_rect
):  # pragma: no cover
    """Nearest box hit of one ray among the active boxes whose rectangle holds (row, col)."""
    best_t = 1e30
    best = -1
    best_shade = 0.0
    for q in range(nb):
        if row < b_rect[q, 0] or row > b_rect[q, 1] or col < b_rect[q, 2] or col > b_rect[q, 3]:
            continue
        cr = b_rot[q, 0]
        sr = b_rot[q, 1]
        ldx = cr * dx + sr * dy
        ldy = -sr * dx + cr * dy
        t, face = _slab(
            b_lo[q, 0],
            b_lo[q, 1],
            b_lo[q, 2],
            ldx,
            ldy,
            dz,
            b_half[q, 0],
            b_half[q, 1],
            b_half[q, 2],
        )
        if face >= 0 and t < best_t:
            best_t = t
            best = bi[q] * 3 + face
            best_shade = b_face[q, face]
    return best, best_shade


@numba.njit(cache=True, fastmath=False)
def box_kernel(
    out,
    height,
    width,
    poses,
    cam,
    axes,
    focal,
    box_centers,
    box_yaw,
    box_size,
    box_shade,
    box_valid,
    box_owner,
):  # pragma: no cover - numba
    """Draw each car's boxes over its ground image out (N, P) uint8 (nearest hit wins)."""
    n_cars = out.shape[0]
    k_boxes = box_centers.shape[1]
    ids = np.empty(height * width, dtype=np.int64)
    b_lo = np.empty((k_boxes, 3), dtype=np.float64)
    b_rot = np.empty((k_boxes, 2), dtype=np.float64)
    b_half = np.empty((k_boxes, 3), dtype=np.float64)
    b_face = np.empty((k_boxes, 3), dtype=np.float64)
    b_rect = np.empty((k_boxes, 4), dtype=np.int64)
    bi = np.empty(k_boxes, dtype=np.int64)
    fx, fy, fz = axes[0, 0], axes[0, 1], axes[0, 2]
    rx, ry, rz = axes[1, 0], axes[1, 1], axes[1, 2]
    dwx, dwy, dwz = axes[2, 0], axes[2, 1], axes[2, 2]
    cx = 0.5 * width
    cy = 0.5 * height
    for n in range(n_cars):
        x = poses[n, 0]
        y = poses[n, 1]
        yaw = poses[n, 2]
        c = np.cos(yaw)
        s = np.sin(yaw)
        nb = 0
        r_lo = height
        r_hi = -1
        c_lo = width
        c_hi = -1
        for k in range(k_boxes):
            if not box_valid[n, k] or box_owner[n, k] == n:
                continue
            wx = box_centers[n, k, 0] - x
            wy = box_centers[n, k, 1] - y
            bx = c * wx + s * wy
            by = -s * wx + c * wy
            ryaw = box_yaw[n, k] - yaw
            cr = np.cos(ryaw)
            sr = np.sin(ryaw)
            hl = 0.5 * box_size[n, k, 0]
            hw = 0.5 * box_size[n, k, 1]
            hh = box_size[n, k, 2]
            ox = cam[0] - bx
            oy = cam[1] - by
            lox = cr * ox + sr * oy
            loy = -sr * ox + cr * oy
            if abs(lox) <= hl and abs(loy) <= hw and cam[2] <= hh:
                continue  # camera inside the box: its inside is not drawn
            umin = 1e30
            umax = -1e30
            vmin = 1e30
            vmax = -1e30
            behind = 0
            for corner in range(8):
                sx = hl if (corner & 1) else -hl
                sy = hw if (corner & 2) else -hw
                pz = (hh if (corner & 4) else 0.0) - cam[2]
                px = bx + cr * sx - sr * sy - cam[0]
                py = by + sr * sx + cr * sy - cam[1]
                depth = px * fx + py * fy + pz * fz
                if depth < 1e-3:
                    behind += 1
                    continue
                uu = cx + focal * (px * rx + py * ry + pz * rz) / depth
                vv = cy + focal * (px * dwx + py * dwy + pz * dwz) / depth
                umin = min(umin, uu)
                umax = max(umax, uu)
                vmin = min(vmin, vv)
                vmax = max(vmax, vv)
            if behind == 8:
                continue
            if behind > 0:
                c0, c1, r0, r1 = 0, width - 1, 0, height - 1
            else:
                if umax < -1.0 or umin > width + 1.0 or vmax < -1.0 or vmin > height + 1.0:
                    continue
                c0 = max(int(np.floor(umin)) - 1, 0)
                c1 = min(int(np.floor(umax)) + 1, width - 1)
                r0 = max(int(np.floor(vmin)) - 1, 0)
                r1 = min(int(np.floor(vmax)) + 1, height - 1)
            b_lo[nb, 0] = lox
            b_lo[nb, 1] = loy
            b_lo[nb, 2] = cam[2]
            b_rot[nb, 0] = cr
            b_rot[nb, 1] = sr
            b_half[nb, 0] = hl
            b_half[nb, 1] = hw
            b_half[nb, 2] = hh
            for face in range(3):
                b_face[nb, face] = min(255.0, box_shade[n, k] * FACE_SHADE[face])
            b_rect[nb, 0] = r0
            b_rect[nb, 1] = r1
            b_rect[nb, 2] = c0
            b_rect[nb, 3] = c1
            bi[nb] = nb
            nb += 1
            r_lo = min(r_lo, r0)
            r_hi = max(r_hi, r1)
            c_lo = min(c_lo, c0)
            c_hi = max(c_hi, c1)
        if nb == 0:
            continue
        # pass 1: one ray through each pixel centre -> id of the nearest face (-1: none)
        for i in range(r_lo, r_hi + 1):
            vn = (i + 0.5 - cy) / focal
            for j in range(c_lo, c_hi + 1):
                un = (j + 0.5 - cx) / focal
                hit, _ = _nearest_box(
                    bi,
                    nb,
                    b_lo,
                    b_rot,
                    b_half,
                    b_face,
                    fx + un * rx + vn * dwx,
                    fy + un * ry + vn * dwy,
                    fz + un * rz + vn * dwz,
                    j,
                    i,
                    b_rect,
                )
                ids[i * width + j] = hit
        # pass 2: a pixel whose 4 neighbours agree takes its face; an edge pixel is 2x2 sampled
        for i in range(r_lo, r_hi + 1):
            for j in range(c_lo, c_hi + 1):
                p = i * width + j
                own = ids[p]
                edge = (
                    (i > r_lo and ids[p - width] != own)
                    or (i < r_hi and ids[p + width] != own)
                    or (j > c_lo and ids[p - 1] != own)
                    or (j < c_hi and ids[p + 1] != own)
                )
                if not edge:
                    if own >= 0:
                        out[n, p] = int(b_face[own // 3, own % 3])
                    continue
                ground = float(out[n, p])
                total = 0.0
                for sub in range(4):
                    un = (j + (0.75 if (sub & 1) else 0.25) - cx) / focal
                    vn = (i + (0.75 if (sub & 2) else 0.25) - cy) / focal
                    hit, shade = _nearest_box(
                        bi,
                        nb,
                        b_lo,
                        b_rot,
                        b_half,
                        b_face,
                        fx + un * rx + vn * dwx,
                        fy + un * ry + vn * dwy,
                        fz + un * rz + vn * dwz,
                        j,
                        i,
                        b_rect,
                    )
                    total += shade if hit >= 0 else ground
                out[n, p] = int(0.25 * total)


@numba.njit(cache=True, fastmath=False)
def _apply_lut(out, lut):  # pragma: no cover - numba
    for n in range(out.shape[0]):
        for p in range(out.shape[1]):
            out[n, p] = lut[n, out[n, p]]
