"""The TensorFlow names DeepRacer's exported graph uses for each training algorithm
(docs/deepracer.md 4.3): the rl_coach scope of the policy's input placeholders and the frozen
graph's output node. Plain strings, so ONNX evaluation and export read them without torch; the
`ALGORITHMS` table (model/algorithms.py) takes its entries from here."""

from __future__ import annotations

from typing import NamedTuple


class GraphNames(NamedTuple):
    scope: str
    """rl_coach's TF scope of the policy's input placeholders."""
    output_node: str
    """The frozen graph's output node (DeepRacer's FROZEN_HEAD_OUTPUT_GRAPH_FORMAT_MAPPING)."""


PPO_SCOPE = "main_level/agent/main/online"
SAC_SCOPE = "main_level/agent/policy/online"

GRAPH_NAMES: dict[str, GraphNames] = {
    "clipped_ppo": GraphNames(PPO_SCOPE, f"{PPO_SCOPE}/network_1/ppo_head_0/policy"),
    "sac": GraphNames(SAC_SCOPE, f"{SAC_SCOPE}/network_0/sac_policy_head_0/policy"),
}
