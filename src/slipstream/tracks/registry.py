"""Finding tracks by name: built-in tracks first, then folders in SLIPSTREAM_TRACKS."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import numpy as np

from slipstream.tracks.track import Track, TrackError

BUILTIN_DIR = Path(__file__).with_name("data")
TRACKS_ENV = "SLIPSTREAM_TRACKS"
DEFAULT_TRACK = "slipstream_default"


def search_dirs() -> list[Path]:
    """Folders searched for route files, in order: built-in, then each SLIPSTREAM_TRACKS entry."""
    extra = [Path(p).expanduser() for p in os.environ.get(TRACKS_ENV, "").split(os.pathsep) if p]
    return [BUILTIN_DIR, *extra]


def available_tracks() -> dict[str, Path]:
    """Track name -> route file; an earlier folder wins when two define the same name."""
    found: dict[str, Path] = {}
    for folder in search_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.npy")):
                found.setdefault(path.stem, path)
    return found


def official_tracks() -> dict[str, Path]:
    """The tracks found in SLIPSTREAM_TRACKS folders (the official set once fetched), by name;
    the built-in tracks are not among them."""
    builtin = {path.stem for path in BUILTIN_DIR.glob("*.npy")}
    return {name: path for name, path in available_tracks().items() if name not in builtin}


def resolve_track_path(name_or_path: str | os.PathLike) -> Path:
    """The route file for a track name or a path to an `.npy` file."""
    text = os.fspath(name_or_path)
    as_path = Path(text).expanduser()
    if as_path.suffix == ".npy" or os.sep in text:
        if as_path.is_file():
            return as_path
        raise TrackError(f"track file {text!r} does not exist")
    tracks = available_tracks()
    if text in tracks:
        return tracks[text]
    close = difflib.get_close_matches(text, list(tracks), n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise TrackError(
        f"unknown track {text!r}.{hint} Run `slipstream tracks list` to see the {len(tracks)} known "
        f"tracks, `slipstream tracks fetch` to download the official set, or set {TRACKS_ENV} to "
        "a folder of DeepRacer route .npy files."
    )


def load_track(
    name_or_path: str | os.PathLike | Track = DEFAULT_TRACK, reverse: bool = False
) -> Track:
    """Load a track by name (built-in or SLIPSTREAM_TRACKS), by path, or `generated:<seed>` (a
    procedural 25 m loop, 1.07 m wide), optionally reversed."""
    generated_seed = None
    if isinstance(name_or_path, str):
        from slipstream.tracks.generate import parse_generated_name

        generated_seed = parse_generated_name(name_or_path)
    if isinstance(name_or_path, Track):
        track = name_or_path
    elif generated_seed is not None:
        from slipstream.tracks.generate import generate_track

        track = generate_track(generated_seed)
    else:
        path = resolve_track_path(name_or_path)
        try:
            route = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise TrackError(f"cannot read track file {path}: {exc}") from exc
        track = Track.from_route(route, name=path.stem)
    if reverse != track.is_reversed:
        track = track.reversed()
    return track
