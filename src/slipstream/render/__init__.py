"""slipstream.render"""
