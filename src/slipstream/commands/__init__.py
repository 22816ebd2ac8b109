"""Subcommands of the `slipstream` CLI (see slipstream.cli)."""

from __future__ import annotations

import argparse

from slipstream.model.run_model import CHECKPOINT_CHOICES


def add_checkpoint_argument(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    default: str = "best",
    which: str = "which checkpoint",
) -> None:
    """`--checkpoint best|last|averaged` of the commands that load a run's policy."""
    parser.add_argument(
        "--checkpoint",
        choices=CHECKPOINT_CHOICES,
        default=default,
        help=f"{which} (default {default}); averaged: the last one's averaged policy (a run "
        "trained with --policy-average)",
    )
