"""`reset(options=...)`: starting cars from given states, parsed and checked once at the edge.

Options (all optional; any other key is an error):

* ``"pose"``: ``(x, y, heading_deg)``: DeepRacer's x, y (the car's front point, 0.14 m ahead of
  base_link, as reward params and simtraces report it) and heading in degrees. A vector env takes
  one triple per car ((N, 3)). A pose off the track is allowed; NaN or infinity is an error.
* ``"speed"``: forward speed (m/s), 0 to the car's top command (4 m/s); a number, or one per car.
* ``"steering_angle"``: a steering command (deg, +-30) the servo has already settled at.

The car starts with no sideways slip and no yaw rate; the prepare step holds it (pose, speed and
steering) and the first run step moves it. The lap's progress counts from the given pose.

Without ``"pose"`` the cars start at DeepRacer's start position as usual, with the given speed and
steering.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from slipstream.sim.car import CarParams

KEYS = ("pose", "speed", "steering_angle")


@dataclass(frozen=True)
class StartStates:
    """One start state per car; `front` and `heading_deg` are None to keep the start line pose."""

    front: np.ndarray | None  # (N,2)
    heading_deg: np.ndarray | None  # (N,)
    speed: np.ndarray  # (N,)
    steering_deg: np.ndarray  # (N,)


def _per_car(value: Any, name: str, num_cars: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"reset option {name!r} must be a number or one number per car, got {value!r}"
        ) from None
    if arr.ndim == 0:
        arr = np.full(num_cars, float(arr))
    if arr.shape != (num_cars,):
        raise ValueError(
            f"reset option {name!r} must be a number or {num_cars} numbers (one per car), got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"reset option {name!r} holds NaN or infinity: {arr.tolist()}")
    return arr


def parse_start_options(
    options: Mapping[str, Any] | None, num_cars: int, car: CarParams
) -> StartStates | None:
    """The start states asked for by `options`, or None when it asks for none."""
    if not options:
        return None
    if not isinstance(options, Mapping):
        raise ValueError(f"reset options must be a dict, got {type(options).__name__}")
    unknown = sorted(set(options) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}; use {', '.join(KEYS)}")
    front = heading = None
    if options.get("pose") is not None:
        try:
            pose = np.asarray(options["pose"], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"reset option 'pose' must be (x, y, heading_deg), got {options['pose']!r}"
            ) from None
        if pose.shape == (3,) and num_cars == 1:
            pose = pose[None, :]
        if pose.shape != (num_cars, 3):
            raise ValueError(
                f"reset option 'pose' must be (x, y, heading_deg) per car: shape ({num_cars}, 3)"
                + (" or (3,)" if num_cars == 1 else "")
                + f", got shape {pose.shape}"
            )
        if not np.isfinite(pose).all():
            raise ValueError(f"reset option 'pose' holds NaN or infinity: {pose.tolist()}")
        front, heading = pose[:, :2].copy(), pose[:, 2].copy()
    speed = _per_car(options.get("speed", 0.0), "speed", num_cars)
    if ((speed < 0.0) | (speed > car.max_speed)).any():
        raise ValueError(
            f"reset option 'speed' must be within 0-{car.max_speed} m/s, got {speed.tolist()}"
        )
    steer = _per_car(options.get("steering_angle", 0.0), "steering_angle", num_cars)
    if (np.abs(steer) > car.max_steering_deg).any():
        raise ValueError(
            f"reset option 'steering_angle' must be within +-{car.max_steering_deg} deg, got {steer.tolist()}"
        )
    return StartStates(front, heading, speed, steer)
