"""Static obstacles: where DeepRacer puts them on the track (docs/deepracer.md section 6).

Placement, batched over `n_worlds` independent worlds with K obstacles each:

* `OBJECT_POSITIONS` given: obstacle i sits at centre-line distance `ndist_i * L` on the outer lane
  when its lane number is -1 and on the inner lane for any other number. The list overrides
  `NUMBER_OF_OBSTACLES`.
* otherwise `min = MIN_DISTANCE_BETWEEN_OBSTACLES / 100 * L` (DeepRacer reads the value as a
  PERCENT of the track length) and the distances are `linspace(min, L - 1.0, K)`. With
  `RANDOMIZE_OBSTACLE_LOCATIONS` each obstacle, in a random order, is moved to a uniform distance
  in `[prev + min, next - min]` between its two neighbours (around the loop) and gets a random
  lane; without it the lanes alternate inner, outer, inner, ... starting with inner.
* the pose is the point of the lane polyline nearest to the centre-line point at that distance,
  and the yaw is the direction of the lane there (driving direction; on a lane vertex the
  bisector of its two segments).

Lanes are DeepRacer's: the row-wise midpoint of the centre line and a border of the route file
(`lane_polyline`). Lane numbers follow `Track.lane_point_at`: +1 inner, -1 outer.

Footprints (metres, x along the object's yaw): a box is 0.5 long by 0.4 wide (DeepRacer's crash
rectangle, which already includes its 0.1 m buffer); a bot-car model used as an obstacle
(`IS_OBSTACLE_BOT_CAR`) uses the car's 0.32352 by 0.1961. Heights are for rendering only:
DeepRacer's sources give no number, Slipstream uses 0.3 m for a box and 0.2 m for a car.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from slipstream.sim.collision import CAR_LENGTH, CAR_WIDTH
from slipstream.tracks import Track
from slipstream.tracks.geometry import project_on_polyline

INNER_LANE = 1
OUTER_LANE = -1

BOX_LENGTH = 0.5
"""Box obstacle crash-rectangle extent along its yaw (m)."""
BOX_WIDTH = 0.4
"""Box obstacle crash-rectangle extent across its yaw (m)."""
BOX_HEIGHT = 0.3
"""Box height for rendering (m); not in DeepRacer's sources, chosen to look like its boxes."""
CAR_HEIGHT = 0.2
"""Car body height for rendering (m); approximate, not from DeepRacer's sources."""

OBSTACLE_TYPES = ("box_obstacle", "deepracer_box_obstacle", "amazon_box_obstacle")
END_GAP = 1.0
"""DeepRacer leaves the last `END_GAP` metres before waypoint 0 free: linspace(min, L - 1.0, K)."""


class ObjectConfigError(ValueError):
    """Obstacle or bot-car settings that cannot be used."""


@dataclass(frozen=True)
class ObstacleConfig:
    """Obstacle settings, named like the RoboMaker YAML keys (lower case).

    `min_distance_between_obstacles` is a percent of the track length (as DeepRacer reads it).
    `object_positions` is ((ndist 0..1, lane), ...): lane -1 = outer lane, anything else = inner;
    when given it overrides `number_of_obstacles`.
    """

    number_of_obstacles: int = 0
    min_distance_between_obstacles: float = 2.0
    randomize_obstacle_locations: bool = False
    object_positions: tuple[tuple[float, int], ...] = ()
    obstacle_type: str = "box_obstacle"
    is_obstacle_bot_car: bool = False

    def __post_init__(self) -> None:
        if (
            int(self.number_of_obstacles) != self.number_of_obstacles
            or self.number_of_obstacles < 0
        ):
            raise ObjectConfigError(
                f"NUMBER_OF_OBSTACLES must be a whole number >= 0, got {self.number_of_obstacles!r}"
            )
        if not np.isfinite(self.min_distance_between_obstacles) or not (
            0.0 <= self.min_distance_between_obstacles < 50.0
        ):
            raise ObjectConfigError(
                "MIN_DISTANCE_BETWEEN_OBSTACLES is a percent of the track length and must be in "
                f"[0, 50), got {self.min_distance_between_obstacles!r}"
            )
        if self.obstacle_type not in OBSTACLE_TYPES:
            raise ObjectConfigError(
                f"OBSTACLE_TYPE {self.obstacle_type!r} is not one of {', '.join(OBSTACLE_TYPES)}"
            )
        positions = parse_object_positions(self.object_positions)
        object.__setattr__(self, "object_positions", positions)

    @property
    def count(self) -> int:
        """Number of obstacles placed (the OBJECT_POSITIONS list wins over the count)."""
        return (
            len(self.object_positions) if self.object_positions else int(self.number_of_obstacles)
        )


def parse_object_positions(
    value: str | Iterable[str | tuple[float, int] | list[float]] | None,
) -> tuple[tuple[float, int], ...]:
    """Normalise an `OBJECT_POSITIONS` value to ((ndist, lane), ...).

    Accepts DeepRacer's list of `"ndist,lane"` strings, a `;`-separated string of them, or pairs.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        value = [part for part in value.split(";") if part.strip()]
    out: list[tuple[float, int]] = []
    for item in value:
        try:
            if isinstance(item, str):
                ndist_text, lane_text = item.split(",")
                ndist, lane = float(ndist_text), int(float(lane_text))
            else:
                ndist_value, lane_value = item
                ndist, lane = float(ndist_value), int(lane_value)
        except (TypeError, ValueError) as exc:
            raise ObjectConfigError(
                f"OBJECT_POSITIONS entry {item!r} is not 'ndist,lane' (e.g. '0.25,-1': a quarter "
                "of the lap on the outer lane; lane -1 = outer, 1 = inner)"
            ) from exc
        if not np.isfinite(ndist):
            raise ObjectConfigError(f"OBJECT_POSITIONS entry {item!r}: ndist must be finite")
        out.append((ndist, lane))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class Obstacles:
    """Static obstacles of `n_worlds` worlds, K each. Poses are metres / radians."""

    poses: np.ndarray
    """(n_worlds, K, 3) [x, y, yaw] of each obstacle's centre."""
    lanes: np.ndarray
    """(n_worlds, K) int8: +1 inner lane, -1 outer lane."""
    dists: np.ndarray
    """(n_worlds, K) centre-line distance from waypoint 0 the obstacle was placed at (m)."""
    lengths: np.ndarray
    """(n_worlds, K) crash-rectangle extent along the yaw (m)."""
    widths: np.ndarray
    """(n_worlds, K) crash-rectangle extent across the yaw (m)."""
    heights: np.ndarray
    """(n_worlds, K) height for rendering (m)."""

    @property
    def count(self) -> int:
        return int(self.poses.shape[1])

    def replace_worlds(self, mask: np.ndarray, other: Obstacles) -> Obstacles:
        """Take worlds where `mask` (n_worlds,) is True from `other`, the rest from self."""
        m = np.asarray(mask, dtype=bool)
        return Obstacles(
            poses=np.where(m[:, None, None], other.poses, self.poses),
            lanes=np.where(m[:, None], other.lanes, self.lanes),
            dists=np.where(m[:, None], other.dists, self.dists),
            lengths=np.where(m[:, None], other.lengths, self.lengths),
            widths=np.where(m[:, None], other.widths, self.widths),
            heights=np.where(m[:, None], other.heights, self.heights),
        )


def lane_polyline(track: Track, lane: int) -> np.ndarray:
    """DeepRacer's lane (M,2): row-wise midpoint of the centre line and the inner (+1) or outer
    (-1) border. Loops repeat the first row at the end like the track arrays."""
    border = track.inner if lane == INNER_LANE else track.outer
    return 0.5 * (track.center + border)


def lane_pose_near(track: Track, arc: np.ndarray, lanes: np.ndarray) -> np.ndarray:
    """Poses (..., 3) on the lanes nearest to the centre-line points at distances `arc` (...).

    `lanes` (same shape) holds +1 (inner) or -1 (outer; anything else counts as inner). The yaw
    is the lane segment's direction, the bisector of its two segments on a vertex.
    """
    arc = np.asarray(arc, dtype=np.float64)
    lanes = np.broadcast_to(np.asarray(lanes), arc.shape)
    flat_arc = arc.reshape(-1)
    flat_lane = lanes.reshape(-1)
    centre_xy, _ = track.point_at(flat_arc)
    poses = np.zeros((flat_arc.size, 3))
    for lane in (INNER_LANE, OUTER_LANE):
        on_outer = flat_lane == OUTER_LANE
        sel = np.nonzero(on_outer if lane == OUTER_LANE else ~on_outer)[0]
        if sel.size == 0:
            continue
        poly = lane_polyline(track, lane)
        proj = project_on_polyline(centre_xy[sel], poly)
        tangent = _polyline_tangent(poly, proj.segment, proj.fraction, track.closed)
        poses[sel, :2] = proj.nearest
        poses[sel, 2] = np.arctan2(tangent[:, 1], tangent[:, 0])
    return poses.reshape((*arc.shape, 3))


def _polyline_tangent(
    poly: np.ndarray, segment: np.ndarray, fraction: np.ndarray, closed: bool
) -> np.ndarray:
    """Direction (N,2) of a polyline at points given by segment index and fraction: the segment
    direction, or the bisector of the two segments when the point is on a vertex."""
    seg_vec = np.diff(poly, axis=0)
    seg_len = np.linalg.norm(seg_vec, axis=1, keepdims=True)
    unit = seg_vec / np.where(seg_len > 0.0, seg_len, 1.0)
    n_seg = len(unit)
    if closed:
        prev_seg, next_seg = np.mod(segment - 1, n_seg), np.mod(segment + 1, n_seg)
    else:
        prev_seg, next_seg = np.maximum(segment - 1, 0), np.minimum(segment + 1, n_seg - 1)
    tangent = unit[segment].copy()
    at_start = (fraction <= 1e-12)[:, None]
    at_end = (fraction >= 1.0 - 1e-12)[:, None]
    tangent += np.where(at_start, unit[prev_seg], 0.0) + np.where(at_end, unit[next_seg], 0.0)
    return tangent


def spread_distances(
    length: float,
    count: int,
    min_gap: float,
    randomize: bool,
    rng: np.random.Generator,
    n_worlds: int,
    closed: bool = True,
) -> np.ndarray:
    """Centre-line distances (n_worlds, count) for objects spread along a track (metres).

    `linspace(min_gap, length - 1.0, count)`; with `randomize`, each object in a random order
    (one order per world) moves to a uniform distance in [prev + min_gap, next - min_gap] between
    its current neighbours, around the loop on a closed track (a lone object may go anywhere at
    least `min_gap` from where it started). When that interval is empty the object goes midway
    between its neighbours. On an open track the first object's lower neighbour is the start
    (0) and the last one's upper neighbour is `length - 1.0 + min_gap`, so nothing wraps.
    Results lie in [0, length).
    """
    dists = np.tile(np.linspace(min_gap, length - END_GAP, count), (n_worlds, 1))
    if not randomize or count == 0:
        return np.mod(dists, length) if closed else dists
    rows = np.arange(n_worlds)
    order = rng.permuted(np.tile(np.arange(count), (n_worlds, 1)), axis=1)
    for j in range(count):
        i = order[:, j]
        prev = dists[rows, (i - 1) % count]
        nxt = dists[rows, (i + 1) % count]
        if closed:
            span = np.mod(nxt - prev, length)
            span = np.where(span <= 0.0, length, span)
            nxt = prev + span
        else:
            prev = np.where(i == 0, 0.0, prev)
            nxt = np.where(i == count - 1, length - END_GAP + min_gap, nxt)
        low, high = prev + min_gap, nxt - min_gap
        empty = low > high
        value = rng.uniform(np.where(empty, 0.0, low), np.where(empty, 0.0, high))
        value = np.where(empty, 0.5 * (prev + nxt), value)
        dists[rows, i] = np.mod(value, length) if closed else value
    return dists


def alternating_lanes(count: int, n_worlds: int) -> np.ndarray:
    """Lanes (n_worlds, count) inner, outer, inner, ... (int8)."""
    lanes = np.where(np.arange(count) % 2 == 0, INNER_LANE, OUTER_LANE).astype(np.int8)
    return np.tile(lanes, (n_worlds, 1))


def random_lanes(rng: np.random.Generator, count: int, n_worlds: int) -> np.ndarray:
    """Uniformly random lanes (n_worlds, count) (int8)."""
    pick = rng.integers(0, 2, size=(n_worlds, count))
    return np.where(pick == 0, INNER_LANE, OUTER_LANE).astype(np.int8)


def place_obstacles(
    track: Track, cfg: ObstacleConfig, rng: np.random.Generator, n_worlds: int
) -> Obstacles:
    """Obstacles for `n_worlds` worlds as DeepRacer places them at each episode reset."""
    k = cfg.count
    length = track.length
    if cfg.object_positions:
        ndist = np.array([p for p, _ in cfg.object_positions], dtype=np.float64)
        lane_row = np.array(
            [OUTER_LANE if lane == -1 else INNER_LANE for _, lane in cfg.object_positions],
            dtype=np.int8,
        )
        arc = ndist * length
        arc = np.mod(arc, length) if track.closed else np.clip(arc, 0.0, length)
        dists = np.tile(arc, (n_worlds, 1))
        lanes = np.tile(lane_row, (n_worlds, 1))
    else:
        min_gap = cfg.min_distance_between_obstacles / 100.0 * length
        dists = spread_distances(
            length, k, min_gap, cfg.randomize_obstacle_locations, rng, n_worlds, track.closed
        )
        if cfg.randomize_obstacle_locations:
            lanes = random_lanes(rng, k, n_worlds)
        else:
            lanes = alternating_lanes(k, n_worlds)
    poses = lane_pose_near(track, dists, lanes)
    if cfg.is_obstacle_bot_car:
        dims = (CAR_LENGTH, CAR_WIDTH, CAR_HEIGHT)
    else:
        dims = (BOX_LENGTH, BOX_WIDTH, BOX_HEIGHT)
    shape = (n_worlds, k)
    return Obstacles(
        poses=poses.reshape(n_worlds, k, 3),
        lanes=lanes.reshape(shape),
        dists=dists.reshape(shape),
        lengths=np.full(shape, dims[0]),
        widths=np.full(shape, dims[1]),
        heights=np.full(shape, dims[2]),
    )


def obstacle_reset_poses(
    track: Track, obstacle_dists: np.ndarray, obstacle_lanes: np.ndarray, offset: float = -1.0
) -> np.ndarray:
    """Poses (N, 3) where a car restarts after crashing into an obstacle (docs/deepracer.md 5.3): on
    the lane opposite the obstacle, `offset` metres of centre line from it (-RESET_BEHIND_DIST
    behind, the default -1.0; +RESET_AHEAD_DIST for the mercy reset). obstacle_dists and
    obstacle_lanes (N,) are the crashed obstacle's `Obstacles.dists` and `Obstacles.lanes`."""
    lanes = np.where(np.asarray(obstacle_lanes) == OUTER_LANE, INNER_LANE, OUTER_LANE)
    return lane_pose_near(track, np.asarray(obstacle_dists, dtype=np.float64) + offset, lanes)
