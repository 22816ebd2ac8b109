"""A slow, independent reference of the DeepRacer camera for tests of the fast renderer.

It does what DeepRacer does, pixel by pixel: a 640x480 pinhole image (each native pixel
supersampled `ss` x `ss` and bilinearly sampling the level-0 grey texture), then PIL's bilinear
resize to 160x120 and truncation to uint8. Geometry is written out here from the camera numbers,
not taken from slipstream.render.camera.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from slipstream.render.texture import TrackTexture


def reference_rays(cam_height, pitch, hfov, size, ss):
    """Unit-forward ray directions (H*ss, W*ss, 3) in the car frame (x fwd, y left, z up)."""
    w, h = size
    f = (w / 2) / math.tan(hfov / 2)
    u = (np.arange(w * ss) + 0.5) / ss
    v = (np.arange(h * ss) + 0.5) / ss
    uu, vv = np.meshgrid(u, v)
    a = (uu - w / 2) / f  # to the right
    b = (vv - h / 2) / f  # downward
    # camera frame (x fwd, y left, z up) before pitch: (1, -a, -b); pitch down by `pitch`
    cp, sp = math.cos(pitch), math.sin(pitch)
    x = cp * 1.0 + sp * (-b)
    z = -sp * 1.0 + cp * (-b)
    return np.stack([x, -a, z], axis=-1)


def bilinear(img: np.ndarray, col: np.ndarray, row: np.ndarray, outside: float) -> np.ndarray:
    h, w = img.shape
    c = col - 0.5
    r = row - 0.5
    c0 = np.floor(c).astype(np.int64)
    r0 = np.floor(r).astype(np.int64)
    fc = c - c0
    fr = r - r0
    out = np.zeros(col.shape)
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            rr = r0 + dr
            cc = c0 + dc
            ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            val = np.where(ok, img[np.clip(rr, 0, h - 1), np.clip(cc, 0, w - 1)], outside)
            out += wr * wc * val
    return out


def reference_frame(
    texture: TrackTexture,
    pose,
    ss: int = 2,
    position=(0.14529, 0.0, 0.13033),
    pitch=0.2618,
    hfov=1.13,
    native=(640, 480),
    image=(160, 120),
) -> np.ndarray:
    """One (120, 160) uint8 frame the slow way (no boxes): ground, the wall box, void above."""
    d = reference_rays(position[2], pitch, hfov, native, ss)
    x, y, yaw = pose
    c, s = math.cos(yaw), math.sin(yaw)
    down = d[..., 2] < 0
    t = np.where(down, -position[2] / np.where(down, d[..., 2], -1), 0.0)
    gx = position[0] + t * d[..., 0]
    gy = position[1] + t * d[..., 1]
    wx = x + c * gx - s * gy
    wy = y + s * gx + c * gy
    grey0 = texture.grey_levels[0].astype(np.float64)
    grass = math.floor(texture.grey_value("grass"))
    ground = bilinear(
        grey0,
        (wx - texture.origin[0]) / texture.resolution,
        (wy - texture.origin[1]) / texture.resolution,
        grass,
    )
    # walls: where the ray leaves the wall box (slab test in the horizontal plane)
    dwx = c * d[..., 0] - s * d[..., 1]
    dwy = s * d[..., 0] + c * d[..., 1]
    cx = x + c * position[0] - s * position[1]
    cy = y + s * position[0] + c * position[1]
    if texture.walls is None:
        t_wall = np.full(d.shape[:-1], np.inf)
        face = np.zeros(d.shape[:-1], dtype=np.int64)
        wall_height = 0.0
    else:
        x0, y0, x1, y1 = texture.walls
        with np.errstate(divide="ignore", invalid="ignore"):
            tx = np.where(dwx > 0, (x1 - cx) / dwx, np.where(dwx < 0, (x0 - cx) / dwx, np.inf))
            ty = np.where(dwy > 0, (y1 - cy) / dwy, np.where(dwy < 0, (y0 - cy) / dwy, np.inf))
        t_wall = np.minimum(tx, ty)
        face = np.where(tx < ty, np.where(dwx > 0, 1, 0), np.where(dwy > 0, 3, 2))
        wall_height = texture.wall_height
    z_wall = position[2] + t_wall * d[..., 2]
    on_ground = down & (t < t_wall)
    on_wall = ~on_ground & (z_wall <= wall_height)
    face_grey = texture.wall_greys()[face]
    native_img = np.where(
        on_ground, ground, np.where(on_wall, face_grey, texture.grey_value("void"))
    )
    h, w = native[1], native[0]
    native_img = native_img.reshape(h, ss, w, ss).mean(axis=(1, 3)).astype(np.float32)
    small = Image.fromarray(native_img, mode="F").resize(image, Image.BILINEAR)
    return np.clip(np.floor(np.asarray(small)), 0, 255).astype(np.uint8)


def reference_box_layer(
    poses,
    boxes,
    ss=4,
    position=(0.14529, 0.0, 0.13033),
    pitch=0.2618,
    hfov=1.13,
    image=(160, 120),
    face_shade=(0.82, 0.62, 1.22),
):
    """Per pixel (N, H, W): coverage by boxes and mean box grey over the covered samples.

    Ray-box slab test of `ss` x `ss` rays per image pixel (nearest hit wins), written out here
    independently of the rasteriser in slipstream.render.camera_boxes.
    """
    w, h = image
    f = (w / 2) / math.tan(hfov / 2)
    offs = (np.arange(ss) + 0.5) / ss
    u = (np.arange(w)[:, None] + offs[None, :]).ravel()
    v = (np.arange(h)[:, None] + offs[None, :]).ravel()
    uu, vv = np.meshgrid(u, v)
    a = (uu - w / 2) / f
    b = (vv - h / 2) / f
    cp, sp = math.cos(pitch), math.sin(pitch)
    d = np.stack([cp - sp * b, -a, -sp - cp * b], axis=-1)  # car frame
    n_cars = len(poses)
    cover = np.zeros((n_cars, h, w))
    shade_sum = np.zeros((n_cars, h, w))
    for n in range(n_cars):
        x, y, yaw = poses[n]
        best_t = np.full(d.shape[:2], np.inf)
        best_grey = np.zeros(d.shape[:2])
        for k in range(boxes.num_boxes):
            if not boxes.valid[n, k] or boxes.owner[n, k] == n:
                continue
            bx, by = boxes.centers[n, k]
            byaw = boxes.yaw[n, k]
            hl, hw = boxes.size[n, k, 0] / 2, boxes.size[n, k, 1] / 2
            hh = boxes.size[n, k, 2]
            # camera and rays in the box frame (world frame first)
            cw = np.array(
                [
                    x + math.cos(yaw) * position[0] - math.sin(yaw) * position[1],
                    y + math.sin(yaw) * position[0] + math.cos(yaw) * position[1],
                ]
            )
            dw_x = math.cos(yaw) * d[..., 0] - math.sin(yaw) * d[..., 1]
            dw_y = math.sin(yaw) * d[..., 0] + math.cos(yaw) * d[..., 1]
            cb, sb = math.cos(byaw), math.sin(byaw)
            ox = cb * (cw[0] - bx) + sb * (cw[1] - by)
            oy = -sb * (cw[0] - bx) + cb * (cw[1] - by)
            oz = position[2]
            lx = cb * dw_x + sb * dw_y
            ly = -sb * dw_x + cb * dw_y
            lz = d[..., 2]
            t_in = np.zeros(d.shape[:2])
            t_out = np.full(d.shape[:2], np.inf)
            face = np.full(d.shape[:2], -1)
            for axis, (o, dd, lo, hi) in enumerate(
                ((ox, lx, -hl, hl), (oy, ly, -hw, hw), (oz, lz, 0.0, hh))
            ):
                with np.errstate(divide="ignore", invalid="ignore"):
                    t1 = (lo - o) / dd
                    t2 = (hi - o) / dd
                near = np.minimum(t1, t2)
                far = np.maximum(t1, t2)
                par = dd == 0
                inside = (o >= lo) & (o <= hi)
                near = np.where(par, np.where(inside, -np.inf, np.inf), near)
                far = np.where(par, np.where(inside, np.inf, -np.inf), far)
                face = np.where(near > t_in, axis, face)
                t_in = np.maximum(t_in, near)
                t_out = np.minimum(t_out, far)
            hit = (t_in <= t_out) & (face >= 0) & (t_in < best_t)
            grey = np.minimum(boxes.shade[n, k] * np.array(face_shade)[np.maximum(face, 0)], 255)
            best_t = np.where(hit, t_in, best_t)
            best_grey = np.where(hit, grey, best_grey)
        covered = np.isfinite(best_t)
        cover[n] = covered.reshape(h, ss, w, ss).mean(axis=(1, 3))
        shade_sum[n] = np.where(covered, best_grey, 0.0).reshape(h, ss, w, ss).sum(axis=(1, 3))
    mean_grey = np.where(cover > 0, shade_sum / np.maximum(cover * ss * ss, 1e-9), 0.0)
    return cover, mean_grey
