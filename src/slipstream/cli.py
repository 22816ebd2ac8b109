"""`slipstream` command line: one command tree, each subcommand in `slipstream.commands.<name>`.

Each command module defines `add_arguments(parser)` and `run(args) -> int`: it parses arguments,
calls one function of the layers below, and prints. Each command's one-line help is `COMMANDS`'s.
Modules are imported only when their command runs, so `slipstream --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "train": "Train a model (Clipped PPO or SAC) into a DeepRacer-layout run folder.",
    "evaluate": "Evaluate a trained model: time trial, object avoidance or head-to-bot trials.",
    "race": "Head-to-head race of two models on one track.",
    "export": "Export a model: the car's model.tar.gz, a DeepRacer model prefix, or ONNX.",
    "import": "Import a DeepRacer model (car model.tar.gz, model.pb or model prefix) as a run.",
    "tracks": "List, show, fetch and generate tracks.",
    "analyze": "Plot a run folder's training and evaluation metrics; write an HTML report.",
    "dashboard": "Live web dashboard of training runs: charts, the cars' camera and track, log, inputs.",
    "calibrate": "Fit the car's dynamics (CarParams) to DeepRacer simtraces and compare the two cars.",
    "camera": "Camera tools: compare Slipstream's camera with real DeepRacer frames.",
    "bench": "Benchmarks: simulator steps/s, training throughput, minutes to the first full lap.",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slipstream",
        description="DeepRacer-style RL training: batched simulator, PPO/SAC on Ray, DeepRacer formats.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text, add_help=False)
    return parser


MODULES = {"import": "import_model"}
"""Command modules whose name differs from the command (``import`` is a Python keyword)."""


def _load(name: str):
    module = f"slipstream.commands.{MODULES.get(name, name)}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    top = build_parser()
    if not argv or argv[0] in ("-h", "--help"):
        top.print_help()
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        top.error(f"unknown command {name!r}; choose from {', '.join(COMMANDS)}")
    module = _load(name)
    if module is None:
        print(f"slipstream {name}: not available in this version yet", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog=f"slipstream {name}", description=COMMANDS[name])
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
