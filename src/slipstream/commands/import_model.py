"""`slipstream import MODEL --run RUN`: a DeepRacer model as a Slipstream run folder.

MODEL is the car's model.tar.gz (or .tar), a bare model.pb (with model_metadata.json beside it
or given by --metadata), or a DeepRacer model prefix folder / s3:// URL (model/*.ckpt.*). The run
folder then works with evaluate, race, export and train --pretrained. Needs TensorFlow:
``pip install 'slipstream[deepracer]'``.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="car model.tar.gz, model.pb, or DeepRacer model prefix (folder or s3://bucket/prefix)",
    )
    parser.add_argument("--run", required=True, metavar="RUN", help="new run folder to write")
    parser.add_argument("--metadata", metavar="FILE", help="model_metadata.json of a bare model.pb")
    parser.add_argument(
        "--checkpoint",
        choices=["best", "last"],
        default="best",
        help="which checkpoint of a model prefix (from deepracer_checkpoints.json; default best)",
    )


def run(args: argparse.Namespace) -> int:
    from slipstream.config.errors import ConfigError
    from slipstream.export.importer import import_model
    from slipstream.export.tf_graph import TensorFlowMissingError
    from slipstream.runs.checkpoints import CheckpointError

    try:
        result = import_model(args.model, args.run, args.metadata, args.checkpoint)
    except TensorFlowMissingError as exc:
        print(f"slipstream import: {exc}", file=sys.stderr)
        return 2
    except (ConfigError, CheckpointError, ValueError, OSError) as exc:
        print(f"slipstream import: {exc}", file=sys.stderr)
        return 2
    model = result.model
    md = model.metadata
    print(f"Imported {model.kind} {args.model} into {result.run}")
    print(
        f"  {md.training_algorithm}, {md.neural_network}, sensors {list(md.sensor)}, "
        f"{'continuous' if md.is_continuous else f'{md.num_actions} discrete actions'}"
    )
    print(f"  checkpoint {result.checkpoint} (best and last)")
    for note in model.notes:
        print(f"note: {note}")
    for path in result.written:
        print(f"wrote {path}")
    return 0
