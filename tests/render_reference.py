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

from slipstream.render.camera_kernels import SKY_GRADIENT_SPAN
from slipstream.render.camera_table import SKYLINE_SIZE, skyline_table
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
    """One (120, 160) uint8 frame the slow way (no boxes)."""
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
    elev = np.arctan2(d[..., 2], np.hypot(d[..., 0], d[..., 1]))
    az = np.arctan2(d[..., 1], d[..., 0]) + yaw
    sky_h, sky_t = texture.grey_value("sky_horizon"), texture.grey_value("sky_top")
    sky = sky_h + (sky_t - sky_h) * np.clip(elev / SKY_GRADIENT_SPAN, 0, 1)
    skyline = skyline_table()
    idx = np.floor(np.mod(az, 2 * math.pi) / (2 * math.pi) * SKYLINE_SIZE).astype(np.int64)
    band = elev < skyline[idx % SKYLINE_SIZE]
    sky = np.where(band, texture.grey_value("background"), sky)
    native_img = np.where(down, ground, sky)
    h, w = native[1], native[0]
    native_img = native_img.reshape(h, ss, w, ss).mean(axis=(1, 3)).astype(np.float32)
    small = Image.fromarray(native_img, mode="F").resize(image, Image.BILINEAR)
    return np.clip(np.floor(np.asarray(small)), 0, 255).astype(np.uint8)
