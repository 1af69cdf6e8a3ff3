"""Customers in shared Slack channels and DMs; agents in a Slack triage channel."""

from adapters.slack.channel import SlackChannel, make_client
from adapters.slack.convert import Ignored, Where, action_to_inbound, message_to_inbound
from adapters.slack.send import SlackSender, blocks_for

__all__ = [
    "Ignored",
    "SlackChannel",
    "SlackSender",
    "Where",
    "action_to_inbound",
    "blocks_for",
    "make_client",
    "message_to_inbound",
]
