"""`tx.ideas` on SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bot.model import Idea, IdeaState
from bot.store.protocols.personal import Merge
from bot.store.sqlite.rows import ts
from bot.store.sqlite.session import Repository


class SQLiteIdeas(Repository):
    """The `Ideas` protocol (its contract is there)."""

    __slots__ = ()
    # the tables whose rows about a customer its personal-data hooks cover
    tables: ClassVar[tuple[str, ...]] = ("ideas", "idea_votes")

    async def add(self, customer_id: int, text: str, now: datetime) -> int:
        number = await self._s.insert(
            "INSERT INTO ideas (text, created_by, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (text, customer_id, ts(now), ts(now)),
        )
        await self.vote(number, customer_id, now)
        return number

    async def vote(self, idea_id: int, customer_id: int, now: datetime) -> bool:
        cursor = await self._s.exec(
            "INSERT OR IGNORE INTO idea_votes (idea_id, customer_id, at) VALUES (?, ?, ?)",
            (idea_id, customer_id, ts(now)),
        )
        return cursor.rowcount == 1

    async def top(self, limit: int = 10, *, include_done: bool = False) -> list[Idea]:
        where = "" if include_done else "WHERE i.state <> 'done'"
        rows = await self._s.all(
            "SELECT i.id, i.text, i.state, i.note, count(v.customer_id) AS votes FROM ideas i"
            f" LEFT JOIN idea_votes v ON v.idea_id = i.id {where} GROUP BY i.id"
            " ORDER BY votes DESC, i.id LIMIT ?",
            (limit,),
        )
        return [Idea(r[0], r[1], IdeaState(r[2]), r[3], r[4]) for r in rows]

    async def get(self, idea_id: int) -> Idea | None:
        row = await self._s.one(
            "SELECT i.id, i.text, i.state, i.note, (SELECT count(*) FROM idea_votes"
            " WHERE idea_id = i.id) FROM ideas i WHERE i.id = ?",
            (idea_id,),
        )
        return None if row is None else Idea(row[0], row[1], IdeaState(row[2]), row[3], row[4])

    async def set_state(self, idea_id: int, state: IdeaState, note: str, now: datetime) -> None:
        await self._s.exec(
            "UPDATE ideas SET state = ?, note = ?, updated_at = ? WHERE id = ?",
            (state, note, ts(now), idea_id),
        )

    async def voters(self, idea_id: int) -> list[int]:
        rows = await self._s.all(
            "SELECT customer_id FROM idea_votes WHERE idea_id = ? ORDER BY customer_id",
            (idea_id,),
        )
        return [int(r[0]) for r in rows]

    async def votes_of(self, customer_id: int) -> list[int]:
        rows = await self._s.all(
            "SELECT idea_id FROM idea_votes WHERE customer_id = ?", (customer_id,)
        )
        return [int(r[0]) for r in rows]

    # -- personal data --------------------------------------------------------------------

    async def export(self, customer_id: int) -> dict[str, Any]:
        rows = await self._s.all(
            "SELECT i.id, i.text, i.state FROM ideas i JOIN idea_votes v"
            " ON v.idea_id = i.id WHERE v.customer_id = ? ORDER BY i.id",
            (customer_id,),
        )
        return {"ideas_voted_for": [{"id": i, "text": t, "state": st} for i, t, st in rows]}

    async def forget(self, customer_id: int, now: datetime) -> None:
        s = self._s
        # an idea only they wanted goes; one others voted for stays, without its author
        await s.exec(
            "DELETE FROM ideas WHERE created_by = ? AND NOT EXISTS (SELECT 1 FROM idea_votes"
            " WHERE idea_id = ideas.id AND customer_id <> ?)",
            (customer_id, customer_id),
        )
        await s.exec("DELETE FROM idea_votes WHERE customer_id = ?", (customer_id,))

    async def merge(self, merge: Merge) -> None:
        s = self._s
        await s.exec(
            "UPDATE OR IGNORE idea_votes SET customer_id = ? WHERE customer_id = ?",
            (merge.keep, merge.drop),
        )
        await s.exec("DELETE FROM idea_votes WHERE customer_id = ?", (merge.drop,))
        await s.exec(
            "UPDATE ideas SET created_by = ? WHERE created_by = ?", (merge.keep, merge.drop)
        )
