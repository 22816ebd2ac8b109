"""The DeepRacer front camera (and stereo pair), rendered for N cars at once, headless.

Geometry (docs/deepracer.md 5.2): the camera sits at (0.14529, 0, 0.13033) m in the car's base_link
frame (x forward, y left, z up), pitched 0.2618 rad down, 1.13 rad horizontal field of view,
square pixels. DeepRacer renders 640x480 and resizes to 160x120 with PIL's bilinear filter (a
triangle of +-4 native pixels when shrinking 4x), then converts to grey Y (truncated to uint8).

How it is rendered fast (`camera_table.py`, `camera_kernels.py`): the ground is flat and the
camera is rigid on the car, so every pixel's ray meets the ground at a fixed point of the car
frame. `ray_table` works out once per (CameraSpec, lateral offset, texture resolution) each
pixel's ground footprint under the bilinear filter (8x8 native rays) and replaces it by
1..`max_ground_taps` texture samples along its long axis, each read from the mip level whose
texel matches (`TrackTexture.grey_levels`, pre-smoothed); rows near the car, where a texel spans
several pixels, are interpolated bilinearly. Along an image row the samples are affine in the
column, so per car and step the kernel only rotates/translates each row's start and step and
reads texels. Above: the track's wall box (`wall_kernel`: per column, where the column's
azimuth leaves the box, the wall's foot and top rows, blended with the ground below and the void
above through the resize filter), each face in its own light, and the void (black, or sky) above
it. What the walls and materials look like per track: `looks.py`. Boxes (`BoxSet`, `camera_boxes.py`)
are drawn as solid boxes by a z-buffered scanline rasteriser with anti-aliased edges; the
nearest surface along each sample ray wins, as with a ray-box slab test.

Kernels are compiled with numba (cache=True, single-threaded): the first call in a fresh
environment compiles them (about 7 s), later processes load them from the cache (< 0.1 s).
Measured on one core (NUMBA_NUM_THREADS=1, shared machine): 64 cars ~3 ms per call without
boxes, of which the walls ~0.5 ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from slipstream.render.boxes import BoxSet
from slipstream.render.camera_boxes import box_kernel
from slipstream.render.camera_kernels import apply_lut, ground_kernel, wall_kernel
from slipstream.render.camera_table import RayTable, ray_table
from slipstream.render.texture import TrackTexture

__all__ = [
    "CameraSpec",
    "CameraSpecError",
    "RayTable",
    "camera_axes",
    "camera_origin",
    "ground_hits",
    "object_in_camera",
    "pixel_directions",
    "project_car_points",
    "ray_table",
    "render_cameras",
    "render_stereo",
]


class CameraSpecError(ValueError):
    """Camera settings that cannot be used."""


@dataclass(frozen=True)
class CameraSpec:
    """A DeepRacer-like camera rigidly mounted on the car (defaults: DeepRacer v>=3).

    Lengths in metres in the car's base_link frame (x forward, y left, z up), angles in radians,
    sizes as (width, height) pixels.
    """

    position: tuple[float, float, float] = (0.14529, 0.0, 0.13033)
    pitch: float = 0.2618
    """Downward tilt of the optical axis."""
    hfov: float = 1.13
    native_size: tuple[int, int] = (640, 480)
    """Resolution DeepRacer renders at (W, H)."""
    image_size: tuple[int, int] = (160, 120)
    """Observation resolution (W, H) after the bilinear resize."""
    stereo_offset: float = 0.03
    """Stereo cameras sit at y = +stereo_offset (left) and -stereo_offset (right)."""
    frustum_near: float = 0.2
    frustum_far: float = 300.0
    max_ground_taps: int = 2
    """Texture samples per pixel at most (more = sharper distant ground, slower)."""
    anisotropy_per_tap: float = 2.0
    """A pixel gets one tap per this much elongation of its ground footprint (long/short axis),
    up to `max_ground_taps`."""
    mip_bias: float = -1.0
    """Added to the chosen mip level (log2 units): > 0 blurs, < 0 sharpens. The default suits
    textures whose levels are pre-smoothed (`TrackTexture` mip_blur=1)."""
    bilinear_near: bool = True
    """Interpolate between texels in rows where the pixel's footprint is smaller than
    `bilinear_below` texels (near the car, where one texel spans several pixels)."""
    bilinear_below: float = 0.7

    def __post_init__(self) -> None:
        if len(self.position) != 3 or not all(math.isfinite(v) for v in self.position):
            raise CameraSpecError(f"position must be 3 finite metres, got {self.position!r}")
        if not (self.position[2] > 0.0):
            raise CameraSpecError(f"camera height must be > 0 m, got {self.position[2]!r}")
        if not (-1.4 < self.pitch < 1.4):
            raise CameraSpecError(f"pitch must be within +-1.4 rad, got {self.pitch!r}")
        if not (0.1 < self.hfov < 3.0):
            raise CameraSpecError(f"hfov must be between 0.1 and 3.0 rad, got {self.hfov!r}")
        (nw, nh), (w, h) = self.native_size, self.image_size
        if min(nw, nh, w, h) < 1 or w > nw or h > nh:
            raise CameraSpecError(
                f"image_size {self.image_size} must be positive and no larger than native_size "
                f"{self.native_size}"
            )
        if abs(nw / w - nh / h) > 1e-9:
            raise CameraSpecError(
                f"native_size {self.native_size} and image_size {self.image_size} must have the "
                "same aspect ratio (one resize factor for both axes)"
            )
        if not (0.0 < self.frustum_near < self.frustum_far):
            raise CameraSpecError("need 0 < frustum_near < frustum_far")
        if int(self.max_ground_taps) != self.max_ground_taps or not (
            1 <= self.max_ground_taps <= 8
        ):
            raise CameraSpecError(f"max_ground_taps must be 1..8, got {self.max_ground_taps!r}")

    @property
    def width(self) -> int:
        return int(self.image_size[0])

    @property
    def height(self) -> int:
        return int(self.image_size[1])

    @property
    def scale(self) -> float:
        """Native pixels per image pixel (4 for 640 -> 160)."""
        return self.native_size[0] / self.image_size[0]

    @property
    def focal_native(self) -> float:
        """Focal length in native pixels: (W/2) / tan(hfov/2)."""
        return 0.5 * self.native_size[0] / math.tan(0.5 * self.hfov)

    @property
    def focal(self) -> float:
        """Focal length in image pixels."""
        return self.focal_native / self.scale

    @property
    def tan_half_vfov(self) -> float:
        return math.tan(0.5 * self.hfov) * self.native_size[1] / self.native_size[0]

    @property
    def horizon_row(self) -> float:
        """Continuous image row (0 = top edge) where the flat ground's horizon lies."""
        return 0.5 * self.height - self.focal * math.tan(self.pitch)


# ---------------------------------------------------------------------- geometry


def camera_axes(spec: CameraSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (forward, right, down) of the camera in the car frame."""
    cp, sp = math.cos(spec.pitch), math.sin(spec.pitch)
    forward = np.array([cp, 0.0, -sp])
    right = np.array([0.0, -1.0, 0.0])
    down = np.array([-sp, 0.0, -cp])
    return forward, right, down


def pixel_directions(spec: CameraSpec, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Ray directions (..., 3) in the car frame through continuous native pixel coordinates.

    `u` runs 0..native width left to right, `v` 0..native height top to bottom (pixel k's centre
    is k + 0.5). Directions have unit component along the optical axis.
    """
    forward, right, down = camera_axes(spec)
    f = spec.focal_native
    x = (np.asarray(u, dtype=np.float64) - 0.5 * spec.native_size[0]) / f
    y = (np.asarray(v, dtype=np.float64) - 0.5 * spec.native_size[1]) / f
    return forward + x[..., None] * right + y[..., None] * down


def camera_origin(spec: CameraSpec, lateral_offset: float = 0.0) -> np.ndarray:
    """Camera centre (3,) in the car frame, shifted sideways by `lateral_offset` (left +)."""
    x, y, z = spec.position
    return np.array([x, y + lateral_offset, z])


def ground_hits(
    spec: CameraSpec, u: np.ndarray, v: np.ndarray, lateral_offset: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Where rays through native pixel coordinates meet the ground, in the car frame.

    Returns (points (..., 2), hits (...) bool); rays at or above the horizon do not hit (NaN).
    """
    d = pixel_directions(spec, u, v)
    o = camera_origin(spec, lateral_offset)
    hits = d[..., 2] < 0.0
    t = np.where(hits, -o[2] / np.where(hits, d[..., 2], -1.0), np.nan)
    return o[:2] + t[..., None] * d[..., :2], hits


def project_car_points(
    spec: CameraSpec, points: np.ndarray, lateral_offset: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image coordinates of car-frame points (..., 3): (column, row, depth along the axis).

    Columns/rows are continuous image pixels (pixel j spans [j, j+1)).
    """
    forward, right, down = camera_axes(spec)
    q = np.asarray(points, dtype=np.float64) - camera_origin(spec, lateral_offset)
    depth = q @ forward
    col = 0.5 * spec.width + spec.focal * (q @ right) / depth
    row = 0.5 * spec.height + spec.focal * (q @ down) / depth
    return col, row, depth


_EMPTY_LUT = np.zeros((1, 256), dtype=np.uint8)


def _check_poses(poses: np.ndarray) -> np.ndarray:
    poses = np.ascontiguousarray(poses, dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] != 3:
        raise CameraSpecError(f"poses must have shape (N, 3) [x, y, yaw], got {poses.shape}")
    return poses


def render_cameras(
    texture: TrackTexture,
    poses: np.ndarray,
    spec: CameraSpec = CameraSpec(),
    boxes: BoxSet | None = None,
    lateral_offset: float = 0.0,
    lut: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Grey camera images (N, H, W) uint8 of N cars at poses (N, 3) [x, y, yaw] of base_link.

    `boxes` holds one world per car (BoxSet with N worlds); a box owned by car n is skipped in
    car n's image. `lateral_offset` shifts the camera sideways (stereo). `lut` (N, 256) uint8
    maps each car's grey levels (domain randomisation, see `randomization.py`). `out` is an
    optional (N, H, W) uint8 array to write into.
    """
    poses = _check_poses(poses)
    n = poses.shape[0]
    table = ray_table(spec, float(lateral_offset), texture.resolution, texture.num_levels)
    if out is not None:
        if out.shape != (n, spec.height, spec.width) or out.dtype != np.uint8:
            raise CameraSpecError(
                f"out must be ({n}, {spec.height}, {spec.width}) uint8, got {out.shape} {out.dtype}"
            )
        if not out.flags.c_contiguous:
            out[...] = render_cameras(texture, poses, spec, boxes, lateral_offset, lut)
            return out
    else:
        out = np.empty((n, spec.height, spec.width), dtype=np.uint8)
    if boxes is not None:
        boxes.check_batch(n)
    if lut is None:
        lut_arr, use_lut = _EMPTY_LUT, False
    else:
        lut_arr = np.ascontiguousarray(lut, dtype=np.uint8)
        if lut_arr.shape != (n, 256):
            raise CameraSpecError(f"lut must be ({n}, 256) uint8, got {lut_arr.shape}")
        use_lut = True
    flat_out = out.reshape(n, -1)
    ground_kernel(
        flat_out,
        poses,
        texture.flat,
        texture.level_offset,
        texture.level_shape,
        texture.origin[0],
        texture.origin[1],
        texture.resolution,
        texture.grey_value("grass"),  # above the horizon: field up to the walls
        len(table.sky_elev),
        table.run_pix0,
        table.run_j0,
        table.run_j1,
        table.run_level,
        table.run_taps,
        table.run_bilinear,
        table.run_x0,
        table.run_y0,
        table.run_dx,
        table.run_dy,
        table.mix_pix,
        table.mix_above,
        table.mix_start,
        table.mix_gx,
        table.mix_gy,
        table.mix_level,
        table.mix_w,
        spec.width,
    )
    origin = camera_origin(spec, float(lateral_offset))
    if texture.walls is None:
        rect, wall_height = np.array([-1e6, -1e6, 1e6, 1e6]), 0.0
    else:
        rect, wall_height = np.asarray(texture.walls, dtype=np.float64), texture.wall_height
    wall_kernel(
        flat_out,
        spec.height,
        spec.width,
        poses,
        origin[0],
        origin[1],
        origin[2],
        math.cos(spec.pitch),
        math.sin(spec.pitch),
        spec.focal,
        table.column_az,
        rect,
        float(wall_height),
        texture.wall_greys(),
        texture.grey_value("void"),
    )
    if boxes is not None and boxes.num_boxes and boxes.valid.any():
        forward, right, down = camera_axes(spec)
        box_kernel(
            flat_out,
            spec.height,
            spec.width,
            poses,
            camera_origin(spec, float(lateral_offset)),
            np.stack([forward, right, down]),
            spec.focal,
            boxes.centers,
            boxes.yaw,
            boxes.size,
            boxes.shade,
            boxes.valid,
            boxes.owner,
        )
    if use_lut:
        apply_lut(flat_out, lut_arr)
    return out


def render_stereo(
    texture: TrackTexture,
    poses: np.ndarray,
    spec: CameraSpec = CameraSpec(),
    boxes: BoxSet | None = None,
    luts: np.ndarray | None = None,
) -> np.ndarray:
    """Stereo pair (N, H, W, 2) uint8: channel 0 the left camera (+y), channel 1 the right."""
    poses = _check_poses(poses)
    pair = np.empty((2, poses.shape[0], spec.height, spec.width), dtype=np.uint8)
    for side, offset in enumerate((spec.stereo_offset, -spec.stereo_offset)):
        render_cameras(texture, poses, spec, boxes, offset, luts, out=pair[side])
    return np.moveaxis(pair, 0, -1)


def object_in_camera(
    poses: np.ndarray,
    object_points: np.ndarray,
    spec: CameraSpec = CameraSpec(),
    lateral_offset: float = 0.0,
) -> np.ndarray:
    """Whether points lie in each car's camera frustum (DeepRacer's `object_in_camera`).

    poses (N, 3); object_points (N, 2) or (N, K, 2) world x, y on the ground, or (..., 3) with a
    height z. The frustum: depth along the optical axis in [frustum_near, frustum_far], within
    the horizontal FOV and the vertical FOV of the native aspect ratio. Returns bool (N,) or
    (N, K). For an object's volume, pass its corners and take `any` over them.
    """
    poses = _check_poses(poses)
    pts = np.asarray(object_points, dtype=np.float64)
    squeeze = pts.ndim == 2
    if squeeze:
        pts = pts[:, None, :]
    if pts.ndim != 3 or pts.shape[0] != poses.shape[0] or pts.shape[2] not in (2, 3):
        raise CameraSpecError(
            f"object_points must be (N, 2), (N, K, 2) or (N, K, 3) for N={poses.shape[0]} "
            f"cars, got {np.shape(object_points)}"
        )
    z = pts[..., 2] if pts.shape[2] == 3 else np.zeros(pts.shape[:2])
    c, s = np.cos(poses[:, 2])[:, None], np.sin(poses[:, 2])[:, None]
    wx = pts[..., 0] - poses[:, None, 0]
    wy = pts[..., 1] - poses[:, None, 1]
    car = np.stack([c * wx + s * wy, -s * wx + c * wy, z], axis=-1)
    forward, right, down = camera_axes(spec)
    q = car - camera_origin(spec, lateral_offset)
    depth = q @ forward
    tan_h = math.tan(0.5 * spec.hfov)
    inside = (depth >= spec.frustum_near) & (depth <= spec.frustum_far)
    inside &= np.abs(q @ right) <= depth * tan_h
    inside &= np.abs(q @ down) <= depth * spec.tan_half_vfov
    return inside[:, 0] if squeeze else inside
