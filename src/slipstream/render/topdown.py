"""A top-down colour view for people (render_mode="rgb_array", videos, the dashboard).

The track's colour texture is cropped and scaled (the whole track, or a window that follows one
car, north up), boxes are drawn as grey rectangles and cars as coloured rectangles with a white
heading mark. numpy and PIL only; nothing here opens a window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from slipstream.render.boxes import BoxSet
from slipstream.render.texture import TrackTexture

CAR_PALETTE = (
    (230, 60, 50),
    (40, 110, 230),
    (250, 170, 30),
    (150, 70, 200),
    (30, 190, 190),
    (240, 240, 240),
    (20, 20, 20),
    (240, 110, 180),
)
"""Colours of cars 0, 1, ... (repeating)."""

FOLLOW_SPAN = 4.0
"""Metres across the width of the "follow" view at zoom 1."""


class TopDownError(ValueError):
    """Top-down view settings that cannot be used."""


@dataclass(frozen=True)
class CarShape:
    """Footprint drawn for each car (m): DeepRacer's crash rectangle."""

    length: float = 0.32352
    width: float = 0.1961


def render_topdown(
    texture: TrackTexture,
    poses: np.ndarray,
    boxes: BoxSet | None = None,
    size: tuple[int, int] = (480, 640),
    view: str = "track",
    follow_index: int = 0,
    zoom: float = 1.0,
    car: CarShape = CarShape(),
) -> np.ndarray:
    """An (H, W, 3) uint8 picture of the track seen from above, north (world +y) up.

    poses (N, 3) [x, y, yaw] are the cars to draw (car i in `CAR_PALETTE[i % 8]`). `boxes`: the
    boxes of world `follow_index` are drawn (boxes owned by a car are its body and are skipped:
    the car is drawn from its pose). `view`: "track" fits the whole texture, "follow" shows a
    window `FOLLOW_SPAN / zoom` metres wide centred on car `follow_index`; `zoom` > 1 magnifies.
    """
    height, width = _check_size(size)
    if view not in ("track", "follow"):
        raise TopDownError(f"view must be 'track' or 'follow', got {view!r}")
    if not (zoom > 0.0):
        raise TopDownError(f"zoom must be > 0, got {zoom!r}")
    poses = np.asarray(poses, dtype=np.float64).reshape(-1, 3)
    if view == "track":
        cx, cy, scale = _track_frame(texture, height, width, zoom)
    else:
        if not (0 <= follow_index < len(poses)):
            raise TopDownError(f"follow_index {follow_index} is not one of the {len(poses)} cars")
        scale = zoom * width / FOLLOW_SPAN
        cx, cy = poses[follow_index, 0], poses[follow_index, 1]
    image = _background(texture, cx, cy, scale, height, width)
    return _draw_objects(image, (cx, cy, scale), poses, boxes, view, follow_index, car)


class TrackView:
    """The "track" view of one texture at one size, its background resampled once: each
    `render` only draws the boxes and cars (what a live dashboard needs several times a second).
    `render(poses, boxes)` equals `render_topdown(texture, poses, boxes, size, "track")`."""

    def __init__(
        self, texture: TrackTexture, size: tuple[int, int] = (480, 640), car: CarShape = CarShape()
    ) -> None:
        height, width = _check_size(size)
        self.frame = _track_frame(texture, height, width, 1.0)
        self.car = car
        self._background = _background(texture, *self.frame, height, width)
        self._background.setflags(write=False)

    def render(self, poses: np.ndarray, boxes: BoxSet | None = None) -> np.ndarray:
        poses = np.asarray(poses, dtype=np.float64).reshape(-1, 3)
        return _draw_objects(
            self._background.copy(), self.frame, poses, boxes, "track", 0, self.car
        )


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    height, width = (int(v) for v in size)
    if height < 8 or width < 8:
        raise TopDownError(f"size must be at least 8x8 pixels (H, W), got {size!r}")
    return height, width


def _track_frame(
    texture: TrackTexture, height: int, width: int, zoom: float
) -> tuple[float, float, float]:
    """Centre (x, y) and pixels per metre of the view that fits the whole texture."""
    x0, y0 = texture.origin[0], texture.origin[1]
    x1 = x0 + texture.rgb.shape[1] * texture.rgb_resolution
    y1 = y0 + texture.rgb.shape[0] * texture.rgb_resolution
    scale = zoom * min(width / (x1 - x0), height / (y1 - y0))
    return 0.5 * (x0 + x1), 0.5 * (y0 + y1), scale


def _draw_objects(
    image: np.ndarray,
    frame: tuple[float, float, float],
    poses: np.ndarray,
    boxes: BoxSet | None,
    view: str,
    follow_index: int,
    car: CarShape,
) -> np.ndarray:
    """Boxes of world `follow_index` and every car drawn onto `image` (H, W, 3)."""
    cx, cy, scale = frame
    height, width = image.shape[:2]
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)

    def to_px(xy: np.ndarray) -> list[tuple[float, float]]:
        px = (xy[..., 0] - cx) * scale + 0.5 * width
        py = (cy - xy[..., 1]) * scale + 0.5 * height
        return [(float(a), float(b)) for a, b in zip(px.ravel(), py.ravel(), strict=True)]

    if boxes is not None and boxes.num_boxes and 0 <= follow_index < boxes.num_worlds:
        corners = boxes.corners()[follow_index]
        for k in range(boxes.num_boxes):
            if boxes.valid[follow_index, k] and boxes.owner[follow_index, k] < 0:
                grey = int(np.clip(boxes.shade[follow_index, k], 0, 255))
                draw.polygon(to_px(corners[k]), fill=(grey, grey, grey), outline=(20, 20, 20))
    signs = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    for i, (x, y, yaw) in enumerate(poses):
        c, s = np.cos(yaw), np.sin(yaw)
        local = signs * [0.5 * car.length, 0.5 * car.width]
        pts = np.column_stack(
            [x + c * local[:, 0] - s * local[:, 1], y + s * local[:, 0] + c * local[:, 1]]
        )
        colour = CAR_PALETTE[i % len(CAR_PALETTE)]
        outline = (255, 255, 0) if (view == "follow" and i == follow_index) else (0, 0, 0)
        draw.polygon(to_px(pts), fill=colour, outline=outline)
        nose = np.array([[x, y], [x + c * 0.5 * car.length, y + s * 0.5 * car.length]])
        draw.line(to_px(nose), fill=(255, 255, 255), width=max(1, round(0.03 * scale)))
    return np.asarray(canvas, dtype=np.uint8)


def _background(
    texture: TrackTexture, cx: float, cy: float, scale: float, height: int, width: int
) -> np.ndarray:
    """The colour texture resampled (nearest) to the view; outside it: grass."""
    res = texture.rgb_resolution
    xs = cx + (np.arange(width) + 0.5 - 0.5 * width) / scale
    ys = cy - (np.arange(height) + 0.5 - 0.5 * height) / scale
    cols = np.floor((xs - texture.origin[0]) / res).astype(np.int64)
    rows = np.floor((ys - texture.origin[1]) / res).astype(np.int64)
    h, w = texture.rgb.shape[:2]
    col_ok = (cols >= 0) & (cols < w)
    row_ok = (rows >= 0) & (rows < h)
    image = texture.rgb[np.clip(rows, 0, h - 1)[:, None], np.clip(cols, 0, w - 1)[None, :]]
    outside = ~(row_ok[:, None] & col_ok[None, :])
    image[outside] = texture.colours.grass
    return image
