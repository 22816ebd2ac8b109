"""Plain-text tables of evaluation trials and race results (what the commands print)."""

from __future__ import annotations

from collections.abc import Sequence

from slipstream.evaluate.episodes import TrialRecord
from slipstream.runs.metrics import status_label


def trial_table(records: Sequence[TrialRecord], lap_word: str = "trial") -> str:
    """One line per trial (or lap): completion %, lap time s, resets, off-track count, status."""
    header = (
        f"{lap_word:>6} {'completion':>11} {'lap time':>10} {'resets':>7} {'off-track':>10}  status"
    )
    lines = [header, "-" * len(header)]
    for r in records:
        note = "" if r.recorded else "  (unfinished lap: no metrics entry, as DeepRacer)"
        lines.append(
            f"{r.trial:>6} {r.progress:>10.1f}% {r.elapsed:>9.3f}s {r.reset_count:>7} "
            f"{r.off_track_count:>10}  {status_label(r.status)}{note}"
        )
    return "\n".join(lines)


def trial_summary(records: Sequence[TrialRecord]) -> str:
    """Laps completed, best and mean lap time, mean completion, total resets."""
    if not records:
        return "no trials"
    done = [r for r in records if r.completed]
    mean_completion = sum(min(r.progress, 100.0) for r in records) / len(records)
    parts = [
        f"completed {len(done)}/{len(records)} laps",
        f"mean completion {mean_completion:.1f}%",
    ]
    if done:
        times = [r.elapsed for r in done]
        parts.append(f"best lap {min(times):.3f} s")
        parts.append(f"mean lap {sum(times) / len(times):.3f} s")
    parts.append(f"resets {sum(r.reset_count for r in records)}")
    return ", ".join(parts)
