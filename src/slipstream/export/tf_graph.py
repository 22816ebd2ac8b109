"""rl_coach's TensorFlow 1 graph of a Slipstream model: frozen ``model.pb`` and checkpoints.

Everything that needs TensorFlow (the optional ``deepracer`` extra) is here. The graph is built
with ``tf.compat.v1`` ops under rl_coach's node names (DEEPRACER_MODEL.md 2-3) from the
`rl_coach_layout.Tower` table: input placeholders (camera float 0..255, divided by 255 and offset
by 0 inside the graph), embedders, the ``merger`` concat of several sensors, middleware, the
gradient-rescaler arithmetic (numerically the identity) and the head. Variables are classic
``VariableV2`` (as rl_coach's), so a frozen graph holds them as ``Const`` nodes of the same name.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from slipstream.export.rl_coach_layout import (
    OUTPUT,
    PPO_CONTINUOUS,
    PPO_DISCRETE,
    PPO_VALUE,
    RESCALER,
    SAC_POLICY,
    Tower,
)

INSTALL_HINT = (
    "install TensorFlow (CPU) with `pip install 'slipstream[deepracer]'` "
    "(or `pip install tensorflow-cpu`)"
)


class TensorFlowMissingError(RuntimeError):
    """TensorFlow is not installed; the message says how to install it."""


class GraphFileError(ValueError):
    """A file that is not a TensorFlow frozen graph or checkpoint of a DeepRacer model."""


def tf_v1(what: str = "this") -> Any:
    """``tensorflow.compat.v1``, or `TensorFlowMissingError` naming `what` needs it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # TensorFlow >= 2.16 logs "oneDNN custom operations are on" through absl before
    # TF_CPP_MIN_LOG_LEVEL applies; the graphs here are small, so plain kernels cost nothing
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        import tensorflow as tf
    except ImportError:
        raise TensorFlowMissingError(
            f"{what} needs TensorFlow, which is not installed: {INSTALL_HINT}"
        ) from None
    tf.get_logger().setLevel("ERROR")  # the tf.compat.v1 API's deprecation notices
    return tf.compat.v1


# ----------------------------------------------------------------------------------------------
# Building


def _scoped(tf: Any, scope: str):
    """An absolute name scope (a trailing '/' makes TF use the name as it is)."""
    return tf.name_scope(scope.rstrip("/") + "/")


def _variable(tf: Any, full_name: str, shape: Sequence[int]) -> Any:
    scope, leaf = full_name.rsplit("/", 1)
    with _scoped(tf, scope):
        return tf.Variable(tf.zeros(list(shape), dtype=tf.float32), name=leaf, use_resource=False)


def _apply(tf: Any, tower: Tower, layer: Any, x: Any, variables: dict[str, Any]) -> Any:
    kernel = variables[tower.name(layer.kernel)] = _variable(
        tf, tower.name(layer.kernel), layer.shape
    )
    bias = variables[tower.name(layer.bias)] = _variable(
        tf, tower.name(layer.bias), layer.shape[-1:]
    )
    with _scoped(tf, tower.name(layer.scope)):
        if layer.kind == "conv":
            s = layer.stride
            y = tf.nn.conv2d(x, kernel, strides=[1, s, s, 1], padding="VALID", name="Conv2D")
        elif x.shape.ndims == 4:  # a camera embedder's dense layer: each position's channels
            y = tf.tensordot(x, kernel, [[3], [0]], name="Tensordot")
        else:
            y = tf.matmul(x, kernel, name="MatMul")
        y = tf.nn.bias_add(y, bias, name="BiasAdd")
    if not layer.relu:
        return y
    owner, leaf = tower.name(layer.scope).rsplit("/", 1)
    numbered = re.fullmatch(r"(?:Conv2d|Dense)_(\d+)", leaf)
    if numbered is None:  # a head's dense layer with its own activation
        with _scoped(tf, tower.name(layer.scope)):
            return tf.nn.relu(y, name="Relu")
    # rl_coach's activation layer after scheme layer k is BatchnormActivationDropout_<k+1>
    with _scoped(tf, owner):
        return tf.nn.relu(y, name=f"BatchnormActivationDropout_{int(numbered[1]) + 1}_activation")


def _flatten(tf: Any, tower: Tower, sensor: str, x: Any) -> Any:
    width = int(np.prod(x.shape.as_list()[1:]))
    with _scoped(tf, tower.name(f"{sensor}/Flatten/flatten")):
        return tf.reshape(x, [-1, width], name="Reshape")


def placeholders(tf: Any, tower: Tower) -> dict[str, Any]:
    """The tower's input placeholders, batch dimension free (as rl_coach's)."""
    out = {}
    for branch in tower.branches:
        scope, leaf = tower.input_name(branch.sensor).rsplit("/", 1)
        with _scoped(tf, scope):
            out[branch.sensor] = tf.placeholder(tf.float32, [None, *branch.input_shape], name=leaf)
    return out


def build_tower(tf: Any, tower: Tower, inputs: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(output tensor, {variable name: tf.Variable}) of `tower` in the default graph."""
    variables: dict[str, Any] = {}
    features = []
    for branch in tower.branches:
        x = inputs[branch.sensor]
        with _scoped(tf, tower.name(branch.sensor)):
            x = tf.subtract(
                tf.truediv(x, 255.0 if branch.is_image else 1.0, name="truediv"), 0.0, name="sub"
            )
        for layer in branch.layers:
            x = _apply(tf, tower, layer, x, variables)
        if x.shape.ndims == 4:
            x = _flatten(tf, tower, branch.sensor, x)
        features.append(x)
    with _scoped(tf, tower.scope):
        x = features[0] if len(features) == 1 else tf.concat(features, axis=-1, name="merger")
    for layer in tower.middleware:
        x = _apply(tf, tower, layer, x, variables)
    rescaler = variables[tower.name(RESCALER)] = _variable(tf, tower.name(RESCALER), ())
    with _scoped(tf, tower.scope):
        # rl_coach: (1 - r) * stop_gradient(x) + r * x, r = 1
        x = tf.add(
            tf.multiply(tf.subtract(1.0, rescaler, name="sub"), tf.stop_gradient(x), name="mul"),
            tf.multiply(rescaler, x, name="mul_1"),
            name="add",
        )
    head_scope = tower.name(tower.head_scope)
    if tower.kind == SAC_POLICY:
        hidden = _apply(tf, tower, tower.head[0], x, variables)
        mean = _apply(tf, tower, tower.head[1], hidden, variables)
        _apply(tf, tower, tower.head[2], hidden, variables)  # log-std layer: a variable, no output
        with _scoped(tf, head_scope):
            return tf.identity(mean, name=OUTPUT), variables
    out = _apply(tf, tower, tower.head[0], x, variables)
    if tower.kind == PPO_VALUE:
        return out, variables
    with _scoped(tf, head_scope):
        if tower.kind == PPO_DISCRETE:
            return tf.nn.softmax(out, name=OUTPUT), variables
        assert tower.kind == PPO_CONTINUOUS
        log_std = tower.name("ppo_head_0/policy_log_std")
        variables[log_std] = _variable(tf, log_std, (1, 2))
        return tf.identity(out, name=OUTPUT), variables


def _load(session: Any, tf_vars: Mapping[str, Any], values: Mapping[str, np.ndarray]) -> None:
    for name, var in tf_vars.items():
        value = np.asarray(values[name], dtype=np.float32)
        session.run(var.initializer, {var.initial_value: value})


def frozen_graph(towers: Sequence[Tower], values: Mapping[str, np.ndarray], output: Tower) -> bytes:
    """Serialised frozen GraphDef of `output`'s tower (built with `towers`, weights `values`)."""
    data, _ = _graph(towers, values, output, checkpoint_prefix=None)
    return data


def _graph(
    towers: Sequence[Tower],
    values: Mapping[str, np.ndarray],
    output: Tower,
    checkpoint_prefix: str | None,
) -> tuple[bytes, dict[str, Any]]:
    tf = tf_v1("a TensorFlow model")
    graph = tf.Graph()
    with graph.as_default():
        inputs = placeholders(tf, towers[0])
        tf_vars: dict[str, Any] = {}
        for tower in towers:
            tf_vars.update(build_tower(tf, tower, inputs)[1])
        with tf.Session(graph=graph) as session:
            _load(session, tf_vars, values)
            if checkpoint_prefix is not None:
                saver = tf.train.Saver(
                    var_list=dict(sorted(tf_vars.items())), save_relative_paths=True
                )
                saver.save(session, checkpoint_prefix, write_meta_graph=True, write_state=False)
            frozen = tf.graph_util.convert_variables_to_constants(
                session, graph.as_graph_def(), [output.output_name]
            )
    return frozen.SerializeToString(), tf_vars


def write_checkpoint(
    towers: Sequence[Tower], values: Mapping[str, np.ndarray], output: Tower, prefix: str | Path
) -> bytes:
    """Save the towers' variables as a TF checkpoint at `prefix` (``.index``, ``.data-00000-of-00001``,
    ``.meta``); return the frozen graph of `output` (``model_N.pb``)."""
    data, _ = _graph(towers, values, output, checkpoint_prefix=str(prefix))
    return data


# ----------------------------------------------------------------------------------------------
# Reading


def parse_graph(data: bytes, source: str) -> Any:
    """A GraphDef from bytes, or `GraphFileError`."""
    tf = tf_v1(f"reading {source}")
    graph_def = tf.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception as err:  # protobuf DecodeError and friends
        raise GraphFileError(
            f"{source} is not a TensorFlow frozen graph (GraphDef): {err}"
        ) from None
    if not any(node.op == "Placeholder" for node in graph_def.node):
        raise GraphFileError(
            f"{source} is not a TensorFlow frozen graph: it has no input placeholder"
        )
    return graph_def


def graph_constants(graph_def: Any) -> dict[str, np.ndarray]:
    """Every ``Const`` node of a frozen graph by name (the frozen variables among them)."""
    import tensorflow as tf

    return {
        node.name: tf.make_ndarray(node.attr["value"].tensor)
        for node in graph_def.node
        if node.op == "Const"
    }


def graph_inputs(graph_def: Any) -> dict[str, tuple[int, ...]]:
    """Placeholder name -> shape (-1 for a free dimension)."""
    out = {}
    for node in graph_def.node:
        if node.op == "Placeholder":
            dims = node.attr["shape"].shape.dim
            out[node.name] = tuple(int(d.size) for d in dims)
    return out


def check_graph_io(graph_def: Any, tower: Tower, source: str) -> None:
    """`GraphFileError` unless the graph has the tower's input placeholders (with their shapes)
    and output node."""
    inputs = graph_inputs(graph_def)
    expected = {tower.input_name(b.sensor): b.input_shape for b in tower.branches}
    problems = []
    for name, shape in expected.items():
        if name not in inputs:
            problems.append(f"no input {name}")
        elif tuple(inputs[name][1:]) != tuple(shape):
            problems.append(
                f"input {name} has shape {list(inputs[name])}, expected [-1, {', '.join(map(str, shape))}]"
            )
    nodes = {node.name for node in graph_def.node}
    if tower.output_name not in nodes:
        problems.append(f"no output {tower.output_name}")
    if problems:
        raise GraphFileError(
            f"{source} does not fit its model_metadata.json ({len(expected)} input(s) "
            f"{sorted(expected)}; graph inputs {sorted(inputs)}): " + "; ".join(problems)
        )


def run_graph(graph_def_or_bytes: Any, feeds: Mapping[str, np.ndarray], output: str) -> np.ndarray:
    """Run a frozen graph once: {input node name: array} -> the `output` node's value."""
    tf = tf_v1("running a TensorFlow model")
    graph_def = graph_def_or_bytes
    if isinstance(graph_def, bytes):
        graph_def = parse_graph(graph_def, "model.pb")
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
        with tf.Session(graph=graph) as session:
            fetch = graph.get_tensor_by_name(f"{output}:0")
            feed = {graph.get_tensor_by_name(f"{k}:0"): v for k, v in feeds.items()}
            return session.run(fetch, feed)


def checkpoint_variables(prefix: str | Path, source: str) -> dict[str, np.ndarray]:
    """Every variable of a TF checkpoint (``prefix`` without ``.index``) by name."""
    tf_v1(f"reading {source}")
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except Exception as err:  # NotFoundError, DataLossError, ...
        raise GraphFileError(f"{source} is not a readable TensorFlow checkpoint: {err}") from None
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def list_checkpoint_variables(prefix: str | Path) -> list[tuple[str, list[int]]]:
    """``tf.train.list_variables``: (name, shape) of each variable, from the index alone."""
    tf_v1("listing a checkpoint")
    import tensorflow as tf

    return [(name, list(shape)) for name, shape in tf.train.list_variables(str(prefix))]


def temporary_folder() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="slipstream-tf-")


__all__ = [
    "INSTALL_HINT",
    "GraphFileError",
    "TensorFlowMissingError",
    "build_tower",
    "check_graph_io",
    "checkpoint_variables",
    "frozen_graph",
    "graph_constants",
    "graph_inputs",
    "list_checkpoint_variables",
    "parse_graph",
    "run_graph",
    "write_checkpoint",
]
