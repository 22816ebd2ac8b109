"""slipstream.sim"""
