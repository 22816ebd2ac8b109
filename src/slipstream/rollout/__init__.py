"""slipstream.rollout"""
