"""The public status page and its feed in the visitor's language (issues 18 + 20):
`?lang=`, else Accept-Language, else the first of `[bot] languages`; the page's
words from the `web` catalog, its dates as the language writes them, the agents'
words as written; bad input falls back, never a 500."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from babel.messages.pofile import read_po

from adapters.web.server import WebServer
from bot.app import Candor
from bot.i18n import LOCALE_DIR
from bot.web import lang
from bot.web.settings import WebSettings
from tests.conftest import ROOT, Agent, Clock

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FIVE = ("en", "de", "es", "fr", "pt")
SHIPPED = ("de", "es", "fr", "pt")
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
# (the banner when nothing is wrong, how the page writes 23 November 2026 10:00)
SAYS = {
    "en": ("All systems normal.", "Since Nov 23, 2026 10:00 UTC"),
    "de": ("Alle Systeme laufen normal.", "Seit 23. Nov. 2026 10:00 UTC"),
    "es": ("Todos los sistemas funcionan con normalidad.", "Desde el 23 nov 2026 10:00 UTC"),
    "fr": ("Tous les systèmes fonctionnent normalement.", "Depuis le 23 nov. 2026 10:00 UTC"),
    "pt": (
        "Todos os sistemas estão funcionando normalmente.",
        "Desde 23 de nov. de 2026 10:00 UTC",
    ),
}
FEED_TITLE = {
    "en": "Northwind Cloud status: incidents",
    "de": "Status von Northwind Cloud: Störungen",
    "es": "Estado de Northwind Cloud: incidencias",
    "fr": "État des services de Northwind Cloud : incidents",
    "pt": "Status de Northwind Cloud: incidentes",
}
ONGOING = {
    "en": "ongoing",
    "de": "andauernd",
    "es": "en curso",
    "fr": "en cours",
    "pt": "em andamento",
}


def serve(app: Candor, clock: Clock, languages: tuple[str, ...]) -> TestClient:
    settings = WebSettings(public_url="https://support.example.com")
    server = WebServer(app.store, settings, "Northwind Cloud", clock=clock, languages=languages)
    return TestClient(TestServer(server.app()))


@pytest.fixture
async def client(app: Candor, clock: Clock) -> AsyncIterator[TestClient]:
    async with serve(app, clock, FIVE) as test_client:
        yield test_client


async def get(client: TestClient, path: str, **headers: str) -> tuple[str, str]:
    """The page's text and its `<html lang>`, after checking it is a 200 that varies
    with Accept-Language."""
    response = await client.get(path, headers=headers)
    assert response.status == 200, path
    assert "Accept-Language" in response.headers.get("Vary", "")
    text = await response.text()
    found = re.search(r'<html lang="([^"]*)">', text)
    return text, found.group(1) if found else ""


@pytest.mark.parametrize("language", FIVE)
async def test_each_language_by_the_browsers_accept_language(
    client: TestClient, language: str
) -> None:
    header = f"{language}-XX, en;q=0.5" if language != "en" else "en-GB"
    text, page_lang = await get(client, "/status", **{"Accept-Language": header})
    assert page_lang == language
    assert SAYS[language][0] in text
    assert 'href="/status/feed.atom?lang=' + language + '"' in text  # the feed, in it too


@pytest.mark.parametrize("language", FIVE)
async def test_each_language_by_lang_wins_over_the_browser(
    client: TestClient, agent_factory: Callable[[str], Agent], language: str
) -> None:
    maria = agent_factory("maria")
    await maria.say("/incident Card payments fail | checkout | card payment")
    other = "fr" if language != "fr" else "de"
    text, page_lang = await get(client, f"/status?lang={language}", **{"Accept-Language": other})
    assert page_lang == language
    assert SAYS[language][1] in text  # the date as the language writes it
    assert "Card payments fail" in text and "checkout" in text  # the agent's words, as written


async def test_the_browsers_preferences_are_read_in_their_order(client: TestClient) -> None:
    cases = {
        "fr;q=0.4, pt-BR;q=0.9, de;q=0.8": "pt",
        "it, es;q=0.1": "es",  # Italian is not configured: the next one
        "it, ja": "en",  # none configured: the default
        "DE-at": "de",
        "*": "en",
        "fr;q=0, es": "es",  # q=0 means "not this one"
    }
    for header, expected in cases.items():
        assert (await get(client, "/status", **{"Accept-Language": header}))[1] == expected, header


@pytest.mark.parametrize(
    "query",
    ["?lang=zz", "?lang=", "?lang=%3Cscript%3E", "?lang=de%00", "?lang=" + "x" * 5000,
     "?lang=it", "?lang=de&lang=fr", "?lang=%F0%9F%92%A5", "?lang=%ff"],
)  # fmt: skip
async def test_an_unknown_lang_falls_back_cleanly(app: Candor, clock: Clock, query: str) -> None:
    """Not configured, unknown or malformed: the browser's choice or the default,
    and nothing of what was asked is written back into the page."""
    async with serve(app, clock, ("fr", "en", "de")) as client:
        text, page_lang = await get(client, "/status" + query)
        if query == "?lang=de&lang=fr":
            assert page_lang == "de"  # the first one
            return
        assert page_lang == "fr" and SAYS["fr"][0] in text  # the first configured
        text, page_lang = await get(client, "/status" + query, **{"Accept-Language": "en"})
        assert page_lang == "en"
        assert "<script" not in text and "xxxxx" not in text
        feed = await client.get("/status/feed.atom" + query)
        assert feed.status == 200


@pytest.mark.parametrize(
    "header",
    ["", ",,,;;;", "de;q=abc", "de;q=2", "de;q=nan", "a" * 8000, "de;" + "q=1;" * 2000,
     "\u00e9\u00e8, \ud83d\ude00", "en-" + "-" * 500, ", ".join(["it"] * 1900) + ", de"],
)  # fmt: skip
async def test_a_malformed_accept_language_is_the_default(client: TestClient, header: str) -> None:
    response = await client.get(
        "/status",
        headers={"Accept-Language": header.encode("utf-8", "surrogatepass").decode("latin-1")},
    )
    assert response.status == 200
    text = await response.text()
    assert '<html lang="en">' in text or '<html lang="de">' in text  # never a 500


async def test_links_to_each_language_named_in_its_own(client: TestClient) -> None:
    text, _ = await get(client, "/status?lang=de")
    nav = text.split('<nav class="languages"', 1)[1].split("</nav>", 1)[0]
    assert 'aria-label="Sprachen"' in nav
    for code, name in {
        "en": "English", "de": "Deutsch", "es": "Español", "fr": "Français", "pt": "Português"
    }.items():  # fmt: skip
        assert f'<a href="?lang={code}" lang="{code}" hreflang="{code}"' in nav
        assert f">{name}</a>" in nav
    assert 'hreflang="de" aria-current="true">Deutsch' in nav


async def test_one_language_no_links_and_english(app: Candor, clock: Clock) -> None:
    async with serve(app, clock, ("en",)) as client:
        text, page_lang = await get(client, "/status?lang=de", **{"Accept-Language": "de"})
    assert page_lang == "en" and "All systems normal." in text
    assert 'class="languages"' not in text and 'href="/status/feed.atom"' in text


async def test_every_string_is_text_in_each_language(
    client: TestClient, agent_factory: Callable[[str], Agent]
) -> None:
    maria = agent_factory("maria")
    await maria.say(f"/incident {HOSTILE} | {HOSTILE} | outage")
    await maria.say(f"/incident update 1 {HOSTILE}")
    for language in FIVE:
        text, _ = await get(client, f"/status?lang={language}")
        assert "<script" not in text and "<img" not in text, language
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text, language
        body = await (await client.get(f"/status/feed.atom?lang={language}")).text()
        assert "<script" not in body
        ET.fromstring(body)  # well-formed


@pytest.mark.parametrize("language", FIVE)
async def test_the_feed_in_each_language(
    client: TestClient, agent_factory: Callable[[str], Agent], language: str
) -> None:
    maria = agent_factory("maria")
    await maria.say("/incident Email delays | email | email")
    response = await client.get("/status/feed.atom", headers={"Accept-Language": language})
    assert response.status == 200 and "Accept-Language" in response.headers["Vary"]
    root = ET.fromstring(await response.text())
    assert root.get(XML_LANG) == language
    assert root.findtext(f"{ATOM}title") == FEED_TITLE[language]
    assert root.findtext(f"{ATOM}entry/{ATOM}title") == f"[{ONGOING[language]}] Email delays"
    self_link = root.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == f"https://support.example.com/status/feed.atom?lang={language}"
    by_query = ET.fromstring(await (await client.get(f"/status/feed.atom?lang={language}")).text())
    assert by_query.get(XML_LANG) == language


def test_the_browsers_header_is_ranked_by_quality() -> None:
    assert lang.preferred("fr;q=0.4, pt-BR;q=0.9, de") == ["de", "pt-br", "fr"]
    assert lang.preferred("de;q=0, *, x;q=1.5, es;Q=0.5") == ["es"]
    assert lang.choose(None, "", ("pt", "en")) == "pt"
    assert lang.choose(" DE ", "", ("en", "de")) == "de"


# -- the web catalog, checked as the bot's ---------------------------------------------


def _web_po(language: str):  # type: ignore[no-untyped-def]
    with lang.po_path(language).open("rb") as po:
        return read_po(po, locale=language, domain=lang.DOMAIN)


def _strings(value: object) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, tuple) else (str(value),)


def test_the_web_pot_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    """Every string bot/web marks with `P_` is in web.pot, and web.pot has no other."""
    fresh = tmp_path / "fresh.pot"
    babel = Path(sys.executable).parent / "pybabel"
    result = subprocess.run(
        [str(babel), "extract", "-F", "babel.cfg", "-k", "P_", "--no-default-keywords",
         "--no-location", "-o", str(fresh), "bot/web"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    marked = {m.id for m in read_po(fresh.open("rb")) if m.id}
    shipped = {m.id for m in read_po((LOCALE_DIR / "web.pot").open("rb")) if m.id}
    assert marked, "no string is marked: the extraction's keyword changed?"
    assert sorted(map(str, marked - shipped)) == [], "in the code, not in web.pot"
    assert sorted(map(str, shipped - marked)) == [], "in web.pot, no longer in the code"


def test_every_language_has_a_web_catalog() -> None:
    assert lang.shipped() == frozenset(FIVE)


@pytest.mark.parametrize("language", SHIPPED)
def test_every_web_entry_is_translated_with_its_placeholders(language: str) -> None:
    pot = {m.id for m in read_po((LOCALE_DIR / "web.pot").open("rb")) if m.id}
    po = _web_po(language)
    missing = sorted(str(m.id) for m in po if m.id and not all(_strings(m.string)))
    fuzzy = sorted(str(m.id) for m in po if m.id and m.fuzzy)
    absent = sorted(str(m) for m in pot - {m.id for m in po if m.id})
    assert (missing, fuzzy, absent) == ([], [], []), f"{language}: missing, fuzzy, not in the .po"
    wrong = [
        (m.id, text)
        for m in po
        if m.id
        for text in _strings(m.string)
        if set(re.findall(r"\{\w*\}", text)) != set(re.findall(r"\{\w*\}", str(m.id)))
    ]
    assert wrong == []


def test_the_dashboards_words_stay_english_in_any_language() -> None:
    from bot import i18n
    from bot.web.texts import ENGLISH, text

    with i18n.speaking("de"):
        assert text("status.normal") == "Alle Systeme laufen normal."
        for key, english in ENGLISH.items():
            if not key.startswith("status."):
                fields = dict.fromkeys(re.findall(r"\{(\w+)\}", english), "x")
                assert text(key, **fields) == english.format(**fields), key
