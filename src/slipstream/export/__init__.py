"""slipstream.export"""
