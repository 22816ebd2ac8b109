"""The user's `reward_function.py`: loading it, calling it safely, checking what it returns.

DeepRacer's contract (docs/deepracer.md section 1): the module defines `reward_function(params)`; it is
called with a deep copy of the params dict; its return value is cast with `float()`; NaN, Inf or
a value outside [-1e5, 1e5] stops the job. Slipstream keeps that contract and turns every
failure into a `RewardFunctionError` naming the file, the line in the user's file, the exception
or value, and (compactly) the params that caused it.

Text results: DeepRacer `float()`-casts the return value, so a function returning the string
"1.0" works there. Slipstream accepts it too (1.0), logging a warning once per function; text that
is not a number ("abc"), None, lists and other non-numbers are errors.

A `RewardFunction` pickles by its source text, so Ray workers on other machines rebuild it
without the file.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import itertools
import linecache
import logging
import math
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from slipstream.config.errors import RewardFunctionError, did_you_mean

logger = logging.getLogger(__name__)

REWARD_LIMIT = 1e5  # |reward| above this stops a DeepRacer job
SLOW_CALL_SECONDS = 1e-3
"""A reward function slower than this per call gets a warning (it runs once per car per step)."""
SLOW_CHECK_CALLS = 200
"""Calls measured before the speed check (the first calls include imports and warm-up)."""
FUNCTION_NAME = "reward_function"

# The 27 keys of DeepRacer's params dict (docs/deepracer.md section 1).
REWARD_PARAMS_KEYS = (
    "all_wheels_on_track",
    "x",
    "y",
    "heading",
    "distance_from_center",
    "projection_distance",
    "is_left_of_center",
    "progress",
    "steps",
    "speed",
    "steering_angle",
    "track_width",
    "track_length",
    "waypoints",
    "closest_waypoints",
    "is_reversed",
    "is_offtrack",
    "is_crashed",
    "closest_objects",
    "objects_location",
    "objects_left_of_center",
    "objects_speed",
    "objects_heading",
    "objects_distance_from_center",
    "objects_distance",
    "object_in_camera",
    "sim_time",
)

_module_counter = itertools.count()


class RewardFunction:
    """A user's reward function with its origin; call it with a params dict to get a float.

    `function` is the callable; `path` the file it came from (None for a plain callable);
    `source_text` that file's text. With `copy_params` (default, as DeepRacer) each call gets a
    deep copy of params (`copy_params()`), so the function cannot alter the simulator's dict.
    """

    def __init__(
        self,
        function: Callable[[dict[str, Any]], Any],
        *,
        path: str | Path | None = None,
        source_text: str | None = None,
        copy_params: bool = True,
    ) -> None:
        self.function = function
        self.path = None if path is None else Path(path)
        self.source_text = source_text
        self.copy_params = copy_params
        self._warned_text = False
        self.calls = 0
        """Calls that returned (for the speed check)."""
        self.seconds = 0.0
        """Time spent in those calls, measured around the user's function."""
        _check_signature(function, self._where())

    @classmethod
    def from_callable(
        cls, function: Callable[[dict[str, Any]], Any], *, copy_params: bool = True
    ) -> RewardFunction:
        """Wrap a plain Python callable `f(params) -> number`."""
        if isinstance(function, RewardFunction):
            return function
        if not callable(function):
            raise RewardFunctionError(
                f"expected a callable, got a {type(function).__name__}",
                fix="pass a function f(params) -> float, or the path of a reward_function.py",
            )
        return cls(function, copy_params=copy_params)

    @property
    def name(self) -> str:
        """Where the function comes from, for messages: the file path or the callable's name."""
        if self.path is not None:
            return str(self.path)
        return getattr(self.function, "__qualname__", repr(self.function))

    def __call__(self, params: Mapping[str, Any]) -> float:
        """The reward for one step: the user's value, float()-cast and checked."""
        arg = copy_params(params) if self.copy_params else params
        start = time.perf_counter()
        try:
            value = self.function(arg)
        except Exception as exc:
            raise self._call_error(exc, params) from exc
        self.seconds += time.perf_counter() - start
        self.calls += 1
        if self.calls == SLOW_CHECK_CALLS:
            self._check_speed()
        return self._to_reward(value, params)

    @property
    def seconds_per_call(self) -> float:
        """Mean measured time of one call so far (0 before the first call)."""
        return self.seconds / self.calls if self.calls else 0.0

    def _check_speed(self) -> None:
        per_call = self.seconds_per_call
        if per_call > SLOW_CALL_SECONDS:
            logger.warning(
                "%s: reward_function takes %.2f ms per call (mean of its first %d calls), more "
                "than %.0f ms: it is called once per car per step, so it slows training down; "
                "precompute what does not change (waypoint geometry, constants) outside it",
                self.name,
                1000 * per_call,
                self.calls,
                1000 * SLOW_CALL_SECONDS,
            )

    def __repr__(self) -> str:
        return f"RewardFunction({self.name!r})"

    # --- pickling (Ray ships the source text, not the file path) --------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = {"copy_params": self.copy_params}
        if self.path is not None and self.source_text is not None:
            state.update(path=str(self.path), source_text=self.source_text)
        else:
            state["function"] = self.function
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "source_text" in state:
            loaded = _load_source(state["source_text"], Path(state["path"]))
            self.__dict__.update(loaded.__dict__)
            self.copy_params = state["copy_params"]
        else:
            self.__init__(state["function"], copy_params=state["copy_params"])

    # --- helpers ------------------------------------------------------------------------------
    def _where(self) -> str:
        return self.name

    def _user_filename(self) -> str | None:
        if self.path is not None:
            return str(self.path)
        code = getattr(self.function, "__code__", None)
        return None if code is None else code.co_filename

    def _call_error(self, exc: BaseException, params: Mapping[str, Any]) -> RewardFunctionError:
        filename = self._user_filename()
        frames = traceback.extract_tb(exc.__traceback__)
        mine = [f for f in frames if filename is not None and f.filename == filename]
        frame = mine[-1] if mine else (frames[-1] if frames else None)
        where = self.name
        at = ""
        if frame is not None:
            where = f"{frame.filename}:{frame.lineno}"
            line = (frame.line or "").strip()
            at = f" at line {frame.lineno}" + (f" ({line!r})" if line else "")
        error = RewardFunctionError(
            f"reward_function raised {type(exc).__name__}: {exc}{at}, for params "
            f"{compact_params(params)}",
            source=where,
            fix="fix the reward function so it handles these params (test it with "
            "slipstream.config.check_reward_function)",
        )
        error.params = dict(params)
        return error

    def _to_reward(self, value: Any, params: Mapping[str, Any]) -> float:
        try:
            return self._checked_reward(value, params)
        except RewardFunctionError as error:
            error.params = dict(params)
            raise

    def _checked_reward(self, value: Any, params: Mapping[str, Any]) -> float:
        if type(value) is float or type(value) is int:  # the common case, checked cheaply
            if math.isfinite(value) and abs(value) <= REWARD_LIMIT:
                return float(value)
        if type(value) is float and math.isfinite(value) and abs(value) <= REWARD_LIMIT:
            return value  # the common case, checked without building any message
        fix = "return a finite number within [-1e5, 1e5], e.g. return float(reward)"
        context = f"for params {compact_params(params)}"
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise RewardFunctionError(
                    f"reward_function returned text that is not a number, {context}",
                    source=self.name,
                    value=value,
                    fix=fix,
                ) from None
            if not self._warned_text:
                self._warned_text = True
                logger.warning(
                    "%s: reward_function returned the text %r; it is float()-cast as DeepRacer "
                    "does, but return a number instead",
                    self.name,
                    value,
                )
        elif (
            value is None
            or isinstance(value, list | tuple | dict | set)
            or (getattr(value, "ndim", 0) > 0)
        ):
            raise RewardFunctionError(
                f"reward_function returned a {type(value).__name__}, not a number, {context}",
                source=self.name,
                value=value,
                fix=fix + " (did a branch forget its return statement?)" if value is None else fix,
            )
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise RewardFunctionError(
                    f"reward_function returned a {type(value).__name__}, which float() cannot "
                    f"convert, {context}",
                    source=self.name,
                    value=value,
                    fix=fix,
                ) from None
        if not math.isfinite(number):
            raise RewardFunctionError(
                f"reward_function returned a non-finite reward, {context}",
                source=self.name,
                value=value,
                fix=fix + " (look for a division by zero or math on NaN)",
            )
        if abs(number) > REWARD_LIMIT:
            raise RewardFunctionError(
                f"reward_function returned a reward outside [-1e5, 1e5], {context}",
                source=self.name,
                value=value,
                fix=fix,
            )
        return number


def load_reward_function(path: str | Path, *, copy_params: bool = True) -> RewardFunction:
    """Execute a reward_function.py as a fresh module and return its `reward_function`.

    The file runs under a unique module name (from `importlib.util.spec_from_file_location`), so
    two files, or one file loaded twice, never share state. No bytecode is written next to it.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RewardFunctionError(
            "file does not exist",
            source=path,
            fix="give the path of a Python file that defines reward_function(params)",
        ) from None
    except OSError as exc:
        raise RewardFunctionError(f"cannot read the file ({exc})", source=path) from None
    result = _load_source(text, path.resolve())
    result.copy_params = copy_params
    return result


def reward_function_from_source(
    text: str, name: str | Path, *, copy_params: bool = True
) -> RewardFunction:
    """A reward function from the text of a reward_function.py (e.g. read from an S3 run folder).

    `name` is where the text came from; messages and tracebacks name it.
    """
    result = _load_source(text, Path(str(name)))
    result.copy_params = copy_params
    return result


def default_reward_function_path() -> Path:
    """The shipped default reward_function.py (centre-line bands, all wheels on track)."""
    return Path(str(resources.files("slipstream").joinpath("defaults", "reward_function.py")))


def as_reward_function(
    spec: str | Path | Callable[[dict[str, Any]], Any] | RewardFunction | None,
) -> RewardFunction:
    """A `RewardFunction` from a path, a callable, an existing one, or None (the default)."""
    if spec is None:
        return load_reward_function(default_reward_function_path())
    if isinstance(spec, RewardFunction):
        return spec
    if isinstance(spec, str | Path):
        return load_reward_function(spec)
    return RewardFunction.from_callable(spec)


def check_reward_function(
    function: str | Path | Callable[[dict[str, Any]], Any] | RewardFunction | None,
    sample_params: Mapping[str, Any],
) -> float:
    """Call the reward function once on `sample_params`, as DeepRacer does before training.

    `function` as for `as_reward_function` (None = the shipped default). Returns the reward;
    raises `RewardFunctionError` if loading, the call or the value fails.
    `sample_params` must hold all 27 DeepRacer keys (`REWARD_PARAMS_KEYS`).
    """
    missing = [k for k in REWARD_PARAMS_KEYS if k not in sample_params]
    if missing:
        raise ValueError(f"sample_params lacks DeepRacer keys {missing}")
    return as_reward_function(function)(sample_params)


_IMMUTABLE_TYPES = frozenset({bool, int, float, str, type(None)})


def copy_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a params dict sharing nothing mutable with it (what DeepRacer's deepcopy gives).

    Lists, dicts and nested containers are copied; tuples of numbers (waypoints) are immutable
    and shared, which makes this about 5x faster than `copy.deepcopy` on DeepRacer params.
    Objects of other types fall back to `copy.deepcopy`.
    """
    return {key: _fresh(value) for key, value in params.items()}


def _all_immutable(values: Any) -> bool:
    """True when every item is an immutable scalar (type checks in C: map and set, no loop)."""
    return set(map(type, values)) <= _IMMUTABLE_TYPES


def _frozen(value: Any) -> bool:
    kind = type(value)
    return kind in _IMMUTABLE_TYPES or (kind is tuple and _all_immutable(value))


def _fresh(value: Any) -> Any:
    kind = type(value)
    if kind in _IMMUTABLE_TYPES:
        return value
    if kind is list:
        kinds = set(map(type, value))
        if kinds <= _IMMUTABLE_TYPES or (
            kinds == {tuple} and _all_immutable(itertools.chain.from_iterable(value))
        ):  # flat values, or tuples of them (waypoints, object locations): shared, immutable
            return value.copy()
        return [_fresh(v) for v in value]
    if kind is tuple:
        return value if _frozen(value) else tuple(_fresh(v) for v in value)
    if kind is dict:
        return {k: _fresh(v) for k, v in value.items()}
    return copy.deepcopy(value)


def compact_params(params: Mapping[str, Any], limit: int = 700) -> str:
    """A short, readable rendering of a params dict: numbers rounded, long lists summarised."""
    parts = []
    for key, value in params.items():
        parts.append(f"{key}={_compact(value)}")
    text = "{" + ", ".join(parts) + "}"
    if len(text) > limit:
        text = text[: limit - 5] + " ...}"
    return text


def _compact(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float):
        text = f"{value:.4g}"
        return text if any(c in text for c in ".eni") else text + ".0"
    if isinstance(value, list | tuple):
        if len(value) > 4:
            return f"<{len(value)} items>"
        inner = ", ".join(_compact(v) for v in value)
        return f"[{inner}]"
    if hasattr(value, "shape"):
        return f"<array {tuple(value.shape)}>"
    return repr(value)


def _load_source(text: str, path: Path) -> RewardFunction:
    filename = str(path)
    module_name = f"slipstream_user_reward_{next(_module_counter)}_{_identifier(path.stem)}"
    spec = importlib.util.spec_from_file_location(module_name, filename)
    if spec is None:  # only for odd file names (no .py suffix): fall back to a bare spec
        spec = importlib.util.spec_from_loader(module_name, loader=None, origin=filename)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = filename
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)  # tracebacks show the lines
    try:
        code = compile(text, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        column = f", column {exc.offset}" if exc.offset else ""
        raise RewardFunctionError(
            f"syntax error at line {exc.lineno}{column}: {exc.msg}"
            + (f" (the line reads: {line!r})" if line else ""),
            source=f"{filename}:{exc.lineno}",
            fix="correct the Python syntax on that line",
        ) from None
    sys.modules[module_name] = module  # dataclasses and pickling inside the user file need this
    try:
        exec(code, module.__dict__)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
        lineno = frames[-1].lineno if frames else None
        line = (frames[-1].line or "").strip() if frames else ""
        raise RewardFunctionError(
            f"running the file failed with {type(exc).__name__}: {exc}"
            + (f" at line {lineno} ({line!r})" if lineno else ""),
            source=f"{filename}:{lineno}" if lineno else filename,
            fix="the file's top level (imports, constants) must run without error; "
            "DeepRacer's simulator has only the Python standard library, numpy, math and shapely",
        ) from exc
    function = module.__dict__.get(FUNCTION_NAME)
    if function is None:
        defined = [n for n, v in module.__dict__.items() if callable(v) and not n.startswith("_")]
        raise RewardFunctionError(
            f"the file defines no reward_function.{did_you_mean(FUNCTION_NAME, defined)}",
            source=filename,
            fix="define `def reward_function(params):` returning a float",
        )
    if not callable(function):
        raise RewardFunctionError(
            f"reward_function is a {type(function).__name__}, not a function",
            source=filename,
            fix="define `def reward_function(params):` returning a float",
        )
    return RewardFunction(function, path=path, source_text=text)


def _check_signature(function: Callable[..., Any], where: str) -> None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return  # builtins without a signature: trust them
    try:
        signature.bind(object())
    except TypeError:
        raise RewardFunctionError(
            f"reward_function must take exactly one argument (params); its signature is "
            f"{signature}",
            source=where,
            fix="define it as `def reward_function(params):`",
        ) from None


def _identifier(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


__all__ = [
    "REWARD_LIMIT",
    "REWARD_PARAMS_KEYS",
    "RewardFunction",
    "as_reward_function",
    "check_reward_function",
    "compact_params",
    "copy_params",
    "default_reward_function_path",
    "load_reward_function",
    "reward_function_from_source",
]
