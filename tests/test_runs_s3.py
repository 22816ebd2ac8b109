"""A run folder on S3 end to end, against a real S3 API (moto's server mode on 127.0.0.1).

train, resume, evaluate, analyze and export run through the CLI on ``s3://bucket/prefix``;
deepracer-utils' own `S3FileHandler` then reads the run back from the same endpoint.
"""

from __future__ import annotations

import json
import os

import boto3
import pytest
from deepracer.logs import DeepRacerLog, S3FileHandler, TrainingMetrics

from slipstream.cli import main
from slipstream.runs import RunStorage, RunStorageError
from slipstream.runs.storage import s3_storage_options
from small_training import train_arguments

TRAIN = train_arguments()


def test_storage_options_follow_the_aws_environment() -> None:
    env = {
        "AWS_ENDPOINT_URL": "http://minio:9000",
        "AWS_PROFILE": "racer",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    assert s3_storage_options(env) == {
        "use_listings_cache": False,
        "endpoint_url": "http://minio:9000",
        "profile": "racer",
        "client_kwargs": {"region_name": "eu-west-1"},
    }
    # the S3-specific endpoint and AWS_REGION win over the generic ones, as in botocore
    env.update(AWS_ENDPOINT_URL_S3="http://s3only:9000", AWS_REGION="us-west-2")
    options = s3_storage_options(env)
    assert options["endpoint_url"] == "http://s3only:9000"
    assert options["client_kwargs"] == {"region_name": "us-west-2"}
    assert s3_storage_options({}) == {"use_listings_cache": False}


def test_aws_profile_selects_the_credentials(s3_bucket, tmp_path, monkeypatch) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[racer]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "racer")
    storage = RunStorage(f"s3://{s3_bucket}/profiled")
    storage.write_text("model/x.json", "{}")
    assert storage.read_text("model/x.json") == "{}"
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    with pytest.raises(Exception, match="nobody"):
        RunStorage(f"s3://{s3_bucket}/other").write_text("x.json", "{}")


def test_large_objects_are_whole_or_absent(s3_bucket) -> None:
    """A checkpoint-sized object (multipart upload) reads back byte for byte."""
    storage = RunStorage(f"s3://{s3_bucket}/big")
    data = os.urandom(12 * 2**20)
    storage.write_bytes("model/1_Step-10.pt", data)
    assert storage.read_bytes("model/1_Step-10.pt") == data
    assert storage.ls("model") == ["1_Step-10.pt"]


def test_missing_bucket_is_reported(moto_endpoint, s3_bucket) -> None:
    storage = RunStorage("s3://no-such-bucket-slipstream/run")
    with pytest.raises((FileNotFoundError, RunStorageError, OSError)):
        storage.write_text("model/x.json", "{}")


def test_train_resume_evaluate_analyze_export_on_s3(s3_bucket, moto_endpoint, capsys) -> None:
    run = f"s3://{s3_bucket}/runs/oval"
    assert main([*TRAIN, "--run", run]) == 0
    assert main([*TRAIN, "--run", run, "--resume"]) == 0
    assert main(["evaluate", run, "--trials", "1", "--checkpoint", "last"]) == 0
    assert main(["analyze", run]) == 0
    assert main(["export", run]) == 0
    out = capsys.readouterr().out
    assert "last checkpoint 2_Step-" in out  # the resumed run continued the numbering

    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    keys = {
        o["Key"][len("runs/oval/") :]
        for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix="runs/oval/")["Contents"]
    }
    assert {
        "model/model_metadata.json",
        "model/deepracer_checkpoints.json",
        "model/.coach_checkpoint",
        "reward_function.py",
        "training_params.yaml",
        "ip/hyperparameters.json",
        "training-simtrace/0-iteration.csv",
        "training-simtrace/1-iteration.csv",
        "metrics/TrainingMetrics.json",
        "export/model.tar.gz",
        "export/model.onnx",
        "analysis/training_progress.png",
    } <= keys
    checkpoints = sorted(k for k in keys if k.startswith("model/") and k.endswith(".pt"))
    assert [k.split("_")[0] for k in checkpoints] == ["model/0", "model/1", "model/2"]
    for name in checkpoints:  # every checkpoint has its digest beside it
        assert name + ".sha256" in keys
    assert any(k.startswith("metrics/EvaluationMetrics-") for k in keys)
    assert not any(".tmp-" in k for k in keys)  # object stores get one put, no temp names

    # deepracer-utils reads the run straight from S3
    handler = S3FileHandler(bucket=s3_bucket, prefix="runs/oval", s3_endpoint_url=moto_endpoint)
    log = DeepRacerLog(filehandler=handler)
    log.load_training_trace()
    df = log.dataframe()
    assert sorted(df["iteration"].unique()) == [0, 1]
    assert df["done"].sum() == 4  # 2 episodes per iteration, each ending once
    tm = TrainingMetrics(s3_bucket, model_name="runs/oval", s3_endpoint_url=moto_endpoint)
    training = tm.getTraining()
    assert sorted(training["episode"]) == [1, 2, 3, 4]
    assert sorted(training["iteration"].unique()) == [0, 1]
    assert len(tm.getEvaluation()) == 2

    index = json.loads(RunStorage(run).read_text("model/deepracer_checkpoints.json"))
    assert index["last_checkpoint"]["name"].split("_")[0] in {"1", "2"}
