"""The model's sensors for a batch of cars: renders only what `model_metadata.sensor` lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from slipstream.config.model_metadata import LidarConfig, ModelMetadata
from slipstream.render import augment
from slipstream.render.boxes import BoxSet
from slipstream.render.camera import CameraSpec, object_in_camera, render_cameras, render_stereo
from slipstream.render.randomization import frame_noise_offsets, sample_luts
from slipstream.render.texture import TrackTexture
from slipstream.sim.simulator import Simulator
from slipstream.tracks.track import Track

OBSTACLE_SHADE = 200.0
CAR_SHADE = 60.0


class SensorSuite:
    """Renders the sensors of one model for every car of a simulator, each car's camera looking
    at the texture of its own track slot (`textures[slot]`)."""

    def __init__(
        self,
        track: Track | Sequence[Track],
        metadata: ModelMetadata,
        domain_randomization: bool = False,
        camera_augment: augment.AugmentSpec | None = None,
    ):
        self.sensors = tuple(metadata.sensor)
        self.camera_augment = camera_augment
        self._episode: augment.EpisodeAugment | None = None
        self._noise_keys = np.zeros(0, dtype=np.uint64)
        self._noise_frames = np.zeros(0, dtype=np.uint64)
        self.lidar_config = metadata.lidar_config or LidarConfig()
        self.camera_spec = CameraSpec()
        self._track_views: dict[tuple[int, int], Any] = {}
        self.textures: list[TrackTexture] = []
        for slot, each in enumerate([track] if isinstance(track, Track) else track):
            self.set_track(slot, each)
        self.domain_randomization = domain_randomization
        self.rngs: list[np.random.Generator] = []
        self._last: dict[str, np.ndarray] | None = None
        self._luts: np.ndarray | None = None

    @property
    def texture(self) -> TrackTexture:
        """Slot 0's texture (the track of a single-track world)."""
        return self.textures[0]

    def set_track(self, slot: int, track: Track) -> None:
        """The texture of `track` for `slot` (a new slot when `slot` == the number of slots);
        a texture already held for a track of that name is reused."""
        same = [t for t in self.textures if t.name == track.name]
        texture = same[0] if same else TrackTexture.from_track(track)
        if slot == len(self.textures):
            self.textures.append(texture)
        else:
            self.textures[slot] = texture
        if slot == 0:
            self._track_views.clear()

    def seed(self, seeds: list[int]) -> None:
        self.rngs = [np.random.default_rng([s, 7]) for s in seeds]
        self._luts = None
        self._episode = None
        # pixel noise of CAMERA_AUGMENTATION: each car's own, from its seed and frame count
        self._noise_keys = np.asarray(seeds, dtype=np.int64).astype(np.uint64)
        self._noise_frames = np.zeros(len(seeds), dtype=np.uint64)

    def new_episodes(self, cars: np.ndarray, slots: np.ndarray | None = None) -> None:
        """New per-episode draws: ENABLE_DOMAIN_RANDOMIZATION colours and brightness (of the
        colours of each car's track slot, `slots`; default slot 0), and the real-car camera
        augmentation (CAMERA_AUGMENTATION)."""
        if self.camera_augment is not None:
            self._new_augment(cars)
        if not self.domain_randomization:
            return
        if self._luts is None:
            self._luts = np.tile(np.arange(256, dtype=np.uint8), (len(self.rngs), 1))
        slots = np.zeros(len(cars), dtype=np.int64) if slots is None else slots
        for i, slot in zip(cars.tolist(), np.asarray(slots).tolist(), strict=True):
            self._luts[i] = sample_luts(self.rngs[i], 1, self.textures[slot].colours)[0]

    def _new_augment(self, cars: np.ndarray) -> None:
        assert self.camera_augment is not None
        if self._episode is None:
            self._episode = augment.sample_episode(
                np.random.default_rng(0), len(self.rngs), self.camera_augment
            )
        for i in cars.tolist():
            draw = augment.sample_episode(self.rngs[i], 1, self.camera_augment)
            for name in draw.__dataclass_fields__:
                getattr(self._episode, name)[i] = getattr(draw, name)[0]

    def boxes(self, sim: Simulator) -> BoxSet | None:
        """Obstacles, bot cars and other racecars of each car's world as 3-D boxes, as they are
        at the simulator's current time (read from its state, never written)."""
        if not sim.objects.count:
            return None
        objs = sim.objects_now()
        if objs.poses.shape[1] == 0:
            return None
        size = np.stack([objs.lengths, objs.widths, objs.heights], axis=-1)
        shade = np.where(objs.is_static, OBSTACLE_SHADE, CAR_SHADE)
        return BoxSet(
            centers=objs.poses[..., :2],
            yaw=objs.poses[..., 2],
            size=size,
            shade=shade,
            valid=np.ones(shade.shape, dtype=bool),
            owner=np.where(objs.owner >= 0, -2, -1),  # other racecars: never the viewing car
        )

    def observe(self, sim: Simulator, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Observations of all cars after the step (objects as of the current sim time)."""
        state = sim.state
        poses = np.stack([state.x, state.y, state.yaw], axis=1)
        boxes = self.boxes(sim)
        slots = sim.current.track
        if mask is not None and self._last is not None:
            rows = np.flatnonzero(mask)
            if len(rows) == 0:
                return {k: v.copy() for k, v in self._last.items()}
            sub_boxes = None if boxes is None else _rows(boxes, rows)
            fresh = self._render(poses[rows], sub_boxes, rows, slots[rows])
            obs = {k: v.copy() for k, v in self._last.items()}
            for k, v in fresh.items():
                obs[k][rows] = v
        else:
            obs = self._render(poses, boxes, np.arange(len(poses)), slots)
        self._last = obs
        return obs

    def _cameras(
        self,
        poses: np.ndarray,
        boxes: BoxSet | None,
        lut: np.ndarray | None,
        slots: np.ndarray,
        stereo: bool = False,
    ) -> np.ndarray:
        """Camera images of the cars, each of its own slot's texture: one batched render per
        slot present (a single call when every car drives one track)."""

        def render(slot: int, poses: np.ndarray, boxes: BoxSet | None, lut: np.ndarray | None):
            texture = self.textures[slot]
            if stereo:
                return render_stereo(texture, poses, self.camera_spec, boxes, luts=lut)
            return render_cameras(texture, poses, self.camera_spec, boxes, lut=lut)

        present = np.unique(slots)
        if len(present) == 1:
            return render(int(present[0]), poses, boxes, lut)
        out = None
        for slot in present.tolist():
            rows = np.flatnonzero(slots == slot)
            part = render(
                slot,
                poses[rows],
                None if boxes is None else _rows(boxes, rows),
                None if lut is None else lut[rows],
            )
            if out is None:
                out = np.empty((len(poses), *part.shape[1:]), dtype=part.dtype)
            out[rows] = part
        assert out is not None
        return out

    def _render(
        self, poses: np.ndarray, boxes: BoxSet | None, rows: np.ndarray, slots: np.ndarray
    ) -> dict[str, np.ndarray]:
        lut = None if self._luts is None else self._luts[rows]
        obs: dict[str, np.ndarray] = {}
        for name in self.sensors:
            if name in ("FRONT_FACING_CAMERA", "LEFT_CAMERA", "observation"):
                img = self._cameras(poses, boxes, lut, slots)
                if self._episode is not None:
                    offsets = frame_noise_offsets(
                        self._noise_keys[rows], self._noise_frames[rows], img[0].size
                    )
                    self._noise_frames[rows] += np.uint64(1)
                    img = augment.apply(
                        img,
                        augment.take(self._episode, rows),
                        offsets,
                        self.camera_augment.noise_sigma if self.camera_augment else 0.0,
                    )
                obs[name] = img[..., None]
            elif name == "STEREO_CAMERAS":
                obs[name] = self._cameras(poses, boxes, lut, slots, stereo=True)
            else:
                obs[name] = self._lidar(name, poses, boxes)
        return obs

    def _lidar(self, name: str, poses: np.ndarray, boxes: BoxSet | None) -> np.ndarray:
        from slipstream.render import lidar

        ranges = lidar.lidar_ranges(poses, boxes)
        if name == "LIDAR":
            return lidar.lidar_observation(ranges)
        if name == "SECTOR_LIDAR":
            return lidar.sector_lidar(ranges)
        cfg = self.lidar_config
        return lidar.sector_lidar(
            ranges, cfg.num_sectors, cfg.num_values_per_sector, cfg.clipping_dist
        )

    def object_in_camera(self, poses: np.ndarray, points: np.ndarray) -> np.ndarray:
        return object_in_camera(poses, points, self.camera_spec)

    def topdown(
        self, sim: Simulator, follow: int | None = None, size: tuple[int, int] = (480, 640)
    ) -> np.ndarray:
        """Slot 0's whole track with every car (its background drawn once per size), or a
        window that follows car `follow` on its own track."""
        from slipstream.render.topdown import TrackView, render_topdown

        state = sim.state
        poses = np.stack([state.x, state.y, state.yaw], axis=1)
        boxes = self.boxes(sim)
        if follow is None:
            key = tuple(int(v) for v in size)
            if key not in self._track_views:
                self._track_views[key] = TrackView(self.texture, key)
            return self._track_views[key].render(poses, boxes)
        texture = self.textures[int(sim.current.track[follow])]
        return render_topdown(texture, poses, boxes, size=size, view="follow", follow_index=follow)


def _rows(boxes: BoxSet, rows: np.ndarray) -> BoxSet:
    return BoxSet(
        centers=boxes.centers[rows],
        yaw=boxes.yaw[rows],
        size=boxes.size[rows],
        shade=boxes.shade[rows],
        valid=boxes.valid[rows],
        owner=boxes.owner[rows],
    )
