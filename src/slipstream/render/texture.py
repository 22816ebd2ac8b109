"""A track painted once as a top-down image: the ground the camera and the top-down view look at.

`TrackTexture.from_track` rasterises, in world metres and in the track's look
(`looks.look_for`), grass, the road surface, border lines along the inner and outer borders
(inside the road), a dashed centre line, optional red/white kerbs outside both borders and a
start/finish line across the road at waypoint 0. Drawing happens with PIL at `supersample` times
the texture resolution and is box-filtered down, so edges are anti-aliased. The look's speckle
(seeded Gaussian noise per material) is added to the camera's grey texture; the texture also
carries the look's wall box for the camera.

The texture keeps:

* `rgb` (H, W, 3) uint8 at the base resolution, for the top-down view;
* `grey_levels`: a mip pyramid of uint8 grey images (Y = 0.2989 R + 0.5870 G + 0.1140 B, the
  DeepRacer camera's grey, truncated), level l has texels `resolution * 2**l` metres wide and is
  the 2x2 mean of level l-1. The camera samples the level whose texel matches each pixel's ground
  footprint, so distant lines average out instead of aliasing into noise.

Texel (row r, column c) of level l covers world x in `origin[0] + [c, c+1) * res_l` and y in
`origin[1] + [r, r+1) * res_l`: rows grow with world y (flip vertically to display north-up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw

from slipstream.tracks.track import Track

if TYPE_CHECKING:
    from slipstream.render.looks import TrackLook

RGB = tuple[int, int, int]

GREY_WEIGHTS = (0.2989, 0.5870, 0.1140)
"""DeepRacer's RGB -> Y weights (ObservationRGBToYFilter)."""


class TextureError(ValueError):
    """Texture settings that cannot be used."""


def grey_of(rgb: RGB | np.ndarray) -> float | np.ndarray:
    """Y = 0.2989 R + 0.5870 G + 0.1140 B (float, not truncated) of colours (..., 3)."""
    arr = np.asarray(rgb, dtype=np.float64)
    y = (
        arr[..., 0] * GREY_WEIGHTS[0]
        + arr[..., 1] * GREY_WEIGHTS[1]
        + arr[..., 2] * GREY_WEIGHTS[2]
    )
    return float(y) if y.ndim == 0 else y


@dataclass(frozen=True)
class TrackColours:
    """RGB colours (0-255) of the scene as lit in DeepRacer. Wall and void: camera only.

    Defaults: DeepRacer's standard track family (`looks.STANDARD`, the reInvent 2019 and later
    textures under the simapp's lights).
    """

    grass: RGB = (130, 137, 67)
    road: RGB = (66, 65, 63)
    border_line: RGB = (255, 255, 255)
    centre_line: RGB = (255, 172, 0)
    start_line: RGB = (255, 255, 255)
    kerb_red: RGB = (140, 12, 12)
    kerb_white: RGB = (230, 229, 229)
    """Kerb stripes (only drawn where `TrackMarkings.kerb_width` > 0)."""
    wall: RGB = (36, 70, 81)
    """The wall texture's colour before the light on each face (`looks.Walls.face_gain`)."""
    void: RGB = (76, 194, 253)
    """Above the walls: the sky, or black where the world has none."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if len(value) != 3 or not all(0 <= int(v) <= 255 for v in value):
                raise TextureError(f"colour {name} must be three integers 0..255, got {value!r}")


@dataclass(frozen=True)
class TrackMarkings:
    """Widths and dash pattern of the painted lines (metres)."""

    border_width: float = 0.0762
    """White lines along the inner and outer borders, painted inside the road (DeepRacer: 3 in)."""
    centre_width: float = 0.0254
    dash_length: float = 0.0508
    dash_gap: float = 0.0508
    start_width: float = 0.05
    dash_start: float = 0.0
    """Arc length (m) from waypoint 0 where the first centre-line dash begins."""
    kerb_width: float = 0.0
    """Red and white kerbs this wide just outside both borders (0: none)."""
    kerb_stripe: float = 0.24
    """Length (m) of each red or white kerb stripe."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise TextureError(f"marking {name} must be a finite length >= 0 m, got {value!r}")
        if self.dash_length + self.dash_gap <= 0.0:
            raise TextureError("dash_length + dash_gap must be > 0 m")


@dataclass(frozen=True, eq=False)
class TrackTexture:
    """A pre-rasterised top-down image of a track (see module docstring for the layout)."""

    name: str
    origin: tuple[float, float]
    """World (x, y) of the outer corner of texel (0, 0) of every level and of `rgb`."""
    resolution: float
    """Metres per grey texel at level 0."""
    rgb: np.ndarray = field(repr=False)
    """(H, W, 3) uint8 colour image, `rgb_resolution` metres per texel."""
    rgb_resolution: float
    grey_levels: tuple[np.ndarray, ...] = field(repr=False)
    """Mip pyramid of (H_l, W_l) uint8 grey images; level l texel = resolution * 2**l m."""
    colours: TrackColours = TrackColours()
    walls: tuple[float, float, float, float] | None = None
    """World (x_min, y_min, x_max, y_max) of the wall box around the field; None: no walls."""
    wall_height: float = 1.0
    wall_gains: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    """Light on the wall faces at x_min, x_max, y_min, y_max (times `colours.wall`)."""
    flat: np.ndarray = field(init=False, repr=False)
    """All grey levels, each padded with a 1-texel grass border, concatenated (1-D uint8).
    Sampling clamped to a padded level reads grass outside the texture."""
    level_offset: np.ndarray = field(init=False, repr=False)
    """(L,) int64 start of each padded level in `flat`."""
    level_shape: np.ndarray = field(init=False, repr=False)
    """(L, 2) int64 (rows, columns) of each padded level (2 more than the level each way)."""

    def __post_init__(self) -> None:
        if not self.grey_levels:
            raise TextureError("a texture needs at least one grey level")
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3 or self.rgb.dtype != np.uint8:
            raise TextureError(
                f"rgb must be (H, W, 3) uint8, got {self.rgb.shape} {self.rgb.dtype}"
            )
        if not (self.resolution > 0.0 and self.rgb_resolution > 0.0):
            raise TextureError("resolution and rgb_resolution must be > 0 m per texel")
        grass = int(np.floor(grey_of(self.colours.grass)))
        shapes = np.array([(g.shape[0] + 2, g.shape[1] + 2) for g in self.grey_levels])
        shapes = shapes.astype(np.int64)
        sizes = shapes[:, 0] * shapes[:, 1]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        flat = np.full(int(sizes.sum()), grass, dtype=np.uint8)
        levels = []
        for g, o, (h, w) in zip(self.grey_levels, offsets, shapes, strict=True):
            padded = flat[o : o + h * w].reshape(h, w)
            padded[1:-1, 1:-1] = g
            levels.append(padded[1:-1, 1:-1])
        for arr in (*levels, flat, shapes, offsets, self.rgb):
            arr.setflags(write=False)
        object.__setattr__(self, "grey_levels", tuple(levels))
        object.__setattr__(self, "origin", (float(self.origin[0]), float(self.origin[1])))
        object.__setattr__(self, "flat", flat)
        object.__setattr__(self, "level_offset", offsets)
        object.__setattr__(self, "level_shape", shapes)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_arrays(
        cls,
        rgb: np.ndarray,
        origin: tuple[float, float],
        resolution: float,
        colours: TrackColours = TrackColours(),
        num_levels: int = 9,
        name: str = "texture",
        mip_blur: int = 1,
    ) -> TrackTexture:
        """A texture from a ready colour image (rows = world y); grey uses the same texels."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        grey = grey_of(rgb).astype(np.float32)
        return cls(
            name=name,
            origin=origin,
            resolution=float(resolution),
            rgb=rgb,
            rgb_resolution=float(resolution),
            grey_levels=grey_pyramid(grey, num_levels, grass=grey_of(colours.grass), blur=mip_blur),
            colours=colours,
        )

    @classmethod
    def from_track(
        cls,
        track: Track,
        look: TrackLook | None = None,
        resolution: float = 0.005,
        margin: float = 1.0,
        supersample: int = 2,
        num_levels: int = 9,
        rgb_resolution: float = 0.01,
        mip_blur: int = 1,
    ) -> TrackTexture:
        """Rasterise `track` over its bounds plus `margin` metres, painted as `look`.

        `look` (default `looks.look_for(track.name)`): colours, markings, speckle and walls.
        The camera's grey pyramid starts at `resolution` m/texel (`num_levels` levels: level 8
        at 5 mm has 1.28 m texels); the colour image for the top-down view has
        `rgb_resolution` m/texel. Both are drawn at `supersample` x their resolution and
        box-filtered down (anti-aliased edges). The speckle (seeded Gaussian noise, per
        material) is added to the camera's grey level 0 only. `mip_blur`: see `grey_pyramid`.
        """
        from slipstream.render.looks import look_for

        look = look_for(track.name) if look is None else look
        colours, markings = look.colours, look.markings
        for label, value in (("resolution", resolution), ("rgb_resolution", rgb_resolution)):
            if not (0.001 <= value <= 0.1):
                raise TextureError(f"{label} must be 0.001..0.1 m per texel, got {value!r}")
        if int(supersample) != supersample or not (1 <= supersample <= 8):
            raise TextureError(f"supersample must be a whole number 1..8, got {supersample!r}")
        if not (margin >= 0.0):
            raise TextureError(f"margin must be >= 0 m, got {margin!r}")
        pts = np.vstack([track.center, track.inner, track.outer])
        lo = pts.min(axis=0) - margin
        hi = pts.max(axis=0) + margin
        fills_grey = {
            name: int(np.floor(grey_of(getattr(colours, name)) + 1e-6))
            for name in (
                "grass",
                "road",
                "border_line",
                "centre_line",
                "start_line",
                "kerb_red",
                "kerb_white",
            )
        }
        fills_rgb = {name: getattr(colours, name) for name in fills_grey}
        grey_img = _rasterise(
            track, lo, hi, resolution, int(supersample), "L", fills_grey, markings
        )
        rgb_img = _rasterise(
            track, lo, hi, rgb_resolution, int(supersample), "RGB", fills_rgb, markings
        )
        grey = np.asarray(grey_img, dtype=np.float32)
        speckle = look.speckle
        stds = [speckle.std_at(v, resolution) for v in (speckle.field, speckle.road, speckle.lines)]
        if max(stds) > 0.0:
            ids = {"grass": 0, "road": 1}
            ids.update(dict.fromkeys(("border_line", "centre_line", "start_line"), 2))
            ids.update(kerb_red=2, kerb_white=2)
            material = np.asarray(_rasterise(track, lo, hi, resolution, 1, "L", ids, markings))
            rng = np.random.default_rng([speckle.seed, len(track.name), *track.name.encode()])
            noise = rng.standard_normal(grey.shape, dtype=np.float32)
            noise *= np.asarray(stds, dtype=np.float32)[material]
            noise += grey
            grey = np.clip(noise, 0, 255, out=noise)
        return cls(
            name=track.name,
            origin=(float(lo[0]), float(lo[1])),
            resolution=float(resolution),
            rgb=np.asarray(rgb_img, dtype=np.uint8),
            rgb_resolution=float(rgb_resolution),
            grey_levels=grey_pyramid(grey, num_levels, grass=fills_grey["grass"], blur=mip_blur),
            colours=colours,
            walls=look.walls.rectangle(pts) if look.walls.height > 0 else None,
            wall_height=look.walls.height,
            wall_gains=look.walls.face_gain,
        )

    # ------------------------------------------------------------------ queries

    @property
    def num_levels(self) -> int:
        return len(self.grey_levels)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """World (x_min, y_min, x_max, y_max) covered by the grey level 0 texture."""
        h, w = self.grey_levels[0].shape
        x0, y0 = self.origin
        return x0, y0, x0 + w * self.resolution, y0 + h * self.resolution

    @property
    def nbytes(self) -> int:
        """Memory held by the colour image and the padded grey pyramid (bytes)."""
        return int(self.rgb.nbytes + self.flat.nbytes)

    def wall_greys(self) -> np.ndarray:
        """(4,) float64 camera grey of the wall faces at x_min, x_max, y_min, y_max."""
        return self._greys["wall_faces"].copy()

    def grey_value(self, name: str) -> float:
        """Camera grey (float, before truncation) of a colour of `colours` by field name."""
        return float(self._greys[name])

    @cached_property
    def _greys(self) -> dict[str, Any]:
        """Every colour's camera grey, worked out once (the camera asks for them per render)."""
        greys: dict[str, Any] = {
            name: float(grey_of(getattr(self.colours, name)))
            for name in self.colours.__dataclass_fields__
        }
        greys["wall_faces"] = greys["wall"] * np.asarray(self.wall_gains, dtype=np.float64)
        return greys

    def sample_grey(self, points: np.ndarray, level: int = 0) -> np.ndarray:
        """Nearest-texel grey (uint8) at world points (..., 2); outside the texture: grass."""
        g = self.grey_levels[level]
        res = self.resolution * 2**level
        p = np.asarray(points, dtype=np.float64)
        col = np.floor((p[..., 0] - self.origin[0]) / res).astype(np.int64)
        row = np.floor((p[..., 1] - self.origin[1]) / res).astype(np.int64)
        inside = (col >= 0) & (col < g.shape[1]) & (row >= 0) & (row < g.shape[0])
        out = np.full(p.shape[:-1], int(np.floor(self.grey_value("grass"))), dtype=np.uint8)
        out[inside] = g[row[inside], col[inside]]
        return out


def _rasterise(
    track: Track,
    lo: np.ndarray,
    hi: np.ndarray,
    resolution: float,
    ss: int,
    mode: str,
    fills: dict,
    markings: TrackMarkings,
) -> Image.Image:
    """Draw the track at `ss` x `resolution` in PIL `mode` and box-filter down by `ss`."""
    width = math.ceil((hi[0] - lo[0]) / resolution)
    height = math.ceil((hi[1] - lo[1]) / resolution)
    if width * height > 50_000_000:
        raise TextureError(
            f"track {track.name!r} at {resolution} m/texel needs {width}x{height} texels; "
            "use a coarser resolution"
        )
    scale = ss / resolution
    canvas = Image.new(mode, (width * ss, height * ss), fills["grass"])
    draw = ImageDraw.Draw(canvas)

    def px(points: np.ndarray) -> list[tuple[float, float]]:
        p = (np.asarray(points, dtype=np.float64) - lo) * scale - 0.5  # PIL: pixel i centred at i
        return [(float(a), float(b)) for a, b in p]

    shell, hole = track.road_polygon
    draw.polygon(px(shell), fill=fills["road"])
    if hole is not None:
        draw.polygon(px(hole), fill=fills["grass"])
    if markings.kerb_width > 0:
        for border in (track.inner, track.outer):
            kerb = _inset_border(track, border, -0.5 * markings.kerb_width)
            for k, piece in enumerate(_pieces(kerb, markings.kerb_stripe)):
                colour = fills["kerb_red"] if k % 2 == 0 else fills["kerb_white"]
                _draw_wide_polyline(draw, px(piece), markings.kerb_width * scale, colour, False)
    if markings.centre_width > 0 and markings.dash_length > 0:
        period = markings.dash_length + markings.dash_gap
        dash_px = max(1, round(markings.centre_width * scale))
        for s0 in np.arange(markings.dash_start % period, track.length - 1e-9, period):
            s1 = min(s0 + markings.dash_length, track.length)
            xy, _ = track.point_at(np.append(np.arange(s0, s1, 0.02), s1))
            draw.line(px(xy), fill=fills["centre_line"], width=dash_px)
    if markings.start_width > 0:
        ends = np.array([track.inner_opposite[0], track.outer_opposite[0]])
        draw.line(
            px(ends), fill=fills["start_line"], width=max(1, round(markings.start_width * scale))
        )
    if markings.border_width > 0:
        for border in (track.inner, track.outer):
            line = _inset_border(track, border, 0.5 * markings.border_width)
            _draw_wide_polyline(
                draw, px(line), markings.border_width * scale, fills["border_line"], track.closed
            )
    return canvas.reduce(ss) if ss > 1 else canvas


def grey_pyramid(
    grey: np.ndarray, num_levels: int, grass: float, blur: int = 1
) -> tuple[np.ndarray, ...]:
    """Truncated uint8 levels of a float grey image: each level the 2x2 mean of the one before.

    Odd sizes are padded with `grass` before halving, so a level covers at least the area of the
    level below it, from the same origin. Each stored level is then smoothed by `blur` passes
    of a [1, 2, 1] / 4 filter per axis (about 0.7 texel per pass): the camera reads one texel
    per sample, and the smoothing turns the staircase of a sharp edge into a ramp about two
    pixels wide, as DeepRacer's bilinear shrink from 640x480 does.
    """
    if int(num_levels) != num_levels or num_levels < 1:
        raise TextureError(f"num_levels must be a whole number >= 1, got {num_levels!r}")
    if int(blur) != blur or blur < 0:
        raise TextureError(f"blur must be a whole number of passes >= 0, got {blur!r}")
    current = grey.astype(np.float32)
    levels = [_stored_level(current, grass, int(blur))]
    for _ in range(1, int(num_levels)):
        h, w = current.shape
        if h < 2 and w < 2:
            break
        ph, pw = h + (h % 2), w + (w % 2)
        if (ph, pw) != (h, w):
            padded = np.full((ph, pw), grass, dtype=np.float32)
            padded[:h, :w] = current
            current = padded
        current = _half(current)
        levels.append(_stored_level(current, grass, int(blur)))
    return tuple(levels)


def _half(image: np.ndarray) -> np.ndarray:
    """The 2x2 mean of an even-sized float32 image: (top pair + bottom pair) / 4, the order
    numpy's `reshape(...).mean(axis=(1, 3))` adds in (the same bits), several times faster."""
    top = image[0::2, 0::2] + image[0::2, 1::2]
    top += image[1::2, 0::2] + image[1::2, 1::2]
    top *= np.float32(0.25)
    return top


def _stored_level(level: np.ndarray, grass: float, blur: int) -> np.ndarray:
    out = level.astype(np.float32, copy=True)
    h, w = out.shape
    rows = np.empty((h + 2, w), dtype=np.float32)
    cols = np.empty((h, w + 2), dtype=np.float32)
    rows[0], rows[-1], cols[:, 0], cols[:, -1] = grass, grass, grass, grass
    for _ in range(blur):  # [1, 2, 1] / 4 along rows, then along columns, grass beyond the edge
        rows[1:-1] = out
        np.multiply(rows[:-2], np.float32(0.25), out=out)
        out += rows[1:-1] * np.float32(0.5)
        out += rows[2:] * np.float32(0.25)
        cols[:, 1:-1] = out
        np.multiply(cols[:, :-2], np.float32(0.25), out=out)
        out += cols[:, 1:-1] * np.float32(0.5)
        out += cols[:, 2:] * np.float32(0.25)
    out += np.float32(1e-4)
    return np.floor(out, out=out).astype(np.uint8)


def _inset_border(track: Track, border: np.ndarray, inset: float) -> np.ndarray:
    """The border moved `inset` metres toward the centre line (row-wise), so lines sit on the road."""
    toward = track.center - border
    norm = np.linalg.norm(toward, axis=1, keepdims=True)
    return border + inset * toward / np.where(norm > 0, norm, 1.0)


def _pieces(line: np.ndarray, length: float) -> list[np.ndarray]:
    """A polyline cut into consecutive pieces `length` metres long (the last one shorter)."""
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    cuts = np.arange(0.0, arc[-1], length)
    pieces = []
    for a, b in zip(cuts, np.append(cuts[1:], arc[-1]), strict=True):
        inner = np.flatnonzero((arc > a) & (arc < b))
        ends = np.column_stack(
            [np.interp([a, b], arc, line[:, 0]), np.interp([a, b], arc, line[:, 1])]
        )
        pieces.append(np.vstack([ends[:1], line[inner], ends[1:]]))
    return pieces


def _draw_wide_polyline(
    draw: ImageDraw.ImageDraw,
    points: list[tuple[float, float]],
    width_px: float,
    colour: RGB,
    closed: bool,
) -> None:
    """A polyline of a given pixel width with round joints (closed loops join their ends)."""
    if len(points) < 2 or width_px <= 0:
        return
    pts = [*points, points[1]] if closed else points
    draw.line(pts, fill=colour, width=max(1, round(width_px)), joint="curve")
    r = 0.5 * width_px
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
