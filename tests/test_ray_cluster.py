"""A real two-node Ray cluster on this machine, the run folder on a real S3 API (moto server).

`ray start --head` (1 CPU) and `ray start --address` (2 CPUs) each run as their own node, with
non-default ports and their own temporary folder; `slipstream train --address` trains with two
workers spread over the nodes while one worker process is SIGKILLed mid-iteration. The test
shows that episodes came from both nodes, that the dead worker was replaced and that the
iteration still got all its episodes. Teardown stops only the processes this test started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest

from conftest import S3_TEST_ENV, free_port
from slipstream.rollout.pool import check_ray_address
from small_training import train_command

pytestmark = pytest.mark.slow
RAY = Path(sys.executable).with_name("ray")
SRC = Path(__file__).resolve().parents[1] / "src"
EPISODES = 4

KILL_ONCE = """
import os
import signal


def reward_function(params):
    # the first worker on the second node to reach step 5 kills its own process, once
    if os.environ.get("SLIPSTREAM_TEST_NODE") == "second" and params["steps"] == 5:
        try:
            os.close(os.open({marker!r}, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return 1.0
        os.kill(os.getpid(), signal.SIGKILL)
    return 1.0
"""


LIST_NODES = """
import json, sys, time
import ray
ray.init(address=sys.argv[1], include_dashboard=False, log_to_driver=False)
end = time.monotonic() + 90
while sum(n["Alive"] for n in ray.nodes()) < 2 and time.monotonic() < end:
    time.sleep(1)
print(json.dumps({n["NodeID"]: n["Resources"] for n in ray.nodes() if n["Alive"]}))
"""


def _node_ports() -> list[str]:
    low = free_port()
    return [
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--min-worker-port={low}",
        f"--max-worker-port={low + 40}",
    ]


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.fixture
def ray_cluster(tmp_path):
    """Head node (1 CPU) and a second node (2 CPUs, resource worker_node) on 127.0.0.1."""
    if not RAY.exists():
        pytest.skip("the ray command is not installed")
    temp_dir = f"/tmp/rs-{uuid.uuid4().hex[:8]}"  # short: Ray's socket paths have a length limit
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "RAY_USAGE_STATS_ENABLED": "0",
        # this cluster's own token, so that no ~/.ray/auth_token of another cluster is used
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": uuid.uuid4().hex + uuid.uuid4().hex,
    }
    common = ["--block", "--node-ip-address=127.0.0.1", "--object-store-memory=100000000"]
    started: list[subprocess.Popen] = []
    logs = tmp_path / "ray-start"
    logs.mkdir()

    def start(name: str, args: list[str], node_env: dict[str, str]) -> None:
        out = open(logs / f"{name}.log", "w")
        started.append(
            subprocess.Popen(
                [str(RAY), "start", *common, *args, *_node_ports()],
                env=node_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped by us alone
            )
        )

    try:
        start(
            "head",
            [
                "--head",
                f"--port={port}",
                "--num-cpus=1",
                "--include-dashboard=false",
                f"--ray-client-server-port={free_port()}",
                f"--temp-dir={temp_dir}",
                "--disable-usage-stats",
            ],
            env,
        )
        _wait_for(lambda: _answers(address), 90, "the head node", logs)
        start(
            "second",
            [f"--address={address}", "--num-cpus=2", '--resources={"worker_node": 2}'],
            {**env, "SLIPSTREAM_TEST_NODE": "second"},
        )
        yield address, logs, env
    finally:
        for proc in reversed(started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(started):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            try:  # anything left in the groups we created
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in _processes_mentioning(temp_dir):  # Ray processes of this cluster only
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(temp_dir, ignore_errors=True)


def _answers(address: str) -> bool:
    try:
        check_ray_address(address, timeout_s=2)
        return True
    except ConnectionError:
        return False


def _wait_for(condition, seconds: float, what: str, logs: Path) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(1)
    text = "\n".join(p.read_text()[-2000:] for p in logs.iterdir())
    raise AssertionError(f"{what} did not come up within {seconds} s:\n{text}")


def test_two_node_cluster_s3_run_and_a_killed_worker(
    ray_cluster, s3_bucket, moto_endpoint, tmp_path
):
    address, _logs, cluster_env = ray_cluster
    marker = tmp_path / "killed-once"
    reward = tmp_path / "reward_function.py"
    reward.write_text(KILL_ONCE.format(marker=str(marker)))
    env = {**cluster_env, **S3_TEST_ENV, "AWS_ENDPOINT_URL": moto_endpoint}
    # the nodes as Ray sees them, asked by a driver of its own (this process keeps no Ray state)
    # (the second node may still be registering with the head on a busy machine: ask again)
    deadline = time.monotonic() + 60.0
    while True:
        listing = subprocess.run(
            [sys.executable, "-c", LIST_NODES, address], env=env, capture_output=True, text=True
        )
        assert listing.returncode == 0, listing.stderr[-3000:]
        nodes = json.loads(listing.stdout.strip().splitlines()[-1])
        workers = [node for node, res in nodes.items() if "worker_node" in res]
        if workers or time.monotonic() > deadline:
            break
        time.sleep(2.0)
    assert workers, f"the second Ray node never joined the head: {nodes}"
    second = workers[0]
    head = next(node for node in nodes if node != second)

    run = f"s3://{s3_bucket}/cluster/run"
    command = train_command(
        "--run",
        run,
        "--address",
        address,
        "--workers",
        "2",
        "--reward-function",
        str(reward),
        episodes=EPISODES,
    )
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert marker.exists()  # a worker process really was killed

    s3 = boto3.client("s3", endpoint_url=moto_endpoint)

    def read(key: str) -> str:
        return s3.get_object(Bucket=s3_bucket, Key=f"cluster/run/{key}")["Body"].read().decode()

    log = read("logs/training/slipstream-robomaker.log")
    placed = {}
    for line in log.splitlines():
        if line.startswith("Worker> rollout worker") and " runs in node " in line:
            worker = int(line.split("rollout worker ")[1].split()[0])
            placed[worker] = line.split(" runs in node ")[1].split()[0]
    assert set(placed) == {0, 1}
    assert set(placed.values()) == {head, second}  # one worker on each node
    assert "died" in log and "replaced" in log
    # the iteration still got all its episodes: 2 from each worker, numbered 1, 2
    for w, key in enumerate(["metrics/TrainingMetrics.json", "metrics/TrainingMetrics_1.json"]):
        metrics = json.loads(read(key))["metrics"]
        training = [m["episode"] for m in metrics if m["phase"] == "training"]
        assert training == [1, 2], (w, training)
        simtrace = read(f"{w}/training-simtrace/0-iteration.csv").splitlines()
        episodes = {row.split(",")[0] for row in simtrace[1:]}
        assert episodes == {"0", "1"}
