"""Videos of evaluation trials and races: a top-down view that follows the car, the car's own
camera picture-in-picture, and a text overlay (time, progress, speed, action), as MP4 (H.264).

Frames are composed with numpy and PIL and streamed to the ffmpeg binary that ships with
imageio-ffmpeg, several frames per write (`Mp4Writer.chunk`), never one image file per frame.
The video is encoded into a temporary local file and then stored in the run folder (which may
be an object store).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from slipstream.render.boxes import BoxSet
from slipstream.render.topdown import CAR_PALETTE, render_topdown
from slipstream.runs import RunStorage

FPS = 15
"""One frame per control step: the video plays in real (simulated) time."""
VIEW_SIZE = (480, 640)
"""(H, W) of one follow view; multiples of 16 so H.264 needs no padding."""
PIP_SCALE = 1.5
"""The 160x120 camera image is shown at 240x180 pixels."""
FONT_SIZE = 15


class VideoError(ValueError):
    """Video settings or frames that cannot be encoded."""


@dataclass(frozen=True)
class ViewText:
    """Overlay lines of one view (plain text, one entry per line)."""

    lines: tuple[str, ...]
    colour: tuple[int, int, int] = (255, 255, 255)


def _font(size: int = FONT_SIZE) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


def world_boxes(boxes: BoxSet | None, world: int) -> BoxSet | None:
    """The boxes of one car's world as a one-world `BoxSet` (None when there are none)."""
    if boxes is None:
        return None
    rows = slice(world, world + 1)
    return BoxSet(
        centers=boxes.centers[rows],
        yaw=boxes.yaw[rows],
        size=boxes.size[rows],
        shade=boxes.shade[rows],
        valid=boxes.valid[rows],
        owner=boxes.owner[rows],
    )


def follow_view(
    texture,
    poses: np.ndarray,
    boxes: BoxSet | None,
    follow: int,
    size: tuple[int, int] = VIEW_SIZE,
) -> np.ndarray:
    """(H, W, 3) top-down view centred on car `follow` of `poses` (the K cars of one world,
    (K, 3); car i drawn in `CAR_PALETTE[i]`). `boxes`: that world's one-world `BoxSet`."""
    poses = np.asarray(poses, dtype=np.float64).reshape(-1, 3)
    return render_topdown(texture, poses, boxes, size=size, view="follow", follow_index=follow)


def compose_view(
    topdown: np.ndarray, camera: np.ndarray, text: ViewText, font: ImageFont.ImageFont | None = None
) -> np.ndarray:
    """The top-down view with the camera image (H, W) or (H, W, C) grey picture-in-picture at
    the top right and the overlay lines at the top left. Returns (H, W, 3) uint8."""
    canvas = Image.fromarray(np.ascontiguousarray(topdown, dtype=np.uint8))
    grey = np.asarray(camera)
    if grey.ndim == 3:
        grey = grey[..., 0]
    pip = Image.fromarray(grey.astype(np.uint8)).convert("RGB")
    pip = pip.resize(
        (round(pip.width * PIP_SCALE), round(pip.height * PIP_SCALE)), Image.Resampling.BILINEAR
    )
    x = canvas.width - pip.width - 8
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((x - 2, 6, x + pip.width + 1, 8 + pip.height + 1), outline=(255, 255, 255))
    canvas.paste(pip, (x, 8))
    font = font or _font()
    line_height = FONT_SIZE + 4
    box_h = 8 + line_height * len(text.lines)
    box_w = 8 + max((draw.textlength(s, font=font) for s in text.lines), default=0)
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).rectangle((4, 4, 4 + box_w, 4 + box_h), fill=(0, 0, 0, 150))
    canvas = Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(text.lines):
        draw.text((8, 8 + i * line_height), line, fill=text.colour, font=font)
    return np.asarray(canvas, dtype=np.uint8)


def car_colour(index: int) -> tuple[int, int, int]:
    return CAR_PALETTE[index % len(CAR_PALETTE)]


class Mp4Writer:
    """Streams frames (H, W, 3) uint8 into an H.264 MP4 stored at `key` of `storage`.

    Frames are buffered and handed to ffmpeg `chunk` at a time. Call `close` (or use ``with``)
    to finish the file and store it.
    """

    def __init__(
        self,
        storage: RunStorage,
        key: str,
        size: tuple[int, int],
        fps: int = FPS,
        chunk: int = 32,
    ) -> None:
        import imageio_ffmpeg

        height, width = (int(v) for v in size)
        if height % 2 or width % 2:
            raise VideoError(f"frame size {size} must be even in both dimensions for H.264")
        self.storage = storage
        self.key = key
        self.size = (height, width)
        self.chunk = max(1, int(chunk))
        self.frames_written = 0
        self._buffer: list[np.ndarray] = []
        self._tmpdir = tempfile.mkdtemp(prefix="slipstream-video-")
        self._path = os.path.join(self._tmpdir, "video.mp4")
        self._encoder = imageio_ffmpeg.write_frames(
            self._path,
            (width, height),
            fps=fps,
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-threads", "1"],
        )
        self._encoder.send(None)
        self._closed = False

    def add(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame, dtype=np.uint8)
        if frame.shape != (*self.size, 3):
            raise VideoError(f"frame has shape {frame.shape}; this video takes {(*self.size, 3)}")
        self._buffer.append(frame)
        if len(self._buffer) >= self.chunk:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._encoder.send(np.ascontiguousarray(np.stack(self._buffer)).tobytes())
            self.frames_written += len(self._buffer)
            self._buffer.clear()

    def close(self) -> None:
        """Finish encoding and store the MP4 (nothing is stored if no frame was added)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._flush()
            self._encoder.close()
            if self.frames_written:
                with open(self._path, "rb") as f:
                    self.storage.write_bytes(self.key, f.read())
        finally:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


CAMERA_KEYS = ("FRONT_FACING_CAMERA", "LEFT_CAMERA", "STEREO_CAMERAS", "observation")


def camera_image(obs, car: int) -> np.ndarray:
    """Car `car`'s camera image from an observation dict ((120, 160) grey; left eye of stereo)."""
    for key in CAMERA_KEYS:
        if key in obs:
            return np.asarray(obs[key][car])[..., 0]
    return np.zeros((120, 160), dtype=np.uint8)


def action_text(action) -> str:
    """``3`` (discrete) or ``[12.5 1.80]`` (continuous steering deg, speed m/s)."""
    a = np.asarray(action)
    if a.ndim == 0:
        return str(int(a))
    return f"[{float(a[0]):.1f} {float(a[1]):.2f}]"


def step_lines(title: str, result, car: int, action, status: str) -> tuple[str, ...]:
    """Overlay lines of one car at one step."""
    return (
        title,
        f"time     {float(result.sim_time[car]) + 1.0 / FPS:7.2f} s",
        f"progress {float(result.progress[car]):7.1f} %",
        f"speed    {float(result.speed[car]):7.2f} m/s",
        f"steering {float(result.steering_deg[car]):+7.1f} deg",
        f"action   {action_text(action)}",
        f"resets   {int(result.reset_count[car])}   {status}",
    )


class TrialVideos:
    """One MP4 per evaluation trial (or one for a continuous evaluation), fed by
    `run_episodes`' step hook: ``RUN/videos/evaluation-<ts>-trial-<k>.mp4``."""

    def __init__(self, core, layout, timestamp: str, continuous: bool) -> None:
        self.core = core
        self.layout = layout
        self.timestamp = timestamp
        self.continuous = continuous
        self.writers: dict[int, Mp4Writer] = {}
        self.keys: list[str] = []
        self.font = _font()

    def key(self, car: int) -> str:
        name = f"evaluation-{self.timestamp}"
        if not self.continuous:
            name += f"-trial-{car + 1}"
        return f"{self.layout.videos_dir}/{name}.mp4"

    def on_step(self, step, actions: np.ndarray, cars: np.ndarray) -> None:
        core = self.core
        state = core.sim.state
        poses = np.stack([state.x, state.y, state.yaw], axis=1)
        boxes = core.sensors.boxes(core.sim)
        r = step.result
        for car in cars.tolist():
            writer = self.writers.get(car)
            if writer is None:
                writer = self.writers[car] = Mp4Writer(
                    self.layout.storage, self.key(car), VIEW_SIZE
                )
                self.keys.append(self.key(car))
            view = follow_view(
                core.sensors.texture, poses[car : car + 1], world_boxes(boxes, car), 0
            )
            title = "lap" if self.continuous else f"trial {car + 1}"
            if self.continuous:
                title += f" {int(r.lap_count[car]) + (0 if r.terminated[car] else 1)}"
            lines = step_lines(title, r, car, actions[car], step.status[car])
            writer.add(compose_view(view, camera_image(step.obs, car), ViewText(lines), self.font))
            if r.terminated[car] or r.truncated[car]:
                writer.close()

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


class RaceVideo:
    """One MP4 of a head-to-head race: two follow views side by side (car A left, car B
    right), each with that car's camera picture-in-picture: ``RUN/videos/race-<ts>.mp4``."""

    def __init__(self, core, layout, timestamp: str, sources: tuple[str, str]) -> None:
        self.core = core
        self.sources = sources
        self.key = f"{layout.videos_dir}/race-{timestamp}.mp4"
        self.writer = Mp4Writer(layout.storage, self.key, (VIEW_SIZE[0], 2 * VIEW_SIZE[1]))
        self.font = _font()

    def on_step(self, step, observations, actions) -> None:
        core = self.core
        state = core.sim.state
        poses = np.stack([state.x, state.y, state.yaw], axis=1)
        boxes = core.sensors.boxes(core.sim)
        r = step.result
        views = []
        for car, label in enumerate(("A", "B")):
            view = follow_view(core.sensors.texture, poses, world_boxes(boxes, car), car)
            title = f"{label}  lap {min(int(r.lap_count[car]) + 1, 99)}"
            lines = step_lines(title, r, car, actions[car], step.status[car])
            text = ViewText(lines, car_colour(car))
            views.append(compose_view(view, camera_image(observations[car], car), text, self.font))
        self.writer.add(np.concatenate(views, axis=1))

    def close(self) -> None:
        self.writer.close()
