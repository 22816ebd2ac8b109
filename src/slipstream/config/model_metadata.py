"""`model_metadata.json`: the action space, sensors, network and algorithm of a DeepRacer model.

Parsed with DeepRacer's rules (docs/deepracer.md section 2) and checked against the car's limits up
front, so a bad file fails before any training starts:

* `action_space_type` "discrete" (default) is a list of {steering_angle (deg, + = left), speed
  (m/s)} entries, the action index being the list position (an "index" field is ignored on
  input and written on output, as the console does); "continuous" is
  {"steering_angle": {"low", "high"}, "speed": {"low", "high"}}.
* Car limits (DeepRacer console / simulator): steering within +-30 deg; discrete speeds 0.1-4.0
  m/s and 2-30 actions; continuous speed low/high within 0.5-4.0 m/s with low < high, steering
  low in [-30, 0] and high in [0, 30].
* `sensor`: exactly one camera (FRONT_FACING_CAMERA, LEFT_CAMERA, STEREO_CAMERAS or the legacy
  "observation") and at most one lidar (LIDAR, SECTOR_LIDAR, DISCRETIZED_SECTOR_LIDAR).
* `version` (string or number): >= 2 uses `sensor`; < 2 forces sensor ["observation"]; absent ->
  2.0 when `sensor` is given, else 1.0.
* `training_algorithm` "clipped_ppo" (default) | "sac"; SAC needs a continuous action space.
* `neural_network` DEEP_CONVOLUTIONAL_NETWORK_SHALLOW (default) | DEEP_CONVOLUTIONAL_NETWORK |
  DEEP_CONVOLUTIONAL_NETWORK_DEEP.
* `lidar_config` {num_sectors (divides 64), num_values_per_sector >= 1, clipping_dist in
  0.15-12.0 m}, defaults 8 / 8 / 2.0, used by DISCRETIZED_SECTOR_LIDAR.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from slipstream.config.errors import (
    ModelMetadataError,
    did_you_mean,
    parse_choice,
    parse_float,
    parse_int,
    read_json_object,
)

logger = logging.getLogger(__name__)

ActionSpaceType = Literal["discrete", "continuous"]
TrainingAlgorithm = Literal["clipped_ppo", "sac"]

CAMERA_SENSORS = ("FRONT_FACING_CAMERA", "LEFT_CAMERA", "STEREO_CAMERAS", "observation")
LIDAR_SENSORS = ("LIDAR", "SECTOR_LIDAR", "DISCRETIZED_SECTOR_LIDAR")
ALL_SENSORS = CAMERA_SENSORS + LIDAR_SENSORS
NEURAL_NETWORKS = (
    "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "DEEP_CONVOLUTIONAL_NETWORK",
    "DEEP_CONVOLUTIONAL_NETWORK_DEEP",
)
TRAINING_ALGORITHMS: tuple[str, ...] = ("clipped_ppo", "sac")
ACTION_SPACE_TYPES: tuple[str, ...] = ("discrete", "continuous")

MAX_STEERING_DEG = 30.0  # |steering| limit, degrees
MIN_SPEED = 0.1  # m/s, discrete speeds (simulator clip and console range)
MAX_SPEED = 4.0  # m/s
MIN_CONTINUOUS_SPEED = 0.5  # m/s, console range for continuous low/high
MIN_DISCRETE_ACTIONS = 2
MAX_DISCRETE_ACTIONS = 30
LIDAR_SAMPLES = 64  # beams of the DeepRacer lidar; num_sectors must divide it
LIDAR_MIN_RANGE = 0.15  # m
LIDAR_MAX_RANGE = 12.0  # m
DEFAULT_VERSION = 5.0  # what DRfC's default model_metadata.json says

_KNOWN_KEYS = (
    "action_space",
    "sensor",
    "neural_network",
    "training_algorithm",
    "action_space_type",
    "version",
    "lidar_config",
)
_ALGORITHM_ALIASES = {
    "ppo": "clipped_ppo",
    "clipped-ppo": "clipped_ppo",
    "clippedppo": "clipped_ppo",
}
_NETWORK_ALIASES = {
    "shallow": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "standard": "DEEP_CONVOLUTIONAL_NETWORK",
    "deep": "DEEP_CONVOLUTIONAL_NETWORK_DEEP",
}
_DEFAULT_FILES = {
    "discrete": "model_metadata.json",
    "continuous": "model_metadata_continuous.json",
    "sac": "model_metadata_sac.json",
}


@dataclass(frozen=True)
class DiscreteAction:
    """One entry of a discrete action space: steering angle (degrees, + = left) and speed (m/s)."""

    steering_angle: float
    speed: float

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "steering_angle",
            parse_float(self.steering_angle, "steering_angle", ModelMetadataError),
        )
        object.__setattr__(self, "speed", parse_float(self.speed, "speed", ModelMetadataError))


@dataclass(frozen=True)
class ContinuousActionSpace:
    """Continuous action ranges: steering in degrees (+ = left), speed in m/s, low < high."""

    steering_low: float = -MAX_STEERING_DEG
    steering_high: float = MAX_STEERING_DEG
    speed_low: float = 1.0
    speed_high: float = 2.0

    def __post_init__(self) -> None:
        keys = {
            "steering_low": "action_space.steering_angle.low",
            "steering_high": "action_space.steering_angle.high",
            "speed_low": "action_space.speed.low",
            "speed_high": "action_space.speed.high",
        }
        for name, key in keys.items():
            object.__setattr__(
                self, name, parse_float(getattr(self, name), key, ModelMetadataError)
            )
        if not -MAX_STEERING_DEG <= self.steering_low <= 0.0:
            raise ModelMetadataError(
                "steering low must lie in [-30, 0] degrees",
                key=keys["steering_low"],
                value=self.steering_low,
                fix="use a value between -30 and 0 (the car cannot steer more than 30 degrees)",
            )
        if not 0.0 <= self.steering_high <= MAX_STEERING_DEG:
            raise ModelMetadataError(
                "steering high must lie in [0, 30] degrees",
                key=keys["steering_high"],
                value=self.steering_high,
                fix="use a value between 0 and 30 (the car cannot steer more than 30 degrees)",
            )
        for name in ("speed_low", "speed_high"):
            speed = getattr(self, name)
            if not MIN_CONTINUOUS_SPEED <= speed <= MAX_SPEED:
                raise ModelMetadataError(
                    f"continuous speeds must lie in [{MIN_CONTINUOUS_SPEED}, {MAX_SPEED}] m/s",
                    key=keys[name],
                    value=speed,
                    fix=f"use a speed between {MIN_CONTINUOUS_SPEED} and {MAX_SPEED} m/s",
                )
        if not self.steering_low < self.steering_high:
            raise ModelMetadataError(
                f"steering low ({self.steering_low}) must be below high ({self.steering_high})",
                key="action_space.steering_angle",
                fix="make low < high, e.g. low -30 and high 30",
            )
        if not self.speed_low < self.speed_high:
            raise ModelMetadataError(
                f"speed low ({self.speed_low}) must be below high ({self.speed_high})",
                key="action_space.speed",
                fix="make low < high, e.g. low 1.0 and high 2.0",
            )

    @property
    def low(self) -> tuple[float, float]:
        """(steering deg, speed m/s) lower bounds, in DeepRacer's action order."""
        return (self.steering_low, self.speed_low)

    @property
    def high(self) -> tuple[float, float]:
        """(steering deg, speed m/s) upper bounds, in DeepRacer's action order."""
        return (self.steering_high, self.speed_high)


@dataclass(frozen=True)
class LidarConfig:
    """DISCRETIZED_SECTOR_LIDAR settings: sectors (divides 64), values per sector, clip (m)."""

    num_sectors: int = 8
    num_values_per_sector: int = 8
    clipping_dist: float = 2.0

    def __post_init__(self) -> None:
        sectors = parse_int(self.num_sectors, "lidar_config.num_sectors", ModelMetadataError)
        values = parse_int(
            self.num_values_per_sector, "lidar_config.num_values_per_sector", ModelMetadataError
        )
        clip = parse_float(self.clipping_dist, "lidar_config.clipping_dist", ModelMetadataError)
        if sectors <= 0 or LIDAR_SAMPLES % sectors != 0:
            raise ModelMetadataError(
                f"the number of sectors must divide the {LIDAR_SAMPLES} lidar beams",
                key="lidar_config.num_sectors",
                value=self.num_sectors,
                fix="use one of 1, 2, 4, 8, 16, 32, 64",
            )
        if values < 1:
            raise ModelMetadataError(
                "there must be at least one value per sector",
                key="lidar_config.num_values_per_sector",
                value=self.num_values_per_sector,
                fix="use a whole number >= 1 (default 8)",
            )
        if not LIDAR_MIN_RANGE <= clip <= LIDAR_MAX_RANGE:
            raise ModelMetadataError(
                f"the clipping distance must lie within the lidar's range "
                f"{LIDAR_MIN_RANGE}-{LIDAR_MAX_RANGE} m",
                key="lidar_config.clipping_dist",
                value=self.clipping_dist,
                fix="use a distance in metres between 0.15 and 12.0 (default 2.0)",
            )
        object.__setattr__(self, "num_sectors", sectors)
        object.__setattr__(self, "num_values_per_sector", values)
        object.__setattr__(self, "clipping_dist", clip)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "num_sectors": self.num_sectors,
            "num_values_per_sector": self.num_values_per_sector,
            "clipping_dist": self.clipping_dist,
        }


@dataclass(frozen=True)
class ModelMetadata:
    """A validated `model_metadata.json`.

    `action_space_type` may be left None when constructing directly: it is then taken from the
    action space (a tuple of `DiscreteAction` -> "discrete", a `ContinuousActionSpace` ->
    "continuous"). Names are normalised: algorithm lower-case, network and sensors canonical.
    """

    action_space: tuple[DiscreteAction, ...] | ContinuousActionSpace
    action_space_type: ActionSpaceType | None = None
    sensor: tuple[str, ...] = ("FRONT_FACING_CAMERA",)
    neural_network: str = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
    training_algorithm: TrainingAlgorithm = "clipped_ppo"
    version: float = DEFAULT_VERSION
    lidar_config: LidarConfig | None = None

    def __post_init__(self) -> None:
        space = self.action_space
        if isinstance(space, list | tuple):
            space = tuple(_as_discrete_action(a, i) for i, a in enumerate(space))
        elif not isinstance(space, ContinuousActionSpace):
            raise ModelMetadataError(
                f"expected a list of discrete actions or a ContinuousActionSpace, got a "
                f"{type(space).__name__}",
                key="action_space",
                value=space,
                fix='write a list of {"steering_angle": deg, "speed": m/s} entries, or '
                '{"steering_angle": {"low": .., "high": ..}, "speed": {"low": .., "high": ..}} '
                'with "action_space_type": "continuous"',
            )
        object.__setattr__(self, "action_space", space)
        derived = "continuous" if isinstance(space, ContinuousActionSpace) else "discrete"
        space_type = self.action_space_type
        if space_type is None:
            space_type = derived
        space_type = parse_choice(
            space_type, "action_space_type", ACTION_SPACE_TYPES, ModelMetadataError
        )
        if space_type != derived:
            shape = "a list of actions" if derived == "discrete" else "a {low, high} range object"
            raise ModelMetadataError(
                f'action_space is {shape}, which does not match action_space_type "{space_type}"',
                key="action_space_type",
                value=self.action_space_type,
                fix=f'set "action_space_type": "{derived}", or write the action space in the '
                f"{space_type} form",
            )
        object.__setattr__(self, "action_space_type", space_type)
        if isinstance(space, tuple):
            _check_discrete_actions(space)

        algorithm = parse_choice(
            self.training_algorithm,
            "training_algorithm",
            TRAINING_ALGORITHMS,
            ModelMetadataError,
            aliases=_ALGORITHM_ALIASES,
        )
        object.__setattr__(self, "training_algorithm", algorithm)
        if algorithm == "sac" and space_type != "continuous":
            raise ModelMetadataError(
                "SAC only supports a continuous action space (as in DeepRacer)",
                key="training_algorithm",
                value=self.training_algorithm,
                fix='use "training_algorithm": "clipped_ppo" for a discrete action space, or '
                'switch to "action_space_type": "continuous" with low/high ranges',
            )
        network = parse_choice(
            self.neural_network,
            "neural_network",
            NEURAL_NETWORKS,
            ModelMetadataError,
            aliases=_NETWORK_ALIASES,
        )
        object.__setattr__(self, "neural_network", network)

        version = parse_float(self.version, "version", ModelMetadataError)
        if version <= 0:
            raise ModelMetadataError(
                "the version must be positive", key="version", value=self.version, fix='use "5"'
            )
        object.__setattr__(self, "version", version)

        sensors = self.sensor
        if isinstance(sensors, str):
            sensors = (sensors,)
        if not isinstance(sensors, list | tuple):
            raise ModelMetadataError(
                f"expected a list of sensor names, got a {type(sensors).__name__}",
                key="sensor",
                value=sensors,
                fix='write e.g. "sensor": ["FRONT_FACING_CAMERA"]',
            )
        sensors = tuple(_canonical_sensor(s, i) for i, s in enumerate(sensors))
        cameras = [s for s in sensors if s in CAMERA_SENSORS]
        lidars = [s for s in sensors if s in LIDAR_SENSORS]
        if len(cameras) != 1:
            raise ModelMetadataError(
                f"exactly one camera sensor is required, found {len(cameras)}",
                key="sensor",
                value=list(sensors),
                fix="keep exactly one of FRONT_FACING_CAMERA, LEFT_CAMERA, STEREO_CAMERAS",
            )
        if len(lidars) > 1:
            raise ModelMetadataError(
                f"at most one lidar sensor is allowed, found {len(lidars)}",
                key="sensor",
                value=list(sensors),
                fix="keep one of LIDAR, SECTOR_LIDAR, DISCRETIZED_SECTOR_LIDAR",
            )
        if len(set(sensors)) != len(sensors):
            raise ModelMetadataError(
                "a sensor is listed twice", key="sensor", value=list(sensors), fix="list it once"
            )
        object.__setattr__(self, "sensor", sensors)

        lidar_config = self.lidar_config
        if isinstance(lidar_config, dict):
            lidar_config = _lidar_config_from_dict(lidar_config)
        elif lidar_config is not None and not isinstance(lidar_config, LidarConfig):
            raise ModelMetadataError(
                f"expected an object, got a {type(lidar_config).__name__}",
                key="lidar_config",
                value=lidar_config,
                fix='write {"num_sectors": 8, "num_values_per_sector": 8, "clipping_dist": 2.0}',
            )
        if lidar_config is None and "DISCRETIZED_SECTOR_LIDAR" in sensors:
            lidar_config = LidarConfig()
        object.__setattr__(self, "lidar_config", lidar_config)

    # --- derived views -------------------------------------------------------------------------
    @property
    def is_continuous(self) -> bool:
        return self.action_space_type == "continuous"

    @property
    def num_actions(self) -> int:
        """Number of discrete actions; for a continuous space the action size, 2 (steer, speed)."""
        if isinstance(self.action_space, ContinuousActionSpace):
            return 2
        return len(self.action_space)

    @property
    def camera(self) -> str:
        """The one camera sensor name (e.g. FRONT_FACING_CAMERA; "observation" for version < 2)."""
        return next(s for s in self.sensor if s in CAMERA_SENSORS)

    @property
    def lidar(self) -> str | None:
        """The lidar sensor name, or None when the model has no lidar."""
        return next((s for s in self.sensor if s in LIDAR_SENSORS), None)

    @property
    def camera_channels(self) -> int:
        """Grey image channels the network sees: 2 for STEREO_CAMERAS, else 1."""
        return 2 if self.camera == "STEREO_CAMERAS" else 1

    @property
    def discrete_actions(self) -> tuple[DiscreteAction, ...]:
        """The discrete action list (raises for a continuous space)."""
        if isinstance(self.action_space, ContinuousActionSpace):
            raise ModelMetadataError("the action space is continuous, not discrete")
        return self.action_space

    def to_json_dict(self) -> dict[str, Any]:
        """The DeepRacer JSON object (discrete entries carry "index"; version as text)."""
        if isinstance(self.action_space, ContinuousActionSpace):
            space: Any = {
                "steering_angle": {
                    "low": self.action_space.steering_low,
                    "high": self.action_space.steering_high,
                },
                "speed": {"low": self.action_space.speed_low, "high": self.action_space.speed_high},
            }
        else:
            space = [
                {"steering_angle": a.steering_angle, "speed": a.speed, "index": i}
                for i, a in enumerate(self.action_space)
            ]
        out: dict[str, Any] = {
            "action_space": space,
            "sensor": list(self.sensor),
            "neural_network": self.neural_network,
            "training_algorithm": self.training_algorithm,
            "action_space_type": self.action_space_type,
            "version": _version_text(self.version),
        }
        if self.lidar_config is not None:
            out["lidar_config"] = self.lidar_config.to_json_dict()
        return out

    def to_json(self) -> str:
        """`to_json_dict()` as indented JSON text, ready to write as model_metadata.json."""
        return json.dumps(self.to_json_dict(), indent=4) + "\n"


def load_model_metadata(
    source: str | Path | dict[str, Any] | None = None, *, default: str = "discrete"
) -> ModelMetadata:
    """Read and validate a model_metadata.json (path), a dict of its contents, or None.

    None gives a shipped default: `default` "discrete" (DRfC's 5 actions at 0.6 m/s),
    "continuous" (clipped PPO, steer +-30 deg, speed 1-2 m/s) or "sac".
    Errors are `ModelMetadataError` naming the file, the key and the fix.
    """
    if source is None:
        if default not in _DEFAULT_FILES:
            raise ModelMetadataError(
                f"unknown default {default!r}", fix=f"use one of {', '.join(_DEFAULT_FILES)}"
            )
        name = _DEFAULT_FILES[default]
        text = resources.files("slipstream").joinpath("defaults", name).read_text(encoding="utf-8")
        return parse_model_metadata(json.loads(text), source=f"<shipped default {name}>")
    if isinstance(source, dict):
        return parse_model_metadata(source, source="<model_metadata dict>")
    data = read_json_object(source, ModelMetadataError, "the model's action space and sensors")
    return parse_model_metadata(data, source=str(source))


def parse_model_metadata(data: dict[str, Any], source: str = "<model_metadata>") -> ModelMetadata:
    """Validate the contents of a model_metadata.json with DeepRacer's rules (see module doc)."""
    try:
        return _parse(dict(data))
    except ModelMetadataError as exc:
        raise exc.with_source(source) from None


def _parse(data: dict[str, Any]) -> ModelMetadata:
    for key in data:
        if key not in _KNOWN_KEYS:
            logger.warning(
                "model_metadata: ignoring unknown key %r (DeepRacer ignores it too).%s",
                key,
                did_you_mean(key, _KNOWN_KEYS),
            )
    if "action_space" not in data:
        raise ModelMetadataError(
            "no action_space is defined",
            key="action_space",
            fix='add "action_space": a list of {"steering_angle": deg, "speed": m/s} entries',
        )
    raw_type = data.get("action_space_type", "discrete")
    space_type = parse_choice(raw_type, "action_space_type", ACTION_SPACE_TYPES, ModelMetadataError)
    raw_space = data["action_space"]
    if space_type == "continuous":
        space: Any = _continuous_from_dict(raw_space)
    else:
        if isinstance(raw_space, dict):
            raise ModelMetadataError(
                "action_space is a {low, high} range object but action_space_type is "
                '"discrete" (the default when it is absent)',
                key="action_space_type",
                value=data.get("action_space_type"),
                fix='set "action_space_type": "continuous"',
            )
        space = raw_space

    # version semantics as DeepRacer: >= 2 reads `sensor`, < 2 means the legacy single camera.
    if "version" in data:
        version = parse_float(data["version"], "version", ModelMetadataError)
        if version >= 2:
            if "sensor" not in data:
                raise ModelMetadataError(
                    f"version {data['version']!r} (>= 2) needs a sensor list",
                    key="sensor",
                    fix='add "sensor": ["FRONT_FACING_CAMERA"]',
                )
            sensor = data["sensor"]
        else:
            if "sensor" in data:
                logger.warning(
                    "model_metadata: version %s < 2, so DeepRacer ignores sensor=%r and uses the "
                    "single legacy camera 'observation'",
                    data["version"],
                    data["sensor"],
                )
            sensor = ["observation"]
    elif "sensor" in data:
        version, sensor = 2.0, data["sensor"]
    else:
        version, sensor = 1.0, ["observation"]

    return ModelMetadata(
        action_space=space,
        action_space_type=space_type,  # type: ignore[arg-type]
        sensor=sensor,
        neural_network=data.get("neural_network", "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"),
        training_algorithm=data.get("training_algorithm", "clipped_ppo"),
        version=version,
        lidar_config=data.get("lidar_config"),
    )


def _as_discrete_action(entry: Any, index: int) -> DiscreteAction:
    key = f"action_space[{index}]"
    if isinstance(entry, DiscreteAction):
        return entry
    if not isinstance(entry, dict):
        raise ModelMetadataError(
            f"expected an object, got a {type(entry).__name__}",
            key=key,
            value=entry,
            fix='write {"steering_angle": deg, "speed": m/s}',
        )
    for name in ("steering_angle", "speed"):
        if name not in entry:
            raise ModelMetadataError(
                f'the action has no "{name}"',
                key=key,
                value=entry,
                fix='write {"steering_angle": deg, "speed": m/s}',
            )
    for name in entry:
        if name not in ("steering_angle", "speed", "index"):
            logger.warning("model_metadata: %s: ignoring unknown key %r", key, name)
    try:
        return DiscreteAction(entry["steering_angle"], entry["speed"])
    except ModelMetadataError as exc:
        raise ModelMetadataError(
            exc.problem, key=f"{key}.{exc.key}", value=exc.value, fix=exc.fix
        ) from None


def _check_discrete_actions(actions: tuple[DiscreteAction, ...]) -> None:
    count = len(actions)
    if not MIN_DISCRETE_ACTIONS <= count <= MAX_DISCRETE_ACTIONS:
        raise ModelMetadataError(
            f"a discrete action space needs {MIN_DISCRETE_ACTIONS} to {MAX_DISCRETE_ACTIONS} "
            f"actions, this one has {count}",
            key="action_space",
            fix=f"list between {MIN_DISCRETE_ACTIONS} and {MAX_DISCRETE_ACTIONS} actions (as the "
            "DeepRacer console requires)",
        )
    for i, action in enumerate(actions):
        if not -MAX_STEERING_DEG <= action.steering_angle <= MAX_STEERING_DEG:
            raise ModelMetadataError(
                f"steering is beyond the car's limit of +-{MAX_STEERING_DEG:g} degrees",
                key=f"action_space[{i}].steering_angle",
                value=action.steering_angle,
                fix="use a steering angle between -30 and 30 degrees",
            )
        if not MIN_SPEED <= action.speed <= MAX_SPEED:
            raise ModelMetadataError(
                f"speed is outside the car's range {MIN_SPEED}-{MAX_SPEED} m/s",
                key=f"action_space[{i}].speed",
                value=action.speed,
                fix=f"use a speed between {MIN_SPEED} and {MAX_SPEED} m/s",
            )
    if len(set(actions)) != count:
        logger.warning("model_metadata: the discrete action space lists the same action twice")


def _continuous_from_dict(raw: Any) -> ContinuousActionSpace:
    fix = 'write {"steering_angle": {"low": -30, "high": 30}, "speed": {"low": 1.0, "high": 2.0}}'
    if not isinstance(raw, dict):
        raise ModelMetadataError(
            "a continuous action space must be an object of low/high ranges, got a "
            f"{type(raw).__name__}",
            key="action_space",
            value=raw,
            fix=fix + ', or set "action_space_type": "discrete" for a list of actions',
        )
    values: dict[str, Any] = {}
    for name in ("steering_angle", "speed"):
        part = raw.get(name)
        if not isinstance(part, dict) or "low" not in part or "high" not in part:
            raise ModelMetadataError(
                f'"{name}" needs "low" and "high"',
                key=f"action_space.{name}",
                value=part,
                fix=fix,
            )
        short = "steering" if name == "steering_angle" else "speed"
        values[f"{short}_low"] = part["low"]
        values[f"{short}_high"] = part["high"]
    return ContinuousActionSpace(**values)


def _lidar_config_from_dict(raw: dict[str, Any]) -> LidarConfig:
    known = ("num_sectors", "num_values_per_sector", "clipping_dist")
    for key in raw:
        if key not in known:
            raise ModelMetadataError(
                f"unknown lidar_config key.{did_you_mean(key, known)}",
                key=f"lidar_config.{key}",
                fix=f"use only {', '.join(known)}",
            )
    return LidarConfig(**raw)


def _canonical_sensor(name: Any, index: int) -> str:
    if not isinstance(name, str):
        raise ModelMetadataError(
            f"expected a sensor name, got a {type(name).__name__}",
            key=f"sensor[{index}]",
            value=name,
            fix=f"use names from {', '.join(ALL_SENSORS)}",
        )
    lookup = {s.lower(): s for s in ALL_SENSORS}
    found = lookup.get(name.strip().lower())
    if found is None:
        raise ModelMetadataError(
            f"unknown sensor.{did_you_mean(name, ALL_SENSORS)}",
            key=f"sensor[{index}]",
            value=name,
            fix=f"use one camera of {', '.join(CAMERA_SENSORS[:3])} and optionally one lidar of "
            f"{', '.join(LIDAR_SENSORS)}",
        )
    return found


def _version_text(version: float) -> str:
    if math.isfinite(version) and version.is_integer():
        return str(int(version))
    return repr(version)


__all__ = [
    "CAMERA_SENSORS",
    "LIDAR_SENSORS",
    "NEURAL_NETWORKS",
    "TRAINING_ALGORITHMS",
    "ContinuousActionSpace",
    "DiscreteAction",
    "LidarConfig",
    "ModelMetadata",
    "load_model_metadata",
    "parse_model_metadata",
]
