"""Signing in to the dashboard without a password.

An agent types `/dashboard` on a desk and gets a one-time link, for their eyes
alone (`link_message`): valid `LINK_MINUTES`, taken once. Opening it shows a page
with a button (a link preview fetching the page takes nothing); pressing it takes
the link and opens a session, kept in an HttpOnly, SameSite=Strict cookie for
`SESSION_HOURS`. Only keyed digests of both tokens are stored (`tx.web`), so the
sessions survive a restart and a copy of the database opens none. Anything that
changes state carries a CSRF token made from the session's own (`csrf_token`).
An agent removed from the config is signed out at their next request."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from bot.model import Address, Cause, Delivery, Outbound, Purpose
from bot.store import Store, Transaction

LINK_MINUTES = 10
SESSION_HOURS = 12
COOKIE = "candor_session"
# Over https the cookie is named "__Host-...": a browser then keeps it only if it was
# set Secure, for "/", by this very host, so a sibling host (evil.example.com beside
# support.example.com) cannot plant a session of its own choosing in it.
SECURE_COOKIE = "__Host-" + COOKIE
SIGNIN_PATH = "/signin"
_TOKEN = re.compile(r"[0-9a-f]{64}")


def cookie_name(secure: bool) -> str:
    """The session cookie's name: `SECURE_COOKIE` over https, `COOKIE` else (a
    `__Host-` cookie must be Secure, which never comes back over http)."""
    return SECURE_COOKIE if secure else COOKIE


def new_token() -> str:
    """A random token: 256 bits, as hex (nothing a chat's markup can mangle)."""
    return secrets.token_hex(32)


def well_formed(token: str) -> bool:
    return bool(_TOKEN.fullmatch(token))  # not `match`: its "$" lets a final newline by


def csrf_token(session: str) -> str:
    """The form token of a session: unguessable without the session's cookie, which
    no other site can read."""
    return hmac.new(session.encode("ascii"), b"candor-csrf", hashlib.sha256).hexdigest()


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii"))


async def issue_link(tx: Transaction, agent: str, now: datetime) -> str:
    """A new one-time sign-in token for `agent`, stored (as its digest)."""
    token = new_token()
    await tx.web.add_link(token, agent, now, now + timedelta(minutes=LINK_MINUTES))
    return token


def link_message(
    address: Address, user_id: str, base_url: str, token: str, issued: datetime
) -> Outbound:
    """The link, for the agent alone: private, to be shown only to `user_id` where
    the desk is shared (Slack: an ephemeral message; Telegram: their private chat
    with the bot), and refused by the outbox where nobody can be shown it alone.
    It says until when it is valid: an outbox retry may bring it late."""
    only = "" if address.private else user_id
    until = (issued + timedelta(minutes=LINK_MINUTES)).astimezone(UTC).strftime("%H:%M")
    return Outbound(
        address=address,
        text=f"Your sign-in link to the dashboard (valid once, until {until} UTC; do"
        f" not share it): {base_url}{SIGNIN_PATH}/{token}",
        cause=Cause.DESK,
        delivery=Delivery(
            purpose=Purpose.DESK_REPLY, only_to=user_id, private=True, private_to=only
        ),
    )


class Sessions:
    """Sign-in links and sessions on a store, for the configured agents only."""

    def __init__(self, store: Store, agents: Callable[[], Collection[str]]) -> None:
        self.store = store
        self.agents = agents  # the names of the agents configured now

    async def sign_in(self, token: str, now: datetime) -> tuple[str, str] | None:
        """Take the link: (a new session's token, the agent), or None if the link is
        not one, used, expired or not a configured agent's."""
        if not await self.usable(token, now):  # a stranger's guess writes nothing
            return None
        async with self.store.transaction() as tx:
            agent = await tx.web.take_link(token, now)
            if agent is None or agent not in self.agents():
                return None
            session = new_token()
            await tx.web.add_session(session, agent, now, now + timedelta(hours=SESSION_HOURS))
        return session, agent

    async def usable(self, token: str, now: datetime) -> bool:
        """Whether the link would sign in now (a read: looking takes nothing)."""
        if not well_formed(token):
            return False
        async with self.store.reporting() as reads:
            return await reads.web_link(token, now)

    async def agent(self, session: str, now: datetime) -> str | None:
        """The configured agent whose open session this is, or None."""
        if not well_formed(session):
            return None
        async with self.store.reporting() as reads:  # a read: a forged cookie writes nothing
            agent = await reads.web_session(session, now)
        if agent is not None and agent not in self.agents():
            async with self.store.transaction() as tx:
                await tx.web.end_session(session)
            return None
        return agent

    async def sign_out(self, session: str) -> None:
        if well_formed(session):
            async with self.store.transaction() as tx:
                await tx.web.end_session(session)
