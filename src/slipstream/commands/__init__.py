"""Subcommands of the `slipstream` CLI (see slipstream.cli)."""

from __future__ import annotations

import argparse

from slipstream.model.run_model import CHECKPOINT_CHOICES


def _numbered_checkpoint(value: str) -> str:
    if value in CHECKPOINT_CHOICES or value.isdigit():
        return value
    raise argparse.ArgumentTypeError(
        f"{value!r}: give best, last, averaged or a checkpoint number N"
    )


def add_checkpoint_argument(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    default: str = "best",
    which: str = "which checkpoint",
    numbered: bool = False,
) -> None:
    """`--checkpoint best|last|averaged` of the commands that load a run's policy (`numbered`:
    also a checkpoint number N, as export takes)."""
    choice = (
        {"type": _numbered_checkpoint, "metavar": "best|last|averaged|N"}
        if numbered
        else {"choices": CHECKPOINT_CHOICES}
    )
    parser.add_argument(
        "--checkpoint",
        default=default,
        help=f"{which} (default {default}); averaged: the last one's averaged policy (a run "
        "trained with --policy-average)",
        **choice,
    )
