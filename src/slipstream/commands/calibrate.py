"""`slipstream calibrate`: fit the car's dynamics to DeepRacer simtraces and show how well they match."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

HELP = "Fit the car's dynamics (CarParams) to DeepRacer simtraces and compare the two cars."

PROFILE_STEPS = (3, 5, 8, 10, 15)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "traces",
        nargs="+",
        metavar="TRACE",
        help="DeepRacer simtrace CSVs or robomaker logs (SIM_TRACE_LOG lines) to fit on",
    )
    parser.add_argument(
        "--check",
        nargs="+",
        default=[],
        metavar="TRACE",
        help="held-out traces: compared, not fitted on",
    )
    parser.add_argument(
        "--hold-out",
        type=int,
        default=0,
        metavar="N",
        help="fit on all but every N-th episode of the TRACEs and check on those (the same "
        "simulator's car, unseen); 0 = fit on all",
    )
    parser.add_argument(
        "--no-fit",
        action="store_true",
        help="do not fit: compare Slipstream's current CarParams defaults with every trace",
    )
    parser.add_argument(
        "--horizon",
        type=int,
        default=15,
        help="length of the fit's replays in steps (default 15 = 1 s; the report always uses 1 s)",
    )
    parser.add_argument(
        "--stride",
        type=int,
        default=2,
        help="fit on every STRIDE-th replay window (default 2; 1 uses all, slower)",
    )
    parser.add_argument(
        "--max-evals", type=int, default=200, help="most model evaluations in the fit"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the fitted parameters here")


def _say(text: str = "") -> None:
    print(text, flush=True)


def _fmt(v: float, digits: int = 2) -> str:
    return "-" if not np.isfinite(v) else f"{v:.{digits}f}"


def _held_table(deepracer, ours, params, with_held: bool) -> list[dict]:
    """Print DeepRacer's and Slipstream's held-command statistics side by side; return them."""
    from slipstream.sim import calibration as cal

    if with_held:
        _say("(SS held: Slipstream holding the command 4 s from rest, its last second)")
    _say(
        f"{'speed':>6} {'steer':>5} {'holds':>5} | {'DR v':>5} {'SS v':>5} | "
        f"{'DR R':>6} {'SS R':>6} | {'DR lat':>6} {'SS lat':>6}"
        + (" | SS held v, R, lat" if with_held else "")
    )
    rows = []
    for d, s in zip(deepracer, ours, strict=True):
        line = (
            f"{d.speed_cmd:6.2f} {d.steer_cmd:5.0f} {d.segments:5d} | {d.speed:5.2f} {s.speed:5.2f} | "
            f"{_fmt(d.radius):>6} {_fmt(s.radius):>6} | {d.lateral:6.2f} {s.lateral:6.2f}"
        )
        row = {
            "speed_cmd": d.speed_cmd,
            "steer_cmd": d.steer_cmd,
            "holds": d.segments,
            "deepracer": {"speed": d.speed, "radius": d.radius, "lateral": d.lateral},
            "slipstream": {"speed": s.speed, "radius": s.radius, "lateral": s.lateral},
        }
        if with_held:
            held = cal.steady_turn(params, d.speed_cmd, d.steer_cmd)
            line += f" | {held[0]:.2f}, {_fmt(held[1])}, {held[2]:.2f}"
            row["slipstream_held_4s"] = dict(zip(("speed", "radius", "lateral"), held, strict=True))
        _say(line)
        rows.append(row)
    return rows


def report(name: str, trace, params) -> dict:
    """Print the comparison of one trace with `params`; return its numbers."""
    from slipstream.sim import calibration as cal

    _say(f"== {name}: {len(trace):,} rows, {len(np.unique(trace.episode))} episodes")
    deepracer, ours = cal.held_commands(trace, params)
    _say("held commands (>= 4 steps; medians from the 3rd step on; Slipstream replays each hold")
    _say("from the same logged state):")
    rows = _held_table(deepracer, ours, params, with_held=True)
    steady_dr, steady_ss = cal.held_commands(
        trace, params, min_held=cal.STEADY_HELD, settle=cal.STEADY_SETTLE
    )
    _say(
        f"steady state (holds >= {cal.STEADY_HELD} steps, medians from step "
        f"{cal.STEADY_SETTLE + 1} on; the same replays):"
    )
    steady = _held_table(steady_dr, steady_ss, params, with_held=False)
    ceiling = (cal.lateral_ceiling(deepracer), cal.lateral_ceiling(ours))
    _say(
        f"lateral-acceleration ceiling (highest held median): DeepRacer {ceiling[0]:.2f}, "
        f"Slipstream {ceiling[1]:.2f} m/s^2 (model limit mu g = {params.friction * 9.81:.2f})"
    )
    cmd, top_dr, top_ss, holds = cal.top_speed(trace, params)
    _say(
        f"top speed ({_fmt(cmd, 1)} m/s held >= 10 steps nearly straight, {holds} holds): "
        f"DeepRacer {_fmt(top_dr)}, Slipstream {_fmt(top_ss)} m/s"
    )
    launch_dr, launch_ss, episodes = cal.launch_profile(trace, params, PROFILE_STEPS)
    steps_text = ", ".join(str(s) for s in PROFILE_STEPS)
    _say(
        f"speed after the start of an episode (steps {steps_text}; logged commands; {episodes} episodes):"
    )
    _say("  DeepRacer  " + " ".join(f"{v:5.2f}" for v in launch_dr))
    _say("  Slipstream " + " ".join(f"{v:5.2f}" for v in launch_ss))
    starts = cal.window_starts(trace, 15)
    pos, head = cal.replay_errors(trace, starts, 15, params)
    err = {
        "windows": len(starts),
        "position_median": float(np.median(pos[:, -1])),
        "position_p90": float(np.percentile(pos[:, -1], 90)),
        "heading_median_deg": float(np.degrees(np.median(head[:, -1]))),
        "heading_p90_deg": float(np.degrees(np.percentile(head[:, -1], 90))),
    }
    _say(
        f"1-second replay error ({err['windows']:,} windows): position median "
        f"{err['position_median']:.3f} m, p90 {err['position_p90']:.3f} m; heading median "
        f"{err['heading_median_deg']:.1f} deg, p90 {err['heading_p90_deg']:.1f} deg"
    )
    _say()
    return {
        "held": rows,
        "steady": steady,
        "lateral_ceiling": ceiling,
        "top_speed": {"command": cmd, "deepracer": top_dr, "slipstream": top_ss},
        "launch": {
            "steps": PROFILE_STEPS,
            "deepracer": launch_dr.tolist(),
            "slipstream": launch_ss.tolist(),
        },
        "replay_error_1s": err,
    }


def run(args: argparse.Namespace) -> int:
    from slipstream.runs.drive_trace import TraceError, read_drive_trace, read_drive_traces
    from slipstream.sim import calibration as cal
    from slipstream.sim.car import DYNAMICS_FIELDS, CarParams

    if args.horizon < 1 or args.stride < 1 or args.hold_out < 0 or args.hold_out == 1:
        print(
            "slipstream calibrate: --horizon and --stride must be at least 1, --hold-out 0 "
            "(none) or at least 2",
            file=sys.stderr,
        )
        return 2
    try:
        fit_trace = read_drive_traces(args.traces)
        checks = [(str(p), read_drive_trace(p)) for p in args.check]
    except (OSError, TraceError) as exc:
        print(f"slipstream calibrate: {exc}", file=sys.stderr)
        return 2
    if args.hold_out:
        fit_trace, unseen = fit_trace.split_episodes(args.hold_out)
        checks.insert(
            0, (f"episodes {args.hold_out}, {2 * args.hold_out}, ... of the TRACEs", unseen)
        )
    params = CarParams()
    if not args.no_fit:
        _say(f"fitting {', '.join(cal.FIT_FIELDS)} on {len(fit_trace):,} rows ...")
        try:
            result = cal.fit_car_params(
                fit_trace, params, args.horizon, args.stride, max_nfev=args.max_evals
            )
        except ValueError as exc:
            print(f"slipstream calibrate: {exc}", file=sys.stderr)
            return 2
        params = result.params
        _say(f"fitted on {result.windows:,} replay windows ({result.message})")
        _say("CarParams(")
        for name in DYNAMICS_FIELDS:
            _say(f"    {name}={getattr(params, name):.4g},")
        _say(")")
        _say()
    numbers = {"params": {k: getattr(params, k) for k in DYNAMICS_FIELDS}}
    numbers["fit" if not args.no_fit else "traces"] = report(
        ("compared: " if args.no_fit else "fitted on: ") + ", ".join(args.traces), fit_trace, params
    )
    for name, trace in checks:
        numbers.setdefault("check", {})[name] = report(f"held out: {name}", trace, params)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(numbers, f, indent=1, default=float)
    return 0
