"""The reward function's `params` dict (docs/deepracer.md section 1), one per car, from a `StepResult`.

All 27 keys, with DeepRacer's types: floats for positions, `steps` a float, heading and
steering in degrees, `objects_heading` in radians, `waypoints` a list of (x, y) tuples in the
driving direction (loops repeat the first point at the end), `closest_waypoints` [prev, next].
Arrays are converted to Python values once per step with `tolist()`; the per-car loop only
assembles dicts, which the user's function needs one at a time anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from slipstream.config.reward_function import REWARD_PARAMS_KEYS
from slipstream.sim.simulator import StepResult
from slipstream.tracks.track import Track

REWARD_PARAM_KEYS = REWARD_PARAMS_KEYS


class WaypointLists:
    """The `waypoints` list of each driving direction, built once per track."""

    def __init__(self, forward: Track) -> None:
        pts = [tuple(p) for p in forward.center.tolist()]
        self.forward = tuple(pts)
        self.reverse = tuple(reversed(pts))

    def for_direction(self, reverse: bool) -> list[tuple[float, float]]:
        # a fresh list each call, so a reward function that mutates it cannot corrupt later steps
        return list(self.reverse if reverse else self.forward)


def build_reward_params(
    result: StepResult,
    track_length: float | np.ndarray,
    waypoints: WaypointLists | Sequence[WaypointLists],
    objects: dict[str, np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """One params dict per car for this step.

    `track_length` and `waypoints`: of the one track every car drives, or one per car (cars on
    different tracks).

    `objects` holds per-car object quantities (arrays (N, K, ...), see
    `slipstream.sim.objects_world.ObjectWorld.reward_quantities`); None = no objects.
    """
    n = len(result.steps)
    cols = {
        "all_wheels_on_track": result.all_wheels_on_track.tolist(),
        "x": result.front[:, 0].tolist(),
        "y": result.front[:, 1].tolist(),
        "heading": result.heading_deg.tolist(),
        "distance_from_center": result.distance_from_center.tolist(),
        "projection_distance": result.projection_distance.tolist(),
        "is_left_of_center": result.is_left_of_center.tolist(),
        "progress": result.progress.tolist(),
        "steps": result.steps.tolist(),
        "speed": result.speed.tolist(),
        "steering_angle": result.steering_deg.tolist(),
        "track_width": result.track_width.tolist(),
        "is_reversed": result.is_reversed.tolist(),
        "is_offtrack": result.is_offtrack.tolist(),
        "is_crashed": result.is_crashed.tolist(),
        "sim_time": result.sim_time.tolist(),
    }
    lengths = np.broadcast_to(np.asarray(track_length, dtype=np.float64), (n,)).tolist()
    per_car = [waypoints] * n if isinstance(waypoints, WaypointLists) else list(waypoints)
    prev = result.closest_prev.tolist()
    nxt = result.closest_next.tolist()
    obj = _object_columns(objects, n)
    out = []
    for i in range(n):
        params = {key: values[i] for key, values in cols.items()}
        params["track_length"] = lengths[i]
        params["waypoints"] = per_car[i].for_direction(cols["is_reversed"][i])
        params["closest_waypoints"] = [prev[i], nxt[i]]
        for key, values in obj.items():
            params[key] = values[i]
        out.append({key: params[key] for key in REWARD_PARAM_KEYS})
    return out


def _object_columns(objects: dict[str, np.ndarray] | None, n: int) -> dict[str, list]:
    """Per-car Python values of the object keys; DeepRacer's defaults when there are none."""
    if objects is None or objects["objects_location"].shape[1] == 0:
        return {
            "closest_objects": [[0, 0] for _ in range(n)],
            "objects_location": [[] for _ in range(n)],
            "objects_left_of_center": [[] for _ in range(n)],
            "objects_speed": [[] for _ in range(n)],
            "objects_heading": [[] for _ in range(n)],
            "objects_distance_from_center": [[] for _ in range(n)],
            "objects_distance": [[] for _ in range(n)],
            "object_in_camera": [False] * n,
        }
    return {
        "closest_objects": objects["closest_objects"].tolist(),
        "objects_location": [
            [list(p) for p in car] for car in objects["objects_location"].tolist()
        ],
        "objects_left_of_center": objects["objects_left_of_center"].tolist(),
        "objects_speed": objects["objects_speed"].tolist(),
        "objects_heading": objects["objects_heading"].tolist(),
        "objects_distance_from_center": objects["objects_distance_from_center"].tolist(),
        "objects_distance": objects["objects_distance"].tolist(),
        "object_in_camera": objects["object_in_camera"].tolist(),
    }
