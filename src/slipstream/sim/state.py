"""The simulator's state as one value, and the rule that freezes finished cars.

`SimState` holds every per-car quantity an episode changes, as arrays whose first axis is the
car (N, ...): the car's physical state (`CarState`, opaque here), the episode bookkeeping, and the
objects of each car's world. A step is a function from one `SimState` to the next
(`slipstream.sim.simulator.step_sim`); cars whose episode has ended keep their old values through
`where_cars(stepped, new, old)` over the whole state, so no hand-kept list of names can miss one.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from slipstream.sim.car import CarState
from slipstream.sim.objects_world import ObjectState

PHASE_PREPARE, PHASE_RUN, PHASE_PAUSE = 0, 1, 2


class SimState(NamedTuple):
    """Everything of N cars' episodes that a step or a reset changes (arrays (N, ...))."""

    car: CarState
    """The car's physical state (sim/car.py)."""
    steps: np.ndarray
    """float: steps of this episode so far."""
    phase: np.ndarray
    """int8: PHASE_PREPARE (the first step), PHASE_RUN, PHASE_PAUSE (held for a penalty)."""
    prev_progress: np.ndarray
    """Progress (%) at the previous step."""
    immobile_count: np.ndarray
    reverse_count: np.ndarray
    lap_count: np.ndarray
    """Laps completed in this episode (continuous evaluation)."""
    reset_count: np.ndarray
    """Resets with penalty so far in this episode."""
    pause_left: np.ndarray
    """s of penalty still to wait."""
    sim_time: np.ndarray
    """s since the episode's start."""
    prev_xy: np.ndarray
    """(N,2) front point at the previous step."""
    reverse: np.ndarray
    """bool: the car drives against the waypoint order this episode."""
    track: np.ndarray
    """int64: the world's track slot the car drives this episode (`SimWorld`)."""
    start_ndist: np.ndarray
    """Lap position of the episode's start line in the car's driving direction."""
    episodes_done: np.ndarray
    """Episodes this car has finished (advances the round robin)."""
    finished: np.ndarray
    """bool: no episode under way (never reset, or ended): frozen until a reset."""
    final_status: np.ndarray
    """int8: the status the car's last episode ended with (its rows while frozen)."""
    objects: ObjectState
    """Obstacles, bot cars and crash bookkeeping of each car's world."""


def where_cars(mask: np.ndarray, new: Any, old: Any) -> Any:
    """`new` where `mask` (N,) is True and `old` elsewhere, field by field through NamedTuples and
    dataclasses (and tuples) down to their arrays (first axis: the car). Non-array fields come from `new`."""
    if isinstance(new, np.ndarray):
        rows = mask.reshape((-1,) + (1,) * (new.ndim - 1))
        return np.where(rows, new, old).astype(new.dtype)
    if isinstance(new, tuple):
        parts = (where_cars(mask, a, b) for a, b in zip(new, old, strict=True))
        return type(new)(*parts) if hasattr(new, "_fields") else tuple(parts)
    if dataclasses.is_dataclass(new) and not isinstance(new, type):
        changes = {
            f.name: where_cars(mask, getattr(new, f.name), getattr(old, f.name))
            for f in dataclasses.fields(new)
            if isinstance(getattr(new, f.name), np.ndarray | tuple)
            or dataclasses.is_dataclass(getattr(new, f.name))
        }
        return dataclasses.replace(new, **changes)
    return new
