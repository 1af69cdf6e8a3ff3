"""Security: customers cannot act as agents or see each other, only configured agents
act on cases, and secrets never reach the logs. Real engine, real SQLite, and the real
python-telegram-bot against the fake Bot API for the logs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import config as config_module
from bot.app import Candor
from bot.config import Config
from bot.model import Case, CaseState, Event, EventKind, Identity, InboundKind
from tests.conftest import (
    Agent,
    Clock,
    Customer,
    RecordingDesk,
    RecordingSender,
    case_of,
    handed_over,
    write_config,
)
from tests.fakes.telegram import FakeTelegram
from tests.test_telegram import running

Factory = Callable[[str], Customer]


async def snapshot(app: Candor, case_id: int) -> tuple[Case | None, list[Event]]:
    async with app.store.transaction() as tx:
        case = await tx.cases.get(case_id)
    return case, list(await app.store.events_of(case_id))


# -- a customer cannot act as an agent --------------------------------------------------

DESK_WORDS = [
    "/claim 1",
    "/claim",
    "/note x",
    "/note 1 secret",
    "/resolve",
    "/resolve 1",
    "/close 1",
    "/bot 1",
    "/transfer Sam 1",
    "/reply 1 hello from a customer",
    "/cases",
    "note: x",
    "!resolve 1",
    "!claim 1",
    "!note x",
]
DESK_BUTTONS = ["desk:claim:1", "desk:resolve:1", "desk:bot:1", "desk:transfer:1", "desk:note:1"]
ACTION_KINDS = {"claimed", "resolved", "desk_reply", "card", "back_to_bot", "transferred"}


@pytest.mark.parametrize("claimed", [False, True], ids=["waiting", "claimed-by-maria"])
async def test_a_customer_cannot_act_on_cases_as_an_agent(
    customer_factory: Factory,
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
    claimed: bool,
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await handed_over(ann)
    await bob.send("is there a free trial")
    case = await case_of(ann.app, ann)
    assert case.id == 1
    if claimed:
        await Agent(app, "maria").say("/claim", case.id)
    before, events_before = await snapshot(app, case.id)
    assert before is not None
    desk_before, sent_before = len(desk.sent), len(sender.sent)

    for who in (ann, bob):
        for text in DESK_WORDS:
            await who.send(text)
        for payload in DESK_BUTTONS:
            await who.press(payload)

    after, events_after = await snapshot(app, case.id)
    assert after is not None
    assert (after.state, after.agent, after.resolved_at) == (
        before.state,
        before.agent,
        before.resolved_at,
    )
    new = events_after[len(events_before) :]
    assert not [e for e in new if e.kind not in (EventKind.CUSTOMER, EventKind.BOT)]
    assert all(e.actor in ("customer", "bot") for e in new)
    bob_case = await case_of(app, bob)
    assert bob_case.state is CaseState.BOT and bob_case.agent == ""
    _, bob_events = await snapshot(app, bob_case.id)
    assert not [e for e in bob_events if e.kind in (EventKind.NOTE, EventKind.CLAIM)]
    # what reached the desk: at most ann's words relayed as hers, never an action
    reached = desk.sent[desk_before:]
    assert {str(m.delivery.purpose) for m in reached} <= {"relay"}
    assert not ACTION_KINDS & {str(m.delivery.purpose) for m in reached}
    assert all(m.text.startswith("**Ann:**") for m in reached)
    # and the customers were never told that an agent action happened
    said = [m.text for m in sender.sent[sent_before:]]
    assert not any("marked your case" in t or "has your case" in t for t in said)


async def test_customer_note_and_command_words_are_not_notes(
    customer_factory: Factory, app: Candor, desk: RecordingDesk
) -> None:
    ann = customer_factory("ann")
    await handed_over(ann)
    await Agent(app, "maria").say("/claim", 1)
    await ann.send("note: give me a refund")
    await ann.send("/note give me a refund")
    _, events = await snapshot(app, 1)
    assert not [e for e in events if e.kind is EventKind.NOTE]
    assert desk.sent[-1].delivery.purpose == "relay"  # relayed as the customer's words


# -- a customer cannot see another customer's case or data --------------------------------

A_SECRETS = ["ZX-9917", "QW-4471", "Annabel", "annabel"]


async def _annabel_with_history(
    customer_factory: Factory, app: Candor
) -> tuple[Customer, Customer, Case]:
    a = customer_factory("annabel")
    b = customer_factory("bob")
    await a.send("my invoice ZX-9917 is wrong")
    await a.send("/feedback about invoice ZX-9917")
    await handed_over(a)
    await Agent(app, "maria").say("/claim", 1)
    await Agent(app, "maria").say("I fixed invoice QW-4471 for you", 1)
    await Agent(app, "maria").say("/note ZX-9917 is a VIP", 1)
    case = await case_of(app, a)
    assert case.id == 1 and case.state is CaseState.AGENT
    return a, b, case


def _leaks(texts: list[str], case_id: int) -> list[str]:
    return [t for t in texts if any(s in t for s in A_SECRETS) or f"#{case_id}" in t]


async def test_another_customer_sees_nothing_of_the_first(
    customer_factory: Factory, app: Candor, sender: RecordingSender, desk: RecordingDesk
) -> None:
    _, b, case = await _annabel_with_history(customer_factory, app)
    seen: list[str] = []
    seen += await b.send("", InboundKind.START)
    seen += await b.send("hello")
    seen += await b.send("ZX-9917")  # naming A's data does not find it
    seen += await b.send("/status")
    seen += await b.send("/status 1")
    seen += await b.send("/mydata")
    seen += await b.send("/human")
    seen += await b.send("/link ABCD-EFGH")
    files = [
        m.delivery.file.text
        for m in sender.sent
        if m.address.chat_id == "bob" and m.delivery.file is not None
    ]
    assert files, "the /mydata export was not sent"
    assert seen and len(seen) >= 8
    # bob's own question about ZX-9917 is his; everything else must not name A's data
    own = "ZX-9917"
    assert _leaks([t.replace(own, "") for t in seen], case.id) == []
    assert _leaks([f.replace(own, "") for f in files], case.id) == []
    assert all(m.address.chat_id in ("annabel", "bob") for m in sender.sent)
    assert not [m for m in sender.sent if m.address.chat_id == "bob" and m.case_id == case.id]


@pytest.mark.parametrize(
    "payload",
    [
        "article:pricing-plans",
        "rate:5",
        "rate:1",
        "forget:yes",
        "forget:no",
        "handover:send",
        "handover:cancel",
        "handover:add",
        "human",
        "none",
        "idea:vote:1",
        "desk:resolve:1",
    ],
)
async def test_another_customers_buttons_never_touch_the_first_case(
    customer_factory: Factory,
    app: Candor,
    sender: RecordingSender,
    desk: RecordingDesk,
    payload: str,
    clock: Clock,
) -> None:
    a, b, case = await _annabel_with_history(customer_factory, app)
    await Agent(app, "maria").say("/resolve", 1)  # A's case is resolved and can be rated
    before, events_before = await snapshot(app, case.id)
    a_customer = await app.store.customer_by_identity(a.identity)
    a_seen = len(sender.texts("annabel"))
    await b.send("is there a free trial")
    replies = await b.press(payload)
    assert replies, payload
    assert _leaks(replies, case.id) == []
    after, events_after = await snapshot(app, case.id)
    assert after == before
    assert [e.id for e in events_after] == [e.id for e in events_before]
    assert await app.store.customer_by_identity(a.identity) == a_customer
    assert len(sender.texts("annabel")) == a_seen  # nothing was sent to A
    # A can still rate their own case afterwards: B's rate:5 did not use it up
    [thanks] = await a.press("rate:4")
    assert "4 out of 5" in thanks


async def test_link_codes_cannot_be_guessed(
    customer_factory: Factory, app: Candor, sender: RecordingSender
) -> None:
    a, b = customer_factory("annabel"), customer_factory("bob")
    await a.send("my invoice ZX-9917 is wrong")
    [given] = await a.send("/link")
    code = given.split("**")[1]  # "Your code is **ABCD-EFGH**"
    for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "EEEE-EEEE"):
        [wrong] = await b.send(f"/link {guess}")
        assert "wrong or has expired" in wrong
    [refused] = await b.send(f"/link {code}")  # even the right code, after too many tries
    assert "Too many wrong codes" in refused
    a_id = await app.store.customer_by_identity(a.identity)
    b_id = await app.store.customer_by_identity(b.identity)
    assert a_id is not None and b_id is not None and a_id.id != b_id.id
    [status] = await b.send("/status")
    assert "ZX-9917" not in status


# -- only configured agents act on cases ----------------------------------------------------

MALLORY_ACTIONS: list[tuple[str, str, int | None]] = [
    ("say", "/claim 1", None),
    ("say", "/claim", 1),
    ("say", "/note she is a VIP", 1),
    ("say", "note: she is a VIP", 1),
    ("say", "/resolve 1", None),
    ("say", "/bot 1", None),
    ("say", "/transfer Mallory 1", None),
    ("say", "Hello Annabel, pay me here", 1),
    ("say", "/reply 1 pay me here", None),
    ("say", "/cases", None),
    ("say", "/incident Outage | all | down", None),
    ("say", "/idea done 1", None),
    ("press", "desk:claim:1", None),
    ("press", "desk:resolve:1", None),
    ("press", "desk:bot:1", None),
]


@pytest.mark.parametrize(
    "identity",
    [
        Identity("desk", "local", "mallory"),
        Identity("desk", "local", "Maria"),  # the agent's display name is not their id
        Identity("test", "w", "maria"),  # a console name from another channel
        Identity("telegram", "", "maria"),
        Identity("slack", "T1", "maria"),
    ],
    ids=["stranger", "name-not-id", "other-channel", "telegram", "slack"],
)
async def test_a_desk_identity_that_is_not_an_agent_cannot_act(
    customer_factory: Factory,
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
    identity: Identity,
) -> None:
    a = customer_factory("annabel")
    await handed_over(a)
    before, events_before = await snapshot(app, 1)
    a_seen = len(sender.texts("annabel"))
    stranger = Agent(app, "x")
    stranger.identity = identity
    for how, what, case in MALLORY_ACTIONS:
        desk_before = len(desk.sent)
        if how == "say":
            await stranger.say(what, case)
        else:
            await stranger.press(what)
        answers = desk.sent[desk_before:]
        assert len(answers) == 1, (what, [m.text for m in answers])
        assert "Only agents can act" in answers[0].text
        assert answers[0].delivery.purpose == "desk_reply"
    after, events_after = await snapshot(app, 1)
    assert after == before and events_after == events_before
    assert len(sender.texts("annabel")) == a_seen
    async with app.store.transaction() as tx:
        assert await tx.ideas.top(5) == []
        assert await tx.incidents.get(1) is None


async def test_a_real_agent_still_can(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, sender: RecordingSender
) -> None:
    """The refusal above is about who, not about the actions: Maria can do them."""
    a = customer_factory("annabel")
    await handed_over(a)
    await Agent(app, "maria").say("/claim 1")
    assert (await case_of(app, a)).agent == "Maria"


async def test_an_agent_typing_a_superscript_number_gets_a_normal_answer(
    customer_factory: Factory, app: Candor, desk: RecordingDesk
) -> None:
    a = customer_factory("annabel")
    await handed_over(a)
    await Agent(app, "maria").say("/claim ²")
    assert "failed on my side" not in desk.sent[-1].text


# -- buttons with odd numbers from customers ----------------------------------------------


@pytest.mark.parametrize(
    ("payload", "resolved"),
    [
        ("idea:vote:²", False),
        ("idea:vote:" + "9" * 25, False),
        ("rate:²", True),
        ("rate:" + "9" * 5000, True),
    ],
    ids=["vote-superscript", "vote-huge", "rate-superscript", "rate-5000-digits"],
)
async def test_a_forged_button_number_gets_a_normal_answer(
    customer_factory: Factory, app: Candor, clock: Clock, payload: str, resolved: bool
) -> None:
    ann = customer_factory("ann")
    await ann.send("is there a free trial")
    if resolved:
        case = await case_of(app, ann)
        async with app.store.transaction() as tx:
            await tx.cases.update(replace(case, state=CaseState.RESOLVED, resolved_at=clock.now))
    [reply] = await ann.press(payload)
    assert "something went wrong" not in reply


# -- secrets never reach the logs -------------------------------------------------------------

TOKEN = "987654:SECRET-tok3n_value-xyz"
WEBHOOK_SECRET = "hook-SECRET-9f8e7d"
STAFF = -1009876543210
ANN = 4242

DESK = """
channels = ["telegram"]
agents = [{ name = "Maria", telegram = 501 }]
"""


def telegram_config(tmp_path: Path, knowledge: Path, fake: FakeTelegram) -> Config:
    extra = f"""
[telegram]
enabled = true
token = "env:CANDOR_TEST_TELEGRAM_TOKEN"
api_base_url = "{fake.base_url}"
file_base_url = "{fake.base_file_url}"
mode = "polling"
poll_timeout_seconds = 1
staff_group_id = {STAFF}
per_chat_interval_seconds = 0
webhook_secret = "env:CANDOR_TEST_TELEGRAM_SECRET"
"""
    path = write_config(tmp_path, knowledge, extra, desk=DESK)
    assert TOKEN not in path.read_text(encoding="utf-8")
    return config_module.load(path)


@contextmanager
def log_file_like_the_cli(config: Config) -> Iterator[Path]:
    """The log file as `candor run` writes it: a root handler at the configured level."""
    assert config.logging.file is not None
    handler = logging.FileHandler(config.logging.file, encoding="utf-8")
    handler.setLevel(config.logging.level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield config.logging.file
    finally:
        root.removeHandler(handler)
        handler.close()


async def exchange_with_failures(
    tmp_path: Path, knowledge: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> tuple[str, list[logging.LogRecord]]:
    """Run Candor on Telegram with the token from the environment, talk, fail; return
    the log file's text and every record captured at DEBUG."""
    monkeypatch.setenv("CANDOR_TEST_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("CANDOR_TEST_TELEGRAM_SECRET", WEBHOOK_SECRET)
    caplog.set_level(logging.DEBUG)
    async with FakeTelegram(TOKEN) as fake:
        config = telegram_config(tmp_path, knowledge, fake)
        assert config.telegram.token == TOKEN
        with log_file_like_the_cli(config) as path:
            async with running(config):
                fake.push_message(ANN, "hello")
                await fake.wait_for("sendMessage", 1, chat_id=ANN, include_failed=False)
                fake.fail_next("sendMessage", error_code=403)
                fake.push_message(ANN, "is there a free trial")
                await fake.wait_for("sendMessage", 1, chat_id=ANN, include_failed=True)
                fake.fail_next("sendMessage", error_code=401, description="Unauthorized")
                fake.fail_next("getUpdates", error_code=502)
                fake.push_message(ANN, "how much does it cost")
                await fake.wait_for("sendMessage", 3, chat_id=ANN, include_failed=True)
                fake.push_message(-5, "hi all", chat_type="group")
                fake.push_message(ANN, "/mydata")
                await fake.wait_for("sendDocument", 1, chat_id=ANN, include_failed=False)
            text = path.read_text(encoding="utf-8")
    assert text, "nothing was logged at all"
    return text, list(caplog.records)


def _rendered(record: logging.LogRecord) -> str:
    parts = [record.name, record.getMessage(), repr(record.args)]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


async def test_the_bot_token_is_not_in_the_log_file(
    tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    text, _ = await exchange_with_failures(tmp_path, knowledge_dir, monkeypatch, caplog)
    assert TOKEN not in text
    assert TOKEN.split(":", 1)[1] not in text
    assert WEBHOOK_SECRET not in text


async def test_the_bot_token_is_in_no_log_record_even_at_debug(
    tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    _, records = await exchange_with_failures(tmp_path, knowledge_dir, monkeypatch, caplog)
    leaking = sorted({r.name for r in records if TOKEN.split(":", 1)[1] in _rendered(r)})
    assert leaking == [], leaking


async def test_candors_own_log_records_never_hold_a_secret(
    tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """Whatever third-party libraries do, Candor's own loggers (bot.*, adapters.*)
    never write the token or the webhook secret, failures included."""
    _, records = await exchange_with_failures(tmp_path, knowledge_dir, monkeypatch, caplog)
    own = [r for r in records if r.name.startswith(("bot", "adapters"))]
    assert own, "Candor logged nothing of its own"
    assert any(r.levelno >= logging.INFO for r in own)
    for record in own:
        shown = _rendered(record)
        assert TOKEN.split(":", 1)[1] not in shown, record.name
        assert WEBHOOK_SECRET not in shown, record.name


def test_an_env_secret_is_not_echoed_in_config_errors(
    tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token that fails validation is not repeated in the error a user may paste."""
    monkeypatch.setenv("CANDOR_TEST_TELEGRAM_TOKEN", "not-a-token-SECRET-abc")
    extra = '[telegram]\nenabled = true\ntoken = "env:CANDOR_TEST_TELEGRAM_TOKEN"\n'
    path = write_config(tmp_path, knowledge_dir, extra)
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.load(path)
    assert "not-a-token-SECRET-abc" not in str(raised.value)
