"""Solid boxes the sensors see: obstacles, bot cars and other racecars, per car's world.

Each of the N cars in a batch may live in its own episode, so each has its own K boxes (padded
with `valid=False`). A box stands on the ground (z from 0 to its height), centred on (x, y) and
turned by yaw. A box whose `owner` is a car index is that car's own body: the car's camera and
lidar skip it, every other car sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class BoxSetError(ValueError):
    """Box arrays whose shapes or values do not fit together."""


@dataclass(frozen=True, eq=False)
class BoxSet:
    """K boxes in each of N worlds (world n is what car n sees). Metres, radians, grey 0-255.

    Attributes:
        centers: (N, K, 2) float64 world x, y of each box's footprint centre.
        yaw: (N, K) float64 heading of the box's length axis, radians CCW from +x.
        size: (N, K, 3) float64 (length along yaw, width across, height) in metres.
        shade: (N, K) float64 base grey 0-255; the camera draws the top lighter and the sides
            darker (front/back and left/right faces differ, so edges read).
        valid: (N, K) bool; False marks padding that no sensor sees.
        owner: (N, K) int64 index of the car whose body this box is (that car skips it), -1 none.
    """

    centers: np.ndarray
    yaw: np.ndarray
    size: np.ndarray
    shade: np.ndarray
    valid: np.ndarray
    owner: np.ndarray

    def __post_init__(self) -> None:
        centers = np.ascontiguousarray(self.centers, dtype=np.float64)
        if centers.ndim != 3 or centers.shape[2] != 2:
            raise BoxSetError(f"centers must have shape (N, K, 2), got {centers.shape}")
        n, k = centers.shape[:2]
        fixed = {
            "centers": centers,
            "yaw": np.ascontiguousarray(np.broadcast_to(self.yaw, (n, k)), dtype=np.float64),
            "size": np.ascontiguousarray(np.broadcast_to(self.size, (n, k, 3)), dtype=np.float64),
            "shade": np.ascontiguousarray(np.broadcast_to(self.shade, (n, k)), dtype=np.float64),
            "valid": np.ascontiguousarray(np.broadcast_to(self.valid, (n, k)), dtype=np.bool_),
            "owner": np.ascontiguousarray(np.broadcast_to(self.owner, (n, k)), dtype=np.int64),
        }
        for name, arr in fixed.items():
            if not np.all(np.isfinite(arr)) and name != "valid":
                raise BoxSetError(f"{name} has NaN or infinite values")
            object.__setattr__(self, name, arr)
        if np.any(self.size[self.valid] <= 0.0):
            raise BoxSetError("every valid box needs length, width and height > 0 m")

    @property
    def num_worlds(self) -> int:
        return int(self.centers.shape[0])

    @property
    def num_boxes(self) -> int:
        """K, boxes per world including padding."""
        return int(self.centers.shape[1])

    @classmethod
    def empty(cls, num_worlds: int) -> BoxSet:
        """No boxes in any of `num_worlds` worlds."""
        return cls(
            centers=np.zeros((num_worlds, 0, 2)),
            yaw=np.zeros((num_worlds, 0)),
            size=np.zeros((num_worlds, 0, 3)),
            shade=np.zeros((num_worlds, 0)),
            valid=np.zeros((num_worlds, 0), dtype=bool),
            owner=np.zeros((num_worlds, 0), dtype=np.int64),
        )

    @classmethod
    def from_poses(
        cls,
        poses: np.ndarray,
        size: tuple[float, float, float] | np.ndarray,
        shade: float | np.ndarray = 150.0,
        valid: np.ndarray | None = None,
        owner: np.ndarray | int = -1,
    ) -> BoxSet:
        """Boxes from poses (N, K, 3) = [x, y, yaw]; size/shade/owner broadcast to (N, K)."""
        poses = np.asarray(poses, dtype=np.float64)
        if poses.ndim != 3 or poses.shape[2] != 3:
            raise BoxSetError(f"poses must have shape (N, K, 3) [x, y, yaw], got {poses.shape}")
        shape = poses.shape[:2]
        return cls(
            centers=poses[..., :2],
            yaw=poses[..., 2],
            size=np.broadcast_to(np.asarray(size, dtype=np.float64), (*shape, 3)),
            shade=np.broadcast_to(np.asarray(shade, dtype=np.float64), shape),
            valid=np.ones(shape, dtype=bool) if valid is None else valid,
            owner=np.broadcast_to(np.asarray(owner, dtype=np.int64), shape),
        )

    def corners(self) -> np.ndarray:
        """Footprint corners (N, K, 4, 2) in world metres, counter-clockwise."""
        signs = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
        half = 0.5 * self.size[..., None, :2] * signs
        c, s = np.cos(self.yaw)[..., None], np.sin(self.yaw)[..., None]
        x = self.centers[..., None, 0] + c * half[..., 0] - s * half[..., 1]
        y = self.centers[..., None, 1] + s * half[..., 0] + c * half[..., 1]
        return np.stack([x, y], axis=-1)

    def check_batch(self, num_cars: int) -> None:
        """Raise if these boxes are not one world per car of a batch of `num_cars`."""
        if self.num_worlds != num_cars:
            raise BoxSetError(
                f"boxes hold {self.num_worlds} worlds but {num_cars} cars were given; "
                "BoxSet arrays are (N, K, ...) with one world per car (repeat a shared world "
                "with np.broadcast_to)"
            )
