"""Issue 18: the catalogs, the language choice and its bad input.

The catalogs: every shipped language translates every entry (none missing, none
fuzzy), and the .pot holds exactly the strings the code marks. The choice, in
order: /language, a clear message, what was spoken before, the platform's hint,
the default. Detection never switches on short or mixed texts."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot import i18n
from bot.app import Candor
from bot.config import BotSettings, ConfigError
from bot.config import load as load_config
from bot.i18n.detect import Detector, greeting_languages
from bot.registry import pack
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
SHIPPED = ("de", "es", "fr", "pt")


def catalog(language: str):  # type: ignore[no-untyped-def]
    with i18n.po_path(language).open("rb") as po:
        return read_po(po, locale=language)


# -- the catalogs ------------------------------------------------------------------------


@pytest.mark.parametrize("language", SHIPPED)
def test_every_entry_is_translated_and_none_is_fuzzy(language: str) -> None:
    pot = {m.id for m in read_po((i18n.LOCALE_DIR / "candor.pot").open("rb")) if m.id}
    po = catalog(language)
    missing = sorted(str(m.id) for m in po if m.id and not all(_strings(m.string)))
    fuzzy = sorted(str(m.id) for m in po if m.id and m.fuzzy)
    absent = sorted(str(m) for m in pot - {m.id for m in po if m.id})
    assert (missing, fuzzy, absent) == ([], [], []), f"{language}: missing, fuzzy, not in the .po"


@pytest.mark.parametrize("language", SHIPPED)
def test_translations_keep_every_placeholder_command_and_bold(language: str) -> None:
    wrong = []
    for message in catalog(language):
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in _strings(message.string):
            source = sources[-1] if len(sources) > 1 else sources[0]
            if set(re.findall(r"\{\w*\}", text)) != set(re.findall(r"\{\w*\}", source)):
                wrong.append(("placeholders", source, text))
            if text.count("**") != source.count("**"):
                wrong.append(("bold", source, text))
            for command in re.findall(r"(?<![\w`\\])/[a-z]+", source):
                if command not in text:
                    wrong.append((command, source, text))
    assert wrong == []


def _strings(value: object) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, tuple) else (str(value),)


def test_the_pot_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    """Every string the code marks (`_`, `N_`, `ngettext`) is in the .pot, and the
    .pot has no other: extraction was run after the last change of the bot's words."""
    fresh = tmp_path / "fresh.pot"
    babel = Path(sys.executable).parent / "pybabel"
    result = subprocess.run(
        [str(babel), "extract", "-F", "babel.cfg", "-k", "N_", "--no-location", "-o", str(fresh),
         "bot"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    marked = {m.id for m in read_po(fresh.open("rb")) if m.id}
    shipped = {m.id for m in read_po((i18n.LOCALE_DIR / "candor.pot").open("rb")) if m.id}
    assert sorted(map(str, marked - shipped)) == [], "in the code, not in the .pot"
    assert sorted(map(str, shipped - marked)) == [], "in the .pot, no longer in the code"


def test_a_missing_entry_falls_back_to_english(tmp_path: Path) -> None:
    po = io.BytesIO(
        b'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        b'msgid "Hello!"\nmsgstr "Hallo!"\n\n'
        b'msgid "Cancel"\nmsgstr ""\n\n'
        b'#, fuzzy\nmsgid "Send it"\nmsgstr "Schicken"\n'
    )
    folder = tmp_path / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "candor.po").write_bytes(po.getvalue())
    real = i18n.LOCALE_DIR
    try:
        i18n.LOCALE_DIR = tmp_path
        i18n.shipped.cache_clear()
        i18n.translations.cache_clear()
        with i18n.speaking("xx"):
            assert i18n.current() == "xx"
            assert i18n._("Hello!") == "Hallo!"
            assert i18n._("Cancel") == "Cancel"  # missing: English
            assert i18n._("Send it") == "Send it"  # fuzzy: English
            assert i18n._("Not in the catalog at all") == "Not in the catalog at all"
    finally:
        i18n.LOCALE_DIR = real
        i18n.shipped.cache_clear()
        i18n.translations.cache_clear()


def test_times_are_written_as_the_language_writes_them() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
    said = {}
    for language in FIVE:
        with i18n.speaking(language):
            said[language] = i18n.when(moment, ZoneInfo("Europe/Berlin"))
    assert said["en"] == "Dec 1 15:05 CET"
    assert said["de"] == "1. Dez. 15:05 CET"
    assert said["fr"] == "1 déc. 15:05 CET"
    assert said["es"].startswith("1 dic") and said["pt"].startswith("1 de dez")


# -- the configuration --------------------------------------------------------------------


def test_languages_default_to_english_alone_and_refuse_unknown_codes() -> None:
    assert BotSettings().languages == ("en",)
    assert BotSettings(languages=["de", "en"]).languages == ("de", "en")
    for bad, said in (
        (["en", "xx"], "unknown language 'xx': the bot speaks de, en, es, fr, pt"),
        (["it"], "unknown language 'it'"),
        ([], "name at least one language"),
        (["en", "en"], "named twice"),
    ):
        with pytest.raises(ValueError, match=re.escape(said)):
            BotSettings(languages=bad)


def test_a_bad_languages_key_is_refused_naming_it(tmp_path: Path) -> None:
    config = write_config(tmp_path, tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('company = "Northwind Cloud"', 'company = "N"\nlanguages = ["en", "kl"]'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"bot\.languages.*unknown language 'kl'"):
        load_config(config)


# -- detection -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(FIVE)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Was kostet das?", "de"),
        ("Kann ich jährlich zahlen?", "de"),
        ("¿Cuánto cuesta?", "es"),
        ("Combien ça coûte ?", "fr"),
        ("Je voudrais annuler mon abonnement", "fr"),
        ("Quanto custa?", "pt"),
        ("can I pay yearly?", "en"),
        # greetings alone are their language's
        ("Hallo", "de"),
        ("Guten Tag!", "de"),
        ("Hola", "es"),
        ("Buenos días", "es"),
        ("Bonjour", "fr"),
        ("Olá", "pt"),
        ("Bom dia", "pt"),
        ("Hi there!", "en"),
    ],
)
def test_a_clear_message_is_read_as_its_language(
    detector: Detector, text: str, language: str
) -> None:
    assert detector.read(text).language == language


@pytest.mark.parametrize(
    "text",
    ["ok", "OK!", "👍", "thanks", "12345", "#42", "abc-123-xyz", "", "   ", "?", "ja", "no",
     "I want to cancel mein Abo bitte", "Hallo, I need the price list s'il vous plaît",
     "x" * 5000, "🙂" * 300],
)  # fmt: skip
def test_short_and_mixed_texts_never_switch(detector: Detector, text: str) -> None:
    assert detector.read(text).language == ""


@pytest.mark.parametrize("text", ["كم يكلف هذا؟", "מה המחיר?", "Сколько это стоит?", "多少钱？"])
def test_a_script_no_configured_language_writes_is_foreign(detector: Detector, text: str) -> None:
    reading = detector.read(text)
    assert reading.foreign and reading.language == ""


def test_with_one_language_nothing_is_detected() -> None:
    alone = Detector(("en",))
    assert alone.read("Was kostet das?").language == ""
    assert not alone.read("كم يكلف هذا؟").foreign


def test_only_configured_languages_are_detected() -> None:
    two = Detector(("en", "de"))
    assert two.read("¿Cuánto cuesta el plan anual?").language in ("", "en", "de")
    assert two.read("Hola").language == ""  # a greeting of a language not configured
    assert greeting_languages("hola") == ["es"]


# -- the choice, end to end through the engine ---------------------------------------------


@pytest.fixture
async def five(tmp_path: Path, knowledge_dir: Path, clock: Clock) -> AsyncIterator[Candor]:
    config = write_config(tmp_path, knowledge_dir)
    text = config.read_text(encoding="utf-8").replace(
        'company = "Northwind Cloud"',
        f'company = "Northwind Cloud"\nlanguages = {list(FIVE)!r}'.replace("'", '"'),
    )
    config.write_text(text, encoding="utf-8")
    async with Candor(load_config(config), clock=clock) as candor:
        yield candor


@pytest.fixture
def out(five: Candor) -> RecordingSender:
    recording = RecordingSender()
    five.outbox.register(recording)
    return recording


async def language_of(app: Candor, who: Customer) -> tuple[str, bool]:
    customer = await app.store.customer_by_identity(who.identity)
    assert customer is not None
    return customer.language, customer.language_chosen


async def test_a_clear_message_sets_the_language_and_a_short_one_keeps_it(
    five: Candor, out: RecordingSender
) -> None:
    ana = Customer(five, out, "ana")
    [reply] = await ana.send("Was kostet das?")
    assert "Ich bin Candor" in reply and await language_of(five, ana) == ("de", False)
    for short in ("ok", "👍", "12345", "thanks"):
        said = await ana.send(short)
        assert all("Sie" in line or "Ihnen" in line or "Ihr" in line for line in said), said
        assert await language_of(five, ana) == ("de", False)


async def test_the_language_changes_when_the_customer_clearly_switches(
    five: Candor, out: RecordingSender
) -> None:
    ana = Customer(five, out, "ana")
    await ana.send("Bonjour")
    assert await language_of(five, ana) == ("fr", False)
    [status] = await ana.send("/status")
    assert "ouvert, pris en charge par le bot" in status
    await ana.send("¿Puedo pagar con tarjeta de crédito cada año?")
    assert await language_of(five, ana) == ("es", False)
    [status] = await ana.send("/status")
    assert "abierto, lo lleva el bot" in status


async def test_the_platform_hint_counts_only_when_the_message_says_nothing(
    five: Candor, out: RecordingSender
) -> None:
    ana = Customer(five, out, "ana")
    [hello] = await ana.send("", kind=__import__("bot.model").model.InboundKind.START,
                             language_hint="pt-BR")  # fmt: skip
    assert "Sou Candor" in hello and await language_of(five, ana) == ("pt", False)
    bob = Customer(five, out, "bob")
    [reply] = await bob.send("Was kostet das?", language_hint="pt-BR")  # the words win
    assert "Ich bin Candor" in reply and await language_of(five, bob) == ("de", False)


async def test_an_explicit_choice_wins_and_sticks(five: Candor, out: RecordingSender) -> None:
    ana = Customer(five, out, "ana")
    await ana.send("Was kostet das?")
    [menu] = await ana.send("/language")
    shown = out.sent[-1]
    assert "Ich schreibe gerade auf Deutsch" in menu
    assert [b.label for b in shown.buttons] == ["English", "Deutsch", "Español", "Français",
                                                "Português"]  # fmt: skip
    [done] = await ana.press(pack("lang", "pt"))
    assert "A partir de agora vou escrever em português" in done
    assert await language_of(five, ana) == ("pt", True)
    [still] = await ana.send("Combien ça coûte ?")  # clear French, but they chose
    assert "Isso eu não sei" in still  # in Portuguese still
    [typed] = await ana.send("/language es")
    assert "A partir de ahora te escribo en español" in typed
    [named] = await ana.send("/language german")
    assert "Ab jetzt schreibe ich Ihnen auf Deutsch" in named
    assert await language_of(five, ana) == ("de", True)


async def test_unknown_language_and_forged_buttons_list_the_available_ones(
    five: Candor, out: RecordingSender
) -> None:
    ana = Customer(five, out, "ana")
    await ana.send("hello")
    available = "English (en), Deutsch (de), Español (es), Français (fr), Português (pt)"
    for asked in ("/language xx", "/language italiano", "/language " + "é" * 500,
                  "/language <b>de</b>", "/language ‮ed"):  # fmt: skip
        [said] = await ana.send(asked)
        assert "I don't know the language" in said and available in said, said
    for forged in ("lang:it", "lang:xx", "lang:" + "a" * 40, "lang", "lang:de:de"):
        said = await ana.send("", kind=__import__("bot.model").model.InboundKind.BUTTON,
                              payload=await ana.own(forged))  # fmt: skip
        assert said and all("Traceback" not in line for line in said)
        assert any(available in line or "no longer active" in line for line in said), said
    assert await language_of(five, ana) == ("en", False)


async def test_a_language_not_configured_is_answered_in_the_default_saying_which(
    five: Candor, out: RecordingSender
) -> None:
    ana = Customer(five, out, "ana")
    said = await ana.send("كم يكلف هذا؟")
    assert any("I can't write in that language yet. I speak English (en), Deutsch" in line
               for line in said), said  # fmt: skip
    assert await language_of(five, ana) == ("en", False)
    again = await ana.send("كم سعر الخطة السنوية؟")  # told just now: not again
    assert again and not any("I can't write in that language" in line for line in again)
    bob = Customer(five, out, "bob")
    said = await bob.send("", kind=__import__("bot.model").model.InboundKind.START,
                          language_hint="it")  # fmt: skip
    assert any("I speak English (en)" in line for line in said), said
    rtl = await ana.send("‏שלום‎ ‮hello‬ " * 50)
    assert rtl and all("Traceback" not in line for line in rtl)


async def test_mydata_shows_and_forget_erases_the_language(
    five: Candor, out: RecordingSender
) -> None:
    ana = Customer(five, out, "ana")
    await ana.send("/language fr")
    [data] = await ana.send("/mydata")
    assert "• Langue : Français (choisie par vous)" in data
    await ana.send("/forget")
    await ana.press("forget:yes")
    customer = await five.store.customer_by_identity(ana.identity)
    assert customer is None or customer.language == ""


async def test_agents_see_the_language_and_the_customer_hears_them_in_it(
    five: Candor, out: RecordingSender
) -> None:
    desk = RecordingDesk()
    five.outbox.register(desk)
    ana = Customer(five, out, "ana")
    await ana.send("Quanto custa?")
    await ana.send("/human")
    [done] = await ana.press("handover:send")
    assert "Você é o número 1 na fila." in done
    [card] = [m for m in desk.sent if m.delivery.card]
    assert " · writes Portuguese (pt)" in card.text
    assert "• Language: Portuguese (pt)" in card.text  # in the summary, the desk's words
    assert "**Why:** the customer asked for a person" in card.text
    sam = Agent(five, "sam")
    await sam.say("/claim", card.case_id)
    await sam.say("Olá Ana, o plano Team custa 8 dólares.", card.case_id)
    await sam.say("/resolve", card.case_id)
    told = out.texts("ana")[-3:]
    assert "**Sam**, do suporte, assumiu seu caso" in told[0]
    assert told[1] == "**Sam** (suporte): Olá Ana, o plano Team custa 8 dólares."
    assert "Como foi o atendimento? Toque de 1 (ruim) a 5 (ótimo)." in told[2]
    desk_words = [m.text for m in desk.sent]
    assert any("claimed case" in text for text in desk_words)  # the desk's stay English


@pytest.mark.parametrize(
    ("greeting", "language", "words"),
    [
        ("Hallo", "de", "Ich bin Candor"),
        ("Guten Tag!", "de", "Ich bin Candor"),
        ("Hola", "es", "Soy Candor"),
        ("Buenos días", "es", "Soy Candor"),
        ("Bonjour", "fr", "Je suis Candor"),
        ("Bonsoir !", "fr", "Je suis Candor"),
        ("Olá", "pt", "Sou Candor"),
        ("Boa tarde", "pt", "Sou Candor"),
    ],
)
async def test_a_greeting_is_answered_as_a_greeting_in_its_language(
    five: Candor, out: RecordingSender, greeting: str, language: str, words: str
) -> None:
    ana = Customer(five, out, "ana")
    [hello] = await ana.send(greeting)
    assert words in hello and "#1" in hello
    assert await language_of(five, ana) == (language, False)
    [again] = await ana.send(greeting)  # greeted just now: the short greeting, same language
    assert words not in again and await language_of(five, ana) == (language, False)
    assert "#1" in again


def test_telegrams_menu_is_described_in_each_language() -> None:
    from adapters.telegram.channel import menu
    from bot.app import FEATURES
    from bot.registry import Registry

    registry = Registry(FEATURES)
    english = {c.command: c.description for c in menu(registry)}
    german = {c.command: c.description for c in menu(registry, "de")}
    assert english["human"] == "Hand your case to a person"
    assert german["human"] == "Ihren Fall an eine Person übergeben"
    assert german["language"] == "Die Sprache wählen, in der ich schreibe"
    assert german.keys() == english.keys()


async def test_incident_notices_come_in_each_customers_language(
    five: Candor, out: RecordingSender, clock: Clock
) -> None:
    from bot.model import Cause

    ana, bob = Customer(five, out, "ana"), Customer(five, out, "bob")
    maria = Agent(five, "maria")
    await maria.say("/incident Login is slow | sign-in | login")
    told = "\n".join(await ana.send("Mein Login dauert ewig, was ist da los?"))
    assert "Bekanntes Problem: Login is slow." in told and "Ich melde mich hier" in told
    said = await bob.send("my login takes ages, what is going on?")
    assert any("Known problem: Login is slow." in line for line in said)
    await ana.send("/mute 2h")
    await maria.say("/incident update 1 We found the cause.")
    await maria.say("/incident update 1 A fix is being tested.")
    clock.advance(hours=3)
    await five.outbox.deliver_due()
    [held] = [m for m in out.sent if m.cause is Cause.INCIDENT and m.address.chat_id == "ana"]
    assert held.text.startswith("Während Ihre Benachrichtigungen pausiert waren:")
    assert "Neuigkeiten zu **Login is slow**: We found the cause." in held.text
    bobs = [m.text for m in out.sent if m.cause is Cause.INCIDENT and m.address.chat_id == "bob"]
    assert bobs == [
        "Update on **Login is slow**: We found the cause.",
        "Update on **Login is slow**: A fix is being tested.",
    ]


def test_doctor_says_which_strings_a_language_says_in_english(
    tmp_path: Path, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from bot.doctor import examine

    config = write_config(tmp_path, knowledge_dir)
    text = config.read_text(encoding="utf-8").replace(
        'company = "Northwind Cloud"', 'company = "N"\nlanguages = ["en", "de", "fr"]'
    )
    config.write_text(text, encoding="utf-8")
    [complete] = [f for f in asyncio.run(examine(config)) if f.area == "languages"]
    assert complete.ok and complete.detail == "complete for en, de, fr"
    monkeypatch.setattr(i18n, "gaps", lambda code: ["Send it"] if code == "fr" else [])
    [gap] = [f for f in asyncio.run(examine(config)) if f.area == "languages"]
    assert not gap.ok and not gap.needed  # a warning: the bot works, in English there
    assert gap.detail.startswith("fr: 1 of the bot's strings are missing or fuzzy")
    assert "“Send it”" in gap.detail


def test_mydata_says_what_the_bot_waits_for_in_the_customers_language() -> None:
    import json

    from bot.features.recent import in_words

    titles = {"a": "Alpha", "b": "Beta"}.get
    note = json.dumps({"after": "menu", "q": "q", "shown": ["b"], "not": ["a"], "event": 1})
    with i18n.speaking("de"):
        said = in_words(note, titles)
    assert said == (
        "Ihre Antwort: Ich habe gefragt, ob Sie “Beta” meinten; dass “Alpha” es laut Ihnen"
        " nicht ist: Das biete ich bei Ihrer nächsten Nachricht nicht an"
    )


async def test_a_sticker_is_thanked_for_in_the_customers_language(
    five: Candor, out: RecordingSender
) -> None:
    from bot.model import InboundKind

    ana = Customer(five, out, "ana")
    await ana.send("Was kostet das?")
    [thanks] = await ana.send("sticker", kind=InboundKind.OTHER)
    assert thanks.startswith("Danke für den Sticker! Damit kann ich leider nichts anfangen")
    bob = Customer(five, out, "bob")
    [english] = await bob.send("sticker", kind=InboundKind.OTHER)
    assert "Thanks for the sticker! I can't do anything with it" in english
    [other] = await bob.send("hologram", kind=InboundKind.OTHER)
    assert "Thanks for the hologram!" in other
