"""The 64-beam lidar against boxes, and DeepRacer's lidar observation filters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from slipstream.render import (
    BoxSet,
    LidarSpec,
    lidar_observation,
    lidar_ranges,
    sector_lidar,
)

MOUNT_X = 0.02913  # lidar in front of base_link (m)
ANGLES = math.pi + np.linspace(-2.61799, 2.61799, 64)  # car-frame beam directions


def one_box(x, y, yaw=0.0, length=0.5, width=0.4, owner=-1, n_worlds=1):
    return BoxSet.from_poses(
        np.broadcast_to(np.array([x, y, yaw]), (n_worlds, 1, 3)),
        size=(length, width, 0.3),
        owner=owner,
    )


def test_beam_layout():
    angles = LidarSpec().beam_angles()
    assert angles[0] == pytest.approx(math.pi - 2.61799)  # 30 degrees left of the nose
    assert angles[-1] == pytest.approx(math.pi + 2.61799)  # 30 degrees right of the nose
    assert angles[31] < math.pi < angles[32]  # the middle beams point backwards


def test_box_behind_reads_its_distance_on_the_rear_beams():
    d = 1.5  # from the lidar to the box's near face
    boxes = one_box(MOUNT_X - d - 0.25, 0.0)
    r = lidar_ranges(np.zeros((1, 3)), boxes)[0]
    # beam k hits the face x = -d (relative to the lidar) at d / |cos| if within the box width
    lateral = d * np.tan(ANGLES - math.pi)
    hits = np.abs(lateral) <= 0.2
    assert hits[31] and hits[32] and hits.sum() >= 2
    assert r[hits] == pytest.approx(d / np.abs(np.cos(ANGLES[hits] - math.pi)), rel=1e-9)
    assert np.all(np.isinf(r[~hits]))


def test_front_blind_cone_and_owner_and_range_limits():
    front = one_box(1.0, 0.0, width=0.3)  # straight ahead: inside the 60 degree blind cone
    assert np.all(np.isinf(lidar_ranges(np.zeros((1, 3)), front)))
    far = one_box(-15.0, 0.0)  # beyond 12 m
    assert np.all(np.isinf(lidar_ranges(np.zeros((1, 3)), far)))
    close = one_box(MOUNT_X - 0.05 - 0.25, 0.0)  # 5 cm away: reads the minimum range
    assert lidar_ranges(np.zeros((1, 3)), close)[0, 31] == pytest.approx(0.15)
    # two cars in one world: car 0's body is seen by car 1 behind it, not by car 0
    poses = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    body = one_box(0.0, 0.0, length=0.32352, width=0.1961, owner=0, n_worlds=2)
    r = lidar_ranges(poses, body)
    assert np.all(np.isinf(r[0]))
    assert r[1, 31] == pytest.approx(2.0 + MOUNT_X - 0.16176, rel=1e-3)


def test_side_box_and_rotated_car():
    # a box 1 m to the left of the car: the beam pointing left (car-frame +90 deg) reads ~1 m
    boxes = one_box(MOUNT_X, 1.0 + 0.2, width=0.4, length=2.0)
    r = lidar_ranges(np.zeros((1, 3)), boxes)[0]
    left = int(np.argmin(np.abs(ANGLES - math.pi / 2)))
    assert r[left] == pytest.approx(1.0 / abs(math.sin(ANGLES[left])), rel=1e-9)
    # the same scene turned by 0.7 rad about the origin reads the same ranges
    c, s = math.cos(0.7), math.sin(0.7)
    turned = one_box(c * MOUNT_X - s * 1.2, s * MOUNT_X + c * 1.2, yaw=0.7, width=0.4, length=2.0)
    r2 = lidar_ranges(np.array([[0.0, 0.0, 0.7]]), turned)[0]
    np.testing.assert_allclose(r2, r, rtol=1e-9)


def test_noise_is_seeded():
    boxes = one_box(MOUNT_X - 1.25, 0.0)
    pose = np.zeros((1, 3))
    a = lidar_ranges(pose, boxes, rng=np.random.default_rng(3))
    b = lidar_ranges(pose, boxes, rng=np.random.default_rng(3))
    c = lidar_ranges(pose, boxes, rng=np.random.default_rng(4))
    clean = lidar_ranges(pose, boxes)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    finite = np.isfinite(clean)
    assert np.array_equal(np.isfinite(a), finite)
    assert np.abs(a[finite] - clean[finite]).max() < 0.05


def test_lidar_observation_clips():
    r = np.array([[0.05, 0.5, 3.0, np.inf]])
    obs = lidar_observation(r)
    assert obs.dtype == np.float32
    assert obs.tolist() == [[pytest.approx(0.15), 0.5, 1.0, 1.0]]


def test_sector_lidar_by_hand():
    r = np.full((1, 64), np.inf)
    r[0, 3] = 0.3  # sector 0 (beams 0-7): something at 0.3 m
    r[0, 20] = 0.7  # sector 2: beyond the 0.5 m clip
    r[0, 63] = 0.49  # sector 7
    assert sector_lidar(r).tolist() == [[1, 0, 0, 0, 0, 0, 0, 1]]
    # DISCRETIZED_SECTOR_LIDAR with 4 bins of 0.5 m up to 2 m
    d = sector_lidar(r, num_sectors=8, values_per_sector=4, clip=2.0).reshape(8, 4)
    assert d[0].tolist() == [1, 0, 0, 0]  # 0.3 m -> bin 0
    assert d[2].tolist() == [0, 1, 0, 0]  # 0.7 m -> bin 1
    assert d[7].tolist() == [1, 0, 0, 0]
    assert d[1].tolist() == [0, 0, 0, 0]  # nothing (inf) -> the dropped bin
    r[0, 40] = 1.99
    assert sector_lidar(r, 8, 4, 2.0).reshape(8, 4)[5].tolist() == [0, 0, 0, 1]
    with pytest.raises(ValueError, match="divide"):
        sector_lidar(r, num_sectors=7)
