"""What "the model" is: the table of training algorithms, building a policy and its learner,
and loading a run's model (docs/architecture.md). Between runs/ and rollout/: it reads run
folders, and the rollout workers, evaluation and export use it.

Import from the submodules (`model.algorithms`, `model.policy`, `model.graph_names`): this
package imports nothing itself, so the torch-free parts (graph names) load without torch.
"""
