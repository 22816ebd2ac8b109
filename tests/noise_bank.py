"""Noise-bank offsets for the pixel-noise tests of the camera augmentation and domain randomisation."""

from __future__ import annotations

import numpy as np

from slipstream.render.randomization import frame_noise_offsets


def bank(images, key=0):
    """Noise-bank offsets for a batch of images: car `key + n` at frame 0."""
    n = len(images)
    return frame_noise_offsets(np.arange(n) + key, np.zeros(n), images[0].size)
