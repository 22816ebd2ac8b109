"""How each DeepRacer track looks to the camera, as DeepRacer's simulator renders it.

Every number here was worked out from DeepRacer's own simulator sources
(aws-deepracer-community/deepracer-simapp, bundle/meshes/<track>/*.dae, their textures and
bundle/worlds/<track>.world) or, where marked, measured on DeepRacer's frames
(/work/shared/frames/reinvent_base_episode):

* Material colours: the mean RGB of each texture image (road, field, outerLine, centerLine,
  wall) times the light the ground receives. The ground gain 1.03 is the ratio of the road and
  field colours in DeepRacer's frames to their texture means (both 1.02-1.04); the line gain
  1.2 likewise (Ogre 2's specular term on the bright line textures, which a flat model lacks).
* Speckle: the standard deviation of each texture's grey levels; `grain` is the texel size of
  the noise on the ground (every road/field mesh maps 1 m to one texture repeat of 1024
  texels; the noise's autocorrelation is 0.71 at 1 texel, 0.30 at 2, 0.04 at 4: grain 2 texels).
* Markings: from the line meshes (ol/il strips 0.0762 m wide, 3 in; centre-line quads 0.0254 m
  wide, 0.0508 m long, every 0.1016 m).
* Walls: the `wall` mesh of each track, an axis-aligned box 1 m high around the field
  (`WALL_RECTS`, from the meshes; 0.762 m outside the track's bounding box by default, 0.914 m
  on reinvent_base). Every world has the same lights (sun direction (-0.5, 0.1, -0.9), a point
  light above the origin) and the wall material has no ambient term, so each face's light
  depends on which way it faces: `FACE_GAINS`, measured on DeepRacer's frames (median grey of
  the pixels each face covers after the pose fit of all 600 reinvent_base frames, over the wall
  texture's grey 61.1). DeepRacer's wall shading also depends on the viewing direction (the
  face at y_max is black seen head-on and about 23 seen obliquely; the face at x_min 59 head-on,
  23 obliquely), which one grey per face cannot reproduce.
* Above the walls: black on reinvent_base (its world has no `<sky/>`), elsewhere the sky colour
  of the 2022 backdrop texture (76, 194, 253) as an estimate of Gazebo's default sky.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from slipstream.render.texture import TextureError, TrackColours, TrackMarkings
from slipstream.tracks.generate import parse_generated_name

GROUND_GAIN = 1.03
"""Light on horizontal surfaces relative to the texture colour (measured, see module doc)."""
LINE_GAIN = 1.2
"""Light on the painted lines relative to their texture colour (measured on reinvent_base)."""
WALL_HEIGHT = 1.0
"""Height (m) of every track's wall box in the simapp meshes."""
FACE_GAINS = (0.85, 0.9, 0.38, 0.0)
"""Light on the wall faces at x_min, x_max, y_min, y_max (see module doc): measured 52, 55, 23
and 0 grey on reinvent_base for a texture grey of 61.1."""


class LookError(ValueError):
    """A track look that cannot be used."""


def lit(rgb: tuple[float, float, float], gain: float) -> tuple[int, int, int]:
    """A texture mean colour under `gain` light, rounded and clipped to 0..255."""
    return tuple(int(min(255, max(0, round(c * gain)))) for c in rgb)  # type: ignore[return-value]


@dataclass(frozen=True)
class Speckle:
    """Fine texture noise of the ground materials: grey standard deviation at `grain` metres."""

    road: float = 0.0
    field: float = 0.0
    lines: float = 0.0
    grain: float = 2.0 / 1024.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("road", "field", "lines", "grain"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise LookError(f"speckle {name} must be finite and >= 0, got {value!r}")
        if self.grain <= 0.0:
            raise LookError("speckle grain must be > 0 m")

    def std_at(self, material_std: float, texel: float) -> float:
        """Grey std of `material_std` noise averaged over square texels of `texel` metres."""
        return material_std * min(1.0, self.grain / texel)


@dataclass(frozen=True)
class Walls:
    """The wall box around the field: height, placement and the grey gain of each face.

    `rect` (x_min, y_min, x_max, y_max) in world metres; None: the track's bounding box grown by
    `margin`. `face_gain` multiplies the wall colour on the faces at x_min, x_max, y_min, y_max.
    """

    height: float = WALL_HEIGHT
    margin: float = 0.762
    rect: tuple[float, float, float, float] | None = None
    face_gain: tuple[float, float, float, float] = FACE_GAINS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.height) and self.height >= 0.0):
            raise LookError(f"wall height must be finite and >= 0 m, got {self.height!r}")
        if not (math.isfinite(self.margin) and self.margin >= 0.0):
            raise LookError(f"wall margin must be finite and >= 0 m, got {self.margin!r}")
        if self.rect is not None:
            x0, y0, x1, y1 = self.rect
            if not (x1 > x0 and y1 > y0):
                raise LookError(f"wall rect must be (x_min, y_min, x_max, y_max), got {self.rect}")

    def rectangle(self, points: np.ndarray) -> tuple[float, float, float, float]:
        """The wall rectangle for a track whose centre/border points are `points` (K, 2)."""
        if self.rect is not None:
            return tuple(float(v) for v in self.rect)  # type: ignore[return-value]
        lo = np.min(points, axis=0) - self.margin
        hi = np.max(points, axis=0) + self.margin
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


@dataclass(frozen=True)
class TrackLook:
    """Everything the camera needs to paint one track as DeepRacer does."""

    family: str
    colours: TrackColours = field(default_factory=TrackColours)
    markings: TrackMarkings = field(default_factory=TrackMarkings)
    speckle: Speckle = field(default_factory=Speckle)
    walls: Walls = field(default_factory=Walls)
    source: str = ""
    """The simapp files the numbers come from."""


DEEPRACER_MARKINGS = TrackMarkings(
    border_width=0.0762,
    centre_width=0.0254,
    dash_length=0.0508,
    dash_gap=0.0508,
    start_width=0.0,
    dash_start=0.0526,
)
"""The line meshes' sizes; dash_start: the reinvent_base centre-line quads are centred at
arc lengths 0.078 + k 0.1016 m from waypoint 0."""

REINVENT_BASE = TrackLook(
    family="reinvent_base",
    colours=TrackColours(
        grass=lit((95.2, 135.6, 104.3), GROUND_GAIN),  # textures/field.png
        road=lit((36.1, 48.5, 64.0), GROUND_GAIN),  # textures/road.png
        border_line=lit((194.4, 193.6, 189.8), LINE_GAIN),  # textures/outerLine.png
        centre_line=lit((194.4, 116.5, 0.0), LINE_GAIN),  # textures/centerLine.png
        start_line=lit((194.4, 193.6, 189.8), LINE_GAIN),
        wall=(36, 70, 81),  # textures/wall.png (flat)
        void=(0, 0, 0),  # no <sky/> in worlds/reinvent_base.world
    ),
    markings=DEEPRACER_MARKINGS,
    # every reinvent texture is the same noise pattern tinted: grey std 6.1 road, 8.8 field,
    # 14.2 border, 9.3 centre line; 1024 texels per metre
    speckle=Speckle(road=6.1, field=8.8, lines=12.0, grain=2.0 / 1024.0),
    walls=Walls(margin=0.914),
    source="bundle/meshes/reinvent/reinvent_base.dae, textures/*.png; worlds/reinvent_base.world",
)

STANDARD = TrackLook(
    family="standard",
    colours=TrackColours(),
    markings=DEEPRACER_MARKINGS,
    # Bowtie_track_* / road.png 1024 px (grey std 8.3), field.png 512 px (21.3), lines 5.5
    speckle=Speckle(road=8.3, field=21.3, lines=5.5, grain=2.0 / 1024.0),
    walls=Walls(margin=0.762),
    source=(
        "bundle/meshes/reInvent2019_track/, 2022_*/: textures road.png, field.png, "
        "outerLine.png, centerLine.png, startline.png, wall.png; worlds/*.world"
    ),
)
"""The track family since reInvent 2019 (reInvent2019_*, 2022_*, 2024_*, arctic, dubai, ...):
grey asphalt, yellow-green grass, white borders, amber centre line, teal walls, sky above."""

CITY_2019 = TrackLook(
    family="city_2019",
    colours=TrackColours(
        kerb_red=lit((136.0, 12.0, 12.0), GROUND_GAIN),  # Canada_track_side_edge_T_01.png
        kerb_white=lit((223.0, 222.0, 222.0), GROUND_GAIN),
        wall=(128, 136, 146),  # Canada_track_building_wall_U_01.png mean
        void=(162, 186, 217),  # Canada_track_cloud_T_01.png mean: the sky dome
    ),
    markings=replace(DEEPRACER_MARKINGS, kerb_width=0.076, kerb_stripe=0.24),
    speckle=STANDARD.speckle,
    # buildings stand 40-60 m out, about 10 m high; their faces are not measured: gain 0.8
    walls=Walls(margin=45.0, height=10.0, face_gain=(0.8, 0.8, 0.8, 0.8)),
    source=(
        "bundle/meshes/Canada_Training/: Canad_track_road_barrier.dae (kerbs 0.05-0.13 m "
        "outside both borders, 512 px texture = 0.96 m: stripes 0.24 m), *_road_T_01, "
        "*_field_grass_01, *_edge_white_T_01, *_center_yellow_T_01 (the standard textures), "
        "*_building_wall* (10.7 m high, 40-60 m out), *_cloud_T_01"
    ),
)
"""The 2019 city tracks (Canada, China, Mexico, New York, Tokyo, Vegas, Austin, Monaco and
Singapore with buildings): the standard ground with red and white kerbs along both borders, a
ring of buildings far out and a pale sky. Buildings are drawn as one box (an approximation)."""

FAMILY_PREFIXES: tuple[tuple[str, TrackLook], ...] = (
    ("reinvent_base", REINVENT_BASE),
    *(
        (prefix, CITY_2019)
        for prefix in (
            "Canada_",
            "China_",
            "Mexico_",
            "New_York_",
            "Tokyo_",
            "Vegas_",
            "Austin",
            "Monaco_building",
            "Singapore_building",
        )
    ),
)
"""Track names starting with a prefix get its look; all others STANDARD."""

GENERATED_LOOKS: tuple[TrackLook, ...] = (STANDARD, REINVENT_BASE, CITY_2019)
"""A generated track (`generated:<seed>`) takes one of the families' looks in turn by seed, so
training on generated tracks sees every family."""

WALL_RECTS: dict[str, tuple[float, float, float, float]] = {
    "reinvent_base": (-0.587, -0.613, 8.575, 5.795),
    "reInvent2019_track": (-0.995, -1.116, 9.643, 7.449),
    "reInvent2019_track_ccw": (-5.314, -4.279, 5.314, 4.278),
    "reInvent2019_track_cw": (-5.314, -4.279, 5.314, 4.278),
    "reInvent2019_wide": (-0.407, -0.234, 8.408, 5.837),
    "reInvent2019_wide_ccw": (-4.402, -3.031, 4.394, 3.032),
    "reInvent2019_wide_cw": (-4.402, -3.031, 4.394, 3.032),
    "reInvent2019_wide_mirrored": (-0.407, -0.234, 8.408, 5.837),
    "2022_march_open": (-17.768, -16.313, 17.768, 16.313),
    "2022_march_pro": (-17.3, -16.154, 17.293, 16.153),
    "2022_summit_speedway": (-9.661, -9.668, 19.753, 13.076),
    "Albert": (-18.644, -13.267, 19.792, 15.795),
    "AmericasGeneratedInclStart": (-16.9, -11.726, 16.869, 16.564),
    "Aragon": (-19.204, -13.212, 23.156, 14.447),
    "Belille": (-18.871, -17.133, 21.041, 13.978),
    "FS_June2020": (-18.053, -12.417, 18.493, 13.955),
    "LGSWide": (-13.194, -14.137, 14.618, 15.04),
    "arctic_open": (-18.342, -13.289, 18.344, 13.288),
    "arctic_pro": (-19.04, -14.132, 19.039, 14.133),
    "dubai_open": (-17.18, -13.375, 17.179, 13.313),
    "dubai_pro": (-19.283, -14.891, 19.389, 14.889),
    "hamption_open": (-17.042, -14.857, 17.009, 14.84),
    "hamption_pro": (-17.508, -14.852, 17.591, 14.853),
    "jyllandsringen_open": (-17.338, -13.634, 17.341, 13.647),
    "jyllandsringen_pro": (-19.268, -16.336, 19.275, 16.342),
}
"""Wall boxes whose placement differs from bounding box + margin (the wall mesh's vertices).
The *_ccw / *_cw variants of the 2022 tracks sit at the default 0.762 m margin."""


def look_for(track_name: str) -> TrackLook:
    """The look of a track by name: its family's, with its own wall box where the mesh has one;
    generated tracks cycle through the families by seed."""
    seed = parse_generated_name(track_name)
    if seed is not None:
        return GENERATED_LOOKS[seed % len(GENERATED_LOOKS)]
    look = STANDARD
    for prefix, family_look in FAMILY_PREFIXES:
        if track_name.startswith(prefix):
            look = family_look
            break
    rect = WALL_RECTS.get(track_name)
    if rect is not None:
        look = replace(look, walls=replace(look.walls, rect=rect))
    return look


def plain(look: TrackLook) -> TrackLook:
    """The same look without speckle (flat materials; useful for tests and diagrams)."""
    return replace(look, speckle=Speckle())


__all__ = [
    "CITY_2019",
    "DEEPRACER_MARKINGS",
    "REINVENT_BASE",
    "STANDARD",
    "LookError",
    "Speckle",
    "TextureError",
    "TrackLook",
    "Walls",
    "look_for",
    "plain",
]
