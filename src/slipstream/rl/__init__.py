"""slipstream.rl"""
