"""Timing of the batched track queries the simulator calls every step.

`python -m slipstream.tracks.bench` prints the figures; `benchmark_projection()` returns them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from slipstream.tracks.registry import DEFAULT_TRACK, available_tracks, load_track
from slipstream.tracks.track import Track

BENCH_TRACK = "reInvent2019_track"


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def benchmark_projection(
    n: int = 100_000, track: str | Track | None = None, repeats: int = 3, seed: int = 0
) -> dict:
    """Time Track.project / on_road / is_left_of_center on `n` random points near the road.

    The track defaults to reInvent2019_track when it is available (SLIPSTREAM_TRACKS), else
    the built-in default. Points are uniform in the track's bounding box grown by 0.5 m.
    Returns seconds (best of `repeats`) and points per second for each query.
    """
    if track is None:
        track = BENCH_TRACK if BENCH_TRACK in available_tracks() else DEFAULT_TRACK
    t = load_track(track)
    rng = np.random.default_rng(seed)
    everything = np.vstack([t.center, t.inner, t.outer])
    lo, hi = everything.min(axis=0) - 0.5, everything.max(axis=0) + 0.5
    points = rng.uniform(lo, hi, size=(n, 2))
    result: dict = {"track": t.name, "n_points": n, "n_waypoints": len(t.center)}
    queries = {
        "project": lambda: t.project(points),
        "on_road": lambda: t.on_road(points),
        "is_left_of_center": lambda: t.is_left_of_center(points),
    }
    for label, fn in queries.items():
        seconds = _best_time(fn, repeats)
        result[f"{label}_s"] = seconds
        result[f"{label}_points_per_s"] = n / seconds
    return result


def main(argv: list[str] | None = None) -> int:
    """Print the projection benchmark (optional first argument: number of points)."""
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 100_000
    res = benchmark_projection(n)
    print(f"track {res['track']} ({res['n_waypoints']} waypoints), {res['n_points']} points")
    for label in ("project", "on_road", "is_left_of_center"):
        print(
            f"  {label:<18} {res[label + '_s'] * 1e3:8.1f} ms  "
            f"{res[label + '_points_per_s'] / 1e6:6.2f} M points/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
