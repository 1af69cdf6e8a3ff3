"""Community places on the customer's terms: offered once per case, never with anyone's
identity, silenced by /community off (or /mute community), kept in /mydata and erased
by /forget; the shipped article answers "connect with others"; ideas count others."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import Candor
from bot.config import Config
from bot.knowledge.tools import kb_check
from bot.model import Cause
from tests.conftest import (
    ARTICLES,
    ROOT,
    Agent,
    Customer,
    RecordingDesk,
    RecordingSender,
    write_articles,
    write_config,
)

Factory = Callable[[str], Customer]
PLACE = "https://t.me/northwind_sepa"
SHOWN = "https://t.me/northwind\\_sepa"  # as the core's Markdown quotes it
OFFER = "Others are working on this too: " + SHOWN


def sepa_article(folder: Path, community: str, language: str = "") -> None:
    where = folder / language if language else folder
    where.mkdir(parents=True, exist_ok=True)
    place = f'community = "{community}"\n' if community else ""
    original = 'original = "000000000000"\n' if language else ""
    questions = (
        '"wie funktionieren SEPA Lastschriften", "SEPA Lastschrift einrichten"'
        if language
        else '"how do SEPA direct debits work", "set up a SEPA direct debit"'
    )
    title = "SEPA-Lastschrift" if language else "SEPA direct debit"
    (where / "sepa.md").write_text(
        f'+++\ntitle = "{title}"\nquestions = [{questions}]\n{place}{original}+++\n'
        f"{title}: the mandate is signed once.\n",
        encoding="utf-8",
    )


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    folder = write_articles(tmp_path / "knowledge", ARTICLES)
    sepa_article(folder, PLACE)
    sepa_article(folder, "", "de")  # its translation names no place: it has the English one's
    return folder


@pytest.fixture
def config_path(tmp_path: Path, knowledge_dir: Path) -> Path:
    path = write_config(tmp_path, knowledge_dir)
    text = path.read_text(encoding="utf-8").replace(
        'company = "Northwind Cloud"', 'company = "Northwind Cloud"\nlanguages = ["en", "de"]'
    )
    path.write_text(text, encoding="utf-8")
    return path


async def test_an_articles_place_is_offered_once_per_case_and_names_nobody(
    customer_factory: Factory, app: Candor
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    answer, offer = await ann.send("how do SEPA direct debits work?")
    assert "the mandate is signed once" in answer
    assert offer.startswith(OFFER) and "/community off" in offer
    assert "ann" not in offer.lower()  # nobody named, the customer neither
    again = await ann.send("set up a SEPA direct debit")
    assert len(again) == 1 and "Others are working" not in again[0]  # once per case
    [_, to_bob] = await bob.send("how do SEPA direct debits work")
    assert to_bob.startswith(OFFER)  # bob's case: his own offer, with no word of ann's
    assert not any(c.isdigit() for c in to_bob.replace(SHOWN, ""))  # no count of people


async def test_no_place_is_offered_while_notices_are_muted_for_a_time(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send("/mute 8h")
    told = await ann.send("how do SEPA direct debits work?")
    assert len(told) == 1 and "the mandate is signed once" in told[0]  # the answer alone
    await ann.send("/unmute")
    told = await ann.send("how do SEPA direct debits work")
    assert any(t.startswith(OFFER) for t in told), told  # not offered yet on this case


async def test_a_translation_offers_the_english_articles_place_in_german(
    customer_factory: Factory, app: Candor
) -> None:
    udo = customer_factory("udo")
    await udo.send("/language de")
    answer, offer = await udo.send("wie funktionieren SEPA Lastschriften")
    assert "SEPA-Lastschrift" in answer
    assert offer.startswith("Andere arbeiten auch daran: " + SHOWN)
    assert "Mit /community off erwähne ich solche Orte nicht mehr." in offer


async def test_community_off_is_honoured_kept_in_mydata_and_erased_by_forget(
    customer_factory: Factory, app: Candor, sender: RecordingSender, config: Config
) -> None:
    ann = customer_factory("ann")
    [off] = await ann.send("/community off")
    assert "I won't offer community places any more" in off
    [answer] = await ann.send("how do SEPA direct debits work?")
    assert "the mandate is signed once" in answer  # the answer, with no offer
    await ann.send("/mydata")
    [file] = [m for m in sender.sent if m.delivery.file is not None]
    export = json.loads(file.delivery.file.text)
    assert export["preferences"]["community_places_offered"] is False
    [on] = await ann.send("/unmute community")
    assert "I'll mention a community place again" in on
    [muted] = await ann.send("/mute community")
    assert "I won't offer community places any more" in muted
    [back] = await ann.send("/mute off")  # (notices: the same as /unmute)
    assert "Notices are on again" in back
    [huh] = await ann.send("/community maybe")
    assert "Say /community to see the places" in huh
    await ann.send("/forget")
    await ann.press("forget:yes")
    with sqlite3.connect(config.storage.path) as db:
        assert db.execute("SELECT community_off FROM customers").fetchall() == [(0,)]


async def test_an_incident_names_its_place_and_a_bad_one_is_refused(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, sender: RecordingSender
) -> None:
    maria = Agent(app, "maria")
    await maria.say("/incident Card payments fail | checkout | card | community: javascript:x")
    refused = [m.text for m in desk.sent if m.delivery.purpose == "desk_reply"][-1]
    assert refused.startswith("Not declared: the community place") and "http(s) URL" in refused
    await maria.say("/incidents")
    assert [m.text for m in desk.sent][-1] == "No open incidents."
    await maria.say(
        "/incident Card payments fail | checkout | card | community: https://t.me/nw_cards"
    )
    declared = next(m.text for m in desk.sent if "declared by Maria" in m.text)
    assert "community place offered to them: https://t.me/nw\\_cards" in declared
    known, offer, answer = await customer_factory("ann").send("my card is declined at checkout")
    assert "Known problem: Card payments fail" in known
    assert offer.startswith("Others are working on this too: https://t.me/nw\\_cards")
    assert "I don't know that" in answer
    await maria.say("/incident update 1 Rolling back.")  # an update carries no offer again
    assert not any("Others are working" in m.text for m in sender.sent if m.cause is Cause.INCIDENT)


async def test_forged_offer_words_are_plain_text(customer_factory: Factory, app: Candor) -> None:
    """What a customer writes never becomes a place: only articles and agents name them."""
    [reply] = await customer_factory("eve").send("/community [x](https://evil.example)")
    assert "evil" not in reply and "Say /community" in reply


def test_kb_check_says_why_a_place_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    sepa_article(folder, "ftp://files.example/sepa")
    out = io.StringIO()
    assert kb_check(folder, out) == 1
    assert "community 'ftp://files.example/sepa' must be an http(s) URL" in out.getvalue()
    sepa_article(folder, "https://forum.example/c/sepa")
    assert kb_check(folder, io.StringIO()) == 0


async def test_the_help_lists_community(customer_factory: Factory, app: Candor) -> None:
    [shown] = await customer_factory("ann").send("/help")
    assert "/community" in shown and "places where customers work on" in shown


async def test_ideas_say_how_many_others_want_the_same(
    customer_factory: Factory, app: Candor, sender: RecordingSender
) -> None:
    ann, bob, cem = customer_factory("ann"), customer_factory("bob"), customer_factory("cem")
    [first] = await ann.send("/idea Export reports to CSV")
    assert "other customer" not in first
    [same] = await bob.send("/idea export reports to CSV")
    assert "1 other customer wants this too." in same and "Ann" not in same
    await cem.send("/idea")
    [voted] = await cem.press("idea:vote:1")
    assert "2 other customers want this too." in voted


@pytest.fixture
def shipped_config(tmp_path: Path) -> Path:
    return write_config(tmp_path, ROOT / "knowledge")


async def test_connect_with_others_is_answered_with_the_places_known(
    shipped_config: Path, tmp_path: Path
) -> None:
    from bot import config as config_module
    from tests.conftest import Clock

    async with Candor(config_module.load(shipped_config), clock=Clock()) as app:
        sender = RecordingSender()
        app.outbox.register(sender)
        app.outbox.register(RecordingDesk())
        ann = Customer(app, sender, "ann")
        [said] = await ann.send("I want to connect with others who are working on similar problems")
        assert "I don't know of a place where customers work on these things together yet" in said
        assert "/idea" in said and "/human" in said and "I don't know that" not in said
        [menu] = await ann.send("does the free plan include the community forum?")
        assert "free plan" in menu.lower() and "I don't know of a place" not in menu
        await Agent(app, "maria").say(
            "/incident Exports fail | exports | export | community: https://t.me/nw_exports"
        )
        [places] = await Customer(app, sender, "bob").send("is there a user community?")
        assert "Places where customers work on the same problems together:" in places
        assert "• Exports fail: https://t.me/nw\\_exports" in places
        assert "Nobody there learns anything about you from me" in places
