"""Evaluation of trained models: trials as DeepRacer's evaluation job runs them, head-to-head
races of two models, and videos.

* `evaluate_run(run, ...)`: trials (or continuous laps) of a run's checkpoint or ONNX export;
  writes ``RUN/evaluation-<ts>/evaluation-simtrace/0-iteration.csv``,
  ``RUN/metrics/EvaluationMetrics-<ts>.json`` and the evaluation log.
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

__all__ = [
    "EvaluationError",
    "EvaluationResult",
    "LoadedModel",
    "Policy",
    "RaceResult",
    "RunModelError",
    "TrialRecord",
    "episode_trace",
    "evaluate_model",
    "evaluate_run",
    "evaluation_world",
    "load_run_model",
    "race_models",
    "race_runs",
    "run_episodes",
]
