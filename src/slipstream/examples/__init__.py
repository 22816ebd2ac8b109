"""Example DeepRacer models shipped with Slipstream (`slipstream train --example NAME`).

Each example is a folder of DeepRacer files, read like a DRfC `custom_files/` folder:
`model_metadata.json`, `reward_function.py`, `hyperparameters.json`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

EXAMPLES = ("racing",)
FILES = ("model_metadata.json", "reward_function.py", "hyperparameters.json")


class UnknownExampleError(ValueError):
    """An example name that Slipstream does not ship."""


def example_dir(name: str) -> Path:
    """The folder of the shipped example `name`."""
    if name not in EXAMPLES:
        raise UnknownExampleError(f"unknown example {name!r}; choose one of {', '.join(EXAMPLES)}")
    return Path(str(resources.files("slipstream").joinpath("examples", name)))


def example_file(name: str, file: str) -> Path:
    """One of the example's DeepRacer files (`FILES`)."""
    return example_dir(name) / file


__all__ = ["EXAMPLES", "FILES", "UnknownExampleError", "example_dir", "example_file"]
