"""The Slack channel end to end: the real slack-bolt and slack-sdk against a fake Web
API on 127.0.0.1, with signed requests posted to Candor's own HTTP endpoint."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.channel import SlackChannel, make_client
from bot import config as config_module
from bot.app import Candor
from bot.config import Config
from bot.model import CaseState, EventKind, Identity
from bot.registry import unbind
from tests.conftest import fail_next_commit, write_config
from tests.fakes import slack as fakes
from tests.fakes.slack import FakeSlack

SECRET = "signing-secret-for-tests"
HOME = "T0HOME"
ACME = "T0ACME"
TRIAGE = "C0TRIAGE"
SHARED = "C0ACME"
DM = "D0ANN"
ANN, BOB, COLLEAGUE, MARIA, SAM, STRANGER = "U0ANN", "U0BOB", "U0COL", "U0MARIA", "U0SAM", "U0X"

DESK = f"""
channels = ["slack"]
agents = [
  {{ name = "Maria", slack = "{MARIA}" }},
  {{ name = "Sam", slack = "{SAM}" }},
]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token="xoxb-test", team_id=HOME) as server:
        server.add_user(ANN, name="ann", real_name="Ann Lee", team_id=ACME)
        server.add_user(BOB, name="bob", real_name="Bob Roe", team_id=ACME)
        server.add_user(COLLEAGUE, name="col", real_name="Colin", team_id=HOME)
        server.add_user(MARIA, name="maria", real_name="Maria", team_id=HOME)
        server.add_user(SAM, name="sam", real_name="Sam", team_id=HOME)
        server.add_user(STRANGER, name="x", real_name="Xavier", team_id=HOME)
        server.add_channel(SHARED, name="acme-support", is_ext_shared=True)
        server.add_channel(TRIAGE, name="triage")
        server.add_channel(DM, name="", is_im=True)
        yield server


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def config(tmp_path: Path, knowledge_dir: Path, fake: FakeSlack, port: int) -> Config:
    return config_for(tmp_path, knowledge_dir, fake, port)


def config_for(tmp_path: Path, knowledge_dir: Path, fake: FakeSlack, port: int) -> Config:
    extra = f"""
[slack]
enabled = true
bot_token = "xoxb-test"
signing_secret = "{SECRET}"
api_base_url = "{fake.api_url}"
port = {port}
triage_channel = "{TRIAGE}"
slash_command = "/candor"
max_retries = 1
per_channel_interval_seconds = 0
"""
    return config_module.load(write_config(tmp_path, knowledge_dir, extra, desk=DESK))


@asynccontextmanager
async def running(config: Config, http_timeout: int | None = None) -> AsyncIterator[Candor]:
    """`candor run` with the Slack channel (and, given `http_timeout`, a Web API client
    whose calls give up after that many seconds)."""
    async with Candor(config) as app:
        client = None if http_timeout is None else make_client(config.slack, timeout=http_timeout)
        channel = SlackChannel(app, config.slack, client)
        app.start_background(desk=True)
        await channel.start()
        try:
            yield app
        finally:
            await channel.stop()


class Slack:
    """Posts to Candor the way Slack does, and reads what Candor sent back."""

    def __init__(self, fake: FakeSlack, port: int) -> None:
        self.fake = fake
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.clock = 1_700_000_000

    def ts(self) -> str:
        self.clock += 1
        return f"{self.clock}.000100"

    async def say(
        self,
        user: str,
        text: str,
        *,
        channel: str = SHARED,
        thread_ts: str | None = None,
        team: str = ACME,
        **extra: Any,
    ) -> dict[str, Any]:
        event = fakes.message_event(
            user,
            text,
            channel=channel,
            channel_type="im" if channel.startswith("D") else "channel",
            ts=self.ts(),
            thread_ts=thread_ts,
            team=team,
            user_team=team,
            **extra,
        )
        status, body = await fakes.post_event(self.url, fakes.event_callback(event), SECRET)
        assert status == 200, body
        return event

    async def press(self, user: str, call: Any, value: str, *, team: str = ACME) -> tuple[int, str]:
        """Press the button on the message `call` sent whose value is `value` as packed
        (buttons shown to a customer carry whom they were shown to as well)."""
        params = call.params
        action, shown = next(
            (b["action_id"], b["value"])
            for block in params["blocks"]
            if block["type"] == "actions"
            for b in block["elements"]
            if unbind(b["value"])[0] == value or b["value"] == value
        )
        ephemeral = call.method == "chat.postEphemeral"
        payload = fakes.block_actions(
            user,
            action,
            shown,
            channel=params["channel"],
            message_ts=call.result["message_ts" if ephemeral else "ts"],
            thread_ts=params.get("thread_ts"),
            team=team,
            ephemeral=ephemeral,
        )
        return await fakes.post_interaction(self.url, payload, SECRET)

    async def only_to(self, user: str, count: int = 1) -> list[Any]:
        """What was shown to `user` alone (ephemeral messages)."""
        return await self.fake.wait_for("chat.postEphemeral", count, user=user)

    async def reply_to(self, channel: str, thread: str | None, count: int = 1) -> list[Any]:
        match: dict[str, Any] = {"channel": channel}
        if thread is not None:
            match["thread_ts"] = thread
        return await self.fake.wait_for("chat.postMessage", count, **match)


def text_of(call: Any) -> str:
    params = call.params
    blocks = params.get("blocks") or []
    parts = [b["text"]["text"] for b in blocks if b.get("type") == "section"]
    return "\n".join(parts) or str(params.get("text", ""))


def values_of(call: Any) -> list[str]:
    """The buttons' values as packed (without whom they were shown to)."""
    return [
        unbind(element["value"])[0]
        for block in call.params.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def case_of(app: Candor, user: str, team: str = ACME) -> Any:
    customer = await app.store.customer_by_identity(Identity("slack", team, user))
    assert customer is not None
    return (await app.store.cases_of(customer.id))[-1]


async def test_a_customer_in_a_shared_channel_is_answered_in_a_thread(
    fake: FakeSlack, config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config) as app:
        first = await slack.say(ANN, "how much does it cost?")
        [answer] = await slack.reply_to(SHARED, first["ts"])
        assert "Source: the article “Plans and prices”" in text_of(answer)
        assert "$8 per user" in text_of(answer)
        case = await case_of(app, ANN)
        assert case.state is CaseState.BOT
        # in the same thread the case continues; a new top-level message too
        await slack.say(ANN, "/status", thread_ts=first["ts"])
        [status] = await slack.only_to(ANN)  # their case's story: for their eyes only
        assert status.params["channel"] == SHARED and status.params["thread_ts"] == first["ts"]
        assert f"*Case #{case.id}*" in text_of(status)
        second = await slack.say(ANN, "is there a free trial")
        await slack.reply_to(SHARED, second["ts"])
        assert (await case_of(app, ANN)).id == case.id
        # each person in the channel has their own case
        await slack.say(BOB, "hello")
        assert (await case_of(app, BOB)).id != case.id


async def test_colleagues_and_bots_in_a_customer_channel_are_not_customers(
    fake: FakeSlack, config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config) as app:
        await slack.say(COLLEAGUE, "how much does it cost?", team=HOME)
        await slack.say(ANN, "beep", bot_id="B0OTHER")
        await asyncio.sleep(0.3)
        assert fake.sent("chat.postMessage") == []
        assert await app.store.customer_by_identity(Identity("slack", HOME, COLLEAGUE)) is None


async def test_markup_from_people_is_escaped_so_nobody_can_ping_or_link(
    fake: FakeSlack, config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config) as app:
        event = await slack.say(ANN, "<!channel> <https://evil.example|your invoice> & *me*")
        await slack.reply_to(SHARED, event["ts"])
        await slack.say(ANN, "I want a person", thread_ts=event["ts"])
        [proposal] = await slack.only_to(ANN)  # the summary quotes them: theirs alone
        assert "handover:send" in values_of(proposal)
        status, _ = await slack.press(ANN, proposal, "handover:send")
        assert status == 200
        [card] = await slack.reply_to(TRIAGE, None)
        text = text_of(card)
        assert "&lt;!channel&gt;" in text and "<!channel>" not in text
        assert "&lt;https://evil.example|your invoice&gt;" in text
        assert "Ann Lee (" in text or "Ann Lee" in text
        assert (await case_of(app, ANN)).state is CaseState.WAITING


async def test_the_triage_channel_works_a_case_in_the_cards_thread(
    fake: FakeSlack, config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config) as app:
        event = await slack.say(ANN, "/human")
        [proposal] = await slack.only_to(ANN)
        await slack.press(ANN, proposal, "handover:send")
        [card] = await slack.reply_to(TRIAGE, None)
        assert "thread_ts" not in card.params or card.params["thread_ts"] is None
        thread = card.result["ts"]
        case = await case_of(app, ANN)
        assert values_of(card) == [
            f"desk:claim:{case.id}",
            f"desk:resolve:{case.id}",
            f"desk:bot:{case.id}",
        ]

        # someone who is not an agent: a notice only they see, nothing changes
        status, _ = await slack.press(STRANGER, card, f"desk:claim:{case.id}", team=HOME)
        assert status == 200
        [notice] = await fake.wait_for("chat.postEphemeral", 1, user=STRANGER)
        assert "Only agents" in str(notice.params.get("text"))
        assert (await case_of(app, ANN)).state is CaseState.WAITING

        # Maria claims with the button: the customer is told, the card is updated
        await slack.press(MARIA, card, f"desk:claim:{case.id}", team=HOME)
        told = await fake.wait_for(
            "chat.postMessage", 1, channel=SHARED, text=lambda t: "Maria" in t
        )
        assert told[0].params["thread_ts"] == event["ts"]
        [update] = await fake.wait_for("chat.update", 1, channel=TRIAGE, ts=thread)
        assert "with Maria" in text_of(update)
        assert (await case_of(app, ANN)).agent == "Maria"

        # a reply in the thread reaches the customer; a note does not
        await slack.say(
            MARIA, "Hi Ann <@U0BOB>, we can help.", channel=TRIAGE, thread_ts=thread, team=HOME
        )
        relayed = await fake.wait_for(
            "chat.postMessage", 1, channel=SHARED, text=lambda t: "we can help" in t
        )
        assert "&lt;@U0BOB&gt;" in text_of(relayed[0])
        await fake.wait_for("chat.postMessage", 1, channel=TRIAGE, text=lambda t: "Delivered" in t)
        before = len(fake.sent("chat.postMessage", channel=SHARED))
        await slack.say(MARIA, "note: big customer", channel=TRIAGE, thread_ts=thread, team=HOME)
        await fake.wait_for("chat.postEphemeral", 1, user=MARIA)
        notes = [e for e in await app.store.events_of(case.id) if e.kind is EventKind.NOTE]
        assert notes[0].text == "big customer"

        # the customer writes: it appears in the thread, and the bot stays quiet
        await slack.say(ANN, "thanks! how much does it cost?", thread_ts=event["ts"])
        seen = await fake.wait_for(
            "chat.postMessage", 1, channel=TRIAGE, text=lambda t: "how much does it cost" in t
        )
        assert seen[0].params["thread_ts"] == thread
        await asyncio.sleep(0.3)
        assert len(fake.sent("chat.postMessage", channel=SHARED)) == before

        # !resolve in the thread: rating buttons for the customer, the card says resolved
        await slack.say(MARIA, "!resolve", channel=TRIAGE, thread_ts=thread, team=HOME)
        rating = await fake.wait_for(
            "chat.postMessage", 1, channel=SHARED, text=lambda t: "resolved" in t.lower()
        )
        assert values_of(rating[0]) == [f"rate:{n}" for n in range(1, 6)]
        updates = await fake.wait_for("chat.update", 2, channel=TRIAGE, ts=thread)
        assert "resolved" in text_of(updates[-1])
        assert values_of(updates[-1]) == []
        await slack.press(ANN, rating[0], "rate:4")
        await fake.wait_for("chat.postMessage", 1, channel=SHARED, text=lambda t: "Thank" in t)
        case = await case_of(app, ANN)
        assert case.state is CaseState.RESOLVED
        [rated] = [e for e in await app.store.events_of(case.id) if e.kind is EventKind.RATING]
        assert rated.data["score"] == 4


async def test_direct_messages_and_the_slash_command(
    fake: FakeSlack, config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config) as app:
        await slack.say(ANN, "hi", channel=DM)
        [greeting] = await slack.reply_to(DM, None)
        assert greeting.params.get("thread_ts") is None
        assert "#1" in text_of(greeting)
        fields = fakes.slash_command("/candor", "status", user=ANN, channel=DM, team=ACME)
        status, _ = await fakes.post_command(slack.url, fields, SECRET)
        assert status == 200
        [_, shown] = await slack.reply_to(DM, None, 2)
        assert "*Case #1*" in text_of(shown)
        await slack.say(ANN, "!status", channel=DM)  # "/" belongs to Slack: "!" works too
        [*_, again] = await slack.reply_to(DM, None, 3)
        assert "*Case #1*" in text_of(again)
        assert (await case_of(app, ANN)).id == 1


async def test_files_edits_and_deletions_are_kept(
    fake: FakeSlack, config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config) as app:
        first = await slack.say(ANN, "my invoice is wrong")
        files = [{"id": "F0PDF", "name": "invoice.pdf", "mimetype": "application/pdf"}]
        await slack.say(ANN, "here it is", thread_ts=first["ts"], files=files, subtype="file_share")
        changed = fakes.message_changed_event(
            SHARED, first["ts"], "my invoice total is wrong", ANN, old_text="my invoice is wrong"
        )
        await fakes.post_event(slack.url, fakes.event_callback(changed), SECRET)
        deleted = fakes.message_deleted_event(
            SHARED, first["ts"], user=ANN, old_text="my invoice is wrong"
        )
        await fakes.post_event(slack.url, fakes.event_callback(deleted), SECRET)
        await asyncio.sleep(0.3)
        case = await case_of(app, ANN)
        events = await app.store.events_of(case.id)
        [upload] = [e for e in events if e.kind is EventKind.ATTACHMENT]
        assert upload.data["attachments"][0]["ref"] == "F0PDF"
        edits = [e for e in events if e.kind is EventKind.EDIT]
        assert [e.text for e in edits] == ["my invoice total is wrong", ""]
        assert edits[1].data.get("deleted") is True


async def test_forged_stale_and_retried_requests(
    fake: FakeSlack, config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config) as app:
        event = fakes.message_event(
            ANN, "how much does it cost?", channel=SHARED, ts=slack.ts(), team=ACME, user_team=ACME
        )
        payload = fakes.event_callback(event)
        status, _ = await fakes.post_event(slack.url, payload, "not-the-secret")
        assert status == 401
        stale = int(time.time()) - 600
        status, _ = await fakes.post_event(slack.url, payload, SECRET, timestamp=stale)
        assert status == 401
        body = json.dumps(payload).encode()
        status, _ = await fakes.post_raw(slack.url, body, {"Content-Type": "application/json"})
        assert status == 401
        assert await app.store.customer_by_identity(Identity("slack", ACME, ANN)) is None
        # the real one, then Slack's retry of it: one question on the case, one answer
        assert (await fakes.post_event(slack.url, payload, SECRET))[0] == 200
        assert (await fakes.post_event(slack.url, payload, SECRET, retry_num=1))[0] == 200
        await slack.reply_to(SHARED, event["ts"])
        await asyncio.sleep(0.3)
        case = await case_of(app, ANN)
        asked = [e for e in await app.store.events_of(case.id) if e.kind is EventKind.CUSTOMER]
        assert len(asked) == 1
        assert len(fake.sent("chat.postMessage", channel=SHARED)) == 1


async def test_an_event_that_fails_to_commit_is_not_acknowledged(
    fake: FakeSlack, config: Config, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack = Slack(fake, port)
    async with running(config) as app:
        fail_next_commit(app, monkeypatch)
        event = fakes.message_event(
            ANN, "hello", channel=SHARED, ts=slack.ts(), team=ACME, user_team=ACME
        )
        payload = fakes.event_callback(event)
        assert (await fakes.post_event(slack.url, payload, SECRET))[0] == 500
        assert (await fakes.post_event(slack.url, payload, SECRET, retry_num=1))[0] == 200
        assert (await case_of(app, ANN)).id == 1


async def test_rate_limits_are_waited_out_and_order_is_kept(
    fake: FakeSlack, config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    fake.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1, count=2)
    async with running(config) as app:
        first = await slack.say(ANN, "hi")
        await slack.say(ANN, "how much does it cost?", thread_ts=first["ts"])
        sent = await fake.wait_for(
            "chat.postMessage", 2, channel=SHARED, timeout=10, include_failed=False
        )
        assert "#1" in text_of(sent[0]) and "Plans and prices" in text_of(sent[1])
        for _ in range(600):  # a generous bound (30 s), not a measure of speed
            rows = await app.store.outbox_rows()
            if {state for _, state in rows} == {"sent"}:
                break
            await asyncio.sleep(0.05)
        assert {state for _, state in rows} == {"sent"}


async def test_a_customer_who_left_is_reported_as_not_delivered(
    fake: FakeSlack, config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config) as app:
        await slack.say(ANN, "/human")
        [proposal] = await slack.only_to(ANN)
        await slack.press(ANN, proposal, "handover:send")
        [card] = await slack.reply_to(TRIAGE, None)
        # the handover's answer to Ann went too (its own lane, maybe after the card):
        # the failures below are for what the agent's reply brings, not for it
        await slack.reply_to(SHARED, None)
        fake.fail_next(
            "chat.postMessage", error="channel_not_found", status=200, channel=SHARED, count=2
        )
        await slack.say(
            MARIA, "Are you there?", channel=TRIAGE, thread_ts=card.result["ts"], team=HOME
        )
        notice = await fake.wait_for(
            "chat.postMessage", 1, channel=TRIAGE, text=lambda t: "NOT delivered" in t
        )
        assert "channel_not_found" in text_of(notice[0])
        assert (await case_of(app, ANN)).state is CaseState.AGENT


async def test_mydata_arrives_as_a_file_in_the_direct_messages(
    fake: FakeSlack, config: Config, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config):
        first = await slack.say(ANN, "how much does it cost?")
        await slack.say(ANN, "/mydata", thread_ts=first["ts"])
        [done] = await fake.wait_for("files.completeUploadExternal", 1)
        assert done.params["channel_id"] == DM  # asked in a shared channel: theirs alone
        [file] = fake.files.values()
        assert file["name"].endswith(".json") and not file["thread_ts"]
        export = json.loads(file["data"])
        assert export["identities"][0]["user_id"] == ANN


async def test_socket_mode_acknowledges_an_event_only_after_it_is_stored(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = f"""
[slack]
enabled = true
bot_token = "xoxb-test"
mode = "socket"
app_token = "xapp-test"
api_base_url = "{fake.api_url}"
triage_channel = "{TRIAGE}"
"""
    config = config_module.load(write_config(tmp_path, knowledge_dir, extra, desk=DESK))
    async with running(config) as app:
        await fake.wait_for_socket()
        fail_next_commit(app, monkeypatch)
        event = fakes.message_event(
            ANN, "how much does it cost?", channel=DM, channel_type="im", team=ACME
        )
        first = await fake.send_envelope(fakes.event_callback(event))
        await asyncio.sleep(0.5)
        assert not fake.acked(first)  # not stored: no ack, so Slack sends it again
        again = await fake.send_envelope(fakes.event_callback(event))
        [answer] = await fake.wait_for("chat.postMessage", 1, channel=DM)
        assert "Plans and prices" in text_of(answer)
        for _ in range(600):  # a generous bound (30 s), not a measure of speed
            if fake.acked(again):
                break
            await asyncio.sleep(0.05)
        assert fake.acked(again)
        assert (await case_of(app, ANN)).id == 1


# -- nobody's words or name can ping, link or format through any field (issue 14, #6) ------

EVE = "U0EVE"
ATTACK = "<!here> <@U123> <https://evil.example|Reset your password> *bold* _it_ ~gone~ `code`"
LIVE = ("<!", "<@", "<#", "<http", "<mailto")  # what Slack reads as a ping or a link


def strings_in(value: Any) -> list[str]:
    """Every string in a request's params, however deep (blocks, attachments, labels)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


def sent_strings(fake: FakeSlack) -> list[tuple[str, str]]:
    """(method, string) for every string Candor sent Slack to show to someone."""
    return [
        (call.method, text)
        for call in fake.calls
        if call.method.startswith(("chat.", "files.", "views."))
        for text in strings_in(call.params)
    ]


async def test_a_name_and_words_made_of_slack_markup_stay_text_in_every_field(
    fake: FakeSlack, config: Config, port: int
) -> None:
    """A customer named `<!channel>` writes pings, a disguised link and formatting,
    hands over, writes again, and is answered: in no field of any request (fallback
    text, blocks, button labels, updates, ephemeral messages) is any of it live."""
    fake.add_user(EVE, name="eve", real_name="<!channel>", team=ACME)
    slack = Slack(fake, port)
    async with running(config) as app:
        first = await slack.say(EVE, ATTACK)
        await slack.reply_to(SHARED, first["ts"])
        await slack.say(EVE, "I want a person", thread_ts=first["ts"])
        [proposal] = await slack.only_to(EVE)  # the summary quotes them: theirs alone
        await slack.press(EVE, proposal, "handover:send")
        [card] = await slack.reply_to(TRIAGE, None)
        thread = card.result["ts"]
        case = await case_of(app, EVE)
        await slack.say(EVE, f"again: {ATTACK}", thread_ts=first["ts"])
        await fake.wait_for("chat.postMessage", 1, channel=TRIAGE, text=lambda t: "again" in t)
        await slack.press(MARIA, card, f"desk:claim:{case.id}", team=HOME)
        await fake.wait_for("chat.update", 1, channel=TRIAGE, ts=thread)
        await slack.say(MARIA, "Hello!", channel=TRIAGE, thread_ts=thread, team=HOME)
        await fake.wait_for("chat.postMessage", 1, channel=TRIAGE, text=lambda t: "Delivered" in t)
        await slack.say(MARIA, "!help", channel=TRIAGE, thread_ts=thread, team=HOME)
        await fake.wait_for("chat.postEphemeral", 1, user=MARIA)
        await slack.say(EVE, "!status", thread_ts=first["ts"])
        await fake.wait_for("chat.postEphemeral", 1, user=EVE, text=lambda t: "Case" in t)

        sent = sent_strings(fake)
        assert any("Reset your password" in text for _, text in sent)  # it was all sent
        assert any("&lt;!channel&gt;" in text for _, text in sent)
        live = [(method, text) for method, text in sent if any(m in text for m in LIVE)]
        assert live == []
        # the customer's formatting characters never pair up into formatting
        for method, text in sent:
            for word in ("*bold*", "_it_", "~gone~", "`code`"):
                assert word not in text, (method, text)


# -- one long message freezes nobody (issue 14, #4) ---------------------------------------

LONG = "hi" + "." * 39_990 + "x"  # under Slack's 40,000 characters; took seconds to judge


async def test_a_pathological_long_message_and_another_customers_are_both_answered(
    fake: FakeSlack, config: Config, port: int
) -> None:
    """Through slack-bolt, the long message and Bob's question arrive together: both
    are acknowledged and answered, and handling both costs the process little CPU.

    The bound is CPU time of this process, not wall-clock time, so other processes on
    the machine cannot inflate it; it is 2 s for what now takes milliseconds (the
    greeting pattern alone spent 8-12 s of CPU on this message before)."""
    slack = Slack(fake, port)
    async with running(config) as app:
        cpu = time.process_time()
        long_event, question = await asyncio.gather(
            slack.say(ANN, LONG), slack.say(BOB, "how much does it cost?")
        )
        spent = time.process_time() - cpu
        [answer] = await slack.reply_to(SHARED, question["ts"])
        assert "$8 per user" in text_of(answer)
        [reply] = await slack.reply_to(SHARED, long_event["ts"])
        assert "#" in text_of(reply)  # the introduction, with the case number
        case = await case_of(app, ANN)
        [said] = [e for e in await app.store.events_of(case.id) if e.kind is EventKind.CUSTOMER]
        assert said.text == LONG  # kept whole
        assert spent < 2.0, f"{spent:.1f} s of CPU for two messages"


def test_every_block_and_label_stays_within_slacks_limits_once_escaped() -> None:
    """Escaping lengthens text (& is five characters): a relay of 40,000 "&" or "<"
    still fits Slack's 3,000 characters a section and 75 a button label, loses
    nothing, and its fallback is one escaped line of at most 300 characters."""
    from adapters.slack.send import blocks_for, fallback_for
    from bot.model import Button
    from bot.text import md_escape

    for said in ("&" * 40_000, "<!channel>" * 4_000, "*_~`" * 10_000, "a" * 40_000):
        messages = blocks_for(md_escape(said), (Button("<!here> & " * 20, "x"),))
        sections = [b["text"]["text"] for m in messages for b in m if b["type"] == "section"]
        assert all(len(text) <= 3_000 for text in sections)
        shown = "".join(sections).replace("\u200b", "")
        assert shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == said
        [label] = [
            e["text"]["text"] for b in messages[-1] if b["type"] == "actions" for e in b["elements"]
        ]
        assert len(label) <= 75 and "<" not in label
        fallback = fallback_for(md_escape(said))
        assert len(fallback) <= 300 and "<" not in fallback and "\n" not in fallback


async def test_posts_to_one_channel_keep_slacks_one_a_second(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, port: int
) -> None:
    """chat.postMessage: Slack allows about one a second per channel. Three questions
    in a row in a DM: the three answers arrive at least `per_channel_interval_seconds`
    apart (a lower bound, which a slow machine only widens); and so do answers in two
    threads of one channel."""
    config = config_for(tmp_path, knowledge_dir, fake, port)
    assert config.source is not None
    text = config.source.read_text(encoding="utf-8")
    config.source.write_text(
        text.replace("per_channel_interval_seconds = 0", "per_channel_interval_seconds = 0.5")
    )
    config = config_module.load(config.source)
    slack = Slack(fake, port)
    async with running(config):
        # two customers' threads in one channel are lanes of their own, sent to at
        # once: their posts take turns all the same
        await asyncio.gather(slack.say(ANN, "price list"), slack.say(BOB, "price list"))
        answers = await fake.wait_for("chat.postMessage", 2, channel=SHARED, timeout=30)
        first, second = sorted(call.at for call in answers if call.ok)[:2]
        assert second - first >= 0.5
        for question in ("how much does it cost?", "is there a free trial", "price list"):
            await slack.say(ANN, question, channel=DM)
        answers = await fake.wait_for("chat.postMessage", 3, channel=DM, timeout=30)
        times = sorted(call.at for call in answers if call.ok)
        assert len(times) >= 3
        assert all(b - a >= 0.5 for a, b in itertools.pairwise(times)), times


async def test_a_customers_slack_locale_is_the_hint_at_their_language(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, port: int
) -> None:
    """Issue 18: Slack's user locale (read with their name, once an hour) counts when
    their message says nothing clear: "ok" from a German Slack user is answered in
    German; a clear English question, in English."""
    fake.users[ANN]["locale"] = "de-DE"
    config = config_for(tmp_path, knowledge_dir, fake, port)
    config = config.model_copy(
        update={"bot": config.bot.model_copy(update={"languages": ("en", "de")})}
    )
    slack = Slack(fake, port)
    async with running(config) as app:
        first = await slack.say(ANN, "ok")
        [hello] = await slack.reply_to(SHARED, first["ts"])
        assert "Ich bin Candor" in text_of(hello)
        customer = await app.store.customer_by_identity(Identity("slack", ACME, ANN))
        assert customer is not None and customer.language == "de"
        second = await slack.say(BOB, "how much does it cost?")
        [answer] = await slack.reply_to(SHARED, second["ts"])
        assert "Source: the article “Plans and prices”" in text_of(answer)
