"""Slipstream: DeepRacer-style RL training with a batched simulator."""
