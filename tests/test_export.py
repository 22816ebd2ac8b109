"""ONNX export: onnxruntime gives torch's outputs on rendered frames; names, shapes, tar layout."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
import torch

from slipstream.config import parse_model_metadata
from slipstream.env.core import DeepRacerCore
from slipstream.export import (
    OnnxPolicy,
    export_onnx,
    input_node_name,
    output_node_name,
    pack_model,
    read_model_file,
    unpack_model,
)
from slipstream.model.policy import PolicyActor, build_policy

TRACK = "reInvent2019_track"
DISCRETE = [{"steering_angle": s, "speed": v} for s in (-30, 0, 30) for v in (1.0, 2.5)]
CONTINUOUS = {"steering_angle": {"low": -30, "high": 30}, "speed": {"low": 0.5, "high": 3.0}}


def metadata(space, algorithm="clipped_ppo", sensor=("FRONT_FACING_CAMERA",), network=None):
    return parse_model_metadata(
        {
            "action_space": space,
            "action_space_type": "continuous" if isinstance(space, dict) else "discrete",
            "sensor": list(sensor),
            "neural_network": network or "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
            "training_algorithm": algorithm,
            "version": "5",
        }
    )


MODELS = {
    "ppo_discrete": metadata(DISCRETE),
    "ppo_continuous": metadata(CONTINUOUS),
    "sac": metadata(CONTINUOUS, "sac"),
    "ppo_stereo_lidar": metadata(DISCRETE, sensor=("STEREO_CAMERAS", "LIDAR")),
}


def random_policy(md, seed: int = 3):
    """A policy with random weights whose outputs are far from uniform (heads scaled up)."""
    torch.manual_seed(seed)
    policy = build_policy(md).eval()
    with torch.no_grad():
        head = policy.mean if hasattr(policy, "mean") else policy.head
        head.weight.mul_(200.0 if md.is_continuous and md.training_algorithm != "sac" else 20.0)
    return policy


@pytest.fixture(scope="module")
def exported():
    """(policy, ONNX bytes) per model, exported once."""
    out = {}
    for name, md in MODELS.items():
        policy = random_policy(md)
        out[name] = (policy, export_onnx(policy, md))
    return out


@pytest.fixture(scope="module")
def frames(official_tracks_dir):
    """Observations rendered by the simulator: 6 cars spread over the lap, 3 steps in."""
    out = {}
    for name, md in MODELS.items():
        core = DeepRacerCore(6, track=TRACK, model_metadata=md, world={"NUMBER_OF_OBSTACLES": 3})
        core.sim.start_offsets = np.arange(6) / 6.0
        core.seed(list(range(6)))
        obs = core.reset()
        for _ in range(3):
            a = np.zeros((6, 2)) if md.is_continuous else np.zeros(6, dtype=np.int64)
            obs = core.step(a).obs
        out[name] = obs
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_onnxruntime_matches_torch_on_rendered_frames(name, frames, exported) -> None:
    md = MODELS[name]
    policy, onnx_bytes = exported[name]
    onnx_policy = OnnxPolicy(onnx_bytes)
    obs = frames[name]
    with torch.no_grad():
        inputs = [torch.as_tensor(obs[s]).float() for s in policy.input_sensors]
        expected = policy.forward_export(*inputs).numpy()
    got = onnx_policy.outputs(obs)
    assert got.shape == expected.shape == (6, 2 if md.is_continuous else len(DISCRETE))
    # SAC outputs degrees and m/s (tanh * half-range + centre): compare in units of the
    # half-range, where float32 resolves 1e-7; 1e-5 of 30 degrees is 3e-4 degrees
    scale = policy.action_scale.numpy() if md.training_algorithm == "sac" else 1.0
    assert np.abs(got - expected).max(axis=0).max() < 1e-5 * np.max(scale)
    assert (np.abs(got - expected) / scale).max() < 1e-5
    # outputs vary between frames, so the comparison is not between constants
    assert np.ptp(expected, axis=0).max() > 1e-3
    actor = PolicyActor(md)
    actor.set_weights(policy.state_dict(), 0)
    torch_actions = actor.act(obs, deterministic=True)
    onnx_actions = onnx_policy.act(obs, deterministic=True)
    if md.is_continuous:
        assert (np.abs(onnx_actions - torch_actions) / scale).max() < 1e-5
    else:
        assert np.array_equal(onnx_actions, torch_actions)


@pytest.mark.parametrize(
    ("name", "scope_in", "head"),
    [
        ("ppo_discrete", "main_level/agent/main/online/network_0", "network_1/ppo_head_0/policy"),
        ("sac", "main_level/agent/policy/online/network_0", "network_0/sac_policy_head_0/policy"),
        ("ppo_stereo_lidar", "main_level/agent/main/online/network_0", "ppo_head_0/policy"),
    ],
)
def test_graph_names_and_shapes_are_deepracers(name, scope_in, head, exported) -> None:
    import onnxruntime as ort

    md = MODELS[name]
    session = ort.InferenceSession(exported[name][1])
    inputs = {i.name: (i.shape, i.type) for i in session.get_inputs()}
    if name == "ppo_stereo_lidar":
        assert inputs == {
            f"{scope_in}/STEREO_CAMERAS/STEREO_CAMERAS": ([1, 120, 160, 2], "tensor(float)"),
            f"{scope_in}/LIDAR/LIDAR": ([1, 64], "tensor(float)"),
        }
    else:
        sensor = "FRONT_FACING_CAMERA"
        assert inputs == {f"{scope_in}/{sensor}/{sensor}": ([1, 120, 160, 1], "tensor(float)")}
        assert input_node_name(md.training_algorithm, sensor) in inputs
    (output,) = session.get_outputs()
    assert output.name.endswith(head)
    assert output.name == output_node_name(md.training_algorithm)
    assert output.shape == [1, 2 if md.is_continuous else len(DISCRETE)]


def test_discrete_output_is_probabilities_of_raw_pixels(exported) -> None:
    """The graph divides by 255 itself: feeding x/255 is not the same as feeding x."""
    onnx_policy = OnnxPolicy(exported["ppo_discrete"][1])
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(1, 120, 160, 1)).astype(np.uint8)
    probs = onnx_policy.outputs({"FRONT_FACING_CAMERA": image})
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert probs.min() >= 1e-8
    scaled = onnx_policy.outputs({"FRONT_FACING_CAMERA": image / 255.0})
    assert np.abs(scaled - probs).max() > 1e-3


def test_model_tar_gz_layout_and_round_trip(tmp_path, exported) -> None:
    md = MODELS["sac"]
    onnx_bytes = exported["sac"][1]
    data = pack_model(onnx_bytes, md.to_json_dict(), mtime=1_700_000_000)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["agent", "agent/model.onnx", "model_metadata.json"]
        assert members["agent"].isdir()
        assert members["agent/model.onnx"].size == len(onnx_bytes)
        assert members["model_metadata.json"].mtime == 1_700_000_000
        stored = json.loads(tar.extractfile("model_metadata.json").read())
    assert stored == md.to_json_dict()
    assert stored["training_algorithm"] == "sac"
    onnx_back, meta_back = unpack_model(data)
    assert onnx_back == onnx_bytes and meta_back == stored
    path = tmp_path / "model.tar.gz"
    path.write_bytes(data)
    assert read_model_file(path) == (onnx_bytes, stored)
    bare = tmp_path / "model.onnx"
    bare.write_bytes(onnx_bytes)
    assert read_model_file(bare) == (onnx_bytes, stored)  # metadata travels in the ONNX props
    assert OnnxPolicy(path).metadata == md


def test_tensorflow_formats_say_how_to_install_tensorflow(tmp_path, monkeypatch, capsys) -> None:
    """Without TensorFlow, `export --format car|deepracer` and `import` fail with the install line."""
    import sys

    from slipstream.cli import main
    from slipstream.export.car_package import pack_car_model
    from slipstream.runs import CheckpointIndex, RunStorage, save_checkpoint
    from slipstream.runs.layout import RunLayout, write_run_inputs

    md = MODELS["ppo_discrete"]
    storage = RunStorage(str(tmp_path / "run"))
    write_run_inputs(
        RunLayout(storage), md.to_json_dict(), "{}", "def reward_function(p):\n    return 1.0\n", {}
    )
    torch.manual_seed(0)
    policy = build_policy(md)
    name = save_checkpoint(storage, {"policy": policy.state_dict()}, 1, 10)
    CheckpointIndex(storage).update(name, 1.0)
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(pack_car_model(b"not read", md.to_json_dict()))
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` raises ImportError
    for argv in (
        ["export", str(tmp_path / "run"), "--format", "car"],
        ["export", str(tmp_path / "run"), "--format", "deepracer"],
        ["import", str(archive), "--run", str(tmp_path / "imported")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "needs TensorFlow" in err and "pip install 'slipstream[deepracer]'" in err
    assert not (tmp_path / "imported").exists()
    assert not (tmp_path / "run" / "export").exists()
