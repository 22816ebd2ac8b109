"""The object keys of DeepRacer's reward params (docs/deepracer.md section 1), batched over N worlds
with K objects each (obstacles, bot cars and other racecars, in insertion order).

Quantities (arrays; the env turns row n into the lists the reward function sees):

* `objects_location` (N, K, 2): x, y of each object's pose (m).
* `objects_left_of_center` (N, K) bool: `inner_poly.contains(p) XOR (not is_ccw)`, inner_poly
  being the area between the centre line and the inner border.
* `objects_speed` (N, K): the given speed (DeepRacer: BOT_CAR_SPEED for every object) in worlds
  that have bot cars, else 0.0.
* `objects_heading` (N, K): object yaw in RADIANS (DeepRacer's code, not its docs) in worlds that
  have bot cars, else 0.0.
* `objects_distance_from_center` (N, K): distance to the centre line (m).
* `objects_distance` (N, K): projection distance along the centre line from waypoint 0 (m).
* `closest_objects` (N, 2) int: [prev, next] object indices: the objects sorted by centre-line
  projection, next = first one strictly ahead of the car's projection, prev = the one before it,
  both wrapping around ([0, 0] when a world has no objects).

Invalid objects (`valid` False) get zeros/False and are left out of `closest_objects`.
The per-object centre-line geometry (`object_geometry`) can be computed once for static
obstacles and passed in.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from slipstream.tracks import Track
from slipstream.tracks.geometry import points_in_polygon


def inner_half_ring(track: Track) -> np.ndarray:
    """The ring (2M, 2) centre line + reversed inner border: with the even-odd rule it encloses
    the area between the centre line and the inner border (DeepRacer's `inner_poly`)."""
    return np.vstack([track.center, track.inner[::-1]])


class ObjectGeometry(NamedTuple):
    """Where objects are relative to the centre line; arrays (N, K)."""

    arc: np.ndarray  # projection distance from waypoint 0 (m)
    distance_from_center: np.ndarray  # (m)
    left_of_center: np.ndarray  # bool, DeepRacer's inner_poly rule


def object_geometry(track: Track, obj_xy: np.ndarray) -> ObjectGeometry:
    """Centre-line quantities of object positions obj_xy (N, K, 2). The costly part of the
    reward quantities (a projection and a point-in-polygon test per object): compute it once
    for static obstacles and pass it to `object_reward_quantities`."""
    obj_xy = np.asarray(obj_xy, dtype=np.float64)
    lead = obj_xy.shape[:-1]
    xy = obj_xy.reshape(-1, 2)
    if xy.shape[0] == 0:
        return ObjectGeometry(np.zeros(lead), np.zeros(lead), np.zeros(lead, dtype=bool))
    proj = track.project(xy)
    in_inner_half = points_in_polygon(xy, inner_half_ring(track))
    return ObjectGeometry(
        proj.arc.reshape(lead),
        proj.distance.reshape(lead),
        (in_inner_half ^ (not track.is_ccw)).reshape(lead),
    )


def closest_objects(car_ndist: np.ndarray, obj_ndist: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(N, 2) [prev, next] object indices around the car by lap position (DeepRacer's
    `find_prev_next` on the sorted object projections, with wrap-around)."""
    obj_ndist = np.asarray(obj_ndist, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    n = obj_ndist.shape[0]
    out = np.zeros((n, 2), dtype=np.int64)
    if obj_ndist.shape[1] == 0:
        return out
    keyed = np.where(valid, obj_ndist, np.inf)
    order = np.argsort(keyed, axis=1, kind="stable")
    count = valid.sum(axis=1)
    nxt = np.count_nonzero(valid & (obj_ndist <= np.asarray(car_ndist)[:, None]), axis=1)
    nxt = np.where(nxt == count, 0, nxt)
    prev = np.where(nxt - 1 < 0, count - 1, nxt - 1)
    rows = np.arange(n)
    has = count > 0
    out[:, 0] = np.where(has, order[rows, np.maximum(prev, 0)], 0)
    out[:, 1] = np.where(has, order[rows, nxt], 0)
    return out


def object_reward_quantities(
    track: Track,
    car_front_xy: np.ndarray,
    car_ndist: np.ndarray | None,
    obj_poses: np.ndarray,
    valid: np.ndarray,
    obj_speed: np.ndarray,
    is_bot: np.ndarray,
    geometry: ObjectGeometry | None = None,
) -> dict[str, np.ndarray]:
    """The object reward params of N worlds (module docstring).

    car_front_xy (N, 2) front-of-car points; car_ndist (N,) their normalised centre-line
    projection (None: computed here from car_front_xy); obj_poses (N, K, 3);
    valid, is_bot (N, K) bool; obj_speed (N, K) m/s to report (pass BOT_CAR_SPEED for every
    object to match DeepRacer). `geometry`: `object_geometry(track, obj_poses[..., :2])` when
    the caller has it already (static obstacles need it once per placement).
    """
    if car_ndist is None:
        car_ndist = track.project(np.asarray(car_front_xy, dtype=np.float64)).ndist
    obj_poses = np.asarray(obj_poses, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    n, k = obj_poses.shape[:2]
    if geometry is None:
        geometry = object_geometry(track, obj_poses[..., :2])
    arc, dist_center, left = geometry
    has_bots = (np.asarray(is_bot, dtype=bool) & valid).any(axis=1, keepdims=True)
    speed = np.broadcast_to(np.asarray(obj_speed, dtype=np.float64), (n, k))
    return {
        "objects_location": np.where(valid[..., None], obj_poses[..., :2], 0.0),
        "objects_left_of_center": left & valid,
        "objects_speed": np.where(valid & has_bots, speed, 0.0),
        "objects_heading": np.where(valid & has_bots, obj_poses[..., 2], 0.0),
        "objects_distance_from_center": np.where(valid, dist_center, 0.0),
        "objects_distance": np.where(valid, arc, 0.0),
        "closest_objects": closest_objects(car_ndist, arc / track.length, valid),
    }
