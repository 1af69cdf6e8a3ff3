"""Red team, session 10: incidents reaching those who wrote first, community places,
idea counts. Each test shows a finding (fixed, or marked xfail with its number) or
pins down an attack that the code withstood."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.markdown import to_slack_mrkdwn, to_telegram_html
from bot import config as config_module
from bot.app import Candor
from bot.features import incidents
from bot.features.community import asks_for_peers
from bot.knowledge import KnowledgeBase, Thresholds
from bot.model import Address, Cause
from bot.store import Store
from tests.conftest import (
    ARTICLES,
    ROOT,
    Agent,
    Clock,
    Customer,
    RecordingDesk,
    RecordingSender,
    write_articles,
    write_config,
)
from tests.store.conftest import NOW, backend, new_customer, store

__all__ = ["backend", "store"]  # the contract suite's fixtures: SQLite and PostgreSQL

Factory = Callable[[str], Customer]
SEPA = "/incident SEPA payments fail | SEPA direct debit | sepa"
SETS = ("customer_questions", "customer_questions_holdout", "customer_questions_languages")


def sepa_article(folder: Path, community: str) -> None:
    (folder / "sepa.md").write_text(
        '+++\ntitle = "SEPA direct debit"\n'
        'questions = ["how do SEPA direct debits work", "set up a SEPA direct debit"]\n'
        f"community = {json.dumps(community)}\n+++\n"
        "SEPA direct debit: the mandate is signed once.\n",
        encoding="utf-8",
    )


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    folder = write_articles(tmp_path / "knowledge", ARTICLES)
    sepa_article(folder, "https://t.me/northwind_sepa")
    return folder


def desk_replies(desk: RecordingDesk) -> list[str]:
    return [m.text for m in desk.sent if m.delivery.purpose == "desk_reply"]


def incident_notices(sender: RecordingSender, chat: str) -> list[str]:
    return [m.text for m in sender.sent if m.cause is Cause.INCIDENT and m.address.chat_id == chat]


def in_room(who: Customer, room: str = "shared-room") -> Customer:
    who.address = Address("test", room, private=False)
    return who


async def test_a_customer_who_forgets_after_the_list_is_shown_is_not_told(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, sender: RecordingSender
) -> None:
    """List shown, then /forget, then confirm: the erased customer hears nothing and the
    desk is told why their case was not told."""
    ann, bob, maria = customer_factory("ann"), customer_factory("bob"), Agent(app, "maria")
    await ann.send("sepa debit failed")
    await bob.send("our sepa payment bounced")
    await maria.say(SEPA)
    assert "#1 ·" in desk_replies(desk)[-1] and "#2 ·" in desk_replies(desk)[-1]
    await ann.send("/forget")
    await ann.press("forget:yes")
    await maria.say("/incident notify 1 1 2")
    reply = desk_replies(desk)[-1]
    assert "told and subscribed 1 customer (#2)." in reply
    assert "#1" in reply.split("(#2).", 1)[1]  # ann's case is named as not told
    assert incident_notices(sender, "ann") == []
    assert len(incident_notices(sender, "bob")) == 1


async def test_a_replayed_confirm_and_button_tell_nobody_twice(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, sender: RecordingSender
) -> None:
    ann, maria, rolf = customer_factory("ann"), Agent(app, "maria"), Agent(app, "rolf")
    await ann.send("sepa debit failed")
    await maria.say(SEPA)
    await maria.say("/incident notify 1 all")
    await rolf.press("incident:all:1")  # another agent, the same list's button
    await maria.say("/incident notify 1 1")
    await maria.press("incident:all:1")
    assert len(incident_notices(sender, "ann")) == 1
    assert "nobody is left to tell" in desk_replies(desk)[-1]


async def test_a_shared_room_is_told_of_an_incident_once(
    customer_factory: Factory, app: Candor, sender: RecordingSender
) -> None:
    """Finding 1 (fixed): two customers of one shared room made the room hear the same
    notice once per customer, folded under a false "While your notices were paused"."""
    ann, bob = in_room(customer_factory("ann")), in_room(customer_factory("bob"))
    await ann.send("sepa is broken for us")
    await bob.send("sepa fails here too")
    maria = Agent(app, "maria")
    await maria.say(SEPA)
    await maria.say("/incident notify 1 all")
    await maria.say("/incident update 1 The bank is rolling back.")
    room = "\n".join(incident_notices(sender, "shared-room"))
    assert room.count("Known problem: SEPA payments fail") == 1
    assert room.count("The bank is rolling back.") == 1
    assert "While your notices were paused" not in room
    await customer_factory("cem").send("sepa is down")  # a private chat of its own
    assert len(incident_notices(sender, "cem")) == 0  # (told as a reply, not a notice)
    await maria.say("/incident update 1 Fixed soon.")
    assert len(incident_notices(sender, "cem")) == 1
    assert "\n".join(incident_notices(sender, "shared-room")).count("Fixed soon.") == 1


@pytest.mark.parametrize(
    "place",
    ["https://x.example/)[click](https://evil.example", "https://x.example/**bold**_i_|x"],
)
async def test_an_articles_place_renders_as_plain_text_on_every_platform(
    tmp_path: Path, place: str
) -> None:
    """A place that is a valid URL but full of markup (an editor's mistake or a hostile
    pull request) is shown as typed: no link to evil, no bold, no Slack link syntax."""
    folder = write_articles(tmp_path / "kb", ARTICLES)
    sepa_article(folder, place)
    async with Candor(config_module.load(write_config(tmp_path, folder)), clock=Clock()) as app:
        sender = RecordingSender()
        app.outbox.register(sender)
        app.outbox.register(RecordingDesk())
        [_, offer] = await Customer(app, sender, "ann").send("how do SEPA direct debits work")
    html = to_telegram_html(offer)
    assert "<a " not in html and "<b>bold" not in html and "x.example/" in html
    mrkdwn = to_slack_mrkdwn(offer)
    assert "<https://evil" not in mrkdwn and "|click>" not in mrkdwn and "*bold*" not in mrkdwn


@pytest.mark.parametrize(
    "place", ["javascript:alert(1)", "data:text/html,x", "https://t.me/x <https://evil|t.me>"]
)
async def test_a_bad_incident_place_is_refused(
    app: Candor, desk: RecordingDesk, place: str
) -> None:
    maria = Agent(app, "maria")
    await maria.say(f"/incident Cards fail | checkout | card | community: {place}")
    assert desk_replies(desk)[-1].startswith("Not declared: the community place")


async def test_the_offer_is_not_repeated_on_a_reopened_case_nor_after_a_restart(
    config_path: Path, tmp_path: Path
) -> None:
    clock = Clock()
    config = config_module.load(config_path)
    async with Candor(config, clock=clock) as app:
        sender = RecordingSender()
        app.outbox.register(sender)
        app.outbox.register(RecordingDesk())
        ann = Customer(app, sender, "ann")
        [_, offer] = await ann.send("how do SEPA direct debits work")
        assert offer.startswith("Others are working on this too")
        await Agent(app, "maria").say("/resolve 1")
    clock.advance(hours=2)
    async with Candor(config, clock=clock) as app:  # restarted; the case reopens
        sender = RecordingSender()
        app.outbox.register(sender)
        app.outbox.register(RecordingDesk())
        again = await Customer(app, sender, "ann").send("set up a SEPA direct debit")
        assert any("the mandate is signed once" in t for t in again)
        assert not any("Others are working" in t for t in again)


def test_the_shipped_questions_never_get_the_community_step() -> None:
    """Of the shipped question sets, every message the step's pattern catches is one an
    article answers (so the answer step says it, not the list of places)."""
    kb = KnowledgeBase.load(ROOT / "knowledge", Thresholds())
    caught = []
    total = 0
    for name in SETS:
        for line in (ROOT / "tests" / "data" / f"{name}.jsonl").read_text().splitlines():
            row = json.loads(line)
            total += 1
            if asks_for_peers(row["text"]):
                caught.append((row["text"], kb.decide(row["text"], row.get("lang", "en")).kind))
    assert total > 800
    assert [kind for _, kind in caught] == ["answer"] * len(caught)


@pytest.fixture
def shipped_app(tmp_path: Path) -> Callable[[], Candor]:
    return lambda: Candor(
        config_module.load(write_config(tmp_path, ROOT / "knowledge")), clock=Clock()
    )


@pytest.mark.parametrize(
    "question",
    [
        "peer review feature?",  # a product question: the menu of articles, not places
        "do you have a community edition?",
    ],
)
async def test_a_product_question_naming_community_is_not_answered_with_places(
    shipped_app: Callable[[], Candor], question: str
) -> None:
    async with shipped_app() as app:
        sender = RecordingSender()
        app.outbox.register(sender)
        app.outbox.register(RecordingDesk())
        said = await Customer(app, sender, "ann").send(question)
    assert not any("where customers work on these things together" in t for t in said)


async def test_an_ideas_count_does_not_count_the_customer_who_asks_again(
    customer_factory: Factory, app: Candor
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await ann.send("/idea Export reports to CSV")
    [again] = await ann.send("/idea export reports to csv")  # her own idea, again
    assert "other customer" not in again
    await bob.send("/idea export reports to CSV")
    [twice] = await bob.send("/idea export reports to CSV")
    assert "1 other customer wants this too." in twice


async def test_an_incident_with_too_many_words_is_refused_clearly(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, sender: RecordingSender
) -> None:
    """Finding 2 (fixed): each of an incident's words was stemmed again for every message
    the scan reads; 200 words over 500 cases of 20 messages held the bot 8.8 s on the
    declaration and 10 s on the confirmation (50 words: 3 s). Words are stemmed once
    now, and more than `MAX_WORDS` are refused on the desk, with nobody told."""
    await customer_factory("ann").send("sepa debit failed")
    maria = Agent(app, "maria")
    many = ", ".join(f"word{i}" for i in range(incidents.MAX_WORDS + 1))
    await maria.say(f"/incident Lots | everything | sepa, {many}")
    assert desk_replies(desk)[-1] == (
        f"Not declared: at most {incidents.MAX_WORDS} words, not {incidents.MAX_WORDS + 2}."
    )
    await maria.say("/incidents")
    assert desk_replies(desk)[-1] == "No open incidents."
    enough = ", ".join(f"word{i}" for i in range(incidents.MAX_WORDS - 1))
    await maria.say(f"/incident Lots | everything | {enough}, sepa debit")
    assert "#1 · test · bot · “sepa debit failed”" in desk_replies(desk)[-1]
    await maria.say("/incident notify 1 all")
    assert len(incident_notices(sender, "ann")) == 1


def code_in(reply: str) -> str:
    found = re.search(r"Your code is \*\*([A-Z0-9]{4}-[A-Z0-9]{4})\*\*", reply)
    assert found is not None, reply
    return found.group(1)


def yes_to(sender: RecordingSender, who: Customer) -> str:
    message = [m for m in sender.sent if m.address.chat_id == who.name][-1]
    [payload] = [b.payload for b in message.buttons if b.label.startswith("Yes")]
    return payload


async def linked(sender: RecordingSender, ann: Customer, other: Customer) -> None:
    [given] = await ann.send("/link")
    await other.send(f"/link {code_in(given)}")
    await other.press(yes_to(sender, other))
    await ann.press(yes_to(sender, ann))
    a = await ann.app.store.customer_by_identity(ann.identity)
    b = await other.app.store.customer_by_identity(other.identity)
    assert a is not None and b is not None and a.id == b.id


@pytest.mark.parametrize("who_said_off", ["ann", "ann-elsewhere"])
async def test_community_off_survives_a_link_from_either_side(
    customer_factory: Factory, app: Candor, sender: RecordingSender, who_said_off: str
) -> None:
    ann, other = customer_factory("ann"), customer_factory("ann-elsewhere")
    await ann.send("hello")
    await other.send("hello")
    await (ann if who_said_off == "ann" else other).send("/community off")
    await linked(sender, ann, other)
    for who, question in ((ann, "how do SEPA direct debits work"), (other, "SEPA mandate?")):
        said = await who.send(question)
        assert any("SEPA direct debit" in t for t in said), said
        assert not any("Others are working" in t for t in said), who.name


async def test_a_link_does_not_bring_the_offer_back_on_the_joined_cases(
    customer_factory: Factory, app: Candor, sender: RecordingSender
) -> None:
    ann, other = customer_factory("ann"), customer_factory("ann-elsewhere")
    for who in (ann, other):
        [_, offer] = await who.send("how do SEPA direct debits work")
        assert offer.startswith("Others are working on this too")
    await linked(sender, ann, other)
    for who in (ann, other):
        said = await who.send("set up a SEPA direct debit")
        assert not any("Others are working" in t for t in said), who.name


@pytest.mark.parametrize("off", ["kept", "dropped", "neither"])
async def test_a_merge_keeps_a_no_to_community_places_on_every_store(
    store: Store, off: str
) -> None:
    """Finding 3 (fixed): /community off said on the account a /link dropped was lost,
    and the offer came back (a customer's "no" lost to a join; the language is kept)."""
    async with store.transaction() as tx:
        keep, drop = await new_customer(tx, "ann"), await new_customer(tx, "ann-elsewhere")
        if off != "neither":
            await tx.notices.set_community_off(keep if off == "kept" else drop, True)
        await tx.merge_customers(keep, drop, NOW)
        assert await tx.notices.community_off(keep) is (off != "neither")


@pytest.mark.parametrize("offered", ["ann", "ann-elsewhere"])
async def test_a_case_joined_by_a_link_is_offered_a_place_once(
    customer_factory: Factory, app: Candor, sender: RecordingSender, offered: str
) -> None:
    """Finding 4 (fixed): two open cases joined by a /link are one case; the offer made
    on the one joined into the other was made again on the joined case."""
    ann, other = customer_factory("ann"), customer_factory("ann-elsewhere")
    for who in (ann, other):
        said = await who.send(
            "how do SEPA direct debits work" if who.name == offered else "hello there"
        )
        assert any("Others are working" in t for t in said) is (who.name == offered)
    await linked(sender, ann, other)
    for who, question in ((ann, "set up a SEPA direct debit"), (other, "SEPA mandate?")):
        said = await who.send(question)
        assert any("SEPA direct debit" in t for t in said), said
        assert not any("Others are working" in t for t in said), who.name


async def test_a_joined_case_passes_its_offer_on_every_store(store: Store) -> None:
    async with store.transaction() as tx:
        keep, drop = await new_customer(tx, "ann"), await new_customer(tx, "ann-elsewhere")
        kept, dropped = await tx.cases.new(keep, NOW), await tx.cases.new(drop, NOW)
        assert await tx.notices.offer_community(dropped.id, NOW)
        assert await tx.merge_customers(keep, drop, NOW) == (kept.id, dropped.id)
        assert not await tx.notices.offer_community(kept.id, NOW)


async def test_a_window_of_half_an_hour_is_not_called_0_h(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    """Finding 5 (fixed): `reopen_window_hours = 0.5` made the desk list say "resolved in
    the last 0 h"."""
    path = write_config(tmp_path, knowledge_dir, extra="[cases]\nreopen_window_hours = 0.5\n")
    async with Candor(config_module.load(path), clock=Clock()) as app:
        sender, desk = RecordingSender(), RecordingDesk()
        app.outbox.register(sender)
        app.outbox.register(desk)
        await Customer(app, sender, "ann").send("sepa debit failed")
        await Agent(app, "maria").say(SEPA)
    assert "(open, or resolved in the last 0.5 h)" in desk_replies(desk)[-1]


async def test_a_pasted_flood_of_case_numbers_gets_a_short_answer(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, sender: RecordingSender
) -> None:
    """Finding 6 (fixed): 20 000 numbers (repeated) got a 92 KB desk reply listing every
    one; 2 000 wrong words were all echoed back (65 KB)."""
    await customer_factory("ann").send("sepa is broken for us")
    maria = Agent(app, "maria")
    await maria.say(SEPA)
    await maria.say("/incident notify 1 " + " ".join(str(i % 3000 + 2) for i in range(20000)))
    reply = desk_replies(desk)[-1]
    assert "told and subscribed 1 customer (#1)." in reply
    assert "Refused: #2, #3," in reply and "#26 and 2975 more:" in reply and len(reply) < 600
    await maria.say("/incident notify 1 " + " ".join("x" * 50 for _ in range(2000)))
    reply = desk_replies(desk)[-1]
    assert reply.startswith("Which cases? (" + "x" * 19 + "…, …" + " is not a case number)")
    assert len(incident_notices(sender, "ann")) == 1


async def test_a_customers_markup_in_the_desk_list_pings_nobody_and_links_nowhere(
    customer_factory: Factory, app: Candor, desk: RecordingDesk
) -> None:
    await customer_factory("eve").send("<!channel> sepa [fails](https://evil.example) **now**")
    await Agent(app, "maria").say(SEPA)
    listing = desk_replies(desk)[-1]
    mrkdwn, html = to_slack_mrkdwn(listing), to_telegram_html(listing)
    assert "<!channel>" not in mrkdwn and "<https://evil" not in mrkdwn and "*now*" not in mrkdwn
    assert "<a " not in html and "<b>now" not in html and "evil.example" in html
