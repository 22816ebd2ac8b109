"""A DRfC folder is enough: `--drfc DIR` reads run.env/system.env as DRfC does, trains, evaluates."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml

import slipstream
from slipstream.cli import main
from slipstream.config.drfc import DrfcError, load_drfc, simapp_major

# the variables of DRfC's defaults/template-run.env, with a small, fast world
RUN_ENV = """\
DR_RUN_ID=0
DR_WORLD_NAME=slipstream_oval
DR_RACE_TYPE=TIME_TRIAL
DR_CAR_NAME=FastCar
DR_CAR_BODY_SHELL_TYPE=deepracer
DR_CAR_COLOR=Red
DR_DISPLAY_NAME=$DR_CAR_NAME
DR_RACER_NAME=$DR_CAR_NAME
DR_ENABLE_DOMAIN_RANDOMIZATION=False
DR_EVAL_NUMBER_OF_TRIALS=1
DR_EVAL_IS_CONTINUOUS=False
DR_EVAL_MAX_RESETS=0
DR_EVAL_OFF_TRACK_PENALTY=5.0
DR_EVAL_COLLISION_PENALTY=5.0
DR_EVAL_SAVE_MP4=False
DR_EVAL_CHECKPOINT=last
DR_EVAL_OPP_S3_MODEL_PREFIX=rl-deepracer-sagemaker
DR_EVAL_OPP_CAR_BODY_SHELL_TYPE=deepracer
DR_EVAL_OPP_CAR_NAME=FasterCar
DR_EVAL_OPP_DISPLAY_NAME=$DR_EVAL_OPP_CAR_NAME
DR_EVAL_OPP_RACER_NAME=$DR_EVAL_OPP_CAR_NAME
DR_EVAL_DEBUG_REWARD=False
DR_EVAL_RESET_BEHIND_DIST=1.0
DR_EVAL_REVERSE_DIRECTION=False
DR_TRAIN_CHANGE_START_POSITION=True
DR_TRAIN_REVERSE_DIRECTION=False
DR_TRAIN_ALTERNATE_DRIVING_DIRECTION=False
DR_TRAIN_START_POSITION_OFFSET=0.0
DR_TRAIN_ROUND_ROBIN_ADVANCE_DIST=0.05
DR_TRAIN_MULTI_CONFIG=False
DR_TRAIN_MIN_EVAL_TRIALS=1
DR_TRAIN_BEST_MODEL_METRIC=progress
DR_LOCAL_S3_MODEL_PREFIX=rl-deepracer-sagemaker
DR_LOCAL_S3_PRETRAINED=False
DR_LOCAL_S3_PRETRAINED_PREFIX=rl-sagemaker-pretrained
DR_LOCAL_S3_PRETRAINED_CHECKPOINT=last
DR_LOCAL_S3_CUSTOM_FILES_PREFIX=custom_files
DR_LOCAL_S3_TRAINING_PARAMS_FILE=training_params.yaml
DR_LOCAL_S3_EVAL_PARAMS_FILE=evaluation_params.yaml
DR_LOCAL_S3_MODEL_METADATA_KEY=$DR_LOCAL_S3_CUSTOM_FILES_PREFIX/model_metadata.json
DR_LOCAL_S3_HYPERPARAMETERS_KEY=$DR_LOCAL_S3_CUSTOM_FILES_PREFIX/hyperparameters.json
DR_LOCAL_S3_REWARD_KEY=$DR_LOCAL_S3_CUSTOM_FILES_PREFIX/reward_function.py
DR_LOCAL_S3_METRICS_PREFIX=$DR_LOCAL_S3_MODEL_PREFIX/metrics
DR_UPLOAD_S3_PREFIX=$DR_LOCAL_S3_MODEL_PREFIX-1
DR_OA_NUMBER_OF_OBSTACLES=6
DR_H2B_NUMBER_OF_BOT_CARS=3
"""

# the variables of DRfC's defaults/template-system.env, a remote MinIO (here: moto)
SYSTEM_ENV = """\
DR_CLOUD=remote
DR_AWS_APP_REGION=us-east-1
DR_UPLOAD_S3_PROFILE=default
DR_UPLOAD_S3_BUCKET=<AWS_DR_BUCKET>
DR_LOCAL_S3_BUCKET={bucket}
DR_LOCAL_S3_PROFILE=minio
DR_GUI_ENABLE=True
DR_KINESIS_STREAM_NAME=
DR_CAMERA_MAIN_ENABLE=True
DR_CAMERA_SUB_ENABLE=False
DR_CAMERA_KVS_ENABLE=False
DR_ENABLE_EXTRA_KVS_OVERLAY=False
DR_SIMAPP_SOURCE=awsdeepracercommunity/deepracer-simapp
DR_SIMAPP_VERSION=5.3.3-cpu
DR_MINIO_IMAGE=latest
DR_ANALYSIS_IMAGE=cpu
DR_WORKERS=1
DR_ROBOMAKER_MOUNT_LOGS=False
DR_CLOUD_WATCH_ENABLE=False
DR_DOCKER_STYLE=compose
DR_HOST_X=False
DR_WEBVIEWER_PORT=8100
DR_QUIET_ACTIVATE=False
DR_REMOTE_MINIO_URL={endpoint}
"""

DEFAULTS = Path(slipstream.__file__).parent / "defaults"
HYPERPARAMETERS = {"num_episodes_between_training": 2, "num_epochs": 1, "batch_size": 32}
PREFIX = "rl-deepracer-sagemaker"


def _folder(tmp_path: Path, bucket: str = "bucket", endpoint: str = "http://nas:9000") -> Path:
    folder = tmp_path / "drfc"
    folder.mkdir()
    (folder / "run.env").write_text(RUN_ENV)
    (folder / "system.env").write_text(SYSTEM_ENV.format(bucket=bucket, endpoint=endpoint))
    return folder


def test_load_drfc_maps_the_templates(tmp_path: Path) -> None:
    config = load_drfc(_folder(tmp_path, "my-bucket"))
    assert config.run == "s3://my-bucket/rl-deepracer-sagemaker"
    assert config.reward_key == "custom_files/reward_function.py"
    assert config.metrics_prefix == "rl-deepracer-sagemaker/metrics"
    assert config.evaluation_metrics_key("20260101120000") == (
        "rl-deepracer-sagemaker/metrics/evaluation/evaluation-20260101120000.json"
    )
    assert (config.workers, config.simapp_version, config.pretrained) == (1, "5", None)
    assert config.s3.environment() == {
        "AWS_ENDPOINT_URL_S3": "http://nas:9000",
        "AWS_PROFILE": "minio",
    }
    assert [name for name, _ in config.not_applied] == ["DR_GUI_ENABLE"]
    world = config.world("TRAINING")
    assert (world.WORLD_NAME, world.MIN_EVAL_TRIALS, world.extra["CAR_COLOR"]) == (
        "slipstream_oval",
        1,
        "Red",
    )
    evaluation = config.world("EVALUATION")
    assert (evaluation.NUMBER_OF_RESETS, evaluation.OFF_TRACK_PENALTY) == (0, 5.0)


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [("local", "http://localhost:9000"), ("azure", "http://localhost:9000"), ("aws", None)],
)
def test_endpoint_follows_dr_cloud(tmp_path: Path, cloud: str, expected: str | None) -> None:
    folder = _folder(tmp_path)
    text = (folder / "system.env").read_text().replace("DR_CLOUD=remote", f"DR_CLOUD={cloud}")
    (folder / "system.env").write_text(text)
    assert load_drfc(folder).s3.endpoint_url == expected


def test_pretrained_and_multi_config(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    text = (folder / "run.env").read_text()
    text = text.replace("DR_LOCAL_S3_PRETRAINED=False", "DR_LOCAL_S3_PRETRAINED=True")
    text = text.replace("DR_TRAIN_MULTI_CONFIG=False", "DR_TRAIN_MULTI_CONFIG=True")
    text = text.replace("PRETRAINED_CHECKPOINT=last", "PRETRAINED_CHECKPOINT=best")
    (folder / "run.env").write_text(text)
    system = (folder / "system.env").read_text().replace("DR_WORKERS=1", "DR_WORKERS=3")
    (folder / "system.env").write_text(system)
    with pytest.raises(DrfcError, match=r"worker-2\.env"):
        load_drfc(folder)
    (folder / "worker-2.env").write_text("DR_WORLD_NAME=reInvent2019_track\nDR_CAR_COLOR=Blue\n")
    (folder / "worker-3.env").write_text("DR_WORLD_NAME=slipstream_oval\n")
    config = load_drfc(folder)
    assert config.worker_tracks == ("slipstream_oval", "reInvent2019_track", "slipstream_oval")
    assert config.pretrained == "s3://bucket/rl-sagemaker-pretrained"
    assert config.pretrained_checkpoint == "best"
    assert "DR_CAR_COLOR" in config.warning()


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("system.env", "DR_WORKERS=1", "DR_WORKERS=two", "DR_WORKERS='two' must be a whole"),
        ("system.env", "DR_LOCAL_S3_BUCKET=bucket", "DR_LOCAL_S3_BUCKET=<BUCKET>", "placeholder"),
        ("system.env", "DR_LOCAL_S3_BUCKET=bucket", "DR_LOCAL_S3_BUCKET=My_Bucket", "bucket name"),
        ("system.env", "5.3.3-cpu", "6.0.0-gpu", "simapp 4 and 5"),
        (
            "run.env",
            "PRETRAINED_CHECKPOINT=last",
            "PRETRAINED_CHECKPOINT=7",
            "must be best or last",
        ),
        ("run.env", "DR_RACE_TYPE=TIME_TRIAL", "DR_RACE_TYPE=DRAG_RACE", "RACE_TYPE"),
        ("run.env", "DR_TRAIN_MIN_EVAL_TRIALS=1", "DR_TRAIN_MIN_EVAL_TRAILS=1", "unknown DRfC"),
        ("run.env", "DR_RUN_ID=0", "DR_RUN_ID 0", "line 1 is not NAME=VALUE"),
    ],
)
def test_bad_input_says_what_to_fix(
    tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    folder = _folder(tmp_path)
    text = (folder / file).read_text()
    assert old in text
    (folder / file).write_text(text.replace(old, new, 1))
    with pytest.raises(DrfcError if "NAME=VALUE" not in message else Exception, match=message):
        load_drfc(folder)


def test_missing_run_env_and_simapp_tags(tmp_path: Path) -> None:
    with pytest.raises(DrfcError, match=r"has no run\.env"):
        load_drfc(tmp_path)
    assert [simapp_major(v) for v in ("5.3.3-gpu", "4.0.0", "v5", None)] == ["5", "4", "5", None]


@pytest.fixture
def drfc_bucket(s3_bucket, moto_endpoint, monkeypatch, tmp_path):
    """A bucket with DRfC's custom_files/, reached only through system.env's settings."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    files = {
        "reward_function.py": (DEFAULTS / "reward_function.py").read_text(),
        "model_metadata.json": json.dumps(
            {
                "action_space": [
                    {"steering_angle": a, "speed": 0.8} for a in (-30.0, -15.0, 0.0, 15.0, 30.0)
                ],
                "sensor": ["FRONT_FACING_CAMERA"],
                "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
                "training_algorithm": "clipped_ppo",
                "action_space_type": "discrete",
                "version": "5",
            }
        ),
        "hyperparameters.json": json.dumps(HYPERPARAMETERS),
    }
    for name, text in files.items():
        s3.put_object(Bucket=s3_bucket, Key=f"custom_files/{name}", Body=text.encode())
    # only system.env says where the bucket is and whose credentials reach it
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[minio]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key)
    # set (and so restored after the test) what --drfc exports
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://unused.invalid")
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    return s3_bucket, s3


def test_train_and_evaluate_a_drfc_folder(drfc_bucket, moto_endpoint, tmp_path, capsys) -> None:
    bucket, s3 = drfc_bucket
    folder = _folder(tmp_path, bucket, moto_endpoint)
    assert main(["train", "--drfc", str(folder), "--iterations", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("DR_GUI_ENABLE") == 1
    assert f"--out s3://{bucket}/{PREFIX}-tf && dr-upload-model -p {PREFIX}-tf" in captured.err
    assert f"into s3://{bucket}/{PREFIX}" in captured.out
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=PREFIX)["Contents"]}
    assert {
        f"{PREFIX}/model/deepracer_checkpoints.json",
        f"{PREFIX}/reward_function.py",
        f"{PREFIX}/training_params.yaml",
        f"{PREFIX}/ip/hyperparameters.json",
        f"{PREFIX}/training-simtrace/1-iteration.csv",
        f"{PREFIX}/metrics/TrainingMetrics.json",
        f"{PREFIX}/logs/training/slipstream-robomaker.log",
    } <= keys
    assert sorted(k.split("/")[-1].split("_")[0] for k in keys if k.endswith(".pt"))[-1] == "2"

    def read(key: str) -> str:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()

    params = yaml.safe_load(read(f"{PREFIX}/training_params.yaml"))
    assert (params["WORLD_NAME"], params["SIMAPP_VERSION"], params["CAR_COLOR"]) == (
        "slipstream_oval",
        "5",
        "Red",
    )
    assert json.loads(read(f"{PREFIX}/ip/hyperparameters.json"))["batch_size"] == 32
    metrics = json.loads(read(f"{PREFIX}/metrics/TrainingMetrics.json"))["metrics"]
    assert sum(m["phase"] == "training" for m in metrics) == 2 * 2  # 2 iterations x 2 episodes

    assert main(["evaluate", "--drfc", str(folder)]) == 0
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=PREFIX)["Contents"]}
    drfc_metrics = [k for k in keys if k.startswith(f"{PREFIX}/metrics/evaluation/evaluation-")]
    assert len(drfc_metrics) == 1
    trials = json.loads(read(drfc_metrics[0]))["metrics"]
    assert len(trials) == 1  # DR_EVAL_NUMBER_OF_TRIALS=1
    assert set(trials[0]) >= {"completion_percentage", "trial", "episode_status"}


def test_custom_files_from_s3(drfc_bucket, moto_endpoint, monkeypatch, tmp_path) -> None:
    bucket, _ = drfc_bucket
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    monkeypatch.setenv("AWS_PROFILE", "minio")
    run = tmp_path / "run"
    args = ["train", "--custom-files", f"s3://{bucket}/custom_files", "--run", str(run)]
    assert main([*args, "--iterations", "1", "--track", "slipstream_oval"]) == 0
    assert json.loads((run / "ip" / "hyperparameters.json").read_text())["num_epochs"] == 1
    missing = ["train", "--custom-files", f"s3://{bucket}/nothing", "--run", str(tmp_path / "x")]
    assert main([*missing, "--iterations", "1"]) == 2
