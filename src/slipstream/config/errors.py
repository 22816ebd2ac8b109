"""Errors raised while reading a user's DeepRacer files, and the helpers that word them.

Every error names, where known, the file (`source`), the key, the bad value and how to fix it, so
`str(error)` reads like::

    custom_files/model_metadata.json: action_space[2].speed = 5.0: speed is above the car's
    limit of 4.0 m/s. Fix: use a speed between 0.1 and 4.0 m/s.

All of them subclass `ValueError`, so callers that only care "was the input bad" catch that.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_UNSET: Any = object()


class ConfigError(ValueError):
    """A user's configuration input is invalid.

    Attributes: `problem` (what is wrong), `source` (file or other origin, may be None), `key`
    (the setting, may be None), `value` (the offending value, `None` when not given; see
    `has_value`), `fix` (how to fix it, may be None).
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | Path | None = None,
        key: str | None = None,
        value: Any = _UNSET,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = None if source is None else str(source)
        self.key = key
        self.has_value = value is not _UNSET
        self.value = None if value is _UNSET else value
        self.fix = fix
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.source:
            where.append(f"{self.source}:")
        if self.key is not None and self.has_value:
            where.append(f"{self.key} = {short_repr(self.value)}:")
        elif self.key is not None:
            where.append(f"{self.key}:")
        elif self.has_value:
            where.append(f"value {short_repr(self.value)}:")
        text = " ".join([*where, self.problem])
        if self.fix:
            text = text.rstrip(".")
            end = "" if text.endswith(("?", "!")) else "."
            text = f"{text}{end} Fix: {self.fix}"
        return text

    def with_source(self, source: str | Path, key_prefix: str | None = None) -> ConfigError:
        """A copy of this error of the same class, naming `source` (and prefixing the key)."""
        key = self.key
        if key_prefix:
            key = key_prefix if key is None else f"{key_prefix}.{key}"
        kwargs: dict[str, Any] = {"source": source, "key": key, "fix": self.fix}
        if self.has_value:
            kwargs["value"] = self.value
        new = type(self).__new__(type(self))
        ConfigError.__init__(new, self.problem, **kwargs)
        return new


class ModelMetadataError(ConfigError):
    """`model_metadata.json` is invalid (action space, sensors, network, algorithm, version)."""


class HyperparameterError(ConfigError):
    """`hyperparameters.json` (or a `--set` override) is invalid."""


class WorldConfigError(ConfigError):
    """A RoboMaker YAML key, a DRfC `run.env` variable or a world override is invalid."""


class CustomFilesError(ConfigError):
    """A DRfC `custom_files/` folder is missing a required file."""


class RewardFunctionError(ConfigError):
    """The user's reward function cannot be loaded, raised, or returned an unusable value.

    Raised from a call, it also carries the `params` of that call and, once the simulator and
    the episode loop and the rollout worker have added them, the `car`, `episode` (0-based, in
    start order within the call), `worker`, `trial` (the same episode, 1-based), `step` and
    `phase` (training or evaluation) where it happened (None where unknown).
    """

    params: dict[str, Any] | None = None
    car: int | None = None
    episode: int | None = None
    worker: int | None = None
    trial: int | None = None
    step: int | None = None
    phase: str | None = None


def did_you_mean(name: str, choices: Iterable[str], n: int = 3) -> str:
    """' Did you mean 'x'?' for the closest of `choices` to `name` (case-insensitive), or ''."""
    choices = list(choices)
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.6)
    if not close:
        return ""
    names = " or ".join(repr(by_lower[c]) for c in close)
    return f" Did you mean {names}?"


def short_repr(value: Any, limit: int = 120) -> str:
    """`repr(value)` cut to `limit` characters (long lists and strings stay readable)."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 5] + " ...>"
    return text


def read_json_object(path: str | Path, error_cls: type[ConfigError], what: str) -> dict[str, Any]:
    """Read a JSON file that must hold one object, with errors naming file, line and column.

    `what` says what the file is for (used in the fix text), e.g. "the model's action space".
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error_cls(
            "file does not exist", source=path, fix=f"give the path of the JSON file with {what}"
        ) from None
    except OSError as exc:
        raise error_cls(f"cannot read the file ({exc})", source=path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = text.splitlines()
        line_text = lines[exc.lineno - 1].strip() if 0 < exc.lineno <= len(lines) else ""
        raise error_cls(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            + (f" (the line reads: {line_text!r})" if line_text else ""),
            source=f"{path}:{exc.lineno}",
            fix="correct the JSON syntax there (common causes: a trailing comma, a missing comma "
            "or quote, single quotes instead of double quotes, Python True/None instead of "
            "true/null)",
        ) from None
    if not isinstance(data, dict):
        raise error_cls(
            f"the file holds a JSON {type(data).__name__}, not an object",
            source=path,
            fix=f"write a JSON object {{...}} with {what}",
        )
    return data


# --- value parsing shared by the loaders -------------------------------------------------------
# SageMaker passes hyperparameters as strings and DRfC writes every YAML value as a quoted string,
# so each loader accepts a value either typed or as text, and says which key was wrong.

_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "off"})


def parse_bool(value: Any, key: str, error_cls: type[ConfigError] = ConfigError) -> bool:
    """A bool from True/False, 0/1, or text such as "True", "false", "1", "yes" (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise error_cls(
        f"expected true or false, got a {type(value).__name__}",
        key=key,
        value=value,
        fix='write "true" or "false"',
    )


def parse_int(value: Any, key: str, error_cls: type[ConfigError] = ConfigError) -> int:
    """An int from an int, an integral float (3.0) or text ("3", "3.0")."""
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return int(value)
    elif isinstance(value, float) and value.is_integer():
        return int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                return int(number)
    elif hasattr(value, "__index__"):  # numpy integers
        return int(value.__index__())
    raise error_cls(
        f"expected a whole number, got a {type(value).__name__}",
        key=key,
        value=value,
        fix="write a whole number such as 64",
    )


def parse_float(value: Any, key: str, error_cls: type[ConfigError] = ConfigError) -> float:
    """A finite float from a number or text ("0.2", "1e-3")."""
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    elif hasattr(value, "__float__") and not isinstance(value, list | tuple | dict):
        number = float(value)  # numpy scalars
    if number is None:
        raise error_cls(
            f"expected a number, got a {type(value).__name__}",
            key=key,
            value=value,
            fix="write a number such as 0.5",
        )
    if number != number or number in (float("inf"), float("-inf")):
        raise error_cls(
            "the number is not finite", key=key, value=value, fix="write a finite number"
        )
    return number


def parse_str(value: Any, key: str, error_cls: type[ConfigError] = ConfigError) -> str:
    """A non-empty stripped string (numbers are accepted and turned into text)."""
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    else:
        raise error_cls(
            f"expected text, got a {type(value).__name__}", key=key, value=value, fix="write text"
        )
    if not text:
        raise error_cls("the value is empty", key=key, value=value, fix="write a non-empty value")
    return text


def parse_choice(
    value: Any,
    key: str,
    choices: Iterable[str],
    error_cls: type[ConfigError] = ConfigError,
    aliases: dict[str, str] | None = None,
) -> str:
    """One of `choices`, matched ignoring case and surrounding spaces (or via `aliases`).

    Returns the canonical spelling from `choices`.
    """
    choices = tuple(choices)
    text = parse_str(value, key, error_cls)
    lookup = {c.lower(): c for c in choices}
    for alias, target in (aliases or {}).items():
        lookup.setdefault(alias.lower(), target)
    found = lookup.get(text.lower())
    if found is None:
        raise error_cls(
            f"not a valid value.{did_you_mean(text, choices)}",
            key=key,
            value=value,
            fix=f"use one of {', '.join(repr(c) for c in choices)}",
        )
    return found
