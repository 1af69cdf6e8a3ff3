"""The language the bot speaks to a customer, chosen in this order: what they chose
(`/language de`, or the menu `/language` shows), the language of their message when
it is clear (`bot.i18n.detect`), the language it spoke to them before, the
platform's hint (Telegram's `language_code`), and the configured default (the first
of `[bot] languages`). It is stored on the customer, shown in `/mydata`, erased by
`/forget`; it changes mid-conversation when they clearly write in another one."""

from __future__ import annotations

from dataclasses import replace

from babel import Locale, UnknownLocaleError

from bot import i18n
from bot.i18n import _, detect
from bot.model import Button, Customer, InboundKind
from bot.registry import Feature, pack
from bot.text import md_escape, shorten
from bot.turn import Turn

feature = Feature("language")

# English names too, so that "/language german" works
_ENGLISH_NAMES = {"english": "en", "german": "de", "spanish": "es", "french": "fr",
                  "portuguese": "pt"}  # fmt: skip


def hinted(hint: str) -> str:
    """A platform's language tag as a language code: "pt-br" → "pt", "de_AT" → "de"."""
    return hint.strip().replace("_", "-").split("-", 1)[0].lower()[:8]


def settle(turn: Turn) -> tuple[str, bool]:
    """The language of this turn, and whether the message came in a script of a
    language the company did not configure."""
    configured = turn.settings.languages
    customer = turn.customer
    stored = customer.language if customer.language in configured else ""
    inbound = turn.inbound
    if stored and customer.language_chosen:
        return stored, False
    reading = detect.Reading()
    if (inbound.kind in (InboundKind.MESSAGE, InboundKind.EDIT) and turn.command is None) or (
        inbound.kind is InboundKind.ATTACHMENT and turn.text
    ):
        reading = turn.services.detector.read(turn.text)
    if reading.language:
        return reading.language, False
    if stored:
        return stored, reading.foreign
    hint = hinted(inbound.language_hint)
    if hint in configured:
        return hint, reading.foreign
    # a platform that says the customer uses a language the company does not serve:
    # told once, on first contact, which ones it does (with one, there is no choice)
    unserved = turn.new_customer and len(configured) > 1 and _is_language(hint)
    return configured[0], reading.foreign or unserved


def _is_language(code: str) -> bool:
    if not code.isalpha() or not 2 <= len(code) <= 3:
        return False
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return False
    return True


async def arrive(turn: Turn) -> None:
    """Settle the turn's language (before anything is said) and keep it on the customer."""
    language, foreign = settle(turn)
    turn.language = language
    i18n.choose_language(language)
    customer = turn.customer
    if language != customer.language:
        await turn.tx.customers.set_language(customer.id, language, customer.language_chosen)
        turn.customer = _with_language(turn, language, customer.language_chosen)
    turn.foreign = foreign


def _with_language(turn: Turn, language: str, chosen: bool) -> Customer:
    return replace(turn.customer, language=language, language_chosen=chosen)


def available(turn: Turn) -> str:
    """The configured languages, each named in its own words, with its code."""
    return ", ".join(f"{i18n.NAMES[code]} ({code})" for code in turn.settings.languages)


def menu(turn: Turn) -> list[Button]:
    return [Button(i18n.NAMES[code], pack("lang", code)) for code in turn.settings.languages]


_TOLD = "said which languages it speaks"


async def foreign_notice(turn: Turn) -> None:
    """Said before the reply to a message in a language the bot does not speak (once
    in a while: not again while it is among the case's last few events)."""
    if any(e.actor == "bot" and e.text == _TOLD for e in await turn.timeline(10)):
        return
    await turn.say(
        _("I can't write in that language yet. I speak {languages}; /language switches.").format(
            languages=available(turn)
        ),
        note=_TOLD,
    )


@feature.command("language", help=i18n.N_("choose the language I write in"))
async def language(turn: Turn, args: str) -> None:
    wanted = args.strip().lower()
    if len(turn.settings.languages) == 1:  # nothing to choose from: no menu
        await turn.say(
            _("I write in {languages} only.").format(languages=available(turn)),
            note="said the one language it speaks",
        )
        return
    if not wanted:
        await turn.say(
            _("I'm writing in {language}. Which language would you like?").format(
                language=_(i18n.LANGUAGE_NAMES[turn.language])  # in a sentence: "en français"
            ),
            buttons=menu(turn),
            note="showed the languages",
        )
        return
    code = _ENGLISH_NAMES.get(wanted, wanted)
    code = next((c for c, name in i18n.NAMES.items() if name.lower() == code), code)
    if code not in turn.settings.languages and hinted(code) in turn.settings.languages:
        code = hinted(code)  # a tag as platforms write it: "de-AT", "pt_BR"
    if code not in turn.settings.languages:
        await _unknown(turn, args.strip())  # as they typed it
        return
    await _switch(turn, code)


@feature.button("lang", str)
async def pressed(turn: Turn, fields: tuple[object, ...]) -> None:
    code = str(fields[0])
    if code not in turn.settings.languages:  # forged, or a language no longer configured
        await _unknown(turn, code)
        return
    await _switch(turn, code)


async def _unknown(turn: Turn, wanted: str) -> None:
    await turn.say(
        _(
            "I don't know the language “{wanted}”. I speak {languages}: type /language and a"
            " code, for example /language {example}."
        ).format(
            wanted=md_escape(shorten(wanted, 40)),
            languages=available(turn),
            example=turn.settings.languages[-1],
        ),
        buttons=menu(turn) if len(turn.settings.languages) > 1 else (),
        note="did not know that language",
    )


async def _switch(turn: Turn, code: str) -> None:
    await turn.tx.customers.set_language(turn.customer.id, code, True)
    turn.customer = _with_language(turn, code, True)
    turn.language = code
    i18n.choose_language(code)
    await turn.say(
        _("From now on I'll write to you in {language}. /language changes it again.").format(
            language=_(i18n.LANGUAGE_NAMES[code])  # in a sentence: "en français", "auf Deutsch"
        ),
        note=f"language: {code}",
    )
