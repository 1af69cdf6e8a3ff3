"""`tx.web` on SQLite (and, translated, PostgreSQL): keyed digests of the tokens."""

from __future__ import annotations

from datetime import datetime

from bot.store.sqlite.rows import ts
from bot.store.sqlite.session import Repository


class SQLiteWebSignIn(Repository):
    """The `WebSignIn` protocol (its contract is there)."""

    __slots__ = ()

    async def add_link(self, token: str, agent: str, now: datetime, expires: datetime) -> None:
        s = self._s
        await s.exec("DELETE FROM web_links WHERE expires_at < ?", (ts(now),))
        await s.exec(
            "INSERT INTO web_links (digest, agent, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (s.digest(f"web-link\x1f{token}"), agent, ts(now), ts(expires)),
        )

    async def take_link(self, token: str, now: datetime) -> str | None:
        s = self._s
        key = s.digest(f"web-link\x1f{token}")
        # one statement: of two takes at once, only one gets the row
        row = await s.one(
            "DELETE FROM web_links WHERE digest = ? AND expires_at >= ? RETURNING agent",
            (key, ts(now)),
        )
        await s.exec("DELETE FROM web_links WHERE expires_at < ?", (ts(now),))
        return None if row is None else str(row[0])

    async def add_session(self, token: str, agent: str, now: datetime, expires: datetime) -> None:
        s = self._s
        await s.exec("DELETE FROM web_sessions WHERE expires_at < ?", (ts(now),))
        await s.exec(
            "INSERT INTO web_sessions (digest, agent, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (s.digest(f"web-session\x1f{token}"), agent, ts(now), ts(expires)),
        )

    async def session(self, token: str, now: datetime) -> str | None:
        s = self._s
        row = await s.one(
            "SELECT agent FROM web_sessions WHERE digest = ? AND expires_at >= ?",
            (s.digest(f"web-session\x1f{token}"), ts(now)),
        )
        return None if row is None else str(row[0])

    async def end_session(self, token: str) -> None:
        s = self._s
        await s.exec(
            "DELETE FROM web_sessions WHERE digest = ?", (s.digest(f"web-session\x1f{token}"),)
        )
