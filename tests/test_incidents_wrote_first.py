"""Incidents reach those who wrote first: declaring one lists the open and recently
resolved cases whose messages match it; the agent confirms; those are told."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import Candor
from bot.config import Config
from bot.features import wrote_first
from bot.model import Cause, EventKind
from tests.conftest import Agent, Clock, Customer, RecordingDesk, RecordingSender, write_config

Factory = Callable[[str], Customer]
SEPA = "/incident SEPA payments fail | SEPA direct debit | sepa"


@pytest.fixture
def config_path(tmp_path: Path, knowledge_dir: Path) -> Path:
    path = write_config(tmp_path, knowledge_dir)
    text = path.read_text(encoding="utf-8").replace(
        'company = "Northwind Cloud"', 'company = "Northwind Cloud"\nlanguages = ["en", "de"]'
    )
    path.write_text(text, encoding="utf-8")
    return path


def desk_replies(desk: RecordingDesk) -> list[str]:
    return [m.text for m in desk.sent if m.delivery.purpose == "desk_reply"]


def to(sender: RecordingSender, who: str) -> list[str]:
    return [m.text for m in sender.sent if m.address.chat_id == who]


async def test_declaring_lists_who_wrote_first_and_confirming_tells_them_in_their_language(
    customer_factory: Factory,
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
    clock: Clock,
    config: Config,
) -> None:
    maria = Agent(app, "maria")
    dan, eve = customer_factory("dan"), customer_factory("eve")
    await dan.send("my sepa debit bounced")  # case 1: resolved long ago
    await maria.say("/resolve 1")
    clock.advance(days=4)
    await eve.send("SEPA mandate rejected?")  # case 2: resolved yesterday
    await maria.say("/resolve 2")
    clock.advance(days=1)
    ann, bob, cem = customer_factory("ann"), customer_factory("bob"), customer_factory("cem")
    await ann.send("Our SEPA payments fail since this morning. Our IBAN is DE89 3704.")
    await bob.send("/language de")
    await bob.send("Die SEPA Zahlung schlägt fehl")
    await cem.send("is there a free trial")
    before = len(sender.sent)

    await maria.say(SEPA)
    [listing] = [t for t in desk_replies(desk) if "before it was declared" in t]
    assert "3 cases (open, or resolved in the last 72 h)" in listing
    assert "#3 · test · bot · “Our SEPA payments fail since this morning.”" in listing
    assert "IBAN" not in listing  # the first sentence only
    assert "#4 · test · bot · “Die SEPA Zahlung schlägt fehl”" in listing
    assert "#2 · test · resolved · “SEPA mandate rejected?”" in listing
    assert "\n#1 ·" not in listing and "\n#5 ·" not in listing  # too old; not about it
    assert "/incident notify 1 all" in listing
    [button] = next(m for m in desk.sent if "before it was declared" in m.text).buttons
    assert button.label == "Tell all 3" and button.payload == "incident:all:1"
    assert sender.sent[before:] == []  # nobody is told before the agent confirms

    await maria.say("/incident notify 1 all")
    [done] = [t for t in desk_replies(desk) if "told and subscribed" in t]
    assert "told and subscribed 3 customers (#4, #3, #2)." in done
    [to_ann] = to(sender, "ann")[1:]
    assert "Known problem: SEPA payments fail." in to_ann and "SEPA direct debit" in to_ann
    assert "I'll tell you here when there is news" in to_ann
    [to_bob] = [t for t in to(sender, "bob") if "SEPA payments fail" in t]
    assert "Bekanntes Problem: SEPA payments fail." in to_bob
    assert "Sie müssen nicht noch" in to_bob.replace("\n", " ")
    assert any("Known problem" in t for t in to(sender, "eve"))
    for other in ("cem", "dan"):
        assert not any("SEPA payments fail" in t for t in to(sender, other))
    notices = [m for m in sender.sent[before:] if m.cause is Cause.INCIDENT]
    assert len(notices) == 3

    await maria.say("/incident update 1 The bank fixed its gateway.")
    for who in ("ann", "bob", "eve"):
        assert "The bank fixed its gateway." in to(sender, who)[-1]
    assert not any("gateway" in t for t in to(sender, "cem"))
    with sqlite3.connect(config.storage.path) as db:
        told = "SELECT case_id FROM events WHERE text = 'told of incident #1'"
        rows = db.execute(told).fetchall()
    assert sorted(r[0] for r in rows) == [2, 3, 4]
    # told once: a second confirmation finds nobody left to tell
    await maria.say("/incident notify 1 all")
    assert "nobody is left to tell" in desk_replies(desk)[-1]


async def test_some_are_chosen_forged_numbers_are_refused_and_muted_ones_wait(
    customer_factory: Factory,
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
    clock: Clock,
) -> None:
    maria = Agent(app, "maria")
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await ann.send("sepa is broken")
    await ann.send("/mute 2h")
    await bob.send("sepa payment failed")
    await maria.say(SEPA)
    await maria.say("/incident notify 1 #1 soon")
    assert "(soon is not a case number)" in desk_replies(desk)[-1]
    await maria.say("/incident notify 1")
    assert "/incident notify N all (or case numbers: N 12 15)" in desk_replies(desk)[-1]
    await maria.say("/incident notify 7 1")
    assert desk_replies(desk)[-1] == "There is no open incident #7."
    await maria.say("/incident notify 1 1 999")
    reply = desk_replies(desk)[-1]
    assert "told and subscribed 1 customer (#1)." in reply
    assert "#1: their notices are paused (/mute or /quiet hours)" in reply
    assert "Refused: #999: not among the cases that wrote about it" in reply
    assert [m for m in sender.sent if m.cause is Cause.INCIDENT] == []  # ann muted it
    assert not any("Known problem" in t for t in to(sender, "bob"))  # not chosen
    clock.advance(hours=3)
    await app.outbox.deliver_due()
    [held] = [m for m in sender.sent if m.cause is Cause.INCIDENT]
    assert held.address.chat_id == "ann" and "Known problem: SEPA payments fail" in held.text
    await maria.say("/incident notify 1 1")  # already told: no longer offered
    assert "Refused: #1" in desk_replies(desk)[-1]
    # forged buttons
    await maria.press("incident:all:99")
    assert "names no open incident" in desk_replies(desk)[-1]
    await maria.press("incident:nope:1")
    assert "names no open incident" in desk_replies(desk)[-1]
    await maria.press("incident:all:1")  # the real one: bob is left
    assert "told and subscribed 1 customer (#2)." in desk_replies(desk)[-1]
    assert any("Known problem" in t for t in to(sender, "bob"))


async def test_an_article_incident_finds_who_asked_what_that_article_answers(
    customer_factory: Factory, app: Candor, desk: RecordingDesk
) -> None:
    await customer_factory("ann").send("how much does it cost?")
    await customer_factory("bob").send("is there a free trial")
    await Agent(app, "maria").say("/incident Price page is wrong | pricing | article:pricing-plans")
    [listing] = [t for t in desk_replies(desk) if "before it was declared" in t]
    assert "1 case (" in listing and "#1 · test · bot · “how much does it cost?”" in listing


async def test_no_match_is_said_and_a_cut_scan_is_told(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    maria = Agent(app, "maria")
    await customer_factory("ann").send("is there a free trial")
    await maria.say("/incident Exports fail | exports | export")
    assert (
        "No earlier case (open, or resolved in the last 72 h) matches incident #1."
        in (desk_replies(desk)[-1])
    )
    monkeypatch.setattr(wrote_first, "SCAN", 3)
    for name in ("bob", "cem", "dan", "eve"):
        await customer_factory(name).send("the sepa export fails")
    await maria.say(SEPA)
    listing = desk_replies(desk)[-1]
    assert "3 cases" in listing and "\n#5 ·" in listing and "\n#3 ·" in listing
    assert "\n#2 ·" not in listing  # the oldest, beyond the scan
    assert "Only the newest 3 cases were looked at; older ones were not." in listing


async def test_the_list_stays_on_the_desk_in_a_shared_channel_too(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, sender: RecordingSender
) -> None:
    """A customer who writes in a shared room: their words are listed for the agents,
    and what the room is told carries no one's words but the agent's."""
    ann, bob = customer_factory("ann"), customer_factory("bob")
    ann.address = ann.address.__class__("test", "shared-room", private=False)
    await ann.send("sepa broke for our finance team, Ann Smith here")
    await bob.send("sepa not working, my card ends 4242")
    maria = Agent(app, "maria")
    await maria.say(SEPA)
    [shown] = [m for m in desk.sent if "before it was declared" in m.text]
    assert "Ann Smith" in shown.text and "4242" in shown.text  # the agent sees their words
    assert shown.address.channel == "desk" and shown.delivery.only_to == "maria"
    await maria.say("/incident notify 1 all")
    room = [m.text for m in sender.sent if m.address.chat_id == "shared-room"]
    assert any("Known problem: SEPA payments fail" in t for t in room)
    assert not any("4242" in t or "Ann Smith" in t for t in room[-1:])
    assert not any("4242" in m.text for m in sender.sent if m.address.chat_id != "bob")


async def test_a_customer_with_two_matching_cases_is_listed_once_for_the_newest(
    customer_factory: Factory,
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
    clock: Clock,
) -> None:
    ann, maria = customer_factory("ann"), Agent(app, "maria")
    await ann.send("sepa failed yesterday")
    await maria.say("/resolve 1")
    customer = await app.store.customer_by_identity(ann.identity)
    assert customer is not None
    async with app.store.transaction() as tx:  # her next case (as a new topic opens one)
        case = await tx.cases.new(customer.id, clock())
        await tx.timeline.append(
            case.id, EventKind.CUSTOMER, "customer", "sepa fails again", clock()
        )
    await maria.say(SEPA)
    listing = desk_replies(desk)[-1]
    assert "**1 case (" in listing and "#2 · test · bot · “sepa fails again”" in listing
    assert "yesterday" not in listing
    await maria.say("/incident notify 1 all")
    assert len([m for m in sender.sent if m.cause is Cause.INCIDENT]) == 1
