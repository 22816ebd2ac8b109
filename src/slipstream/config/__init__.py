"""slipstream.config"""
