"""The lap-speed yardstick (`slipstream.evaluate.lap_ceiling`) against laps worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from slipstream.evaluate.lap_ceiling import (
    CarLimits,
    car_limits,
    curvature,
    lap_ceiling,
    lap_seconds,
    racing_line,
    resample_closed,
)
from slipstream.sim.car import CarParams, settled_speed
from slipstream.tracks.registry import load_track
from slipstream.tracks.track import Track

# corners at the speed equal to their radius (m/s = m), so any circle takes 2 pi seconds
PROPORTIONAL = CarLimits(
    top_speed=3.0,
    acceleration=1.0,
    deceleration=1.0,
    turn_radius=(1.0, 5.0),
    turn_speed=(1.0, 5.0),
    half_width=0.1,
)


def circle(radius: float, count: int = 400) -> np.ndarray:
    angle = np.linspace(0.0, 2 * np.pi, count, endpoint=False)
    return radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def ring_track(radius: float, width: float) -> Track:
    center, inner, outer = circle(radius), circle(radius - width / 2), circle(radius + width / 2)
    route = np.hstack([center, inner, outer])
    return Track.from_route(np.vstack([route, route[:1]]), name="ring")


def stadium(straight: float, radius: float, spacing: float = 0.01) -> np.ndarray:
    """Two straights of `straight` m joined by half circles of `radius` m."""
    arc = np.linspace(-np.pi / 2, np.pi / 2, int(np.pi * radius / spacing), endpoint=False)
    right = np.stack([straight / 2 + radius * np.cos(arc), radius * np.sin(arc)], axis=1)
    top = np.stack([np.linspace(straight / 2, -straight / 2, int(straight / spacing), False),
                    np.full(int(straight / spacing), radius)], axis=1)  # fmt: skip
    return np.vstack([right, top, -right, -top])


def test_curvature_of_a_circle_is_one_over_its_radius():
    assert curvature(circle(2.0)) == pytest.approx(np.full(400, 0.5), rel=1e-6)
    assert curvature(circle(2.0)[::-1]) == pytest.approx(np.full(400, -0.5), rel=1e-6)


def test_a_circle_whose_corner_speed_is_its_radius_takes_two_pi_seconds():
    for radius in (1.5, 3.0):
        assert lap_seconds(circle(radius), PROPORTIONAL) == pytest.approx(2 * np.pi, rel=1e-3)
    # past the top speed (3 m/s) the lap is the circumference at the top speed
    assert lap_seconds(circle(4.5), PROPORTIONAL) == pytest.approx(2 * np.pi * 4.5 / 3, rel=1e-3)
    # tighter than the tightest turn: the same yaw rate, so 2 pi seconds again
    assert lap_seconds(circle(0.5), PROPORTIONAL) == pytest.approx(2 * np.pi, rel=1e-3)


def test_a_stadium_lap_speeds_up_and_brakes_at_the_car_rates():
    # the half circles (radius 1) at 1 m/s: pi s each. Each 10 m straight: 1 -> 3 m/s at 1 m/s^2
    # (4 m, 2 s), 2 m at 3 m/s (2/3 s), 3 -> 1 m/s braking (4 m, 2 s)
    by_hand = 2 * math.pi + 2 * (2 + 2 / 3 + 2)
    assert lap_seconds(stadium(10.0, 1.0), PROPORTIONAL) == pytest.approx(by_hand, rel=5e-3)


def test_on_a_ring_the_ceiling_is_the_circle_lap():
    ceiling = lap_ceiling(ring_track(3.0, 1.0), PROPORTIONAL)
    assert ceiling.lap_seconds == pytest.approx(2 * np.pi, rel=2e-3)
    # the benchmarks' lap speed: centre-line length over the lap time
    assert ceiling.center_speed_mps == pytest.approx(3.0, rel=2e-3)


def test_the_racing_line_cuts_corners_and_keeps_the_car_on_the_road():
    track = load_track("slipstream_default")
    center = resample_closed(track.center[:-1], 0.1)
    half = np.full(len(center), 0.3)
    line = racing_line(center, half)
    offset = np.linalg.norm(line - center, axis=1)
    assert offset.max() <= 0.3 + 1e-6

    def bending(points: np.ndarray) -> tuple[float, float]:
        """(integral of curvature squared over the line, length)."""
        step = np.linalg.norm(np.roll(points, -1, axis=0) - points, axis=1)
        return float(np.sum(curvature(points) ** 2 * step)), float(step.sum())

    (line_bending, line_length), (center_bending, center_length) = bending(line), bending(center)
    assert line_bending < 0.85 * center_bending
    assert line_length < center_length
    limits = car_limits(CarParams())
    ceiling = lap_ceiling(track, limits)
    assert ceiling.lap_seconds < lap_seconds(center, limits)


def test_car_limits_come_from_the_car_model():
    params = CarParams()
    limits = car_limits(params)
    assert limits.top_speed == pytest.approx(settled_speed(params.max_speed, params), rel=0.01)
    assert np.all(np.diff(limits.turn_radius) > 0) and np.all(np.diff(limits.turn_speed) > 0)
    radius = np.array(limits.turn_radius)
    assert limits.corner_speed(radius) == pytest.approx(
        np.minimum(limits.turn_speed, limits.top_speed)
    )
    assert 1.0 < limits.acceleration < 10.0 and 1.0 < limits.deceleration < 10.0
    assert limits.half_width == pytest.approx(params.body_width / 2)
