"""`slipstream tracks ...` and the track fetcher, run against a local HTTP server."""

from __future__ import annotations

import functools
import hashlib
import re
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slipstream.cli import main
from slipstream.tracks import load_track
from slipstream.tracks.fetch import (
    DEFAULT_BASE_URL,
    FetchError,
    fetch_official_tracks,
    github_contents_api_url,
    parse_directory_listing,
    tracks_env_hint,
)

FEW = ["reInvent2019_track", "Straight_track.npy", "China_eval_track"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep test output clean
        pass


def _serve(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def track_server(official_tracks_dir):
    """Base URL of a local http.server serving the official track folder."""
    server, thread = _serve(official_tracks_dir)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- list / show


def test_tracks_list_shows_builtin_and_official(official_tracks_dir, capsys):
    assert main(["tracks", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == [
        "name",
        "length_m",
        "width_min",
        "width_mean",
        "closed",
        "dir",
        "source",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:] if line.strip() and "  " in line}
    assert rows["slipstream_default"][-1] == "built-in"
    assert rows["reInvent2019_track"][1] == "23.12"
    assert rows["reInvent2019_track"][4:6] == ["yes", "CCW"]
    assert rows["Albert"][5] == "CW"
    assert rows["Straight_track"][4:6] == ["no", "open"]
    assert rows["reInvent2019_track"][-1] == str(official_tracks_dir)
    assert re.search(r"\n\d+ tracks \(3 built-in\)\.", out)


def test_tracks_show_writes_a_png(official_tracks_dir, tmp_path, capsys):
    out_png = tmp_path / "pics" / "reinvent.png"
    assert main(["tracks", "show", "reInvent2019_track", "--reverse", "--out", str(out_png)]) == 0
    text = capsys.readouterr().out
    assert "23.118 m" in text and "CW" in text and "(reversed)" in text
    assert out_png.stat().st_size > 10_000
    with Image.open(out_png) as img:
        assert img.format == "PNG"
        width, height = img.size
    assert width >= 800 and height >= 400


def test_tracks_show_builtin_and_generated_names(tmp_path, capsys):
    assert main(["tracks", "show", "slipstream_default"]) == 0
    assert "direction    CCW" in capsys.readouterr().out
    assert main(["tracks", "show", "generated:5", "--out", str(tmp_path / "g.png")]) == 0
    assert "generated procedurally" in capsys.readouterr().out
    assert (tmp_path / "g.png").stat().st_size > 0


def test_tracks_show_unknown_name_is_a_clear_error(capsys):
    assert main(["tracks", "show", "reInvent2019_trak"]) == 1
    err = capsys.readouterr().err
    assert "unknown track" in err and "tracks list" in err


def test_tracks_generate_writes_a_loadable_route(tmp_path, capsys):
    out = tmp_path / "my_track.npy"
    png = tmp_path / "my_track.png"
    args = ["tracks", "generate", "--seed", "11", "--length", "30", "--width", "1.0"]
    args.append("--counter-clockwise")
    assert main([*args, "--out", str(out), "--show", str(png)]) == 0
    route = np.load(out, allow_pickle=False)
    assert route.shape[1] == 6 and route.dtype == np.float64
    track = load_track(out)
    assert track.closed and track.is_ccw and track.name == "my_track"
    assert track.length == pytest.approx(30.0, rel=0.02)
    assert float(np.mean(track.width)) == pytest.approx(1.0, abs=0.01)
    with Image.open(png) as img:
        assert img.size[0] > 0
    assert "route file" in capsys.readouterr().out
    assert main(["tracks", "generate", "--seed", "1", "--out", str(tmp_path / "x.png")]) == 1


def test_tracks_generate_sheet_draws_examples_and_compares_with_the_official_set(
    tmp_path, capsys, monkeypatch
):
    """The sheet's table is the 10th/50th/90th percentiles of the generated tracks' shapes
    against those of the tracks in SLIPSTREAM_TRACKS (here: one route file, the default)."""
    from slipstream.tracks.generate import generate_track
    from slipstream.tracks.registry import BUILTIN_DIR
    from slipstream.tracks.shape import track_shape

    folder = tmp_path / "official"
    folder.mkdir()
    (folder / "only_one.npy").write_bytes((BUILTIN_DIR / "slipstream_default.npy").read_bytes())
    monkeypatch.setenv("SLIPSTREAM_TRACKS", str(folder))
    sheet = tmp_path / "sheet.png"
    args = ["tracks", "generate", "--sheet", str(sheet), "--seed", "3", "--count", "2"]
    assert main([*args, "--stats", "3"]) == 0
    out = capsys.readouterr().out
    with Image.open(sheet) as img:
        assert img.size[0] > 500
    lengths = np.array([track_shape(generate_track(seed)).length for seed in (3, 4, 5)])
    lo, mid, hi = np.percentile(lengths, [10, 50, 90])
    official = track_shape(load_track("slipstream_default")).length
    row = next(line for line in out.splitlines() if line.startswith("length"))
    assert f"{lo:.2f} / {mid:.2f} / {hi:.2f}" in row
    assert f"{official:.2f} / {official:.2f} / {official:.2f}" in row
    assert "3 tracks" in out and "1 tracks" in out


# --------------------------------------------------------------------------- fetch


def test_github_api_url_and_directory_listing_parsing():
    assert github_contents_api_url(DEFAULT_BASE_URL) == (
        "https://api.github.com/repos/aws-deepracer-community/deepracer-analysis/contents/tracks"
        "?ref=master"
    )
    assert github_contents_api_url("http://127.0.0.1:8000/tracks") is None
    html = (
        '<ul><li><a href="a%20b.npy">a b.npy</a></li><li><a href="MANIFEST.md">M</a></li>'
        '<li><a href="sub/">sub/</a></li><li><a href="/abs/c.npy?x=1">c</a></li>'
        '<li><a href="a%20b.npy">again</a></li></ul>'
    )
    files = parse_directory_listing(html, "http://h:1/tracks")
    assert [f.name for f in files] == ["a b.npy", "c.npy"]
    assert files[0].url == "http://h:1/tracks/a%20b.npy"
    assert files[1].url == "http://h:1/abs/c.npy"


def test_fetch_a_few_named_tracks(official_tracks_dir, track_server, tmp_path):
    seen: list[tuple[str, str]] = []
    paths = fetch_official_tracks(
        tmp_path, base_url=track_server, names=FEW, progress=lambda n, s: seen.append((n, s))
    )
    names = ["reInvent2019_track.npy", "Straight_track.npy", "China_eval_track.npy"]
    assert [p.name for p in paths] == names
    for path in paths:
        assert _sha(path) == _sha(official_tracks_dir / path.name)
    assert seen == [(n, "downloaded") for n in names]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names), "no temp files left"

    # Second run: same sizes -> kept; --force downloads again.
    seen.clear()
    fetch_official_tracks(
        tmp_path, base_url=track_server, names=FEW[:1], progress=lambda n, s: seen.append((n, s))
    )
    assert seen == [("reInvent2019_track.npy", "up to date")]
    seen.clear()
    fetch_official_tracks(
        tmp_path,
        base_url=track_server,
        names=FEW[:1],
        force=True,
        progress=lambda n, s: seen.append((n, s)),
    )
    assert seen == [("reInvent2019_track.npy", "downloaded")]
    # A local file of another size is replaced.
    (tmp_path / "Straight_track.npy").write_bytes(b"stale")
    fetch_official_tracks(tmp_path, base_url=track_server, names=["Straight_track"])
    assert _sha(tmp_path / "Straight_track.npy") == _sha(official_tracks_dir / "Straight_track.npy")


def test_fetch_unknown_name_and_offline_errors(track_server, tmp_path):
    with pytest.raises(FetchError, match=r"not offered by the source: Nope_track\.npy"):
        fetch_official_tracks(tmp_path, base_url=track_server, names=["Nope_track"])
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError, match="cannot reach"):
        fetch_official_tracks(tmp_path, base_url=f"http://127.0.0.1:{port}/tracks", timeout=5)


def test_fetch_rejects_a_file_that_is_not_a_route(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    np.save(source / "bad_shape.npy", np.zeros((10, 4)))
    (source / "not_numpy.npy").write_bytes(b"hello")
    server, thread = _serve(source)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    dest = tmp_path / "dest"
    try:
        with pytest.raises(FetchError, match=r"bad_shape\.npy: expected a route array of shape"):
            fetch_official_tracks(dest, base_url=base, names=["bad_shape"])
        with pytest.raises(FetchError, match=r"not_numpy\.npy: not a readable \.npy"):
            fetch_official_tracks(dest, base_url=base, names=["not_numpy"])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert list(dest.iterdir()) == [], "nothing half-written is left behind"


def test_cli_fetch_full_listing(official_tracks_dir, track_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SLIPSTREAM_TRACKS", "")
    dest = tmp_path / "all"
    assert main(["tracks", "fetch", "--dest", str(dest), "--base-url", track_server]) == 0
    out = capsys.readouterr().out
    assert "135 track files" in out and "135 downloaded" in out
    assert f'export SLIPSTREAM_TRACKS="{dest.resolve()}"' in out
    got = sorted(p.name for p in dest.iterdir())
    assert got == sorted(p.name for p in official_tracks_dir.glob("*.npy"))
    for name in ("Albert.npy", "New_York_Eval_Track.npy", "2024_reinvent_champ_cw.npy"):
        assert _sha(dest / name) == _sha(official_tracks_dir / name)
    # Run again: everything is up to date; with the folder on SLIPSTREAM_TRACKS no hint.
    monkeypatch.setenv("SLIPSTREAM_TRACKS", str(dest))
    assert tracks_env_hint(dest) is None
    assert main(["tracks", "fetch", "--dest", str(dest), "--base-url", track_server]) == 0
    out = capsys.readouterr().out
    assert "135 already up to date" in out and "export" not in out


def test_fetch_uses_the_github_contents_api_listing(
    official_tracks_dir, track_server, tmp_path, monkeypatch
):
    """The GitHub path: the file list (names, sizes, download URLs) comes from the contents
    API; here the API answer is canned and the download URLs point at the local server."""
    import json

    import slipstream.tracks.fetch as fetch_module

    listing = [
        {
            "name": name,
            "type": "file",
            "size": (official_tracks_dir / name).stat().st_size,
            "download_url": f"{track_server}/{name}",
        }
        for name in ("Albert.npy", "Oval_track.npy")
    ] + [{"name": "README.md", "type": "file", "size": 10, "download_url": "x"}]
    api_calls = []
    real_read = fetch_module._read

    def fake_read(url, timeout, limit=fetch_module.MAX_FILE_BYTES):
        if url.startswith("https://api.github.com/"):
            api_calls.append(url)
            return json.dumps(listing).encode()
        return real_read(url, timeout, limit)

    monkeypatch.setattr(fetch_module, "_read", fake_read)
    paths = fetch_official_tracks(tmp_path, base_url=DEFAULT_BASE_URL)
    assert api_calls == [github_contents_api_url(DEFAULT_BASE_URL)]
    assert [p.name for p in paths] == ["Albert.npy", "Oval_track.npy"]
    assert _sha(paths[0]) == _sha(official_tracks_dir / "Albert.npy")
    seen = []
    fetch_official_tracks(tmp_path, base_url=DEFAULT_BASE_URL, progress=lambda n, s: seen.append(s))
    assert seen == ["up to date", "up to date"]
