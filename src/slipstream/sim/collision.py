"""Collision footprints and DeepRacer's crash rule (docs/deepracer.md sections 5.2, 5.3).

Every object is a rectangle centred on its pose [x, y, yaw] (metres, radians): `length` along the
yaw, `width` across it. The racecar's rectangle is 0.32352 m by 0.1961 m centred on base_link.

Crash test (`crash_matrix`). DeepRacer's rule is "any corner of the car rectangle inside another
collidable object's rectangle". Slipstream also counts any corner of the object inside the car
rectangle (`include_object_corners=True`, the default). Why: in Gazebo the physical bodies cannot
pass through each other, so a car that clips a box corner with its flank is stopped or deflected
even when none of its own corners enters the box. Slipstream has no contact physics, so with the
corner-of-car test alone such a car would drive through the corner of the box. With both tests a
car and a box (the car is shorter than both box sides) cannot overlap without a crash. Pass
`include_object_corners=False` for DeepRacer's one-sided test. Two equal cars crossing at right
angles centre-on-centre overlap with no corner inside the other; a car cannot reach that pose
between two 1/15 s steps without passing a detected pose first.

Which crashes count (`crash_counts`): a crash with a static obstacle always counts; a crash with a
bot car or another racecar counts only when this car is behind the other one. DeepRacer compares
the two normalised positions on the lap directly (`car < other`), which is wrong across the lap
seam (a car at ndist 0.99 that rear-ends a bot at 0.01 is judged ahead of it). Since colliding
objects are well under half a lap apart, Slipstream by default compares around the loop: the car
is behind when the other object is less than half a lap ahead of it (`(other - car) mod 1` in
(0, 0.5)). `naive_seam=True` reproduces DeepRacer's direct comparison; open tracks always compare
directly. Equal positions are not "behind".
"""

from __future__ import annotations

import numpy as np

CAR_LENGTH = 0.32352
"""Racecar crash-rectangle extent along its heading (m), DeepRacer's `BOT_CAR_DIMENSION`."""
CAR_WIDTH = 0.1961
"""Racecar crash-rectangle extent across its heading (m)."""

# Corner order: front-left, rear-left, rear-right, front-right (counter-clockwise), as unit
# multiples of (length/2, width/2) in the rectangle's own frame.
_CORNER_SIGNS = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])


def rectangle_corners(
    poses: np.ndarray, length: float | np.ndarray, width: float | np.ndarray
) -> np.ndarray:
    """Corners (..., 4, 2) of rectangles centred on poses (..., 3) = [x, y, yaw].

    `length` (along yaw) and `width` broadcast to poses.shape[:-1]. Corners run counter-clockwise
    from the front-left one.
    """
    poses = np.asarray(poses, dtype=np.float64)
    lead = poses.shape[:-1]
    half_l = 0.5 * np.broadcast_to(np.asarray(length, dtype=np.float64), lead)[..., None]
    half_w = 0.5 * np.broadcast_to(np.asarray(width, dtype=np.float64), lead)[..., None]
    lx = _CORNER_SIGNS[:, 0] * half_l  # (..., 4)
    ly = _CORNER_SIGNS[:, 1] * half_w
    c = np.cos(poses[..., 2])[..., None]
    s = np.sin(poses[..., 2])[..., None]
    x = poses[..., 0, None] + c * lx - s * ly
    y = poses[..., 1, None] + s * lx + c * ly
    return np.stack([x, y], axis=-1)


def points_in_rectangles(
    points: np.ndarray, rect_poses: np.ndarray, lengths: np.ndarray, widths: np.ndarray
) -> np.ndarray:
    """Whether points (..., P, 2) lie inside rectangles (..., K, 3): (..., P, K) bool.

    Each point is moved into each rectangle's frame (translate, rotate by -yaw) and compared with
    the half extents; the boundary counts as inside (so two equal rectangles at the same pose, or
    level side by side, do collide). `lengths`/`widths` have shape (..., K) (or broadcast to it).
    """
    points = np.asarray(points, dtype=np.float64)
    rect_poses = np.asarray(rect_poses, dtype=np.float64)
    lead_k = rect_poses.shape[:-1]
    half_l = 0.5 * np.broadcast_to(np.asarray(lengths, dtype=np.float64), lead_k)
    half_w = 0.5 * np.broadcast_to(np.asarray(widths, dtype=np.float64), lead_k)
    dx = points[..., :, None, 0] - rect_poses[..., None, :, 0]
    dy = points[..., :, None, 1] - rect_poses[..., None, :, 1]
    c = np.cos(rect_poses[..., 2])[..., None, :]
    s = np.sin(rect_poses[..., 2])[..., None, :]
    local_x = c * dx + s * dy
    local_y = c * dy - s * dx
    return (np.abs(local_x) <= half_l[..., None, :]) & (np.abs(local_y) <= half_w[..., None, :])


def crash_matrix(
    car_poses: np.ndarray,
    obj_poses: np.ndarray,
    obj_len: np.ndarray,
    obj_wid: np.ndarray,
    valid: np.ndarray,
    car_length: float = CAR_LENGTH,
    car_width: float = CAR_WIDTH,
    include_object_corners: bool = True,
) -> np.ndarray:
    """(N, K) whether car n's rectangle overlaps object k of its world.

    car_poses (N, 3) base_link poses; obj_poses (N, K, 3); obj_len, obj_wid (N, K) metres;
    valid (N, K) masks objects that exist. True when a car corner is inside the object, or (with
    `include_object_corners`, see the module docstring) an object corner is inside the car.
    """
    car_poses = np.asarray(car_poses, dtype=np.float64)
    obj_poses = np.asarray(obj_poses, dtype=np.float64)
    n, k = obj_poses.shape[:2]
    car_corners = rectangle_corners(car_poses, car_length, car_width)  # (N, 4, 2)
    hit = points_in_rectangles(car_corners, obj_poses, obj_len, obj_wid).any(axis=-2)
    if include_object_corners and k > 0:
        obj_corners = rectangle_corners(obj_poses, obj_len, obj_wid).reshape(n, k * 4, 2)
        inside_car = points_in_rectangles(
            obj_corners,
            car_poses[:, None, :],
            np.full((n, 1), car_length),
            np.full((n, 1), car_width),
        )  # (N, K*4, 1)
        hit |= inside_car.reshape(n, k, 4).any(axis=-1)
    return hit & np.asarray(valid, dtype=bool)


def is_behind(
    ndist: np.ndarray, other_ndist: np.ndarray, closed: bool = True, naive_seam: bool = False
) -> np.ndarray:
    """Whether a position (normalised 0..1 along the lap) is behind another; arrays broadcast.

    Closed track: behind when `other` is less than half a lap ahead around the loop. With
    `naive_seam` (DeepRacer) or on an open track: `ndist < other_ndist`.
    """
    a = np.asarray(ndist, dtype=np.float64)
    b = np.asarray(other_ndist, dtype=np.float64)
    if naive_seam or not closed:
        return a < b
    gap = np.mod(b - a, 1.0)
    return (gap > 0.0) & (gap < 0.5)


def crash_counts(
    crash: np.ndarray,
    car_ndist: np.ndarray,
    obj_ndist: np.ndarray,
    is_static: np.ndarray,
    closed: bool = True,
    naive_seam: bool = False,
) -> np.ndarray:
    """(N, K) crashes that count against the car (its episode status becomes `crashed`).

    crash (N, K) from `crash_matrix`; car_ndist (N,) and obj_ndist (N, K) normalised lap
    positions; is_static (N, K) True for obstacles. Obstacle crashes always count; others only
    when the car is behind the object (module docstring: the lap seam).
    """
    behind = is_behind(np.asarray(car_ndist)[:, None], obj_ndist, closed, naive_seam)
    return np.asarray(crash, dtype=bool) & (np.asarray(is_static, dtype=bool) | behind)


def bots_hitting_car_ahead(
    crash: np.ndarray,
    car_ndist: np.ndarray,
    obj_ndist: np.ndarray,
    is_bot: np.ndarray,
    closed: bool = True,
    naive_seam: bool = False,
) -> np.ndarray:
    """(N, K) bot cars that ran into the racecar from behind; they pause (`bots.bots_hit`).

    The converse of `crash_counts` for bot cars: crash & is_bot & bot behind the car.
    """
    bot_behind = is_behind(obj_ndist, np.asarray(car_ndist)[:, None], closed, naive_seam)
    return np.asarray(crash, dtype=bool) & np.asarray(is_bot, dtype=bool) & bot_behind
