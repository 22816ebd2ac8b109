"""What "the model" is: the table of training algorithms, building a policy and its learner,
and loading a run's model (docs/architecture.md). Between runs/ and rollout/: it reads run
folders, and the rollout workers, evaluation and export use it."""

from slipstream.model.algorithms import ALGORITHMS, Algorithm, algorithm_of, lidar_dim
from slipstream.model.policy import PolicyActor, build_learner, build_policy

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "PolicyActor",
    "algorithm_of",
    "build_learner",
    "build_policy",
    "lidar_dim",
]
