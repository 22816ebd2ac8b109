"""What leaves is loadable: DRfC's own upload-model.sh uploads an `export --format deepracer` prefix.

Runs DRfC's script (a deepracer-for-cloud checkout named by SLIPSTREAM_DRFC_DIR; nothing of it is
in this repository) against the moto S3 server, with the `aws` CLI (the test extra ``awscli``)
and ``jq``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import boto3
import pytest
import yaml

from slipstream.cli import main
from slipstream.rollout.trainer import Trainer
from small_training import small_config

pytest.importorskip("tensorflow", reason="export --format deepracer needs the deepracer extra")
DRFC_DIR = Path(os.environ.get("SLIPSTREAM_DRFC_DIR", "/nonexistent"))
UPLOAD = DRFC_DIR / "scripts" / "upload" / "upload-model.sh"
pytestmark = [
    pytest.mark.slow,  # a 47 MB TensorFlow checkpoint through moto
    pytest.mark.skipif(
        not UPLOAD.is_file(),
        reason="set SLIPSTREAM_DRFC_DIR to a deepracer-for-cloud checkout to run DRfC's script",
    ),
    pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI (awscli) is not installed"),
    pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed"),
]
PREFIX = "slipstream-export"


def _drfc_copy(tmp_path: Path) -> Path:
    """The scripts upload-model.sh runs, in a folder of its own (it writes DR_DIR/tmp/)."""
    root = tmp_path / "drfc"
    shutil.copytree(DRFC_DIR / "scripts" / "upload", root / "scripts" / "upload")
    (root / "bin").mkdir()
    shutil.copy(DRFC_DIR / "bin" / "scripts_wrapper.sh", root / "bin")
    return root


def test_dr_upload_model_uploads_an_exported_prefix(s3_bucket, moto_endpoint, tmp_path) -> None:
    run = tmp_path / "run"
    Trainer(small_config(run, 2, track="slipstream_oval"), echo=None).run()
    source = f"s3://{s3_bucket}/{PREFIX}"
    assert main(["export", str(run), "--format", "deepracer", "--out", source]) == 0
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    target = f"upload-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=target)
    root = _drfc_copy(tmp_path)
    endpoint = f"--endpoint-url {moto_endpoint}"
    env = {
        **os.environ,
        "DR_DIR": str(root),
        "DR_LOCAL_S3_BUCKET": s3_bucket,
        "DR_UPLOAD_S3_BUCKET": target,
        "DR_LOCAL_PROFILE_ENDPOINT_URL": endpoint,
        "DR_UPLOAD_PROFILE": endpoint,
        "DR_WORLD_NAME": "slipstream_oval",
    }
    script = (
        'source "$DR_DIR/bin/scripts_wrapper.sh" && bash "$DR_DIR/scripts/upload/upload-model.sh"'
    )
    done = subprocess.run(
        ["bash", "-c", f"{script} -f -p {PREFIX}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "All meta-data files found" in done.stdout

    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=target, Prefix=PREFIX)["Contents"]}

    def read(key: str) -> str:
        return s3.get_object(Bucket=target, Key=f"{PREFIX}/{key}")["Body"].read().decode()

    checkpoint = read("model/.coach_checkpoint").strip()
    number = checkpoint.split("_")[0]
    assert checkpoint.endswith(".ckpt")  # a TensorFlow checkpoint, no Slipstream .pt
    assert {
        f"{PREFIX}/model/{checkpoint}.index",
        f"{PREFIX}/model/{checkpoint}.meta",
        f"{PREFIX}/model/{checkpoint}.data-00000-of-00001",
        f"{PREFIX}/model/model_{number}.pb",
        f"{PREFIX}/model/model_metadata.json",
        f"{PREFIX}/model/deepracer_checkpoints.json",
        f"{PREFIX}/reward_function.py",
        f"{PREFIX}/training_params.yaml",
        f"{PREFIX}/ip/hyperparameters.json",
        f"{PREFIX}/metrics/TrainingMetrics.json",
    } <= keys
    assert not any(k.endswith(".pt") for k in keys)
    index = json.loads(read("model/deepracer_checkpoints.json"))
    assert index["last_checkpoint"]["name"] == checkpoint
    # dr-upload-model writes its own training_params.yaml from the DR_* variables
    assert yaml.safe_load(read("training_params.yaml"))["WORLD_NAME"] == "slipstream_oval"
