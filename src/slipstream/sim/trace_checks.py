"""How well a car reproduces a DeepRacer trace, and leave-one-trace-out calibration (docs/car.md).

`check_trace` measures one trace against one car: 1-second replays (position and heading error
at the end), steady turns (radius and settled speed per held command), the lateral-acceleration
ceiling and the top speed, DeepRacer's figure beside Slipstream's replay of the same holds from
the same logged states (sim/calibration.py says what a replay takes from the log).

`leave_one_out` fits a car on all traces of a simapp version but one and checks it on the one
left out, for each in turn. Traces of simapp 4 share the simapp 5 car's physical parameters when
those are given: only the controller fields (`CONTROLLER_FIELDS`) are fitted on them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from slipstream.sim import calibration as cal
from slipstream.sim.car import CONTROLLER_FIELDS, CarParams

REPLAY_STEPS = 15
"""1-second replays (15 control steps)."""

STEADY_MIN_HOLDS = 10
"""A command's steady state is reported when the trace holds it (>= `cal.STEADY_HELD` steps) at
least this often."""


@dataclass(frozen=True)
class SteadyTurn:
    """One held command's steady state, DeepRacer (dr_*) against Slipstream (ss_*)."""

    speed_cmd: float
    steer_cmd: float
    holds: int
    dr_speed: float
    ss_speed: float
    dr_radius: float
    ss_radius: float


@dataclass(frozen=True)
class TraceCheck:
    """One trace measured against one car (lengths m, angles deg, accelerations m/s^2)."""

    windows: int
    position_median: float
    position_p90: float
    heading_median: float
    heading_p90: float
    steady: tuple[SteadyTurn, ...]
    """Holds of >= `cal.STEADY_HELD` steps, from step `cal.STEADY_SETTLE` + 1 on."""
    held: tuple[SteadyTurn, ...]
    """Holds of >= 4 steps, from the 3rd step on (DeepRacer's turn is still building)."""
    ceiling_dr: float
    ceiling_ss: float
    top_command: float
    top_dr: float
    top_ss: float


def check_trace(trace: cal.DriveTrace, params: CarParams) -> TraceCheck:
    """Measure `trace` against the car `params` (module doc)."""
    starts = cal.window_starts(trace, REPLAY_STEPS)
    if len(starts):
        pos, head = cal.replay_errors(trace, starts, REPLAY_STEPS, params)
        end_pos, end_head = pos[:, -1], np.degrees(head[:, -1])
        replay = (
            float(np.median(end_pos)),
            float(np.percentile(end_pos, 90)),
            float(np.median(end_head)),
            float(np.percentile(end_head, 90)),
        )
    else:
        replay = (float("nan"),) * 4
    steady_dr, steady_ss = cal.held_commands(
        trace, params, min_held=cal.STEADY_HELD, settle=cal.STEADY_SETTLE
    )
    held_dr, held_ss = cal.held_commands(trace, params)
    steady, held = (
        tuple(
            SteadyTurn(d.speed_cmd, d.steer_cmd, d.segments, d.speed, s.speed, d.radius, s.radius)
            for d, s in zip(dr, ss or [], strict=True)
            if d.segments >= STEADY_MIN_HOLDS
        )
        for dr, ss in ((steady_dr, steady_ss), (held_dr, held_ss))
    )
    top = cal.top_speed(trace, params)
    return TraceCheck(
        len(starts),
        *replay,
        steady,
        held,
        cal.lateral_ceiling(held_dr),
        cal.lateral_ceiling(held_ss or []),
        top[0],
        top[1],
        top[2],
    )


@dataclass(frozen=True)
class NamedTrace:
    name: str
    version: int
    trace: cal.DriveTrace


@dataclass(frozen=True)
class LeftOut:
    """One trace left out: the car fitted without it, and the trace measured against that car
    (`check`) and against the car it started from (`before`)."""

    name: str
    version: int
    params: CarParams
    check: TraceCheck
    before: TraceCheck


def concat(traces: list[cal.DriveTrace]) -> cal.DriveTrace:
    """Several traces as one, episodes kept apart."""
    offset = 0
    episodes = []
    for t in traces:
        episodes.append(t.episode + offset)
        offset += int(t.episode.max()) + 1 if len(t) else 0
    names = ("x", "y", "heading", "steer_cmd", "speed_cmd", "valid")
    cat = {n: np.concatenate([getattr(t, n) for t in traces]) for n in names}
    return cal.DriveTrace(episode=np.concatenate(episodes), **cat)


def fit_on(
    traces: list[cal.DriveTrace],
    initial: CarParams,
    version: int,
    physical: CarParams | None = None,
    **fit_options,
) -> CarParams:
    """Fit `initial`'s model on `traces` (all of one simapp version). With `physical` (the simapp
    5 car) and version 4, only the controller fields are fitted, the rest taken from `physical`."""
    fields = initial.fit_fields
    if version == 4 and physical is not None:
        initial = replace(
            initial,
            **{
                f: getattr(physical, f) for f in fields if f not in CONTROLLER_FIELDS[initial.model]
            },
        )
        fields = CONTROLLER_FIELDS[initial.model]
    return cal.fit_car_params(concat(traces), initial, fit_fields=fields, **fit_options).params


def leave_one_out(
    traces: list[NamedTrace],
    initial: CarParams,
    before: dict[int, CarParams],
    physical: CarParams | None = None,
    **fit_options,
) -> list[LeftOut]:
    """For each trace whose simapp version has at least two traces: fit on the version's other
    traces (`fit_on`, starting from `initial`), check on it, and check `before[version]` on it."""
    out = []
    for left in traces:
        others = [t.trace for t in traces if t.version == left.version and t is not left]
        if not others:
            continue
        params = fit_on(others, initial, left.version, physical, **fit_options)
        out.append(
            LeftOut(
                left.name,
                left.version,
                params,
                check_trace(left.trace, params),
                check_trace(left.trace, before[left.version]),
            )
        )
    return out
