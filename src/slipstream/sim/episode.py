"""DeepRacer episode rules (docs/deepracer.md 5.3) as pure batched functions.

Statuses are small integers in arrays; `STATUS_NAMES` gives DeepRacer's strings. When several
rules fire in one step the reported status is the first in DeepRacer's enum order:
lap_complete, crashed, off_track, immobilized, reversed.
"""

from __future__ import annotations

import numpy as np

IN_PROGRESS, LAP_COMPLETE, CRASHED, OFF_TRACK, IMMOBILIZED, REVERSED, PREPARE, PAUSE, TIME_UP = (
    range(9)
)
STATUS_NAMES = (
    "in_progress",
    "lap_complete",
    "crashed",
    "off_track",
    "immobilized",
    "reversed",
    "prepare",
    "pause",
    "time_up",
)
STATUS_LABELS = (
    "In progress",
    "Lap complete",
    "Crashed",
    "Off track",
    "Immobilized",
    "Reversed",
    "Prepare",
    "Pause",
    "Time Up",
)

IMMOBILIZED_DISTANCE = 0.0003
"""A car that moves at most this far (m) per step ..."""
IMMOBILIZED_STEPS = 15
"""... for this many consecutive run steps is immobilized."""
DEFAULT_REVERSE_COUNTS = 15
"""NUMBER_OF_REVERSE_COUNTS: consecutive steps of falling progress that mean 'reversed'."""


def update_counters(
    moved: np.ndarray,
    progress: np.ndarray,
    prev_progress: np.ndarray,
    immobile_count: np.ndarray,
    reverse_count: np.ndarray,
    running: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive-step counters for the immobilized and reversed rules (only in the run phase)."""
    still = running & (moved <= IMMOBILIZED_DISTANCE)
    backwards = running & (progress < prev_progress)
    return np.where(still, immobile_count + 1, 0), np.where(backwards, reverse_count + 1, 0)


def judge(
    progress: np.ndarray,
    crashed: np.ndarray,
    off_track: np.ndarray,
    immobile_count: np.ndarray,
    reverse_count: np.ndarray,
    number_of_reverse_counts: int = DEFAULT_REVERSE_COUNTS,
) -> np.ndarray:
    """Status of each car in the run phase, by DeepRacer's enum priority."""
    status = np.full(progress.shape, IN_PROGRESS, dtype=np.int8)
    rules = (
        (progress >= 100.0, LAP_COMPLETE),
        (crashed, CRASHED),
        (off_track, OFF_TRACK),
        (immobile_count >= IMMOBILIZED_STEPS, IMMOBILIZED),
        (reverse_count >= number_of_reverse_counts, REVERSED),
    )
    for fired, code in reversed(rules):
        status = np.where(fired, code, status)
    return status


def penalty_seconds(
    status: np.ndarray, off_track_penalty: float, collision_penalty: float
) -> np.ndarray:
    """Time penalty of a reset (s): off-track and reversed cost OFF_TRACK_PENALTY, crashes
    COLLISION_PENALTY, immobilized nothing."""
    out = np.zeros(status.shape)
    out = np.where((status == OFF_TRACK) | (status == REVERSED), off_track_penalty, out)
    return np.where(status == CRASHED, collision_penalty, out)
