"""Telegram polling with several `candor run` processes on one PostgreSQL database:
exactly one polls (Telegram answers a second getUpdates consumer 409 Conflict), the
leader of "telegram polling", and another takes over when the leader's connection
to the database dies. Two apps in this process, each with a bot of its own on the
fake Bot API, told apart there by their base URLs (`Call.consumer`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from adapters.telegram.channel import POLLING, TelegramChannel, make_bot
from bot.app import REMINDERS, Candor
from bot.config import Config
from bot.model import EventKind, Identity
from bot.store import PostgresStore
from tests.fakes.telegram import FakeTelegram
from tests.test_leader import _equal, holders, kill, until, waiting
from tests.test_telegram import ANN, BOB, TOKEN, config, fake  # noqa: F401 - fixtures

pytestmark = pytest.mark.postgres


@asynccontextmanager
async def process(
    settings_of: Config, api: FakeTelegram, url: str, name: str
) -> AsyncIterator[Candor]:
    """`candor run` with the Telegram channel in polling mode, on the database at
    `url` (without `sole_sender`: that lock keeps a second `candor run` out until
    the outbox is shared). A check interval of 30 s: the takeover below is the
    server's doing, not a timer's."""
    settings = settings_of.telegram.model_copy(update={"api_base_url": api.base_url_for(name)})
    async with Candor(settings_of, store=PostgresStore(url, leader_retry=30)) as app:
        channel = TelegramChannel(app, settings, make_bot(settings))
        channel.retry_delay = 0.05
        app.start_background(desk=True)
        await channel.start()
        try:
            yield app
        finally:
            await channel.stop()


async def said_once(app: Candor, user: int, text: str) -> None:
    customer = await app.store.customer_by_identity(Identity("telegram", "", str(user)))
    assert customer is not None
    [case] = await app.store.cases_of(customer.id)
    words = [e.text for e in await app.store.events_of(case.id) if e.kind is EventKind.CUSTOMER]
    assert words == [text]  # committed once, whoever polled it


async def test_one_process_polls_and_another_takes_over_when_its_connection_dies(
    fake: FakeTelegram,  # noqa: F811
    config: Config,  # noqa: F811
    url: str,
) -> None:
    assert config.telegram.token == TOKEN and config.telegram.mode == "polling"
    async with process(config, fake, url, "a") as a, process(config, fake, url, "b"):
        # both campaign: one holds the lock, the other waits in its queue
        await until(lambda: _equal(waiting(url, POLLING), 1), "the follower waiting")
        # the reminders too: one process raises waiting cases on the desk
        await until(lambda: _equal(waiting(url, REMINDERS), 1), "a reminders follower")
        assert len(await holders(url, REMINDERS)) == 1
        fake.push_message(ANN, "hello")
        await fake.wait_for("sendMessage", chat_id=ANN, include_failed=False)
        polls = fake.calls_to("getUpdates")
        [leader] = {call.consumer for call in polls}  # exactly one poller
        assert not [call for call in polls if call.failed]  # nobody met a 409
        follower = "b" if leader == "a" else "a"
        await said_once(a, ANN, "hello")

        [pid] = await holders(url, POLLING)
        await kill(url, pid)  # the leader's connection to the database dies
        # the other takes over, within a few seconds (the server hands the lock over)
        await fake.wait_for("getUpdates", consumer=follower, timeout=30)
        fake.push_message(BOB, "hi there")
        await fake.wait_for("sendMessage", chat_id=BOB, include_failed=False, timeout=30)
        await said_once(a, BOB, "hi there")
        # one poller at a time: the old leader made no call after the new one's first
        # (its long poll running at the kill arrived before, and was ended with 409)
        took_over = min(c.at for c in fake.calls_to("getUpdates", consumer=follower))
        assert all(c.at < took_over for c in fake.calls_to("getUpdates", consumer=leader))
        # and it waits again, behind the new leader, for as long as that one lives
        await until(lambda: _equal(waiting(url, POLLING), 1), "the old leader waiting")
        [new] = await holders(url, POLLING)
        assert new != pid
