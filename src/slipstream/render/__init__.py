"""Batched, headless sensors of the simulator state (no GUI imports).

* `camera`: the DeepRacer front camera and stereo pair, (N, 120, 160) uint8 grey images of N
  cars from a pre-rasterised `TrackTexture`, with boxes (`BoxSet`) as solid 3-D boxes; and
  `object_in_camera` (DeepRacer's frustum test).
* `lidar`: the 64-beam lidar against boxes and its observation filters.
* `looks`: each track's look as DeepRacer renders it (materials, speckle, lines, kerbs, walls),
  from the simapp's meshes and textures; `look_for(track_name)`.
* `randomization`: per-car colour/brightness/contrast look-up tables and pixel noise.
* `augment`: opt-in real-car camera augmentation (shift, barrel lens, exposure, shadows,
  texture, blur, noise), drawn per episode.
* `compare`: pose fit and image statistics against real DeepRacer frames
  (`slipstream camera compare`).
* `topdown`: a colour view from above for people (videos, render_mode="rgb_array").
* `bench`: `benchmark_camera` timings.
"""

from slipstream.render.boxes import BoxSet, BoxSetError
from slipstream.render.camera import (
    CameraSpec,
    CameraSpecError,
    object_in_camera,
    render_cameras,
    render_stereo,
)
from slipstream.render.lidar import (
    LidarSpec,
    LidarSpecError,
    lidar_observation,
    lidar_ranges,
    sector_lidar,
)
from slipstream.render.looks import TrackLook, look_for
from slipstream.render.randomization import (
    RandomizationSpec,
    add_pixel_noise,
    sample_luts,
)
from slipstream.render.texture import TextureError, TrackColours, TrackMarkings, TrackTexture
from slipstream.render.topdown import render_topdown

__all__ = [
    "BoxSet",
    "BoxSetError",
    "CameraSpec",
    "CameraSpecError",
    "LidarSpec",
    "LidarSpecError",
    "RandomizationSpec",
    "TextureError",
    "TrackColours",
    "TrackLook",
    "TrackMarkings",
    "TrackTexture",
    "add_pixel_noise",
    "lidar_observation",
    "lidar_ranges",
    "look_for",
    "object_in_camera",
    "render_cameras",
    "render_stereo",
    "render_topdown",
    "sample_luts",
    "sector_lidar",
]
