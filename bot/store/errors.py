"""What any store raises: a backend's own errors are turned into these, so that the
engine and the command line handle every backend alike."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be used (unreadable, newer than this code, disk full…)."""


class GroupAborted(Exception):
    """The group commit a caller joined was rolled back, because another member or the
    commit failed: nothing of the caller's was stored, and it may run again alone."""


class NotJoined(GroupAborted):
    """A member of a group commit left it before it read or wrote anything (its
    customer's lock is held elsewhere: it would hold up the whole group): the group
    goes on; run the turn again alone, where it may wait, for a bounded time."""


class Busy(StoreError):
    """A turn waited its bounded time (`[storage] lock_wait_seconds`) for its
    customer's lock, which another process holds (paused, cut off, slow): nothing
    of it was stored; unacknowledged, the message comes again."""


class NoDatabase(StoreError, FileNotFoundError):
    """A read-only store found no database file where it was told to look."""


class NotACandorDatabase(StoreError, ValueError):
    """A read-only store found a database, but not one Candor made."""


class Unreachable(StoreError):
    """The database cannot be reached now (down, restarting, failing over, the network
    lost): nothing of what was being done is stored, and it may work in a moment. The
    store logs the outage once, and its end once (`bot.store.outage`): who catches
    this need not log it again."""
