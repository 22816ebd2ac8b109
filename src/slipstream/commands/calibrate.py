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
        help="DeepRacer simtrace CSVs or robomaker logs (SIM_TRACE_LOG lines) to fit on; a folder "
        "stands for its *.csv and *.log files, as one trace; PATH@4 or PATH@5.3 says which simapp "
        "wrote it where the file does not (simtrace CSVs)",
    )
    parser.add_argument(
        "--leave-out",
        action="store_true",
        help="leave-one-trace-out: per simapp version, fit on all TRACEs of that version but one and "
        "check on that one, for each in turn (simapp 4 traces: only the controllers are fitted, "
        "the rest is the simapp 5 car fitted on all simapp 5 TRACEs); then fit on all",
    )
    parser.add_argument(
        "--model",
        choices=("mechanism", "single_track"),
        default=None,
        help="car model to fit (default: the default car's model)",
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
        f"Slipstream {ceiling[1]:.2f} m/s^2 (model limit mu g = {params.friction_limit:.2f})"
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


def _trace_spec(spec: str) -> tuple[str, list[str], str | None]:
    """(name, files, simapp version text or None) of a TRACE argument: PATH or PATH@VERSION; a
    folder stands for its *.csv and *.log files and is named by its own name."""
    import re
    from pathlib import Path

    path, version = spec, None
    match = re.fullmatch(r"(.+)@v?(\d+(?:\.\d+)*)", spec)
    if match:
        path, version = match.group(1), match.group(2)
    folder = Path(path)
    if folder.is_dir():
        files = sorted(str(f) for f in folder.iterdir() if f.suffix in (".csv", ".log"))
        if not files:
            raise OSError(f"{path}: a folder with no *.csv or *.log trace files")
        return folder.resolve().name, files, version
    return path, [path], version


def _named_traces(specs: list[str]):
    """The TRACE arguments as `NamedTrace`s (simapp version from PATH@V or from the log)."""
    from slipstream.config.errors import ConfigError
    from slipstream.config.world import parse_simapp_version
    from slipstream.runs.drive_trace import TraceError, logged_simapp_version, read_drive_traces
    from slipstream.sim.trace_checks import NamedTrace

    out = []
    for spec in specs:
        name, files, version = _trace_spec(spec)
        if version is None:
            version = logged_simapp_version(files[0])
        if version is None:
            raise TraceError(
                f"{spec}: the file does not say which simapp wrote it; give it as {spec}@5 or "
                f"{spec}@4 (the simapp version, e.g. from DRfC's DR_SIMAPP_VERSION)"
            )
        try:
            major = parse_simapp_version(version, key=f"simapp version of {spec}")
        except ConfigError as exc:
            raise TraceError(str(exc)) from None
        out.append(NamedTrace(name, major, read_drive_traces(files)))
    return out


def _params_text(params, fields) -> str:
    return ", ".join(f"{f}={getattr(params, f):.4g}" for f in fields)


def _check_table(left) -> dict:
    """Print one left-out trace's checks: DeepRacer, the car fitted without it, the car before."""
    from dataclasses import asdict

    from slipstream.sim.calibration import STEADY_HELD, STEADY_SETTLE
    from slipstream.sim.trace_checks import STEADY_MIN_HOLDS

    fit, old = left.check, left.before
    _say(f"{'':34}{'DeepRacer':>10} {'fitted':>10} {'before':>10}")
    _say(
        f"{'1-s replay position median/p90 (m)':34}{'':>10} "
        f"{_fmt(fit.position_median, 3) + '/' + _fmt(fit.position_p90, 2):>10} "
        f"{_fmt(old.position_median, 3) + '/' + _fmt(old.position_p90, 2):>10}"
    )
    _say(
        f"{'1-s replay heading median/p90 (deg)':34}{'':>10} "
        f"{_fmt(fit.heading_median, 1) + '/' + _fmt(fit.heading_p90, 1):>10} "
        f"{_fmt(old.heading_median, 1) + '/' + _fmt(old.heading_p90, 1):>10}"
    )
    _say(
        f"{'lateral ceiling (m/s^2)':34}{_fmt(fit.ceiling_dr):>10} {_fmt(fit.ceiling_ss):>10} "
        f"{_fmt(old.ceiling_ss):>10}"
    )
    _say(
        f"{'top speed at ' + _fmt(fit.top_command, 1) + ' m/s (m/s)':34}{_fmt(fit.top_dr):>10} "
        f"{_fmt(fit.top_ss):>10} {_fmt(old.top_ss):>10}"
    )
    for title, fit_rows, old_rows in (
        (
            f"steady turns (holds >= {STEADY_HELD} steps, from step {STEADY_SETTLE + 1} on)",
            fit.steady,
            old.steady,
        ),
        ("held turns (holds >= 4 steps, from step 3 on)", fit.held, old.held),
    ):
        _say(f"{title}, commands held >= {STEADY_MIN_HOLDS} times: speed v, radius R")
        _say(
            f"{'speed':>6} {'steer':>5} {'holds':>5} | {'v DR':>5} {'fit':>5} {'bef':>5} | "
            f"{'R DR':>6} {'fit':>6} {'bef':>6}"
        )
        for s, b in zip(fit_rows, old_rows, strict=True):
            _say(
                f"{s.speed_cmd:6.2f} {s.steer_cmd:5.0f} {s.holds:5d} | {s.dr_speed:5.2f} "
                f"{s.ss_speed:5.2f} {b.ss_speed:5.2f} | {_fmt(s.dr_radius):>6} "
                f"{_fmt(s.ss_radius):>6} {_fmt(b.ss_radius):>6}"
            )
    _say()
    return {"fitted": asdict(fit), "before": asdict(old)}


def run_leave_out(args: argparse.Namespace) -> int:
    """`--leave-out`: leave-one-trace-out per simapp version, then the fit on all traces."""
    from dataclasses import replace

    from slipstream.runs.drive_trace import TraceError
    from slipstream.sim import trace_checks as tc
    from slipstream.sim.car import SINGLE_TRACK, CarParams, car_for_simapp

    try:
        named = _named_traces(args.traces)
    except (OSError, TraceError) as exc:
        print(f"slipstream calibrate: {exc}", file=sys.stderr)
        return 2
    initial = CarParams() if args.model is None else replace(CarParams(), model=args.model)
    before = {v: car_for_simapp(v, SINGLE_TRACK) for v in (4, 5)}
    options = {"horizon": args.horizon, "stride": args.stride, "max_nfev": args.max_evals}
    for t in named:
        _say(f"trace {t.name}: simapp {t.version}, {len(t.trace):,} rows")
    _say(
        f"model {initial.model}; before = the single-track car fitted on FS_June2020 (SINGLE_TRACK)"
    )
    _say()
    v5 = [t.trace for t in named if t.version == 5]
    physical = tc.fit_on(v5, initial, 5, **options) if v5 else None
    numbers: dict = {"model": initial.model, "left_out": [], "all": {}}
    for left in tc.leave_one_out(named, initial, before, physical, **options):
        others = [t.name for t in named if t.version == left.version and t.name != left.name]
        _say(f"== simapp {left.version}, left out: {left.name} (fitted on {', '.join(others)})")
        _say(f"fitted: {_params_text(left.params, left.params.fit_fields)}")
        row = _check_table(left)
        row.update(
            name=left.name,
            version=left.version,
            params={f: getattr(left.params, f) for f in left.params.fit_fields},
        )
        numbers["left_out"].append(row)
    for version, traces in ((5, v5), (4, [t.trace for t in named if t.version == 4])):
        if not traces:
            continue
        params = physical if version == 5 else tc.fit_on(traces, initial, 4, physical, **options)
        _say(f"fitted on all simapp {version} traces: {_params_text(params, params.fit_fields)}")
        numbers["all"][version] = {f: getattr(params, f) for f in params.fit_fields}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(numbers, f, indent=1, default=float)
    return 0


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from slipstream.runs.drive_trace import TraceError, read_drive_trace, read_drive_traces
    from slipstream.sim import calibration as cal
    from slipstream.sim.car import CarParams

    if args.horizon < 1 or args.stride < 1 or args.hold_out < 0 or args.hold_out == 1:
        print(
            "slipstream calibrate: --horizon and --stride must be at least 1, --hold-out 0 "
            "(none) or at least 2",
            file=sys.stderr,
        )
        return 2
    if args.leave_out:
        return run_leave_out(args)
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
    params = CarParams() if args.model is None else replace(CarParams(), model=args.model)
    if not args.no_fit:
        _say(f"fitting {', '.join(params.fit_fields)} on {len(fit_trace):,} rows ...")
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
        for name in params.fit_fields:
            _say(f"    {name}={getattr(params, name):.4g},")
        _say(")")
        _say()
    numbers = {"params": {k: getattr(params, k) for k in params.fit_fields}}
    numbers["fit" if not args.no_fit else "traces"] = report(
        ("compared: " if args.no_fit else "fitted on: ") + ", ".join(args.traces), fit_trace, params
    )
    for name, trace in checks:
        numbers.setdefault("check", {})[name] = report(f"held out: {name}", trace, params)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(numbers, f, indent=1, default=float)
    return 0
