"""Scripted drivers for tests, benchmarks and baselines (not learned policies)."""

from __future__ import annotations

import numpy as np

from slipstream.sim.car import CarState
from slipstream.tracks.track import Track


def pure_pursuit_steering(
    track: Track,
    state: CarState,
    reverse: np.ndarray | bool = False,
    lookahead: float = 0.5,
    lane: float = 0.0,
    gain: float = 1.5,
    max_steering_deg: float = 30.0,
) -> np.ndarray:
    """Steering (deg, positive left) that chases a point `lookahead` metres further along a lane.

    `track` is the forward-direction track; cars with `reverse` True chase points behind them in
    waypoint order. `lane` as in `Track.lane_point_at` (0 = centre line).
    """
    pos = np.stack([state.x, state.y], axis=1)
    arc = track.project(pos).arc
    target_arc = np.where(reverse, arc - lookahead, arc + lookahead)
    target = track.lane_point_at(target_arc, lane)
    bearing = np.arctan2(target[:, 1] - state.y, target[:, 0] - state.x) - state.yaw
    bearing = np.mod(bearing + np.pi, 2.0 * np.pi) - np.pi
    return np.clip(gain * np.degrees(bearing), -max_steering_deg, max_steering_deg)
