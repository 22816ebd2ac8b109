"""docs/architecture.md's layering: each package imports only the layers above it (read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

import slipstream

LAYERS = [
    "tracks",
    "config",
    "sim",
    "render",
    "env",
    "rl",
    "runs",
    "model",
    "rollout",
    "export",
    "evaluate",
    "viz",
    "commands",
]
ROOT = Path(slipstream.__file__).parent


def imported_layers(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "slipstream" and len(parts) > 1 and parts[1] in LAYERS:
                layers.add(parts[1])
    return layers


def test_each_layer_imports_only_the_layers_above_it():
    wrong = []
    for layer in LAYERS:
        rank = LAYERS.index(layer)
        for path in sorted((ROOT / layer).rglob("*.py")):
            for other in imported_layers(path):
                if LAYERS.index(other) > rank:
                    wrong.append(f"{path.relative_to(ROOT)} imports slipstream.{other}")
    assert wrong == []


def test_the_check_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from slipstream.runs import RunStorage\n")
    assert imported_layers(bad) == {"runs"}
