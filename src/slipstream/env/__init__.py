"""slipstream.env"""
