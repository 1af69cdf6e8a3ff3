"""Customers in shared Slack channels and DMs; agents in a Slack triage channel.

`platform.py` declares the platform to the core; every `candor` command loads it to
read the config, so this package imports nothing on its own: slack-bolt comes in
with `channel` and `send`, when they are used.
"""
