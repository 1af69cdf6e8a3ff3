"""Adapters: one package per platform. Each turns platform events into `Inbound`
and `Outbound` into platform calls, and decides nothing."""
