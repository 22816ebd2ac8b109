"""Subcommands of the `slipstream` CLI (see slipstream.cli)."""
