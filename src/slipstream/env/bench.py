"""Simulator benchmark: vector-env steps per second with the camera on and random actions."""

from __future__ import annotations

import time

import numpy as np

from slipstream.config.model_metadata import load_model_metadata
from slipstream.sim.car import CONTROL_HZ
from slipstream.tracks.registry import DEFAULT_TRACK


def benchmark_sim(
    batch_sizes=(1, 64),
    steps: int = 300,
    track: str | None = None,
    sensor: str = "FRONT_FACING_CAMERA",
    tracks: list[str] | None = None,
) -> list[dict]:
    """Time `steps` vector-env steps (after a warm-up) for each batch size.

    Includes everything a training step pays for: physics, episode rules, reward params, the
    default reward function, sensor rendering and autoreset. `tracks`: a batch of n cars drives
    the first n of these, one per car (cycled when fewer), instead of `track` for all.
    """
    from slipstream.env.vector_env import DeepRacerVectorEnv

    metadata = load_model_metadata(None).to_json_dict()
    metadata["sensor"] = [sensor]
    rows = []
    for n in batch_sizes:
        where = [tracks[i % len(tracks)] for i in range(n)] if tracks else track or DEFAULT_TRACK
        env = DeepRacerVectorEnv(n, track=where, model_metadata=metadata)
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        actions = rng.integers(0, env.single_action_space.n, size=(steps + 20, n))
        for a in actions[:20]:
            env.step(a)
        start = time.perf_counter()
        for a in actions[20:]:
            env.step(a)
        elapsed = time.perf_counter() - start
        sps = n * steps / elapsed
        rows.append(
            {
                "batch": n,
                "steps_per_second": round(sps, 1),
                "x_realtime": round(sps / CONTROL_HZ, 1),
                "ms_per_batch_step": round(1000 * elapsed / steps, 3),
                "sensor": sensor,
                "tracks": len(set(where)) if tracks else 1,
            }
        )
    return rows
