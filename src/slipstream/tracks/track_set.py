"""A set of tracks named on the command line (`--tracks`), and which track a car drives when.

`parse_track_set("official,reInvent2019_*,my_route.npy,generated")` reads a comma-separated list:

- a track name (built-in or found in SLIPSTREAM_TRACKS), or a route file path (`.npy`);
- a glob over the known track names (`reInvent2019_*`, `*_pro`);
- `official`: every track in the SLIPSTREAM_TRACKS folders (the official set, once fetched);
- `builtin`: the tracks shipped with Slipstream;
- `generated`: a fresh procedural track (`generated:<seed>`, docs/tracks.md) at each draw;
- `generated:<seed>`: that one generated track.

`TrackRotation` says which track each car of a worker drives: car i keeps a track for
`episodes_per_track` of its episodes, then draws the next one from the set (a generated track
with probability 1/2 when the set also names tracks, always when it names none; otherwise a
named track, uniformly). Draws come from (seed, worker, car, block) alone, so a run is repeatable.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import numpy as np

from slipstream.tracks.generate import GENERATED_PREFIX, parse_generated_name
from slipstream.tracks.registry import (
    BUILTIN_DIR,
    TRACKS_ENV,
    available_tracks,
    official_tracks,
    resolve_track_path,
)
from slipstream.tracks.track import TrackError

GENERATED = "generated"
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class TrackSet:
    """Tracks by name or path (in the order given, no repeats) and whether generated tracks
    are drawn too."""

    names: tuple[str, ...]
    generated: bool = False

    def __post_init__(self) -> None:
        if not self.names and not self.generated:
            raise TrackError("a track set needs at least one track or 'generated'")

    @property
    def is_single(self) -> bool:
        """One named track and nothing else: an ordinary single-track run."""
        return len(self.names) == 1 and not self.generated

    def to_json_dict(self) -> dict[str, object]:
        return {"names": list(self.names), "generated": self.generated}

    @classmethod
    def from_json_dict(cls, saved: dict[str, object]) -> TrackSet:
        """The set `to_json_dict` saved; every named track must still be found."""
        names = tuple(str(name) for name in saved.get("names", []))
        for name in names:
            if not name.startswith(GENERATED_PREFIX):
                resolve_track_path(name)
        return cls(names, bool(saved.get("generated", False)))

    def describe(self) -> str:
        parts = list(self.names[:3]) + ([f"... ({len(self.names)} tracks)"] * (len(self.names) > 3))
        return ", ".join(parts + [GENERATED] * self.generated)


def parse_track_set(text: str) -> TrackSet:
    """The tracks a `--tracks` value names (module docstring); a clear error for any entry
    that names nothing."""
    entries = [part.strip() for part in str(text).split(",") if part.strip()]
    if not entries:
        raise TrackError("--tracks is empty: name tracks, globs, 'official' or 'generated'")
    names: list[str] = []
    generated = False
    known = None
    for entry in entries:
        if entry == GENERATED:
            generated = True
            continue
        if parse_generated_name(entry) is not None:
            names.append(f"{GENERATED_PREFIX}{parse_generated_name(entry)}")
            continue
        if entry == "official":
            found = sorted(official_tracks())
            if not found:
                raise TrackError(
                    "'official' names no track: run `slipstream tracks fetch` or set "
                    f"{TRACKS_ENV} to the folder of DeepRacer's route files"
                )
            names.extend(found)
            continue
        if entry == "builtin":
            names.extend(sorted(p.stem for p in BUILTIN_DIR.glob("*.npy")))
            continue
        if any(c in entry for c in _GLOB_CHARS):
            known = available_tracks() if known is None else known
            found = sorted(fnmatch.filter(known, entry))
            if not found:
                raise TrackError(
                    f"the glob {entry!r} matches no track name; `slipstream tracks list` shows "
                    f"the {len(known)} known tracks"
                )
            names.extend(found)
            continue
        resolve_track_path(entry)  # raises with close matches when it names nothing
        names.append(entry)
    return TrackSet(tuple(dict.fromkeys(names)), generated)


@dataclass(frozen=True)
class TrackRotation:
    """Which track car `car` of worker `worker` drives in its block of episodes `block`
    (episodes block * episodes_per_track ... of that car). `start_iteration`: the training
    iteration the workers started at (0, or where a resumed run goes on), so a resumed run draws
    tracks its first part did not."""

    track_set: TrackSet
    seed: int = 0
    worker: int = 0
    episodes_per_track: int = 1
    start_iteration: int = 0

    def __post_init__(self) -> None:
        if int(self.episodes_per_track) < 1:
            raise TrackError(f"episodes per track must be >= 1, got {self.episodes_per_track}")

    def track_for(self, car: int, block: int) -> str:
        key = [int(self.seed), int(self.worker), int(car), int(block), int(self.start_iteration)]
        rng = np.random.default_rng(key)
        names, generated = self.track_set.names, self.track_set.generated
        if generated and (not names or rng.uniform() < 0.5):
            return f"{GENERATED_PREFIX}{int(rng.integers(0, 2**31))}"
        return names[int(rng.integers(0, len(names)))]


__all__ = ["GENERATED", "TrackRotation", "TrackSet", "parse_track_set"]
