"""Opt-in camera augmentation for the real car: what the physical DeepRacer's camera adds.

DeepRacer's sim-to-real guidance trains with varied colours, brightness, contrast, textures,
shifted views, shadows and noise so a model does not rely on the simulator's exact pixels; the
real car's wide-angle lens also bends straight lines (barrel distortion), its auto-exposure
changes the overall gain and motion/focus blur softens edges. `sample_episode` draws, per car
and per episode, from an explicit `numpy.random.Generator`:

* translation: a sub-pixel shift of the whole view, uniform in +-`translation` pixels per axis;
* barrel distortion: output pixel p (radius r from the centre, in half-diagonals) shows the
  pinhole image at centre + (p - centre)(1 + k r^2), k uniform in [0, `barrel`];
* exposure: a gain 2**u, u uniform in +-`exposure` stops;
* shadows: up to `shadows` soft straight-edged bands across the view, each multiplying the
  grey by 1 - s, s uniform in [0.3, 1] x `shadow_strength`;
* texture: a fixed smooth pattern (8x8-pixel blobs) of standard deviation `texture` grey
  levels added for the whole episode (an image-space stand-in for varied surface textures);
* blur: a Gaussian of sigma uniform in [0, `blur`] pixels (5 taps per axis).

`apply` then maps each frame (N, H, W) uint8 through the car's episode draw and adds Gaussian
pixel noise of `noise_sigma` per frame (`randomization.add_pixel_noise`). Colour, brightness and
contrast per material are `randomization.sample_luts` (DeepRacer's ENABLE_DOMAIN_RANDOMIZATION).
The env applies it to the front camera (world key CAMERA_AUGMENTATION), not to the stereo pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from slipstream.render.randomization import add_pixel_noise


class AugmentError(ValueError):
    """Augmentation settings that cannot be used."""


@dataclass(frozen=True)
class AugmentSpec:
    """How strongly to augment (all zero = identity)."""

    translation: float = 4.0
    barrel: float = 0.25
    exposure: float = 0.4
    shadows: int = 2
    shadow_strength: float = 0.5
    texture: float = 4.0
    blur: float = 1.0
    noise_sigma: float = 3.0

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise AugmentError(f"{name} must be finite and >= 0, got {value!r}")
        if int(self.shadows) != self.shadows:
            raise AugmentError(f"shadows must be a whole number, got {self.shadows!r}")
        if self.shadow_strength > 1.0:
            raise AugmentError(f"shadow_strength must be <= 1, got {self.shadow_strength!r}")
        if self.blur > 3.0:
            raise AugmentError(f"blur must be <= 3 pixels (5-tap kernel), got {self.blur!r}")


@dataclass(frozen=True)
class EpisodeAugment:
    """One episode's draw for N cars (see module docstring)."""

    src_x: np.ndarray  # (N, H, W) float32 source column of each output pixel
    src_y: np.ndarray  # (N, H, W) float32 source row
    gain: np.ndarray  # (N, H, W) float32 exposure x shadows
    offset: np.ndarray  # (N, H, W) float32 texture pattern (grey levels)
    blur_taps: np.ndarray  # (N, 3) float32 weights of offsets 0, +-1, +-2 (sum 1)
    shift: np.ndarray  # (N, 2) float64 translation (dx, dy) pixels
    barrel_k: np.ndarray  # (N,) float64
    exposure_gain: np.ndarray  # (N,) float64
    blur_sigma: np.ndarray  # (N,) float64


def take(episode: EpisodeAugment, rows: np.ndarray) -> EpisodeAugment:
    """The draws of cars `rows` (a batch subset)."""
    return EpisodeAugment(**{k: getattr(episode, k)[rows] for k in episode.__dataclass_fields__})


def blur_weights(sigma: float) -> np.ndarray:
    """(3,) weights of a 5-tap Gaussian at offsets 0, +-1, +-2 (sum over 5 taps = 1)."""
    if sigma <= 1e-6:
        return np.array([1.0, 0.0, 0.0], dtype=np.float32)
    w = np.exp(-0.5 * (np.arange(3) / sigma) ** 2)
    return (w / (w[0] + 2.0 * w[1:].sum())).astype(np.float32)


def sample_episode(
    rng: np.random.Generator,
    num_cars: int,
    spec: AugmentSpec = AugmentSpec(),
    size: tuple[int, int] = (160, 120),
) -> EpisodeAugment:
    """Draw one episode's augmentation for `num_cars` cars with images of `size` (W, H)."""
    w, h = size
    cols = np.arange(w, dtype=np.float64) + 0.5
    rows = np.arange(h, dtype=np.float64) + 0.5
    px, py = np.meshgrid(cols - 0.5 * w, rows - 0.5 * h)
    r2 = (px**2 + py**2) / (0.25 * (w * w + h * h))
    shift = rng.uniform(-1.0, 1.0, (num_cars, 2)) * spec.translation
    k = rng.uniform(0.0, 1.0, num_cars) * spec.barrel
    scale = 1.0 + k[:, None, None] * r2[None]
    src_x = 0.5 * w + px[None] * scale - shift[:, 0, None, None] - 0.5
    src_y = 0.5 * h + py[None] * scale - shift[:, 1, None, None] - 0.5
    exposure_gain = 2.0 ** (rng.uniform(-1.0, 1.0, num_cars) * spec.exposure)
    gain = np.broadcast_to(exposure_gain[:, None, None], (num_cars, h, w)).copy()
    for n in range(num_cars):
        for _ in range(int(rng.integers(0, int(spec.shadows) + 1)) if spec.shadows else 0):
            angle = rng.uniform(0.0, math.pi)
            centre = rng.uniform(-0.5, 0.5) * w
            half = rng.uniform(0.05, 0.3) * w
            depth = rng.uniform(0.3, 1.0) * spec.shadow_strength
            dist = px * math.cos(angle) + py * math.sin(angle) - centre
            inside = np.clip(half + 2.0 - np.abs(dist), 0.0, 4.0) / 4.0  # 4-pixel soft edges
            gain[n] *= 1.0 - depth * inside
    offset = np.zeros((num_cars, h, w))
    if spec.texture > 0.0:
        coarse = rng.standard_normal((num_cars, h // 8 + 2, w // 8 + 2))
        yi = (rows / 8.0)[:, None]
        xi = (cols / 8.0)[None, :]
        y0, x0 = np.floor(yi).astype(int), np.floor(xi).astype(int)
        fy, fx = yi - y0, xi - x0
        smooth = (
            coarse[:, y0, x0] * (1 - fy) * (1 - fx)
            + coarse[:, y0 + 1, x0] * fy * (1 - fx)
            + coarse[:, y0, x0 + 1] * (1 - fy) * fx
            + coarse[:, y0 + 1, x0 + 1] * fy * fx
        )
        offset = smooth / smooth.std(axis=(1, 2), keepdims=True) * spec.texture
    sigma = rng.uniform(0.0, 1.0, num_cars) * spec.blur
    return EpisodeAugment(
        src_x=src_x.astype(np.float32),
        src_y=src_y.astype(np.float32),
        gain=gain.astype(np.float32),
        offset=offset.astype(np.float32),
        blur_taps=np.stack([blur_weights(s) for s in sigma]),
        shift=shift,
        barrel_k=k,
        exposure_gain=exposure_gain,
        blur_sigma=sigma,
    )


@numba.njit(cache=True, fastmath=False)
def _augment_kernel(images, src_x, src_y, gain, offset, taps, out):  # pragma: no cover
    n_img, h, w = images.shape
    warped = np.empty((h, w), dtype=np.float32)
    horiz = np.empty((h, w), dtype=np.float32)
    for n in range(n_img):
        img = images[n]
        for r in range(h):
            for c in range(w):
                x = min(max(src_x[n, r, c], 0.0), w - 1.0)
                y = min(max(src_y[n, r, c], 0.0), h - 1.0)
                x0 = min(int(x), w - 2)
                y0 = min(int(y), h - 2)
                ax = x - x0
                ay = y - y0
                top = img[y0, x0] * (1.0 - ax) + img[y0, x0 + 1] * ax
                bottom = img[y0 + 1, x0] * (1.0 - ax) + img[y0 + 1, x0 + 1] * ax
                warped[r, c] = top * (1.0 - ay) + bottom * ay
        t0, t1, t2 = taps[n, 0], taps[n, 1], taps[n, 2]
        for r in range(h):
            for c in range(w):
                acc = t0 * warped[r, c]
                for k, t in ((1, t1), (2, t2)):
                    acc += t * (warped[r, max(c - k, 0)] + warped[r, min(c + k, w - 1)])
                horiz[r, c] = acc
        for r in range(h):
            for c in range(w):
                acc = t0 * horiz[r, c]
                for k, t in ((1, t1), (2, t2)):
                    acc += t * (horiz[max(r - k, 0), c] + horiz[min(r + k, h - 1), c])
                v = acc * gain[n, r, c] + offset[n, r, c]
                out[n, r, c] = 255 if v >= 255.0 else (0 if v < 0.0 else int(v + 1e-4))


def apply(
    images: np.ndarray,
    episode: EpisodeAugment,
    noise_offsets: np.ndarray,
    noise_sigma: float = AugmentSpec().noise_sigma,
) -> np.ndarray:
    """Augmented copy (N, H, W) uint8 of frames (N, H, W) uint8, one episode draw per car. The
    pixel noise reads its bank at `noise_offsets` (one per frame, `frame_noise_offsets`)."""
    images = np.ascontiguousarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise AugmentError(f"images must be (N, H, W) uint8, got {images.shape} {images.dtype}")
    if images.shape != episode.src_x.shape:
        raise AugmentError(
            f"images {images.shape} do not match the episode draw {episode.src_x.shape}"
        )
    out = np.empty_like(images)
    _augment_kernel(
        images, episode.src_x, episode.src_y, episode.gain, episode.offset, episode.blur_taps, out
    )
    if noise_sigma <= 0:
        return out
    return add_pixel_noise(out, noise_sigma, noise_offsets)
