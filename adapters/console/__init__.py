"""The terminal: `candor chat` (you are the customer) and `candor desk` (you are an
agent), on the same engine and store.

`platform.py` declares the platform to the core; every `candor` command loads it to
read the config, so this package imports nothing on its own.
"""
