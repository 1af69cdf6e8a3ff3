"""Contract: the web dashboard's sign-in links and sessions (`tx.web`)."""

from __future__ import annotations

from datetime import timedelta

from bot.store import Store
from tests.store.conftest import NOW, Backend

TEN = timedelta(minutes=10)


async def test_a_link_is_taken_once_and_not_after_it_expired(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.web.add_link("tok-a", "Maria", NOW, NOW + TEN)
        await tx.web.add_link("tok-b", "Sam", NOW, NOW + TEN)
        await tx.web.add_link("tok-c", "Sam", NOW, NOW + TEN)
    async with store.transaction() as tx:
        assert await tx.web.take_link("tok-a", NOW + TEN) == "Maria"  # the last moment counts
        assert await tx.web.take_link("tok-a", NOW) is None  # used once
        assert await tx.web.take_link("nope", NOW) is None
        assert await tx.web.take_link("tok-b", NOW + TEN + timedelta(seconds=1)) is None
    async with store.transaction() as tx:  # an expired link is gone for good
        assert await tx.web.take_link("tok-b", NOW) is None
        assert await tx.web.take_link("tok-c", NOW) is None  # swept with it
        assert await tx.web.take_link("TOK-A", NOW) is None


async def test_a_session_is_open_until_it_expires_or_ends(store: Store) -> None:
    day = timedelta(hours=12)
    async with store.transaction() as tx:
        await tx.web.add_session("s-1", "Maria", NOW, NOW + day)
        await tx.web.add_session("s-2", "Maria", NOW, NOW + day)
    async with store.transaction() as tx:
        assert await tx.web.session("s-1", NOW + day) == "Maria"
        assert await tx.web.session("s-1", NOW + day + timedelta(seconds=1)) is None
        assert await tx.web.session("s-", NOW) is None
        await tx.web.end_session("s-1")
        await tx.web.end_session("never")
        assert await tx.web.session("s-1", NOW) is None
        assert await tx.web.session("s-2", NOW) == "Maria"  # another session of hers stays


async def test_only_digests_of_the_tokens_are_stored(
    store: Store, backend: Backend, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    async with store.transaction() as tx:
        await tx.web.add_link("link-secret-123456", "Maria", NOW, NOW + TEN)
        await tx.web.add_session("session-secret-654321", "Maria", NOW, NOW + TEN)
    await store.close()
    dump = backend.dump(tmp_path)
    assert "Maria" in dump
    assert "link-secret-123456" not in dump and "session-secret-654321" not in dump


async def test_the_reads_see_links_and_sessions_without_taking_them(store: Store) -> None:
    """`reporting()`'s reads (what a request checks before any write): the same
    answers as `tx.web`, and nothing taken."""
    async with store.transaction() as tx:
        await tx.web.add_link("tok-a", "Maria", NOW, NOW + TEN)
        await tx.web.add_session("s-1", "Sam", NOW, NOW + TEN)
    for _ in range(2):  # reading twice: still there
        async with store.reporting() as reads:
            assert await reads.web_link("tok-a", NOW + TEN)
            assert not await reads.web_link("tok-a", NOW + TEN + timedelta(seconds=1))
            assert not await reads.web_link("s-1", NOW)  # a session is no link
            assert not await reads.web_link("TOK-A", NOW)
            assert await reads.web_session("s-1", NOW + TEN) == "Sam"
            assert await reads.web_session("s-1", NOW + TEN + timedelta(seconds=1)) is None
            assert await reads.web_session("tok-a", NOW) is None  # a link is no session
    async with store.transaction() as tx:
        assert await tx.web.take_link("tok-a", NOW) == "Maria"
        await tx.web.end_session("s-1")
    async with store.reporting() as reads:
        assert not await reads.web_link("tok-a", NOW)
        assert await reads.web_session("s-1", NOW) is None
