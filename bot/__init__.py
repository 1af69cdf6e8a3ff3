"""Candor's channel-neutral core. What this module exports is the API adapters use."""

from bot.model import (
    Address,
    Attachment,
    Button,
    Case,
    CaseState,
    Cause,
    Customer,
    Event,
    EventKind,
    Identity,
    Inbound,
    InboundKind,
    Outbound,
    Receipt,
)

__all__ = [
    "Address",
    "Attachment",
    "Button",
    "Case",
    "CaseState",
    "Cause",
    "Customer",
    "Event",
    "EventKind",
    "Identity",
    "Inbound",
    "InboundKind",
    "Outbound",
    "Receipt",
]
