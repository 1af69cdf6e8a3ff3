"""Customers in shared Slack channels and DMs; agents in a Slack triage channel.

This package imports nothing on its own, so that a module of it that needs no
Slack library loads without one: slack-bolt comes in with `channel` and `send`,
when they are used.
"""
