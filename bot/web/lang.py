"""The public status page in the visitor's language: which one (`?lang=`, else the
browser's Accept-Language, else the first of `[bot] languages`), its words and its
dates.

The page's words are a catalog of their own, the `web` domain
(`bot/locale/web.pot`, `bot/locale/LANG/LC_MESSAGES/web.po`), marked with `P_` so
that the bot's extraction (`_`, `N_`, `ngettext`) never takes them into
`candor.pot`. Its `.po` files are compiled in memory the first time a language is
needed, as `bot.i18n` does the bot's: no `.mo` to build. Incident titles and
updates are the agents' words and pass through as written; the dashboard stays
English."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_skeleton

from bot import i18n

DOMAIN = "web"
# a language tag as Accept-Language sends it ("de", "pt-BR", "zh-Hant-TW")
_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_QUALITY = re.compile(r"(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)")
_MOST_TAGS = 32  # a longer header is read up to here: nobody prefers 33 languages


def P_(message: str) -> str:
    """Marks a string of the public page for the `web` catalog; `say` translates it."""
    return message


def po_path(language: str) -> Path:
    return i18n.po_path(language, DOMAIN)


def shipped() -> frozenset[str]:
    """English and every language with a `web.po` under `bot/locale/`."""
    return i18n.shipped(DOMAIN)


def say(message: str) -> str:
    """`message` (marked with `P_`) in the language of the context (`i18n.speaking`)."""
    language = i18n.current()
    if language == i18n.ENGLISH or not message:
        return message
    return i18n.translations(language, DOMAIN).gettext(message)


def preferred(header: str) -> list[str]:
    """The tags of an Accept-Language header, most wanted first (RFC 9110 12.5.4);
    what cannot be read is left out, `*` and `q=0` too."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:_MOST_TAGS]):
        tag, _, parameters = part.partition(";")
        tag = tag.strip()
        if not _TAG.fullmatch(tag):
            continue
        quality = 1.0
        for parameter in parameters.split(";") if parameters else ():
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                quality = float(value) if _QUALITY.fullmatch(value) else 0.0
        if quality > 0:
            ranked.append((-quality, position, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose(asked: str | None, accept_language: str, languages: Sequence[str]) -> str:
    """The page's language among the configured `languages` (the first is the
    default): `?lang=` when it names one, else the browser's best match, else the
    default. Anything else asked for falls back quietly."""
    if asked is not None and asked.strip().lower() in languages:
        return asked.strip().lower()
    # no aliases: Babel's map de -> de_DE would name a language that is not configured
    found = negotiate_locale(preferred(accept_language), list(languages), sep="-", aliases={})
    return found if found is not None and found in languages else languages[0]


def when(moment: datetime) -> str:
    """A moment as the page's language writes it, in UTC ("Nov 23, 2026 10:25 UTC",
    "23. Nov. 2026 10:25 UTC")."""
    at = moment.astimezone(UTC)
    locale = Locale.parse(i18n.current())
    day = format_skeleton("yMMMd", at, locale=locale)
    return f"{day} {format_skeleton('Hm', at, locale=locale)} UTC"
