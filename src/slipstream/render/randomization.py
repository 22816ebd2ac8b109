"""Optional domain randomisation of the camera: per-car colours, brightness, contrast, noise.

Colours are drawn from an explicit `numpy.random.Generator` and noise from a hash of a key and
a frame count, so the same seed gives the same frames. Two pieces:

* `sample_luts` draws, per car, jittered RGB colours for each material of the scene (grass,
  road, lines, walls, void above them) plus a brightness and contrast, and turns them into a
  256-entry grey look-up table. `render_cameras(..., lut=...)` maps every rendered grey through
  its car's table: each material's grey goes to its jittered grey, values in between are
  interpolated (so a pixel blending two materials whose greys are not neighbours in the sorted
  list is only approximately right; box shades are mapped like the material nearest in grey).
  Draw once per episode, like DeepRacer's ENABLE_DOMAIN_RANDOMIZATION.
* `add_pixel_noise` adds Gaussian pixel noise every frame. For speed it reads a fixed bank of
  Gaussian samples at one offset per image, so it costs about one memory pass. The offsets are
  a hash of each car's key and frame count (`frame_noise_offsets`), which keeps a car's noise
  independent of the rest of its batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from slipstream.render.texture import TrackColours, grey_of

MATERIALS = (
    "grass",
    "road",
    "border_line",
    "centre_line",
    "start_line",
    "kerb_red",
    "kerb_white",
    "wall",
    "void",
)
_BANK_SIZE = 1 << 20
_BANK_SCALE = 16.0
"""The noise bank holds round(16 z) as int8 for standard normal z (clipped to +-7.9 sigma)."""


class RandomizationError(ValueError):
    """Randomisation settings that cannot be used."""


@dataclass(frozen=True)
class RandomizationSpec:
    """How strongly to randomise (all zero = identity)."""

    colour_jitter: float = 20.0
    """Standard deviation of each material's per-channel RGB offset (0-255 units)."""
    brightness: float = 0.15
    """Uniform offset in [-b, b] x 255 grey levels added to the whole image."""
    contrast: float = 0.15
    """Uniform factor in [1 - c, 1 + c] applied around mid grey (128)."""
    noise_sigma: float = 3.0
    """Per-pixel Gaussian noise standard deviation (grey levels)."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise RandomizationError(f"{name} must be finite and >= 0, got {value!r}")
        if self.contrast >= 1.0:
            raise RandomizationError(f"contrast must be < 1, got {self.contrast!r}")


def sample_luts(
    rng: np.random.Generator,
    num_cars: int,
    colours: TrackColours | None = None,
    spec: RandomizationSpec = RandomizationSpec(),
) -> np.ndarray:
    """Per-car grey look-up tables (num_cars, 256) uint8 for `render_cameras(..., lut=...)`.

    `colours` are the texture's colours (`TrackTexture.colours`; default `TrackColours()`).
    """
    colours = TrackColours() if colours is None else colours
    base_rgb = np.array([getattr(colours, m) for m in MATERIALS], dtype=np.float64)
    base = np.floor(grey_of(base_rgb) + 1e-6)
    order = np.argsort(base, kind="stable")
    keep = np.concatenate([[True], np.diff(base[order]) > 0])  # one knot per grey value
    order = order[keep]
    jitter = rng.normal(0.0, 1.0, (num_cars, len(MATERIALS), 3)) * spec.colour_jitter
    new = grey_of(np.clip(base_rgb[None] + jitter, 0.0, 255.0))  # (N, M)
    gain = rng.uniform(1.0 - spec.contrast, 1.0 + spec.contrast, (num_cars, 1))
    offset = rng.uniform(-spec.brightness, spec.brightness, (num_cars, 1)) * 255.0
    xs = np.concatenate([[0.0], base[order], [255.0]])
    ys = np.concatenate([np.zeros((num_cars, 1)), new[:, order], np.full((num_cars, 1), 255.0)], 1)
    grey = np.arange(256, dtype=np.float64)
    hi = np.clip(np.searchsorted(xs, grey, side="right"), 1, len(xs) - 1)
    frac = (grey - xs[hi - 1]) / (xs[hi] - xs[hi - 1])
    luts = ys[:, hi - 1] + frac * (ys[:, hi] - ys[:, hi - 1])  # piecewise-linear per car
    luts = (luts - 128.0) * gain + 128.0 + offset
    return np.clip(np.floor(luts), 0, 255).astype(np.uint8)


def _bank() -> np.ndarray:
    z = np.random.default_rng(20240611).standard_normal(_BANK_SIZE)
    return np.clip(np.round(z * _BANK_SCALE), -127, 127).astype(np.int8)


_NOISE_BANK = _bank()


@numba.njit(cache=True, fastmath=False)
def _noise_kernel(images, bank, offsets, scale):  # pragma: no cover - numba
    n_img, n_pix = images.shape
    for n in range(n_img):
        o = offsets[n]
        for p in range(n_pix):
            v = images[n, p] + int(np.floor(bank[o + p] * scale + 0.5))
            images[n, p] = 255 if v > 255 else (0 if v < 0 else v)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def frame_noise_offsets(keys: np.ndarray, frames: np.ndarray, pixels: int) -> np.ndarray:
    """Noise-bank offsets, one per image, that depend only on that image's (key, frame) pair
    (a hash of the two): with a car's seed as key and its frame count as frame, each car gets
    its own noise whatever else is in the batch."""
    keys = np.asarray(keys).astype(np.uint64)
    frames = np.asarray(frames).astype(np.uint64)
    with np.errstate(over="ignore"):
        hashed = _splitmix64(_splitmix64(keys) + frames)
    return (hashed % np.uint64(_BANK_SIZE - pixels)).astype(np.int64)


def add_pixel_noise(images: np.ndarray, sigma: float, offsets: np.ndarray) -> np.ndarray:
    """A copy of uint8 images (N, ...) with Gaussian noise of `sigma` grey levels, clipped.
    Image n reads the noise bank from `offsets[n]` on (`frame_noise_offsets`)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise RandomizationError(f"images must be uint8, got {images.dtype}")
    if not (sigma >= 0.0):
        raise RandomizationError(f"sigma must be >= 0, got {sigma!r}")
    out = np.array(images, dtype=np.uint8, copy=True, order="C")
    if sigma == 0.0 or out.size == 0:
        return out
    flat = out.reshape(out.shape[0], -1)
    if flat.shape[1] > _BANK_SIZE // 2:
        raise RandomizationError(f"images of {flat.shape[1]} pixels are too large for the bank")
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.shape != (flat.shape[0],):
        raise RandomizationError(f"need one offset per image, got shape {offsets.shape}")
    if offsets.size and (offsets.min() < 0 or offsets.max() > _BANK_SIZE - flat.shape[1]):
        raise RandomizationError(
            f"offsets must lie in 0..{_BANK_SIZE - flat.shape[1]}: use frame_noise_offsets"
        )
    _noise_kernel(flat, _NOISE_BANK, offsets, float(sigma) / _BANK_SCALE)
    return out
