"""DeepRacer's TensorFlow files: the car's model.pb, rl_coach checkpoints, import back.

Checked against other runtimes and real files: TensorFlow runs the frozen graph, OpenVINO converts
it the way the car's model optimizer does, `tf.train.list_variables` reads the checkpoint, and the
real console checkpoint in ../shared/deepracer_model_sample gives the variable table to match.
Skipped when TensorFlow (the ``deepracer`` extra) is not installed.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("tensorflow")

from slipstream.cli import main
from slipstream.config import parse_model_metadata
from slipstream.env.core import DeepRacerCore
from slipstream.export import rl_coach_layout as layout
from slipstream.export.car_package import CarArchiveError, pack_car_model, read_car_archive
from slipstream.export.deepracer_export import (
    car_graph,
    deepracer_checkpoint_files,
    export_car,
)
from slipstream.export.importer import ImportModelError, import_model
from slipstream.export.tf_graph import (
    GraphFileError,
    list_checkpoint_variables,
    run_graph,
)
from slipstream.model.algorithms import lidar_dim
from slipstream.model.policy import build_policy
from slipstream.rl.networks import MIDDLEWARE_DENSE, PPOValue
from slipstream.runs import (
    CheckpointIndex,
    RunStorage,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from slipstream.runs.layout import RunLayout, write_run_inputs

TRACK = "slipstream_default"  # built in: no ../shared/tracks needed
SAMPLE = Path(__file__).resolve().parent / "data" / "deepracer_model_sample"
DISCRETE = [{"steering_angle": s, "speed": v} for s in (-30, 0, 30) for v in (1.0, 2.5)]
CONTINUOUS = {"steering_angle": {"low": -30, "high": 30}, "speed": {"low": 0.5, "high": 3.0}}
SHALLOW = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
STANDARD = "DEEP_CONVOLUTIONAL_NETWORK"
DEEP = "DEEP_CONVOLUTIONAL_NETWORK_DEEP"
CAMERA = ("FRONT_FACING_CAMERA",)
STEREO = ("STEREO_CAMERAS",)
CAMERA_LIDAR = ("FRONT_FACING_CAMERA", "LIDAR")
STEREO_LIDAR = ("STEREO_CAMERAS", "LIDAR")
CAMERA_SECTOR = ("FRONT_FACING_CAMERA", "SECTOR_LIDAR")


def metadata(algorithm, continuous, sensor, network):
    space = CONTINUOUS if continuous else DISCRETE
    return parse_model_metadata(
        {
            "action_space": space,
            "action_space_type": "continuous" if continuous else "discrete",
            "sensor": list(sensor),
            "neural_network": network,
            "training_algorithm": algorithm,
            "version": "5",
        }
    )


# every network with every algorithm, every sensor set with at least two algorithms; the
# lidar sets (sorted LIDAR < STEREO_CAMERAS) check the middleware rows' reordering
COMBOS = {
    "shallow-camera-ppo-discrete": metadata("clipped_ppo", False, CAMERA, SHALLOW),
    "shallow-camera-ppo-continuous": metadata("clipped_ppo", True, CAMERA, SHALLOW),
    "shallow-camera-sac": metadata("sac", True, CAMERA, SHALLOW),
    "shallow-stereo_lidar-ppo-discrete": metadata("clipped_ppo", False, STEREO_LIDAR, SHALLOW),
    "standard-stereo-ppo-discrete": metadata("clipped_ppo", False, STEREO, STANDARD),
    "standard-camera-ppo-continuous": metadata("clipped_ppo", True, CAMERA, STANDARD),
    "standard-camera_sector-sac": metadata("sac", True, CAMERA_SECTOR, STANDARD),
    "deep-camera_lidar-ppo-continuous": metadata("clipped_ppo", True, CAMERA_LIDAR, DEEP),
    "deep-camera-ppo-discrete": metadata("clipped_ppo", False, CAMERA, DEEP),
    "deep-stereo_lidar-sac": metadata("sac", True, STEREO_LIDAR, DEEP),
}


@pytest.fixture(scope="module", autouse=True)
def narrow_middleware():
    """Narrower middlewares for the two larger networks (their stereo maps are 25x35x128 wide, a
    [112000, 512] kernel of 229 MB): the tests stay fast and every layer, name and reordering is
    still exercised; the shallow network keeps its real sizes (checked against DeepRacer's)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(MIDDLEWARE_DENSE, STANDARD, (32,))
        patch.setitem(MIDDLEWARE_DENSE, DEEP, (32, 16))
        yield


def random_state(md, seed=3):
    """Policy (+ value) state dicts with outputs far from uniform (heads scaled up)."""
    torch.manual_seed(seed)
    policy = build_policy(md).eval()
    with torch.no_grad():
        head = policy.mean if md.training_algorithm == "sac" else policy.head
        head.weight.mul_(200.0 if md.is_continuous else 20.0)
        if md.is_continuous and md.training_algorithm != "sac":
            policy.log_std.fill_(-0.7)
    state = {"policy": policy.state_dict()}
    if md.training_algorithm != "sac":
        value = PPOValue(md.sensor, md.neural_network, lidar_dim=lidar_dim(md))
        state["value"] = value.state_dict()
    return state


def policy_outputs(md, policy_state, obs) -> np.ndarray:
    """What the car's graph must output: probabilities, PPO mean, or SAC's pre-tanh mean."""
    policy = build_policy(md).eval()
    policy.load_state_dict(policy_state)
    with torch.no_grad():
        if md.training_algorithm == "sac":
            return policy.mean_and_log_std(obs)[0].numpy()
        return policy(obs).numpy()


def make_run(root: Path, md, seed=3, number=4, steps=1234) -> Path:
    run = root / "run"
    storage = RunStorage(str(run))
    write_run_inputs(
        RunLayout(storage),
        md.to_json_dict(),
        json.dumps({"batch_size": 64, "lr": 0.0003}, indent=2, sort_keys=True),
        "def reward_function(params):\n    return 1.0\n",
        {"WORLD_NAME": TRACK, "RACE_TYPE": "TIME_TRIAL"},
    )
    name = save_checkpoint(storage, random_state(md, seed), number, steps)
    CheckpointIndex(storage).update(name, 42.5, time_stamp=100.0)
    storage.write_text("metrics/TrainingMetrics.json", '{"metrics": []}')
    return run


@pytest.fixture(scope="module")
def frames():
    """100 rendered observations per sensor set: 20 cars spread over the lap, 5 steps."""
    out = {}
    for sensors in {md.sensor for md in COMBOS.values()}:
        md = metadata("clipped_ppo", False, sensors, SHALLOW)
        core = DeepRacerCore(20, track=TRACK, model_metadata=md, world={"NUMBER_OF_OBSTACLES": 3})
        core.sim.start_offsets = np.arange(20) / 20.0
        core.seed(list(range(20)))
        core.reset()
        steps = []
        for _ in range(5):
            obs = core.step(np.full(20, 4, dtype=np.int64)).obs
            steps.append({k: np.asarray(v).copy() for k, v in obs.items()})
        out[sensors] = {k: np.concatenate([s[k] for s in steps]) for k in steps[0]}
    return out


@pytest.fixture(scope="module")
def graphs():
    """(state, frozen model.pb) per combination, built once."""
    out = {}
    for name, md in COMBOS.items():
        state = random_state(md)
        out[name] = (state, car_graph(md, state["policy"]))
    return out


def _feeds(md, obs, batch=slice(None)):
    tower = layout.policy_tower(md)
    return {
        tower.input_name(b.sensor): np.asarray(obs[b.sensor][batch], dtype=np.float32)
        for b in tower.branches
    }


@pytest.mark.parametrize("name", list(COMBOS))
def test_frozen_graph_matches_torch_on_rendered_frames(name, frames, graphs) -> None:
    md = COMBOS[name]
    state, pb = graphs[name]
    obs = frames[md.sensor]
    assert len(obs[md.sensor[0]]) == 100
    tower = layout.policy_tower(md)
    got = run_graph(pb, _feeds(md, obs), tower.output_name)
    expected = policy_outputs(md, state["policy"], obs)
    assert got.shape == expected.shape == (100, 2 if md.is_continuous else len(DISCRETE))
    assert np.abs(got - expected).max() <= 1e-5
    assert np.ptp(expected, axis=0).max() > 1e-2  # frames differ: not a constant comparison
    if not md.is_continuous:
        assert np.allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_node_names_are_deepracers(graphs) -> None:
    from slipstream.export.tf_graph import graph_inputs, parse_graph

    expect = {
        "shallow-camera-ppo-discrete": (
            {
                "main_level/agent/main/online/network_0/FRONT_FACING_CAMERA/FRONT_FACING_CAMERA": (
                    -1,
                    120,
                    160,
                    1,
                )
            },
            "main_level/agent/main/online/network_1/ppo_head_0/policy",
            "Softmax",
        ),
        "shallow-camera-ppo-continuous": (
            {
                "main_level/agent/main/online/network_0/FRONT_FACING_CAMERA/FRONT_FACING_CAMERA": (
                    -1,
                    120,
                    160,
                    1,
                )
            },
            "main_level/agent/main/online/network_1/ppo_head_0/policy",
            "Identity",
        ),
        "shallow-camera-sac": (
            {
                "main_level/agent/policy/online/network_0/FRONT_FACING_CAMERA/FRONT_FACING_CAMERA": (
                    -1,
                    120,
                    160,
                    1,
                )
            },
            "main_level/agent/policy/online/network_0/sac_policy_head_0/policy",
            "Identity",
        ),
        "shallow-stereo_lidar-ppo-discrete": (
            {
                "main_level/agent/main/online/network_0/STEREO_CAMERAS/STEREO_CAMERAS": (
                    -1,
                    120,
                    160,
                    2,
                ),
                "main_level/agent/main/online/network_0/LIDAR/LIDAR": (-1, 64),
            },
            "main_level/agent/main/online/network_1/ppo_head_0/policy",
            "Softmax",
        ),
    }
    for name, (inputs, output, op) in expect.items():
        graph_def = parse_graph(graphs[name][1], name)
        assert graph_inputs(graph_def) == inputs
        nodes = {n.name: n for n in graph_def.node}
        assert nodes[output].op == op
        assert not any(n.op in ("VariableV2", "VarHandleOp") for n in graph_def.node)
    # the real model's policy tower (DEEPRACER_MODEL.md 3): /255 then -0, Conv2d_0 .. ppo_head_0
    nodes = {n.name: n for n in parse_graph(graphs["shallow-camera-ppo-continuous"][1], "x").node}
    tower = "main_level/agent/main/online/network_1"
    for node, op in [
        ("FRONT_FACING_CAMERA/truediv", "RealDiv"),
        ("FRONT_FACING_CAMERA/sub", "Sub"),
        ("FRONT_FACING_CAMERA/Conv2d_0/Conv2D", "Conv2D"),
        ("FRONT_FACING_CAMERA/Conv2d_0/kernel", "Const"),
        ("FRONT_FACING_CAMERA/BatchnormActivationDropout_5_activation", "Relu"),
        ("FRONT_FACING_CAMERA/Flatten/flatten/Reshape", "Reshape"),
        ("middleware_fc_embedder/Dense_0/MatMul", "MatMul"),
        ("middleware_fc_embedder/BatchnormActivationDropout_1_activation", "Relu"),
        ("ppo_head_0/policy_mean/BiasAdd", "BiasAdd"),
    ]:
        assert nodes[f"{tower}/{node}"].op == op, node
    assert (
        nodes[f"{tower}/FRONT_FACING_CAMERA/truediv"]
        .input[0]
        .endswith("network_0/FRONT_FACING_CAMERA/FRONT_FACING_CAMERA")
    )
    kernel = nodes[f"{tower}/middleware_fc_embedder/Dense_0/kernel"]
    assert [d.size for d in kernel.attr["value"].tensor.tensor_shape.dim] == [11264, 512]


@pytest.mark.parametrize("name", ["shallow-camera-ppo-discrete", "deep-stereo_lidar-sac"])
def test_openvino_converts_with_the_cars_input_shape(name, frames, graphs, tmp_path) -> None:
    ov = pytest.importorskip("openvino")
    md = COMBOS[name]
    state, pb = graphs[name]
    path = tmp_path / "model.pb"
    path.write_bytes(pb)
    tower = layout.policy_tower(md)
    # the car's optimizer gives the input shape [1, 120, 160, C]; OpenVINO names a TF tensor <node>:0
    shapes = [(tower.input_name(b.sensor) + ":0", [1, *b.input_shape]) for b in tower.branches]
    model = ov.convert_model(str(path), input=shapes)
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    obs = frames[md.sensor]
    expected = policy_outputs(md, state["policy"], obs)
    rows = []
    for i in range(0, 100, 5):  # one car per inference, as on the car
        feeds = _feeds(md, obs, slice(i, i + 1))
        rows.append(compiled([feeds[n.removesuffix(":0")] for n, _ in shapes])[0])
    got = np.concatenate(rows)
    assert np.abs(got - expected[::5]).max() <= 1e-5


def test_car_archive_passes_the_car_loaders_checks(tmp_path) -> None:
    md = COMBOS["shallow-camera-ppo-discrete"]
    run = make_run(tmp_path, md)
    assert main(["export", str(run), "--format", "car", "--checkpoint", "4"]) == 0
    archive = run / "export" / "car" / "model.tar.gz"
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
        assert names == ["agent", "agent/model.pb", "model_metadata.json"]
        assert sum(n.endswith(".pb") for n in names) == 1
    pb, packed = read_car_archive(archive.read_bytes())
    assert packed == json.loads((run / "model" / "model_metadata.json").read_text())
    from slipstream.export.tf_graph import graph_constants, parse_graph

    state = load_checkpoint(RunStorage(str(run)), "4_Step-1234.pt")
    ours = graph_constants(parse_graph(pb, "archive"))
    again = graph_constants(parse_graph(car_graph(md, state["policy"]), "fresh"))
    assert ours.keys() == again.keys()
    assert all(np.array_equal(ours[k], again[k]) for k in ours)
    # what the car refuses
    with pytest.raises(CarArchiveError, match=r"exactly one \.pb.*found 2"):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for entry in ("model_metadata.json", "agent/model.pb", "model_1.pb"):
                info = tarfile.TarInfo(entry)
                info.size = 2
                tar.addfile(info, io.BytesIO(b"{}"))
        read_car_archive(buffer.getvalue())
    nested = io.BytesIO()
    with tarfile.open(fileobj=nested, mode="w:gz") as tar:
        for entry in ("agent/model_metadata.json", "agent/model.pb"):
            info = tarfile.TarInfo(entry)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(CarArchiveError, match=r"no model_metadata\.json at its root"):
        read_car_archive(nested.getvalue())


# DEEPRACER_MODEL.md 4, shallow camera, continuous Clipped PPO
DOC_VARIABLES = {
    **{
        f"main_level/agent/main/online/network_{t}/{name}": shape
        for t in (0, 1)
        for name, shape in {
            "FRONT_FACING_CAMERA/Conv2d_0/kernel": [8, 8, 1, 32],
            "FRONT_FACING_CAMERA/Conv2d_0/bias": [32],
            "FRONT_FACING_CAMERA/Conv2d_2/kernel": [4, 4, 32, 64],
            "FRONT_FACING_CAMERA/Conv2d_2/bias": [64],
            "FRONT_FACING_CAMERA/Conv2d_4/kernel": [3, 3, 64, 64],
            "FRONT_FACING_CAMERA/Conv2d_4/bias": [64],
            "middleware_fc_embedder/Dense_0/kernel": [11264, 512],
            "middleware_fc_embedder/Dense_0/bias": [512],
            "gradients_from_head_0-0_rescalers": [],
        }.items()
    },
    "main_level/agent/main/online/network_0/v_values_head_0/output/kernel": [512, 1],
    "main_level/agent/main/online/network_0/v_values_head_0/output/bias": [1],
    "main_level/agent/main/online/network_1/ppo_head_0/policy_mean/kernel": [512, 2],
    "main_level/agent/main/online/network_1/ppo_head_0/policy_mean/bias": [2],
    "main_level/agent/main/online/network_1/ppo_head_0/policy_log_std": [1, 2],
}


def test_checkpoint_variables_are_deepracer_model_md(tmp_path) -> None:
    md = COMBOS["shallow-camera-ppo-continuous"]
    state = random_state(md)
    deepracer_checkpoint_files(md, state, "7_Step-99.ckpt", tmp_path)
    listed = dict(list_checkpoint_variables(tmp_path / "7_Step-99.ckpt"))
    assert listed == DOC_VARIABLES
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "7_Step-99.ckpt.data-00000-of-00001",
        "7_Step-99.ckpt.index",
        "7_Step-99.ckpt.meta",
    ]


def test_checkpoint_lists_exactly_the_real_console_checkpoints_variables(tmp_path) -> None:
    md = parse_model_metadata(json.loads((SAMPLE / "model" / "model_metadata.json").read_text()))
    deepracer_checkpoint_files(md, random_state(md), "11_Step-38428.ckpt", tmp_path)
    ours = list_checkpoint_variables(tmp_path / "11_Step-38428.ckpt")
    real = list_checkpoint_variables(SAMPLE / "model" / "11_Step-38428.ckpt")
    assert len(real) == 22
    assert ours == real


def test_deepracer_prefix_export_and_import_round_trip(tmp_path, frames) -> None:
    md = COMBOS["shallow-stereo_lidar-ppo-discrete"]
    run = make_run(tmp_path / "a", md)
    out = "memory://slipstream-test/prefix"  # an fsspec URL, as s3:// would be
    assert main(["export", str(run), "--format", "deepracer", "--out", out]) == 0
    target = RunStorage(out)
    assert set(target.find("")) == {
        "model/4_Step-1234.ckpt.index",
        "model/4_Step-1234.ckpt.meta",
        "model/4_Step-1234.ckpt.data-00000-of-00001",
        "model/model_4.pb",
        "model/.coach_checkpoint",
        "model/deepracer_checkpoints.json",
        "model/model_metadata.json",
        "model_metadata.json",
        "reward_function.py",
        "training_params.yaml",
        "hyperparameters.json",
        "ip/hyperparameters.json",
        "metrics/TrainingMetrics.json",
    }
    assert target.read_text("model/.coach_checkpoint") == "4_Step-1234.ckpt"
    index = json.loads(target.read_text("model/deepracer_checkpoints.json"))
    assert index["best_checkpoint"] == index["last_checkpoint"]
    assert index["best_checkpoint"]["name"] == "4_Step-1234.ckpt"
    assert index["best_checkpoint"]["avg_eval_metric"] == 42.5

    imported = tmp_path / "imported"
    assert main(["import", out, "--run", str(imported)]) == 0
    original = load_checkpoint(RunStorage(str(run)), "4_Step-1234.pt")
    back = load_checkpoint(RunStorage(str(imported)), "4_Step-1234.pt")
    for key in ("policy", "value"):
        assert back[key].keys() == original[key].keys()
        for k in original[key]:
            assert torch.equal(back[key][k], original[key][k]), (key, k)
    assert (imported / "reward_function.py").read_text() == (run / "reward_function.py").read_text()
    assert (imported / "ip" / "hyperparameters.json").exists()
    obs = frames[md.sensor]
    assert np.array_equal(
        policy_outputs(md, back["policy"], obs), policy_outputs(md, original["policy"], obs)
    )


def test_the_averaged_policy_exports_to_deepracer_with_the_last_value_network(
    tmp_path, capsys
) -> None:
    md = COMBOS["shallow-camera-ppo-discrete"]
    run = make_run(tmp_path / "a", md)
    storage = RunStorage(str(run))
    state = load_checkpoint(storage, "4_Step-1234.pt")
    average = random_state(md, seed=11)["policy"]
    save_checkpoint(storage, {**state, "policy_average": average}, 4, 1234)
    out = tmp_path / "prefix"
    args = ["export", str(run), "--format", "deepracer", "--checkpoint", "averaged"]
    assert main([*args, "--out", str(out)]) == 0
    assert "4_Step-1234.pt, averaged policy" in capsys.readouterr().out
    imported = tmp_path / "imported"
    assert main(["import", str(out), "--run", str(imported)]) == 0
    back = load_checkpoint(RunStorage(str(imported)), "4_Step-1234.pt")
    for key, expected in (("policy", average), ("value", state["value"])):
        for k in expected:
            assert torch.equal(back[key][k], expected[k]), (key, k)


@pytest.mark.parametrize("name", ["shallow-camera-ppo-continuous", "deep-stereo_lidar-sac"])
def test_car_archive_import_gives_identical_outputs(name, tmp_path, frames) -> None:
    md = COMBOS[name]
    run = make_run(tmp_path / "a", md)
    export_car(str(run))
    imported = tmp_path / "imported"
    result = import_model(str(run / "export" / "car" / "model.tar.gz"), str(imported))
    assert any("policy tower only" in note for note in result.model.notes)
    original = load_checkpoint(RunStorage(str(run)), "4_Step-1234.pt")
    back = load_checkpoint(RunStorage(str(imported)), "0_Step-0.pt")
    obs = frames[md.sensor]
    assert np.array_equal(
        policy_outputs(md, back["policy"], obs), policy_outputs(md, original["policy"], obs)
    )
    if md.training_algorithm != "sac":
        # not in model.pb: the value tower and the log-std start fresh
        assert not torch.equal(back["value"]["head.weight"], original["value"]["head.weight"])
        assert torch.equal(back["policy"]["log_std"], torch.zeros(2))


def test_bare_model_pb_and_the_errors_that_write_nothing(tmp_path, graphs) -> None:
    md = COMBOS["shallow-camera-ppo-discrete"]
    pb = graphs["shallow-camera-ppo-discrete"][1]
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "model.pb").write_bytes(pb)
    with pytest.raises(ImportModelError, match=r"without model_metadata\.json beside it"):
        import_model(str(folder / "model.pb"), str(tmp_path / "r0"))
    (folder / "model_metadata.json").write_text(json.dumps(md.to_json_dict()))
    assert main(["import", str(folder / "model.pb"), "--run", str(tmp_path / "r1")]) == 0
    assert (tmp_path / "r1" / "model" / "0_Step-0.pt").exists()

    def refused(source, exc, match, **kwargs):
        run = tmp_path / f"refused{len(list(tmp_path.iterdir()))}"
        with pytest.raises(exc, match=match):
            import_model(str(source), str(run), **kwargs)
        assert not run.exists()

    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\x00\x01 this is not a graph" * 10)
    (tmp_path / "model_metadata.json").write_text(json.dumps(md.to_json_dict()))
    refused(junk, GraphFileError, "not a TensorFlow frozen graph")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    refused(text, ImportModelError, "not a DeepRacer model")
    # a sensor the graph does not read
    stereo = tmp_path / "stereo.json"
    stereo.write_text(json.dumps(metadata("clipped_ppo", False, STEREO, SHALLOW).to_json_dict()))
    refused(folder / "model.pb", GraphFileError, "STEREO_CAMERAS", metadata_path=str(stereo))
    # a network whose shapes do not fit
    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps(metadata("clipped_ppo", False, CAMERA, DEEP).to_json_dict()))
    refused(
        folder / "model.pb",
        layout.LayoutError,
        r"Conv2d_2/kernel is \[4, 4, 32, 64\], expected \[4, 4, 32, 32\]",
        metadata_path=str(deep),
    )
    # an unknown network name
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**md.to_json_dict(), "neural_network": "RESNET"}))
    refused(folder / "model.pb", ValueError, "RESNET", metadata_path=str(bad))
    # an archive without a model
    empty = tmp_path / "empty.tar.gz"
    empty.write_bytes(pack_car_model(b"", md.to_json_dict()))
    refused(empty, GraphFileError, "not a TensorFlow frozen graph")
    # a prefix without a checkpoint
    (tmp_path / "prefix" / "model").mkdir(parents=True)
    refused(tmp_path / "prefix", ImportModelError, "neither model/deepracer_checkpoints.json")


def test_training_continues_from_an_imported_model(tmp_path) -> None:
    from slipstream.config import as_reward_function, load_hyperparameters
    from slipstream.rollout.trainer import TrainConfig, Trainer

    md = COMBOS["shallow-camera-ppo-discrete"]
    run = make_run(tmp_path / "a", md)
    export_car(str(run))
    imported = tmp_path / "imported"
    assert (
        main(["import", str(run / "export" / "car" / "model.tar.gz"), "--run", str(imported)]) == 0
    )
    assert main(["evaluate", str(imported), "--trials", "1", "--seed", "1"]) == 0
    config = TrainConfig.build(
        run=str(tmp_path / "continued"),
        model_metadata=md,
        hyperparameters=load_hyperparameters({"num_episodes_between_training": 2, "num_epochs": 1}),
        reward_function=as_reward_function(None),
        track=TRACK,
        workers=1,
        iterations=1,
        serial=True,
        eval_episodes=1,
        device="cpu",
        pretrained=str(imported),
        pretrained_checkpoint="best",
    )
    Trainer(config, echo=None).run()
    continued = RunStorage(str(tmp_path / "continued"))
    start = load_checkpoint(continued, "0_Step-0.pt")
    source = load_checkpoint(RunStorage(str(imported)), "0_Step-0.pt")
    for k, v in source["policy"].items():
        assert torch.equal(start["policy"][k], v), k
    last = list_checkpoints(continued)[-1]  # the index names it after its evaluation
    assert last == "1_Step-" + last.split("-")[1]
    trained = load_checkpoint(continued, last)
    assert not torch.equal(trained["policy"]["head.weight"], source["policy"]["head.weight"])
