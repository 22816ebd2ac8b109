"""Tracks: the `Track` value, loaders and batched geometry."""

from slipstream.tracks.registry import DEFAULT_TRACK, available_tracks, load_track
from slipstream.tracks.track import CenterProjection, Track, TrackError, progress_percent

__all__ = [
    "DEFAULT_TRACK",
    "CenterProjection",
    "Track",
    "TrackError",
    "available_tracks",
    "load_track",
    "progress_percent",
]
