"""The circle track of the object and bot-car tests: every lane pose is worked out by hand."""

from __future__ import annotations

import numpy as np

from slipstream.tracks import Track

R, W, M = 5.0, 1.0, 720  # circle: centre radius, road width, waypoints
R_INNER_LANE, R_OUTER_LANE = R - W / 4, R + W / 4


def circle_track(radius: float = R, width: float = W, m: int = M) -> Track:
    """Counter-clockwise circle starting at (radius, 0); lanes at radius -/+ width/4."""
    theta = 2 * np.pi * np.arange(m) / m
    ring = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    route = np.hstack([radius * ring, (radius - width / 2) * ring, (radius + width / 2) * ring])
    return Track.from_route(np.vstack([route, route[:1]]), "circle")
