"""The terminal: `candor chat` (you are the customer) and `candor desk` (you are an
agent), on the same engine and store.

This package imports nothing on its own, like the other adapters' packages.
"""
