"""`slipstream export RUN`: the policy as ONNX + model_metadata.json, packed for the car."""

from __future__ import annotations

import argparse
import sys

HELP = "Export a model as ONNX + model_metadata.json, packed for the car."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder: a path or s3://bucket/prefix")
    parser.add_argument("--checkpoint", choices=["best", "last"], default="best")
    parser.add_argument("--out", metavar="DIR", help="output folder (default RUN/export/)")


def run(args: argparse.Namespace) -> int:
    from slipstream.config.errors import ConfigError
    from slipstream.export import export_run
    from slipstream.runs.checkpoints import CheckpointError

    try:
        result = export_run(args.run, checkpoint=args.checkpoint, out=args.out)
    except (ConfigError, CheckpointError, ValueError) as exc:
        print(f"slipstream export: {exc}", file=sys.stderr)
        return 2
    print(f"Exported {result.checkpoint} of {args.run}")
    for spec in result.inputs:
        print(f"  input  {spec.name}  float32 {list(spec.shape)}")
    print(f"  output {result.output}  float32 {list(result.output_shape)}")
    print(f"car package: {result.tar_path}  (model_metadata.json + agent/model.onnx)")
    print(f"ONNX:        {result.onnx_path}")
    print(f"metadata:    {result.metadata_path}")
    return 0
