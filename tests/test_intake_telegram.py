"""Telegram intake never stops: an update python-telegram-bot cannot read is kept raw
and passed, any failure of polling is waited out, in polling and webhook mode. The
real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Config
from tests.fakes.telegram import FakeTelegram
from tests.test_telegram import (
    ANN,
    BOB,
    SECRET,
    config,
    fake,
    free_port,
    running,
    said,
    shown,
    telegram_config,
    webhook_post,
)

__all__ = ["config", "fake"]  # the fixtures of the Telegram tests

QUESTION = "PRIVATE poll 4242: which card?"


def poll_update(fake: FakeTelegram, user: int) -> dict[str, Any]:
    """A message with a poll as an older self-hosted Bot API server sends it: no
    `allows_revoting`, options without `persistent_id` (python-telegram-bot 22
    requires both, and raises TypeError)."""
    update = fake.build_message(user, "x")
    message = update["message"]
    del message["text"]
    message["poll"] = {
        "id": "5001",
        "question": QUESTION,
        "options": [{"text": "Visa 4242", "voter_count": 0}],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
    }
    return update


def kept(config: Config) -> list[tuple[str, str, str]]:
    with sqlite3.connect(config.storage.path) as db:
        return db.execute("SELECT key, user_id, raw FROM inbound_unparsed ORDER BY key").fetchall()


def loud(records: list[logging.LogRecord]) -> list[str]:
    """What was logged at INFO and above, as a log file would show it."""
    shown = []
    for record in records:
        if record.levelno >= logging.INFO:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                text += logging.Formatter().formatException(record.exc_info)
            shown.append(text)
    return shown


async def test_an_update_ptb_cannot_read_is_kept_raw_and_the_batch_is_answered(
    fake: FakeTelegram, config: Config, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    bad = fake.push(poll_update(fake, ANN))
    good = fake.push(fake.build_message(BOB, "how much does it cost?"))
    async with running(config) as (_, channel):
        [answer] = await said(fake, BOB, 1)
        assert "$8 per user" in str(answer.params["text"])
        await fake.wait_for("getUpdates", 1, offset=good["update_id"] + 1)
        assert fake.updates == []  # both confirmed: the unreadable one does not come again
        assert channel._task is not None and not channel._task.done()
        [(key, user, raw)] = kept(config)
        assert (key, user) == (str(bad["update_id"]), str(ANN))
        assert QUESTION in raw  # nothing lost
        fake.push_message(BOB, "is there a free trial")  # and intake goes on
        await said(fake, BOB, 2)
    assert not any(r.levelno >= logging.CRITICAL for r in caplog.records)
    assert not any("4242" in line for line in loud(caplog.records))
    assert any(str(bad["update_id"]) in line and "kept" in line for line in loud(caplog.records))


async def test_a_restart_meets_the_same_unreadable_batch_and_goes_on(
    fake: FakeTelegram, config: Config
) -> None:
    bad = poll_update(fake, ANN)
    good = fake.build_message(BOB, "how much does it cost?")
    async with running(config) as (app, _):
        fake.push(dict(bad))
        fake.push(dict(good))
        await said(fake, BOB, 1)
        for _ in range(200):  # the outbox records the send just after Telegram took it
            if {state for _, state in await app.store.outbox_rows()} == {"sent"}:
                break
            await asyncio.sleep(0.05)
    # Telegram offers the same batch again (the offset never reached it, say)
    fake.push(dict(bad))
    fake.push(dict(good))
    async with running(config) as (_, channel):
        await fake.wait_for("getUpdates", 1, offset=good["update_id"] + 1)
        fake.push_message(BOB, "is there a free trial")
        await said(fake, BOB, 2)
        assert channel._task is not None and not channel._task.done()
    assert len(kept(config)) == 1  # kept once
    assert sum("$8 per user" in t for t in fake.texts(BOB)) == 1  # answered once


async def test_polling_goes_on_after_getupdates_gives_what_nobody_expected(
    fake: FakeTelegram, config: Config
) -> None:
    """A getUpdates answer python-telegram-bot chokes on (not a list of updates):
    polling goes on with the next one."""
    strange = {"left": 1}

    async def get_updates(params: dict[str, Any]) -> Any:
        if strange["left"]:
            strange["left"] -= 1
            return {"surprise": True}
        return await fake._m_get_updates(params)

    fake.on("getUpdates", get_updates)
    async with running(config) as (_, channel):
        fake.push_message(ANN, "how much does it cost?")
        await said(fake, ANN, 1)
        assert channel._task is not None and not channel._task.done()


async def test_polling_goes_on_after_any_exception_and_backs_off(
    fake: FakeTelegram, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(config) as (_, channel):
        real = channel.handle_raw
        raised: list[float] = []

        async def flaky(batch: list[Any]) -> int | None:
            if len(raised) < 3:
                raised.append(asyncio.get_running_loop().time())
                raise RuntimeError("a bug in handling")
            return await real(batch)

        monkeypatch.setattr(channel, "handle_raw", flaky)
        fake.push_message(ANN, "how much does it cost?")
        await said(fake, ANN, 1)
        assert len(raised) == 3 and channel._task is not None and not channel._task.done()
        # the waits doubled: 0.05 s, then 0.1 s (generous bounds: only that they grew)
        assert raised[2] - raised[1] >= 0.09
        assert fake.texts(ANN).count(fake.texts(ANN)[0]) == 1  # handled once in the end


async def test_webhook_keeps_an_unreadable_update_and_answers_200(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    port = free_port()
    config = telegram_config(tmp_path, knowledge_dir, fake, mode="webhook", port=port)
    async with running(config):
        await fake.wait_for("setWebhook")
        bad = poll_update(fake, ANN)
        assert await webhook_post(port, bad, SECRET) == 200
        assert await webhook_post(port, bad, SECRET) == 200  # Telegram's retry: kept once
        assert await webhook_post(port, bad, "wrong") == 401
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{port}/telegram",
                data=b"{not json",
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            ) as response,
        ):
            assert response.status == 400
        assert await webhook_post(port, {"no": "update_id"}, SECRET) == 400
        assert await webhook_post(port, fake.build_message(BOB, "hi"), SECRET) == 200
        await said(fake, BOB, 1)
    [(key, user, raw)] = kept(config)
    assert (key, user) == (str(bad["update_id"]), str(ANN)) and QUESTION in raw


async def test_mydata_shows_and_forget_erases_an_unreadable_update(
    fake: FakeTelegram, config: Config
) -> None:
    import json

    async with running(config):
        fake.push(poll_update(fake, ANN))
        fake.push_message(ANN, "/mydata")
        [document] = await fake.wait_for("sendDocument", 1, chat_id=ANN)
        export = json.loads(document.params["document"].data)
        assert QUESTION in export["unreadable_messages"][0]["raw"]
        fake.push_message(ANN, "/forget")
        ask = (await said(fake, ANN, 2))[-1]
        fake.push_callback(ANN, shown(ask, "forget:yes"), message_id=ask.result["message_id"])
        await said(fake, ANN, 3)
    assert kept(config) == []


async def test_an_update_candor_fails_to_convert_is_kept_and_passed(
    fake: FakeTelegram, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug converting one update must not stop intake: it would fail the same way
    every time Telegram sent it again."""
    from adapters.telegram import channel as module

    real = module.to_inbound

    def converting(update: Any, **kwargs: Any) -> Any:
        if update.message is not None and update.message.text == "the poison":
            raise KeyError("a bug")
        return real(update, **kwargs)

    monkeypatch.setattr(module, "to_inbound", converting)
    async with running(config) as (_, channel):
        poison = fake.push_message(ANN, "the poison")
        fake.push_message(ANN, "how much does it cost?")
        answer = (await said(fake, ANN, 1))[0]
        assert "$8 per user" in str(answer.params["text"])
        assert channel._task is not None and not channel._task.done()
    [(key, user, raw)] = kept(config)
    assert (key, user) == (str(poison["update_id"]), str(ANN)) and "the poison" in raw
