"""slipstream.viz"""
