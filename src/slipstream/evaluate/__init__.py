"""slipstream.evaluate"""
