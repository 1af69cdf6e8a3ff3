"""The bot's own words in the customer's language: gettext catalogs (Babel).

Every word the bot itself says to a customer goes through `_` (or `ngettext`);
the customer's and the agents' words pass through as written, and the desk's words
stay English. The catalogs' sources are the `.po` files under `bot/locale/`,
compiled in memory the first time a language is needed (no `.mo` to build, so no
step to forget: a `pip install` or a checkout runs as it is). A string missing or
fuzzy in a language is said in English.

The language of what is being written is the context's (`speaking`): the engine
sets the customer's for their turn, and whatever writes to one customer outside a
turn (a person's reply, an incident notice) sets theirs around it. Outside any,
it is English.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "candor"
ENGLISH = "en"
# Each language named in its own words, as the /language menu shows it.
NAMES = {
    "en": "English",
    "de": "Deutsch",
    "es": "Español",
    "fr": "Français",
    "pt": "Português",
}


def N_(message: str) -> str:
    """Marks a string for the catalog where it is defined (a constant); it is
    translated where it is said, with `_`."""
    return message


# Each language's name in English, said in the customer's language with `_`.
LANGUAGE_NAMES = {
    "en": N_("English"),
    "de": N_("German"),
    "es": N_("Spanish"),
    "fr": N_("French"),
    "pt": N_("Portuguese"),
}

_current: ContextVar[str] = ContextVar("candor_language", default=ENGLISH)


def _(message: str) -> str:
    """`message` in the language of the context (English when it has no entry)."""
    language = _current.get()
    if language == ENGLISH or not message:
        return message
    return translations(language).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    language = _current.get()
    if language == ENGLISH:
        return singular if n == 1 else plural
    return translations(language).ngettext(singular, plural, n)


def current() -> str:
    return _current.get()


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """What is written inside is in `language` (a shipped one, else English)."""
    token = _current.set(language if language in shipped() else ENGLISH)
    try:
        yield
    finally:
        _current.reset(token)


def spoken(language: str, languages: Sequence[str]) -> str:
    """What to write to a customer in, outside their turn too: their language while the
    company still configures it (`languages`, `[bot] languages`), else the default (the
    first): a language taken off the list is no longer spoken to anyone."""
    if language and language in languages:
        return language
    return languages[0] if languages else ENGLISH


def choose_language(language: str) -> None:
    """The rest of this context (a customer's turn) speaks `language`."""
    _current.set(language if language in shipped() else ENGLISH)


@functools.cache
def shipped(domain: str = DOMAIN) -> frozenset[str]:
    """English and every language with a catalog of `domain` under `bot/locale/` (the
    bot's, or "web": the public status page's, bot/web/lang.py)."""
    found = {path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{domain}.po")}
    return frozenset({ENGLISH, *found})


def po_path(language: str, domain: str = DOMAIN) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


@functools.cache
def translations(language: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    """The language's catalog of `domain`, compiled from its `.po` (fuzzy entries left
    out, so that they are said in English, like missing ones)."""
    if language == ENGLISH or language not in shipped(domain):
        return gettext.NullTranslations()
    with po_path(language, domain).open("rb") as source:
        catalog = read_po(source, locale=language, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def held_notices(language: str, notices: list[str]) -> str:
    """Several held notices sent as one (by the outbox), headed in `language`."""
    with speaking(language or ENGLISH):
        heading = _("While your notices were paused:")
    return heading + "\n\n" + "\n\n".join(f"• {text}" for text in notices)


def gaps(language: str) -> list[str]:
    """The catalog's entries that `language` says in English (missing or fuzzy)."""
    if language == ENGLISH:
        return []
    if language not in shipped():
        return ["(no catalog)"]
    with po_path(language).open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    found = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            found.append(str(message.id[0] if isinstance(message.id, tuple) else message.id))
    return found


def check_languages(value: tuple[str, ...]) -> tuple[str, ...]:
    """`[bot] languages`: known codes, each once, at least one (the first is the
    default). Raises ValueError saying which are available."""
    available = ", ".join(sorted(shipped()))
    if not value:
        raise ValueError(f"name at least one language (available: {available})")
    seen: set[str] = set()
    for code in value:
        if code not in shipped():
            raise ValueError(
                f"unknown language {code!r}: the bot speaks {available}"
                " (README, 'Adding a language', says how to add one)"
            )
        if code in seen:
            raise ValueError(f"language {code!r} is named twice")
        seen.add(code)
    return value


def when(moment: datetime, zone: ZoneInfo) -> str:
    """A day and time as the customer's language writes them ("1. Dez. 23:31 UTC",
    "Dec 1 23:31 UTC"), in the bot's time zone."""
    local = moment.astimezone(zone)
    locale = Locale.parse(_current.get())
    day = format_skeleton("MMMd", local, locale=locale)
    return f"{day} {format_skeleton('Hm', local, locale=locale)} {local.tzname() or ''}".rstrip()
