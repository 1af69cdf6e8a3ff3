"""`tx.web`: the web dashboard's one-time sign-in links and its sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class WebSignIn(Protocol):
    """Tokens are secrets: only a keyed digest of each is stored, so a copy of the
    database opens no session. Each names the agent (their configured name) and
    expires; a link is taken once. Expired rows are deleted as they are met."""

    async def add_link(self, token: str, agent: str, now: datetime, expires: datetime) -> None:
        """Keep a sign-in link for `agent`, valid until `expires`."""

    async def take_link(self, token: str, now: datetime) -> str | None:
        """The agent of the link, which is gone from then on; None if there is none,
        it was taken already or it expired."""

    async def add_session(self, token: str, agent: str, now: datetime, expires: datetime) -> None:
        """Keep a session for `agent`, open until `expires`."""

    async def session(self, token: str, now: datetime) -> str | None:
        """The agent of the session, while it is open; None otherwise."""

    async def end_session(self, token: str) -> None:
        """Close the session (signing out); nothing if there is none."""
