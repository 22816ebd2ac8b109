"""`slipstream export RUN`: the model for the car, for DeepRacer / DRfC, or as ONNX.

``--format car``: the car's ``model.tar.gz`` (``model_metadata.json`` + ``agent/model.pb``, a TF1
frozen graph); ``--format deepracer``: a DeepRacer model prefix (rl_coach TF checkpoint, model_N.pb,
deepracer_checkpoints.json, reward function, training params, hyperparameters) for DRfC's upload
or DeepRacer-on-AWS's import; ``--format onnx`` (default): ONNX + model_metadata.json.
The first two need TensorFlow: ``pip install 'slipstream[deepracer]'``.
"""

from __future__ import annotations

import argparse
import sys

from slipstream.commands import add_checkpoint_argument

FORMATS = ("onnx", "car", "deepracer")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder: a path or s3://bucket/prefix")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="onnx",
        help="car: model.tar.gz for the physical car; deepracer: model prefix for DRfC / "
        "DeepRacer-on-AWS; onnx: ONNX (default)",
    )
    add_checkpoint_argument(parser, numbered=True)
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="output folder or s3:// prefix (default RUN/export/, RUN/export/car/, "
        "RUN/export/deepracer/)",
    )


def _human(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size} B"


def run(args: argparse.Namespace) -> int:
    from slipstream.config.errors import ConfigError
    from slipstream.export.tf_graph import TensorFlowMissingError
    from slipstream.runs.checkpoints import CheckpointError

    try:
        if args.format == "onnx":
            return _onnx(args)
        from slipstream.export.deepracer_export import export_car, export_deepracer

        export = export_car if args.format == "car" else export_deepracer
        result = export(args.run, checkpoint=args.checkpoint, out=args.out)
    except TensorFlowMissingError as exc:
        print(f"slipstream export: {exc}", file=sys.stderr)
        return 2
    except (ConfigError, CheckpointError, ValueError, FileNotFoundError) as exc:
        print(f"slipstream export: {exc}", file=sys.stderr)
        return 2
    print(f"Exported {result.checkpoint} of {args.run} ({args.format})")
    for name, shape in result.inputs:
        print(f"  input  {name}  float32 {list(shape)}")
    print(f"  output {result.output}")
    for path, size in result.files:
        print(f"{path}  {_human(size)}")
    for note in result.notes:
        print(f"note: {note}")
    return 0


def _onnx(args: argparse.Namespace) -> int:
    from slipstream.export import export_run

    result = export_run(args.run, checkpoint=args.checkpoint, out=args.out)
    print(f"Exported {result.checkpoint} of {args.run}")
    for spec in result.inputs:
        print(f"  input  {spec.name}  float32 {list(spec.shape)}")
    print(f"  output {result.output}  float32 {list(result.output_shape)}")
    print(f"car package: {result.tar_path}  (model_metadata.json + agent/model.onnx)")
    print(f"ONNX:        {result.onnx_path}")
    print(f"metadata:    {result.metadata_path}")
    return 0
