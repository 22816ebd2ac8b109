"""Boxes in the camera image: a small z-buffered scanline rasteriser (numba, one thread).

For each car, each box it sees (valid, not its own) is drawn face by face. A face is drawn when
the camera is on its outer side (at most two sides and the top are visible). The face's corners
are taken to camera coordinates, clipped to the near plane and projected; the resulting convex
polygon is filled row by row. Every pixel row is sampled on `SUB_ROWS` horizontal lines, and on
each line the polygon's span [u_left, u_right) covers each pixel by its exact horizontal
overlap: edges come out anti-aliased (like DeepRacer's 640x480 -> 160x120 shrink) at the cost of
one add per covered sample.

Occlusion: along a pixel's ray, 1 / depth of a planar face is an affine function of the image
coordinates, so each sample keeps the nearest box (largest 1 / depth); faces of the same box
share a sample's coverage, and the ground shows through the uncovered rest. This is exactly the
nearest-hit rule of a ray-box slab test at the sample points.
"""

from __future__ import annotations

import numba
import numpy as np

SUB_ROWS = 2
"""Horizontal sample lines per pixel row."""
NEAR = 0.01
"""Near clipping distance (m) along the optical axis."""
FACE_SHADE = (0.82, 0.62, 1.22)
"""Box face brightness relative to its shade: the faces across its length (front/back), the
faces along it (sides), the top."""


@numba.njit(cache=True, fastmath=False)
def _clip_near(px, py, pz, count, ox, oy, oz):  # pragma: no cover - numba
    """Clip polygon (camera coords X right, Y down, Z forward) to Z >= NEAR into o*."""
    m = 0
    for a in range(count):
        b = (a + 1) % count
        za = pz[a]
        zb = pz[b]
        if za >= NEAR:
            ox[m] = px[a]
            oy[m] = py[a]
            oz[m] = za
            m += 1
        if (za >= NEAR) != (zb >= NEAR):
            t = (NEAR - za) / (zb - za)
            ox[m] = px[a] + t * (px[b] - px[a])
            oy[m] = py[a] + t * (py[b] - py[a])
            oz[m] = NEAR
            m += 1
    return m


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
    """Draw each car's boxes over its ground image out (N, H*W) uint8."""
    n_cars = out.shape[0]
    k_boxes = box_centers.shape[1]
    sub = SUB_ROWS
    n_samples = height * sub * width
    stamp = np.zeros(n_samples, dtype=np.int32)
    owner = np.empty(n_samples, dtype=np.int32)
    depth = np.empty(n_samples, dtype=np.float32)
    cover = np.empty(n_samples, dtype=np.float32)
    shaded = np.empty(n_samples, dtype=np.float32)
    fx, fy, fz = axes[0, 0], axes[0, 1], axes[0, 2]
    rx, ry, rz = axes[1, 0], axes[1, 1], axes[1, 2]
    dwx, dwy, dwz = axes[2, 0], axes[2, 1], axes[2, 2]
    cx = 0.5 * width
    cy = 0.5 * height
    # face corners in the box frame as signs of (half length, half width) and height 0/1
    face_sx = np.array(
        [[1, 1, 1, 1], [-1, -1, -1, -1], [-1, 1, 1, -1], [1, -1, -1, 1], [-1, 1, 1, -1]]
    )
    face_sy = np.array(
        [[-1, 1, 1, -1], [1, -1, -1, 1], [1, 1, 1, 1], [-1, -1, -1, -1], [-1, -1, 1, 1]]
    )
    face_top = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]])
    row_lo = np.full(height, width, dtype=np.int64)  # columns touched per pixel row
    row_hi = np.full(height, -1, dtype=np.int64)
    cxs = np.empty(4)
    cys = np.empty(4)
    czs = np.empty(4)
    px = np.empty(8)
    py = np.empty(8)
    pz = np.empty(8)
    pu = np.empty(8)
    pv = np.empty(8)
    for n in range(n_cars):
        cur = n + 1
        x = poses[n, 0]
        y = poses[n, 1]
        yaw = poses[n, 2]
        c = np.cos(yaw)
        s = np.sin(yaw)
        r_lo = height
        r_hi = -1
        for k in range(k_boxes):
            if not box_valid[n, k] or box_owner[n, k] == n:
                continue
            wx = box_centers[n, k, 0] - x
            wy = box_centers[n, k, 1] - y
            bx = c * wx + s * wy  # box centre in the car frame
            by = -s * wx + c * wy
            ryaw = box_yaw[n, k] - yaw
            cr = np.cos(ryaw)
            sr = np.sin(ryaw)
            hl = 0.5 * box_size[n, k, 0]
            hw = 0.5 * box_size[n, k, 1]
            hh = box_size[n, k, 2]
            # camera in the box frame
            ox = cam[0] - bx
            oy = cam[1] - by
            lox = cr * ox + sr * oy
            loy = -sr * ox + cr * oy
            loz = cam[2]
            if abs(lox) <= hl and abs(loy) <= hw and loz <= hh:
                continue  # camera inside the box: its inside is not drawn
            for face in range(5):
                if face == 0:
                    visible = lox > hl
                elif face == 1:
                    visible = lox < -hl
                elif face == 2:
                    visible = loy > hw
                elif face == 3:
                    visible = loy < -hw
                else:
                    visible = loz > hh
                if not visible:
                    continue
                grey = box_shade[n, k] * FACE_SHADE[0 if face < 2 else (1 if face < 4 else 2)]
                grey = min(grey, 255.0)
                for a in range(4):
                    lx = face_sx[face, a] * hl
                    ly = face_sy[face, a] * hw
                    qx = bx + cr * lx - sr * ly - cam[0]
                    qy = by + sr * lx + cr * ly - cam[1]
                    qz = face_top[face, a] * hh - cam[2]
                    cxs[a] = qx * rx + qy * ry + qz * rz
                    cys[a] = qx * dwx + qy * dwy + qz * dwz
                    czs[a] = qx * fx + qy * fy + qz * fz
                m = _clip_near(cxs, cys, czs, 4, px, py, pz)
                if m < 3:
                    continue
                vmin = 1e30
                vmax = -1e30
                umin = 1e30
                umax = -1e30
                for a in range(m):
                    pu[a] = cx + focal * px[a] / pz[a]
                    pv[a] = cy + focal * py[a] / pz[a]
                    vmin = min(vmin, pv[a])
                    vmax = max(vmax, pv[a])
                    umin = min(umin, pu[a])
                    umax = max(umax, pu[a])
                if vmax <= 0.0 or vmin >= height or umax <= 0.0 or umin >= width:
                    continue
                # plane of the face in camera coords: nrm . P = dist; 1/depth along the ray
                # through (u, v) = (nrm . (X', Y', 1)) / dist with X' = (u-cx)/f, Y' = (v-cy)/f
                e1x = cxs[1] - cxs[0]
                e1y = cys[1] - cys[0]
                e1z = czs[1] - czs[0]
                e2x = cxs[3] - cxs[0]
                e2y = cys[3] - cys[0]
                e2z = czs[3] - czs[0]
                nx = e1y * e2z - e1z * e2y
                ny = e1z * e2x - e1x * e2z
                nz = e1x * e2y - e1y * e2x
                dist = nx * cxs[0] + ny * cys[0] + nz * czs[0]
                if abs(dist) < 1e-12:
                    continue  # seen edge-on
                inv_u = nx / (focal * dist)
                inv_v = ny / (focal * dist)
                inv_0 = (nz - (nx * cx + ny * cy) / focal) / dist
                i0 = max(int(np.floor(vmin)), 0)
                i1 = min(int(np.floor(vmax)), height - 1)
                r_lo = min(r_lo, i0)
                r_hi = max(r_hi, i1)
                for i in range(i0, i1 + 1):
                    for q in range(sub):
                        vs = i + (q + 0.5) / sub
                        u_left = 1e30
                        u_right = -1e30
                        for a in range(m):
                            b = a + 1 if a + 1 < m else 0
                            va = pv[a]
                            vb = pv[b]
                            if (va <= vs < vb) or (vb <= vs < va):
                                uc = pu[a] + (vs - va) * (pu[b] - pu[a]) / (vb - va)
                                u_left = min(u_left, uc)
                                u_right = max(u_right, uc)
                        if u_right <= u_left:
                            continue
                        u_left = max(u_left, 0.0)
                        u_right = min(u_right, float(width))
                        row_base = (i * sub + q) * width
                        inv_row = inv_0 + inv_v * vs
                        j_first = int(np.floor(u_left))
                        j_end = min(int(np.ceil(u_right)), width)
                        row_lo[i] = min(row_lo[i], j_first)
                        row_hi[i] = max(row_hi[i], j_end - 1)
                        for j in range(j_first, j_end):
                            if j == j_first or j == j_end - 1:
                                cov = min(u_right, j + 1.0) - max(u_left, float(j))
                                if cov <= 0.0:
                                    continue
                            else:
                                cov = 1.0
                            inv_t = inv_row + inv_u * (j + 0.5)
                            b = row_base + j
                            if stamp[b] != cur:
                                stamp[b] = cur
                                owner[b] = k
                                depth[b] = inv_t
                                cover[b] = cov
                                shaded[b] = cov * grey
                            elif owner[b] == k:
                                cover[b] += cov
                                shaded[b] += cov * grey
                                depth[b] = max(depth[b], inv_t)
                            elif inv_t > depth[b]:
                                owner[b] = k
                                depth[b] = inv_t
                                cover[b] = cov
                                shaded[b] = cov * grey
        if r_hi < 0:
            continue
        for i in range(r_lo, r_hi + 1):
            for j in range(max(row_lo[i], 0), min(row_hi[i], width - 1) + 1):
                p = i * width + j
                ground = float(out[n, p])
                total = 0.0
                for q in range(sub):
                    b = (i * sub + q) * width + j
                    if stamp[b] == cur:
                        cov = cover[b]
                        if cov > 1.0:
                            total += shaded[b] / cov - ground
                        else:
                            total += shaded[b] - cov * ground
                if total != 0.0:
                    out[n, p] = max(0, min(255, int(ground + total / sub)))
            row_lo[i] = width
            row_hi[i] = -1
