"""Evaluation of trained models: trials as DeepRacer's evaluation job runs them, head-to-head
races of two models, and videos.

* `evaluate_run(run, ...)`: trials (or continuous laps) of a run's checkpoint or ONNX export;
  writes ``RUN/evaluation-<ts>/evaluation-simtrace/0-iteration.csv``,
  ``RUN/metrics/EvaluationMetrics-<ts>.json`` and the evaluation log.
* `evaluate_run_tracks(run, "official", ...)`: the trials on every track of a set (one or both
  directions), batched; writes one table, ``RUN/evaluation/tracks-<ts>.csv`` and ``.json``
  (track_evaluation.py runs it, tracks_table.py is the table).
* `race_runs(run_a, run_b, ...)`: HEAD_TO_MODEL, both cars in one world, metrics and simtrace in
  each model's run folder.
* `episodes`: DeepRacer's trial and lap accounting (counts, lap times, simtrace columns).
"""

from slipstream.evaluate.episodes import TrialRecord, episode_trace
from slipstream.evaluate.evaluation import (
    EvaluationError,
    EvaluationResult,
    evaluate_model,
    evaluate_run,
    evaluation_world,
    run_episodes,
)
from slipstream.evaluate.policy_loader import LoadedModel, Policy, RunModelError, load_run_model
from slipstream.evaluate.race import RaceResult, race_models, race_runs
from slipstream.evaluate.track_evaluation import (
    Route,
    TracksResult,
    evaluate_routes,
    evaluate_run_tracks,
    plan_routes,
)
from slipstream.evaluate.tracks_table import RouteRow, TracksTable, summarize_routes

__all__ = [
    "EvaluationError",
    "EvaluationResult",
    "LoadedModel",
    "Policy",
    "RaceResult",
    "Route",
    "RouteRow",
    "RunModelError",
    "TracksResult",
    "TracksTable",
    "TrialRecord",
    "episode_trace",
    "evaluate_model",
    "evaluate_routes",
    "evaluate_run",
    "evaluate_run_tracks",
    "evaluation_world",
    "load_run_model",
    "plan_routes",
    "race_models",
    "race_runs",
    "run_episodes",
    "summarize_routes",
]
