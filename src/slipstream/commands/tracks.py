"""`slipstream tracks`: list, show, fetch and generate tracks."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from slipstream.tracks.track import Track


def _say(text: str = "", *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from slipstream.tracks.fetch import DEFAULT_BASE_URL, DEFAULT_DEST

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    sub.add_parser(
        "list",
        help="table of every known track (built-in and SLIPSTREAM_TRACKS folders)",
        description="Table of every known track: built-in tracks, then SLIPSTREAM_TRACKS folders.",
    )

    show = sub.add_parser(
        "show",
        help="facts about one track, optionally a PNG picture",
        description="Facts about one track (a name, a .npy path, or generated:<seed>), "
        "optionally drawn to a PNG.",
    )
    show.add_argument("name", help="track name, path to a route .npy, or generated:<seed>")
    show.add_argument("--reverse", action="store_true", help="the other driving direction")
    show.add_argument("--out", type=Path, metavar="FILE.png", help="write a picture here")

    fetch = sub.add_parser(
        "fetch",
        help="download the official DeepRacer route files",
        description="Download the official DeepRacer route files (about 135, 1.2 MB).",
    )
    fetch.add_argument("names", nargs="*", metavar="NAME", help="only these tracks (default: all)")
    fetch.add_argument(
        "--dest", type=Path, default=DEFAULT_DEST, help=f"folder to fill (default {DEFAULT_DEST})"
    )
    fetch.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help="a raw.githubusercontent.com folder or any web folder with a directory listing",
    )
    fetch.add_argument("--force", action="store_true", help="download even files already there")
    fetch.add_argument("--timeout", type=float, default=30.0, help="seconds per request")

    gen = sub.add_parser(
        "generate",
        help="make random valid tracks from seeds, or a page of examples",
        description="Make a random valid closed track from a seed (same seed, same track). Its "
        "length (15-90 m), width (0.76-1.07 m) and direction are drawn from the seed unless "
        "given. --sheet draws a page of examples with histograms of length, width, tightest "
        "corner and straight share against the official tracks (when SLIPSTREAM_TRACKS has them).",
    )
    gen.add_argument("--seed", type=int, default=0, help="non-negative integer (default 0)")
    gen.add_argument("--length", type=float, help="centre-line length in m (default: drawn)")
    gen.add_argument("--width", type=float, help="road width in m (default: drawn)")
    direction = gen.add_mutually_exclusive_group()
    direction.add_argument("--clockwise", dest="clockwise", action="store_const", const=True)
    direction.add_argument(
        "--counter-clockwise", dest="clockwise", action="store_const", const=False
    )
    gen.add_argument("--out", type=Path, metavar="FILE.npy", help="save the route array here")
    gen.add_argument("--show", type=Path, metavar="PNG", help="write a picture here")
    gen.add_argument(
        "--sheet",
        type=Path,
        metavar="PNG",
        help="write a page of --count examples (seeds from --seed on) with histograms here",
    )
    gen.add_argument("--count", type=int, default=12, help="examples on the sheet (default 12)")
    gen.add_argument(
        "--stats",
        type=int,
        default=100,
        help="generated tracks measured for the sheet's histograms (default 100)",
    )


def run(args: argparse.Namespace) -> int:
    from slipstream.tracks.track import TrackError

    actions = {"list": _list, "show": _show, "fetch": _fetch, "generate": _generate}
    try:
        return actions[args.action](args)
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # quiet exit flush
        return 0
    except (TrackError, ValueError, OSError) as exc:
        _say(f"slipstream tracks {args.action}: error: {exc}", err=True)
        return 1


# --------------------------------------------------------------------------- list


def _direction(track: Track) -> str:
    if not track.closed:
        return "open"
    return "CCW" if track.is_ccw else "CW"


def _list(args: argparse.Namespace) -> int:
    from slipstream.tracks.registry import BUILTIN_DIR, TRACKS_ENV, available_tracks, load_track
    from slipstream.tracks.track import TrackError

    tracks = available_tracks()
    rows = []
    for name, path in tracks.items():
        source = "built-in" if path.parent == BUILTIN_DIR else str(path.parent)
        try:
            t = load_track(path)
        except TrackError as exc:
            rows.append((name, "-", "-", "-", "-", "error", source + f" ({exc})"))
            continue
        rows.append(
            (
                name,
                f"{t.length:.2f}",
                f"{float(np.min(t.width)):.3f}",
                f"{float(np.mean(t.width)):.3f}",
                "yes" if t.closed else "no",
                _direction(t),
                source,
            )
        )
    header = ("name", "length_m", "width_min", "width_mean", "closed", "dir", "source")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    right = {1, 2, 3}
    for row in [header, *rows]:
        cells = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        _say("  ".join([*cells, row[-1]]))
    n_builtin = sum(1 for r in rows if r[-1] == "built-in")
    _say(f"\n{len(rows)} tracks ({n_builtin} built-in).")
    if len(rows) == n_builtin:
        _say(
            f"Get the official tracks with `slipstream tracks fetch`, then set {TRACKS_ENV} "
            "to the folder it prints."
        )
    return 0


# --------------------------------------------------------------------------- show


def _load_any(name: str, reverse: bool) -> tuple[Track, str]:
    from slipstream.tracks.generate import generate_track, parse_generated_name
    from slipstream.tracks.registry import load_track, resolve_track_path

    seed = parse_generated_name(name)
    if seed is not None:
        return load_track(generate_track(seed), reverse=reverse), "generated procedurally"
    return load_track(name, reverse=reverse), str(resolve_track_path(name))


def _describe(track: Track, source: str) -> None:
    lo = np.vstack([track.center, track.inner, track.outer]).min(axis=0)
    hi = np.vstack([track.center, track.inner, track.outer]).max(axis=0)
    xy, heading = track.point_at(np.array([0.0]))
    n_wp = len(track.center) - (1 if track.closed else 0)
    _say(f"track        {track.name}{' (reversed)' if track.is_reversed else ''}")
    _say(f"source       {source}")
    _say(f"waypoints    {n_wp}{' + closing point' if track.closed else ''}")
    _say(f"length       {track.length:.3f} m")
    _say(
        f"width        min {float(np.min(track.width)):.3f}  mean {float(np.mean(track.width)):.3f}"
        f"  max {float(np.max(track.width)):.3f} m"
    )
    _say(f"closed       {'yes' if track.closed else 'no'}")
    _say(f"direction    {_direction(track)}")
    _say(f"extent       x [{lo[0]:.2f}, {hi[0]:.2f}]  y [{lo[1]:.2f}, {hi[1]:.2f}] m")
    _say(
        f"start        ({xy[0, 0]:.3f}, {xy[0, 1]:.3f}) m, heading "
        f"{float(np.degrees(heading[0])):.1f} deg"
    )


def _show(args: argparse.Namespace) -> int:
    track, source = _load_any(args.name, args.reverse)
    _describe(track, source)
    if args.out is not None:
        from slipstream.tracks.plot import plot_track

        _say(f"picture      {plot_track(track, args.out)}")
    return 0


# --------------------------------------------------------------------------- fetch


def _fetch(args: argparse.Namespace) -> int:
    from slipstream.tracks.fetch import fetch_official_tracks, tracks_env_hint

    counts = {"downloaded": 0, "up to date": 0}

    def progress(name: str, status: str) -> None:
        counts[status] += 1
        _say(f"  {status:<10}  {name}")

    dest = args.dest.expanduser()
    _say(f"Fetching track files from {args.base_url} into {dest}")
    paths = fetch_official_tracks(
        dest,
        base_url=args.base_url,
        names=args.names or None,
        force=args.force,
        timeout=args.timeout,
        progress=progress,
    )
    _say(
        f"{len(paths)} track files in {dest}: {counts['downloaded']} downloaded, "
        f"{counts['up to date']} already up to date."
    )
    hint = tracks_env_hint(dest)
    if hint:
        _say(hint)
    return 0


# --------------------------------------------------------------------------- generate


def _generate(args: argparse.Namespace) -> int:
    from slipstream.tracks.generate import generate_route
    from slipstream.tracks.track import Track

    if args.sheet is not None:
        return _generate_sheet(args)
    if args.out is not None and args.out.suffix != ".npy":
        raise ValueError(f"--out must end in .npy, got {args.out}")
    route = generate_route(args.seed, args.length, args.width, args.clockwise)
    name = args.out.stem if args.out is not None else f"generated:{args.seed}"
    track = Track.from_route(route, name=name)
    _describe(track, f"generated from seed {args.seed}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.save(args.out, route, allow_pickle=False)
        _say(f"route file   {args.out}")
    if args.show is not None:
        from slipstream.tracks.plot import plot_track

        _say(f"picture      {plot_track(track, args.show)}")
    return 0


def _generate_sheet(args: argparse.Namespace) -> int:
    from slipstream.tracks.generate import generate_track
    from slipstream.tracks.plot import plot_sheet
    from slipstream.tracks.registry import load_track, official_tracks
    from slipstream.tracks.shape import compare_shapes, track_shape

    if args.sheet.suffix != ".png":
        raise ValueError(f"--sheet must end in .png, got {args.sheet}")
    count = max(args.count, args.stats)
    generated = [
        generate_track(args.seed + i, args.length, args.width, clockwise=args.clockwise)
        for i in range(count)
    ]
    official = [load_track(name) for name in official_tracks()]
    official = [t for t in official if t.closed]
    table = compare_shapes(
        [track_shape(t) for t in generated[: args.stats]], [track_shape(t) for t in official]
    )
    histograms = {label: (row.generated, row.official) for label, row in table.items()}
    plot_sheet(generated[: args.count], args.sheet, histograms=histograms)
    _say(f"{'':<22}{'generated':>28}   {'official':>28}")
    _say(
        f"{'(10th / 50th / 90th)':<22}{f'{args.stats} tracks':>28}   {f'{len(official)} tracks':>28}"
    )
    for label, row in table.items():
        _say(f"{label:<22}{row.describe(row.generated):>28}   {row.describe(row.official):>28}")
    _say(f"sheet        {args.sheet}")
    return 0
