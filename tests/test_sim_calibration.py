"""`slipstream calibrate` on a synthetic DeepRacer trace made with known car parameters."""

import json
from dataclasses import replace

import numpy as np
import pytest

from slipstream.cli import main
from slipstream.runs.drive_trace import TraceError, read_drive_trace
from slipstream.sim import calibration as cal
from slipstream.sim.car import SINGLE_TRACK, CarParams, CarState, front_point, step_cars

# a car unlike the defaults in every fitted parameter
TRUE = replace(
    SINGLE_TRACK,
    speed_gain=1.04,
    top_speed=3.3,
    top_speed_sharpness=8.0,
    tau_speed=0.25,
    max_acceleration=2.6,
    max_deceleration=3.5,
    steering_gain=0.62,
    tau_steer=0.08,
    friction=0.38,
    front_cornering=8.0,
    rear_cornering=14.0,
    yaw_inertia=1.6,
)
RECOVERED = {
    "speed_gain": 0.03,
    "top_speed": 0.03,
    "tau_speed": 0.06,
    "max_acceleration": 0.06,
    "steering_gain": 0.03,
    "tau_steer": 0.15,  # the replays start from its own lag run over the logged commands
    "friction": 0.03,
    "front_cornering": 0.1,
    "rear_cornering": 0.12,
    "yaw_inertia": 0.2,
}
"""Relative tolerances of the parameters the synthetic trace pins down (the slowing-down limit
and the top-speed knee are seen too rarely in it to be recovered closely; the steering lag and
the yaw inertia trade off against each other once replays start from the lag run over the
logged commands, `cal.logged_hinge`)."""


def synthetic_rows(params, episodes=12, steps=110, seed=0):
    """DeepRacer-style rows: (episode, steps, x, y, heading, steer, speed, status), the pose
    *before* each command, a prepare row first (its command not executed), 4-decimal poses."""
    rng = np.random.default_rng(seed)
    speeds = np.array([1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])
    steers = np.array([-30.0, -15.0, -5.0, 0.0, 5.0, 15.0, 30.0])
    cmd_speed = np.empty((episodes, steps))
    cmd_steer = np.empty((episodes, steps))
    for e in range(episodes):  # commands held 1-8 steps, as a trained policy's often are
        k = 0
        while k < steps:
            hold = int(rng.integers(1, 9))
            cmd_speed[e, k : k + hold] = rng.choice(speeds)
            cmd_steer[e, k : k + hold] = rng.choice(steers)
            k += hold
    state = CarState.at_rest(np.zeros(episodes), np.zeros(episodes), rng.uniform(-3, 3, episodes))
    rows = []
    for k in range(steps):
        front = front_point(state, params)
        for e in range(episodes):
            status = "prepare" if k == 0 else ("off_track" if k == steps - 1 else "in_progress")
            rows.append(
                (e, k + 1, *np.round(front[e], 4), round(float(np.degrees(state.yaw[e])), 4),
                 cmd_steer[e, k], cmd_speed[e, k], status)
            )  # fmt: skip
        if k > 0:
            state = step_cars(state, cmd_steer[:, k], cmd_speed[:, k], params)
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def write_csv(path, rows):
    # DeepRacer's S3 simtrace header (X, Y, yaw, steer, throttle)
    lines = ["episode,steps,X,Y,yaw,steer,throttle,action,reward,done,all_wheels_on_track,"
             "progress,closest_waypoint,track_len,tstamp,episode_status,pause_duration"]  # fmt: skip
    for e, s, x, y, h, st, sp, status in rows:
        lines.append(
            f"{e},{s},{x},{y},{h},{st},{sp},0,1.0,False,True,1.0,1,20.0,{s / 15},{status},0.0"
        )
    path.write_text("\n".join(lines) + "\n")


def write_log(path, rows):
    lines = ["some robomaker start-up line", "SIM_TRACE_LOG:0,1,0.0"]  # a line cut short
    for e, s, x, y, h, st, sp, status in rows:
        lines.append(
            f"SIM_TRACE_LOG:{e},{s},{x:.4f},{y:.4f},{h:.4f},{st:.2f},{sp:.2f},0,1.0000,False,"
            f"True,1.0000,1,20.00,{s / 15:.3f},{status},0.00,0,0.0000"
        )
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def trace_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("traces")
    rows = synthetic_rows(TRUE)
    write_csv(folder / "fit.csv", rows)
    write_log(folder / "check.log", synthetic_rows(TRUE, episodes=6, seed=1))
    return folder / "fit.csv", folder / "check.log"


def test_csv_and_log_read_the_same_columns(trace_files, tmp_path):
    rows = synthetic_rows(TRUE, episodes=2, steps=20)
    write_csv(tmp_path / "a.csv", rows)
    write_log(tmp_path / "a.log", rows)
    a, b = read_drive_trace(tmp_path / "a.csv"), read_drive_trace(tmp_path / "a.log")
    for name in ("episode", "x", "y", "heading", "steer_cmd", "speed_cmd", "valid"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    # prepare rows and the last row of an episode do not move the car by their command
    assert a.valid.sum() == 2 * 18
    assert not a.valid[0] and a.valid[1] and not a.valid[19]


def test_fit_recovers_the_parameters_that_made_the_trace(trace_files):
    trace = read_drive_trace(trace_files[0])
    result = cal.fit_car_params(trace, SINGLE_TRACK, stride=1)
    for name, rel in RECOVERED.items():
        assert getattr(result.params, name) == pytest.approx(getattr(TRUE, name), rel=rel), name
    # the fitted car replays a trace it has not seen about as well as the true car does (replays
    # start from states estimated from the log, so even the true car is a few cm off after 1 s)
    check = read_drive_trace(trace_files[1])
    starts = cal.window_starts(check, 15)
    error = {}
    for name, params in (("fitted", result.params), ("true", TRUE), ("default", SINGLE_TRACK)):
        pos, _ = cal.replay_errors(check, starts, 15, params)
        error[name] = np.median(pos[:, -1])
    assert error["fitted"] < 1.25 * error["true"] + 0.005
    assert error["default"] > 4 * error["fitted"]


def test_calibrate_command_prints_the_comparison(trace_files, capsys):
    fit, check = trace_files
    assert main(["calibrate", str(fit), "--check", str(check), "--no-fit"]) == 0
    out = capsys.readouterr().out
    assert "held commands" in out and "1-second replay error" in out and "top speed" in out
    assert "held out: " + str(check) in out
    assert "steady state (holds >= 10 steps" in out


def test_hold_out_splits_whole_episodes(trace_files, capsys):
    trace = read_drive_trace(trace_files[0])  # 12 episodes
    rest, unseen = trace.split_episodes(3)
    assert sorted(np.unique(unseen.episode)) == sorted(np.unique(trace.episode))[2::3]
    assert len(rest) + len(unseen) == len(trace)
    assert not set(rest.episode) & set(unseen.episode)
    # an episode keeps its rows and which of them moved the car
    first = unseen.episode[0]
    assert np.array_equal(
        unseen.valid[unseen.episode == first], trace.valid[trace.episode == first]
    )
    assert np.array_equal(unseen.x[unseen.episode == first], trace.x[trace.episode == first])
    assert main(["calibrate", str(trace_files[0]), "--no-fit", "--hold-out", "3"]) == 0
    out = capsys.readouterr().out
    assert f"{len(rest):,} rows, 8 episodes" in out and f"{len(unseen):,} rows, 4 episodes" in out
    assert main(["calibrate", str(trace_files[0]), "--hold-out", "1"]) == 2


def test_unreadable_traces_are_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(TraceError, match="no column 'x' or 'X'"):
        read_drive_trace(bad)
    assert main(["calibrate", str(bad)]) == 2


# a mechanism car unlike the default in every fitted field; its simapp 4 twin differs only in
# the hinge controller, as `car_for_simapp` builds them
MECH5 = replace(
    CarParams(), contact_friction=0.42, slip_scale=0.12, rolling_radius=0.0355, hinge_tau=0.02
)
MECH4 = replace(MECH5, hinge_tau=0.25)


def write_log_with_version(path, rows, version):
    write_log(path, rows)
    text = path.read_text()
    path.write_text(f"Sensor list ['FRONT_FACING_CAMERA'], simapp_version {version}, x\n{text}")


@pytest.fixture(scope="module")
def mechanism_traces(tmp_path_factory):
    """Three simapp 5 traces (two CSVs said to be 5 on the command line, a log saying 5.0) and
    two simapp 4 traces (logs saying 4.0), made by MECH5 and MECH4."""
    folder = tmp_path_factory.mktemp("mechanism")
    specs = []
    for seed in range(2):
        write_csv(folder / f"v5_{seed}.csv", synthetic_rows(MECH5, episodes=6, seed=seed))
        specs.append(f"{folder / f'v5_{seed}.csv'}@5")
    write_log_with_version(folder / "v5.log", synthetic_rows(MECH5, episodes=6, seed=2), "5.0")
    specs.append(str(folder / "v5.log"))
    for seed in (3, 4):
        path = folder / f"v4_{seed}.log"
        write_log_with_version(path, synthetic_rows(MECH4, episodes=6, seed=seed), "4.0")
        specs.append(str(path))
    return specs


def test_leave_out_recovers_the_mechanism_that_made_the_traces(mechanism_traces, tmp_path, capsys):
    out = tmp_path / "numbers.json"
    args = ["calibrate", "--leave-out", "--model", "mechanism", "--max-evals", "60"]
    assert main([*args, "--json", str(out), *mechanism_traces]) == 0
    printed = capsys.readouterr().out
    numbers = json.loads(out.read_text())
    # (replays start from states estimated from the log by finite differences, which biases the
    # fit a little: the true car's own 1-second replays are 4-5 cm off)
    tolerance = {"contact_friction": 0.03, "slip_scale": 0.15, "rolling_radius": 0.005}
    for fitted in [numbers["all"]["5"], *(r["params"] for r in numbers["left_out"])]:
        for name, rel in tolerance.items():
            assert fitted[name] == pytest.approx(getattr(MECH5, name), rel=rel), name
    assert numbers["all"]["5"]["hinge_tau"] == pytest.approx(MECH5.hinge_tau, abs=0.01)
    assert numbers["all"]["4"]["hinge_tau"] == pytest.approx(MECH4.hinge_tau, rel=0.1)
    # simapp 4: only the hinge is fitted; the rest is the simapp 5 car's
    for name in tolerance:
        assert numbers["all"]["4"][name] == numbers["all"]["5"][name]
    # every trace left out in turn, checked against the car fitted on its version's others: its
    # replays are about as close as the true car's, and far closer than the single-track car's
    assert [r["version"] for r in numbers["left_out"]] == [5, 5, 5, 4, 4]
    for spec, row in zip(mechanism_traces, numbers["left_out"], strict=True):
        path = spec.partition("@")[0]
        trace = read_drive_trace(path)
        starts = cal.window_starts(trace, 15)
        true = MECH4 if row["version"] == 4 else MECH5
        pos, _ = cal.replay_errors(trace, starts, 15, true)
        assert row["fitted"]["position_median"] < 1.15 * np.median(pos[:, -1]) + 0.005
        assert row["before"]["position_median"] > 4 * row["fitted"]["position_median"]
    first = mechanism_traces[0].removesuffix("@5")
    assert f"left out: {first}" in printed and "1-s replay position median/p90" in printed


def test_leave_out_needs_every_traces_simapp_version(mechanism_traces, capsys):
    csv = mechanism_traces[0].removesuffix("@5")
    assert main(["calibrate", "--leave-out", csv, mechanism_traces[2]]) == 2
    assert f"give it as {csv}@5 or {csv}@4" in capsys.readouterr().err
    assert main(["calibrate", "--leave-out", f"{csv}@3.1", mechanism_traces[2]]) == 2
    assert "use 5 (simapp 5.x" in capsys.readouterr().err
