"""Red team, session 9, the customer's language (issue 18): what the bot reads as a
language, the follow-ups in each shipped language, and the catalogs' placeholders."""

from __future__ import annotations

import string
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot import i18n
from bot.app import Candor
from bot.config import load as load_config
from bot.features.followups import read
from bot.i18n.detect import Detector
from tests.conftest import (
    ROOT,
    Agent,
    Clock,
    Customer,
    RecordingDesk,
    RecordingSender,
    write_config,
)

FIVE = ("en", "de", "es", "fr", "pt")


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(FIVE)


# -- finding 1: a link, an address or code is written in no language -------------------


@pytest.mark.parametrize(
    "text",
    [
        "https://northwind.example.com/billing/invoices/2024?id=abc",
        "www.northwind.example.com/settings/billing/cancel",
        "ana.mueller@example.de",
        "`SELECT * FROM users WHERE email = 'x'`",
        "```\nTraceback (most recent call last):\n  KeyError: 'workspace'\n```",
        "C:\\Users\\ana\\Downloads\\invoice_2024_11.pdf",
    ],
)
def test_a_link_address_or_code_alone_never_switches(detector: Detector, text: str) -> None:
    assert detector.read(text).language == ""


def test_the_words_around_a_link_are_what_is_read(detector: Detector) -> None:
    text = "Der Link https://northwind.example.com/billing/invoices funktioniert nicht mehr"
    assert detector.read(text).language == "de"


# -- finding 2: a few letters of another script in a Latin-script message ---------------


@pytest.mark.parametrize(
    "text",
    [
        "Unser Büro in 東京 braucht einen Zugang",
        "Ich heiße Σοφία und brauche Hilfe bei der Rechnung",
        "Hаllо, ich brauche Hilfe bei der Rechnung",  # two Cyrillic look-alikes
    ],
)
def test_a_name_in_another_script_does_not_make_a_message_foreign(
    detector: Detector, text: str
) -> None:
    reading = detector.read(text)
    assert not reading.foreign and reading.language == "de"


def test_a_message_mostly_in_another_script_is_still_foreign(detector: Detector) -> None:
    assert detector.read("Сколько стоит план Team?").foreign


@pytest.fixture
async def five(tmp_path: Path, clock: Clock) -> AsyncIterator[Candor]:
    config = write_config(tmp_path, ROOT / "knowledge")
    text = config.read_text(encoding="utf-8").replace(
        'company = "Northwind Cloud"',
        'company = "Northwind Cloud"\nlanguages = ["en", "de", "es", "fr", "pt"]',
    )
    config.write_text(text, encoding="utf-8")
    async with Candor(load_config(config), clock=clock) as candor:
        yield candor


@pytest.fixture
def out(five: Candor) -> RecordingSender:
    recording = RecordingSender()
    five.outbox.register(recording)
    return recording


async def language_of(app: Candor, who: Customer) -> str:
    customer = await app.store.customer_by_identity(who.identity)
    assert customer is not None
    return customer.language


async def test_a_german_customer_who_pastes_a_link_or_names_tokyo_stays_german(
    five: Candor, out: RecordingSender
) -> None:
    ana = Customer(five, out, "ana")
    await ana.send("Was kostet der Team-Plan pro Monat?")
    assert await language_of(five, ana) == "de"
    await ana.send("https://northwind.example.com/billing/invoices/2024?id=abc")
    assert await language_of(five, ana) == "de"
    said = await ana.send("Unser Büro in 東京 braucht einen Zugang")
    assert await language_of(five, ana) == "de"
    assert not any("Sprache" in line and "noch nicht schreiben" in line for line in said), said
    assert not any("I can't write in that language" in line for line in said), said


# -- finding 3: follow-ups and picks in each shipped language ---------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("und für 50 Plätze?", "de"),
        ("Und was ist mit dem Business-Plan?", "de"),
        ("¿y para 50 puestos?", "es"),
        ("et pour 50 places ?", "fr"),
        ("e para 50 lugares?", "pt"),
        ("and for 50 seats?", "de"),  # English is read from everyone
    ],
)
def test_a_follow_up_is_read_in_the_customers_language(text: str, language: str) -> None:
    assert read(text, language) == ("follow", 0)


def test_a_one_letter_follow_up_word_is_read_only_in_its_language() -> None:
    assert read("e mail does not arrive", "en") == ("", 0)
    assert read("y axis is wrong", "en") == ("", 0)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("die zweite", ("pick", 2)),
        ("Nummer 3", ("pick", 3)),
        ("la segunda", ("pick", 2)),
        ("opción 1", ("pick", 1)),
        ("le deuxième", ("pick", 2)),
        ("la dernière", ("pick", -1)),
        ("o segundo", ("pick", 2)),
        ("das andere", ("other", 0)),
        ("el otro", ("other", 0)),
        ("l'autre", ("other", 0)),
        ("o outro", ("other", 0)),
    ],
)
def test_picks_and_the_other_one_in_each_language(text: str, said: tuple[str, int]) -> None:
    assert read(text, "en") == said


async def test_a_german_customer_picks_from_a_menu_in_german(
    five: Candor, out: RecordingSender
) -> None:
    ana = Customer(five, out, "ana")
    [menu] = (await ana.send("Wie kann ich bezahlen?"))[-1:]
    assert "Ich bin nicht sicher, welches davon Sie meinen" in menu, menu
    second = menu.split("\n2. ", 1)[1].split("\n", 1)[0]
    [answer] = await ana.send("die zweite")
    assert f"Quelle: der Artikel „{second}“" in answer, answer


# -- finding 4: every placeholder of every translation is its msgid's ---------------------


def _fields(text: str) -> list[str]:
    """The format fields of `text`, as str.format reads them (raises on a stray brace)."""
    return sorted(
        f"{name}!{conversion}:{spec}"
        for _literal, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    )


@pytest.mark.parametrize("language", ("de", "es", "fr", "pt"))
def test_every_translation_has_exactly_its_msgids_placeholders(language: str) -> None:
    """Each form of each entry: the same `{fields}` (with their conversions and format
    specs, as many times each) as its msgid, no stray brace, no printf-style one."""
    with i18n.po_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for index, text in enumerate(strings):
            source = ids[min(index, len(ids) - 1)]
            if len(ids) > 1 and index > 0:
                source = ids[1]
            try:
                theirs = _fields(text)
            except ValueError as error:
                wrong.append((source, text, str(error)))
                continue
            ours = _fields(source)
            if len(ids) > 1:  # a plural form may leave the number out ("one question")
                ours = sorted(set(ours) | set(_fields(ids[0])))
                theirs_ok = set(theirs) <= set(ours)
            else:
                theirs_ok = theirs == ours
            if not theirs_ok:
                wrong.append((source, text, "placeholders differ"))
            for printf in ("%s", "%d", "%("):
                if text.count(printf) != source.count(printf):
                    wrong.append((source, text, printf))
    assert wrong == []


# -- finding 6: a language taken off `[bot] languages` is no longer spoken -------------


async def test_a_language_no_longer_configured_is_not_spoken_outside_the_turn(
    tmp_path: Path, knowledge_dir: Path, clock: Clock
) -> None:
    """A customer the bot spoke French to, after the company took French off its
    languages: an agent's claim (said outside the customer's turn) came in French."""
    config = write_config(tmp_path, knowledge_dir)
    text = config.read_text(encoding="utf-8").replace(
        'company = "Northwind Cloud"', 'company = "Northwind Cloud"\nlanguages = ["de", "en"]'
    )
    config.write_text(text, encoding="utf-8")
    async with Candor(load_config(config), clock=clock) as app:
        out = RecordingSender()
        app.outbox.register(out)
        desk = RecordingDesk()
        app.outbox.register(desk)
        ana = Customer(app, out, "ana")
        await ana.send("/human")
        await ana.press("handover:send")
        customer = await app.store.customer_by_identity(ana.identity)
        assert customer is not None
        async with app.store.transaction() as tx:  # spoken before French was taken off
            await tx.customers.set_language(customer.id, "fr", False)
        [card] = [m for m in desk.sent if m.delivery.card]
        await Agent(app, "sam").say("/claim", card.case_id)
        told = out.texts("ana")[-1]
        assert "votre dossier" not in told and "übernommen" in told, told


# -- finding 7: /language with a regional tag -------------------------------------------


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        ("/language de-AT", "Ab jetzt schreibe ich Ihnen"),
        ("/language pt_BR", "A partir de agora vou"),
        ("/language ES-mx", "A partir de ahora te"),
    ],
)
async def test_a_regional_tag_chooses_its_language(
    five: Candor, out: RecordingSender, asked: str, said: str
) -> None:
    ana = Customer(five, out, "ana")
    await ana.send("hello")
    [done] = await ana.send(asked)
    assert said in done, done


async def test_a_regional_tag_of_a_language_not_configured_is_still_unknown(
    five: Candor, out: RecordingSender
) -> None:
    ana = Customer(five, out, "ana")
    await ana.send("hello")
    [said] = await ana.send("/language it-CH")
    assert "I don't know the language “it-CH”" in said, said


# -- open findings (xfail: a design choice or a change beyond a red-team fix) -----------


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("text", ["2", " 4 / 5 ", "??", "24/7", "😀 2"])
def test_a_bare_number_is_never_answered_as_a_question(language: str, text: str) -> None:
    """(finding 8: a bare '2' with no menu open was answered with the SOC 2 article.)"""
    from bot.knowledge.base import KnowledgeBase

    kb = KnowledgeBase.load(ROOT / "knowledge", languages=FIVE)
    assert kb.decide(text, language).kind == "unknown"


@pytest.mark.xfail(
    strict=True,
    reason="finding 9: a clear French sentence with one English product name ('Team') is"
    " read at 0.68, under MIN_CONFIDENCE 0.7: a customer spoken to in Portuguese gets"
    " 'I don't know' from the Portuguese index; the thresholds are the benchmark's to move",
)
def test_a_clear_sentence_with_a_product_name_is_read_as_its_language(
    detector: Detector,
) -> None:
    assert detector.read("Combien coûte l'offre Team par mois ?").language == "fr"
