"""`--tracks` sets: what each entry names, the errors for entries that name nothing, and the
rotation that gives each car its tracks."""

from __future__ import annotations

import numpy as np
import pytest

from slipstream.tracks.registry import available_tracks
from slipstream.tracks.track import TrackError
from slipstream.tracks.track_set import TrackRotation, TrackSet, parse_track_set

BUILTIN = ("slipstream_default", "slipstream_oval", "slipstream_technical")


def test_entries_name_tracks_globs_builtin_and_generated(tmp_path):
    route = tmp_path / "my_route.npy"
    np.save(route, np.load(available_tracks()["slipstream_oval"], allow_pickle=False))
    got = parse_track_set(f"slipstream_oval, slipstream_t*,builtin,{route},generated:7,generated")
    assert got.names == (
        "slipstream_oval",
        "slipstream_technical",
        "slipstream_default",
        str(route),
        "generated:7",
    )
    assert got.generated
    assert parse_track_set("slipstream_oval").is_single
    assert not parse_track_set("generated").names


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("slipstream_ovl", "Did you mean: slipstream_oval"),
        ("nothing_*", "matches no track"),
        ("missing/route.npy", "does not exist"),
    ],
)
def test_an_entry_that_names_nothing_is_refused(text, message):
    with pytest.raises(TrackError, match=message):
        parse_track_set(text)


def test_official_without_the_official_files_says_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setenv("SLIPSTREAM_TRACKS", str(tmp_path))
    with pytest.raises(TrackError, match="slipstream tracks fetch"):
        parse_track_set("official")


def test_rotation_is_repeatable_and_covers_the_set():
    rotation = TrackRotation(TrackSet(BUILTIN), seed=3, worker=1, episodes_per_track=2)
    drawn = [rotation.track_for(car, block) for car in range(4) for block in range(30)]
    assert drawn == [rotation.track_for(car, block) for car in range(4) for block in range(30)]
    counts = {name: drawn.count(name) for name in BUILTIN}
    assert min(counts.values()) > 0.2 * len(drawn)  # uniform over three: about a third each
    other = TrackRotation(TrackSet(BUILTIN), seed=4, worker=1, episodes_per_track=2)
    assert drawn != [other.track_for(car, block) for car in range(4) for block in range(30)]


def test_generated_draws_are_fresh_tracks_half_the_time_beside_named_ones():
    mixed = TrackRotation(TrackSet(("slipstream_oval",), generated=True))
    drawn = [mixed.track_for(car, block) for car in range(10) for block in range(20)]
    generated = [name for name in drawn if name.startswith("generated:")]
    assert 0.35 < len(generated) / len(drawn) < 0.65
    assert len(set(generated)) == len(generated)  # a new track at every draw
    only = TrackRotation(TrackSet((), generated=True))
    assert all(only.track_for(0, b).startswith("generated:") for b in range(10))
