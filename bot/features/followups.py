"""The message right after an answer or a menu refers to it, not to a new search.

After "Did you mean “X”?": yes shows X, no says so (and X is not offered again).
After a menu: a number or "the second one" picks from it; "none of these" is
"None of these". After an answer: "that didn't help", "not what I asked", "no"
or "no, the other one" offer the next-best articles when any are close (never
the same article again), else a person; "thanks" and "yes" are not questions.
After an answer plus "You also asked about …" (a question that asked two things):
thanks and "that didn't help" are about the answer; yes, no and a number about
the offer. Every reply acts on what the bot said last, once: a "no" said again is
not a new question.
After either: a short follow-up ("and for 50 seats?", "what about yearly?") is
matched together with the question before it, and answered only if that clears
the thresholds; otherwise it is a new question. One that lands on the article
just shown is not answered with it again: the next-best articles are offered, or
a person.

What the bot said last is kept on the case (features/recent.py). The replies are
read from small explicit phrase lists over normalised text: a reply is short, so
anything longer than `SHORT` characters is a new question, and nothing here scans
a long message.
"""

from __future__ import annotations

from bot.features import handover
from bot.features.answers import (
    not_answered,
    offer,
    said_no,
    said_none,
    show_article,
)
from bot.features.recent import Recent, keep, recall
from bot.i18n import _
from bot.knowledge import Candidate
from bot.registry import Feature
from bot.signals import frustrated, wants_person
from bot.text import MAX_MATCHED, md_escape
from bot.turn import Turn

feature = Feature("follow-ups")

SHORT = 80  # characters: a longer message is a question of its own
FOLLOW_UP_WORDS = 8  # "and for 50 seats?" is a follow-up; a long sentence is not


def _forms(*phrases: str) -> frozenset[str]:
    return frozenset(phrases)


YES = _forms(
    "yes", "y", "yep", "yeah", "yea", "yup", "ya", "sure", "correct", "right", "exactly",
    "yes please", "yes that", "yes that one", "yes thats it", "yes it is", "thats it",
    "thats the one", "that one", "ok", "okay", "indeed", "of course", "affirmative",
    "yes thanks", "yes thank you", "ok thanks", "ok thank you",
    # the other shipped languages' (the bot's own questions are asked in them too)
    "ja", "ja bitte", "genau", "richtig", "jawohl", "sí", "si", "claro", "correcto", "eso",
    "oui", "ouais", "exactement", "cest ça", "sim", "isso", "exato", "certo",
)  # fmt: skip
NO = _forms(
    "no", "n", "nope", "nah", "no thanks", "no thank you", "not that", "not that one",
    "not it", "thats not it", "its not that", "no its not", "wrong", "neither",
    "none", "none of these", "none of them", "none of those", "no none of these",
    "nein", "nee", "nö", "keins", "keiner davon", "nichts davon", "falsch", "ninguno",
    "ninguna", "ninguno de estos", "non", "aucun", "aucune", "aucun de ceux ci", "não",
    "nao", "nenhum", "nenhuma", "nenhum destes",
)  # fmt: skip
NOT_HELPED = _forms(
    "that didnt help", "didnt help", "that did not help", "did not help", "doesnt help",
    "that doesnt help", "it didnt help", "not helpful", "that wasnt helpful",
    "that was not helpful", "not what i asked", "thats not what i asked",
    "that is not what i asked", "not what i meant", "thats not what i meant",
    "not what i wanted", "wrong answer", "thats wrong", "that is wrong", "not really",
    "that doesnt answer my question", "that didnt answer my question",
    "das hat nicht geholfen", "hat nicht geholfen", "das hilft nicht", "no me ayudó",
    "no ayudó", "eso no ayuda", "ça na pas aidé", "ça naide pas", "não ajudou",
    "isso não ajudou",
)  # fmt: skip
OTHER = _forms(
    "the other one", "the other", "other one", "the other article", "another one",
    "a different one", "something else", "the other option",
    # the other shipped languages' ("l’autre" is "lautre": apostrophes are dropped)
    "das andere", "der andere", "die andere", "ein anderer", "ein anderes", "etwas anderes",
    "el otro", "la otra", "otro", "otra", "otra cosa", "lautre", "un autre", "une autre",
    "autre chose", "o outro", "a outra", "outro", "outra", "outra coisa",
)  # fmt: skip
THANKS = _forms(
    "thanks", "thank you", "thanks a lot", "thank you very much", "many thanks", "thx",
    "ty", "great", "great thanks", "perfect", "perfect thanks", "that helped",
    "that helps", "helpful", "very helpful", "got it", "cool", "awesome",
    "danke", "danke schön", "vielen dank", "super danke", "gracias", "muchas gracias",
    "perfecto", "merci", "merci beaucoup", "parfait", "obrigado", "obrigada",
    "muito obrigado", "muito obrigada", "perfeito",
)  # fmt: skip
_LEADING_NO = ("no", "nope", "nah", "nein", "non", "não")
_FOLLOW_UP = ("and", "what about", "how about", "and what about", "and how about", "what if")
# How each other shipped language begins one ("und für 50 Plätze?", "y para 50
# puestos?"): read only from a customer the bot speaks that language to (a one-letter
# "y" or "e" begins other things in English).
_FOLLOW_UP_IN = {
    "de": ("und", "was ist mit", "wie ist es mit", "und was ist mit", "und wenn", "was wenn"),
    "es": ("y", "qué tal", "que tal", "y qué tal", "y si", "y con"),
    "fr": ("et", "et si", "et pour", "quen est il", "et quen est il"),
    "pt": ("e", "e se", "e quanto a", "e para", "e com"),
}
_NUMBERS = {
    1: ("1", "1st", "first", "erste", "erstes", "ersten", "primero", "primera", "premier",
        "première", "primeiro", "primeira"),
    2: ("2", "2nd", "second", "zweite", "zweites", "zweiten", "segundo", "segunda", "deuxième",
        "seconde"),
    3: ("3", "3rd", "third", "dritte", "drittes", "dritten", "tercero", "tercera", "troisième",
        "terceiro", "terceira"),
    4: ("4", "4th", "fourth", "vierte", "viertes", "vierten", "cuarto", "cuarta", "quatrième",
        "quarto", "quarta"),
    5: ("5", "5th", "fifth", "fünfte", "fünftes", "fünften", "quinto", "quinta", "cinquième"),
    -1: ("last", "letzte", "letztes", "letzten", "último", "última", "dernier", "dernière"),
}  # fmt: skip
# "the second", "option 2" as each shipped language frames a pick
_PICKED = ("the {w}", "the {w} one", "{w} one", "option {w}", "number {w}", "the {w} option",
           "der {w}", "die {w}", "das {w}", "nummer {w}", "el {w}", "la {w}", "opción {w}",
           "número {w}", "le {w}", "numéro {w}", "o {w}", "a {w}", "opção {w}")  # fmt: skip


def _ordinals() -> dict[str, int]:
    found: dict[str, int] = {}
    for n, words in _NUMBERS.items():
        for w in words:
            found[w] = n
            for form in _PICKED:
                found[form.format(w=w)] = n
    return found


ORDINALS = _ordinals()


def normalised(text: str) -> str:
    """Lower case, apostrophes dropped ("didn't" is "didnt"), anything else that is
    not a letter or digit a space, spaces folded; "" for a long message."""
    if len(text) > SHORT:
        return ""
    kept = "".join("" if ch in "'’" else ch if ch.isalnum() else " " for ch in text.casefold())
    return " ".join(kept.split())


def read(text: str, language: str = "en") -> tuple[str, int]:
    """What a short reply says: ("yes" | "thanks" | "no" | "unhelpful" | "other" |
    "pick" | "follow" | "", n); n: the number picked (-1: the last). "unhelpful"
    ("that didn't help") is a "no" that can only be about an answer."""
    said = normalised(text)
    if not said:
        return "", 0
    if said in YES:
        return "yes", 0
    if said in THANKS:
        return "thanks", 0
    if said in NO:
        return "no", 0
    if said in NOT_HELPED:
        return "unhelpful", 0
    if said in OTHER:
        return "other", 0
    if said in ORDINALS:
        return "pick", ORDINALS[said]
    first, _space, rest = said.partition(" ")
    if first in _LEADING_NO and rest:  # "no, the other one", "no, the second"
        if rest in OTHER:
            return "other", 0
        if rest in ORDINALS:
            return "pick", ORDINALS[rest]
        if rest in NOT_HELPED:
            return "unhelpful", 0
        if rest in NO:
            return "no", 0
    words = said.split()
    if len(words) <= FOLLOW_UP_WORDS and any(
        said.startswith(f"{p} ") and len(said) > len(p) + 1
        for p in (*_FOLLOW_UP, *_FOLLOW_UP_IN.get(language, ()))
    ):
        return "follow", 0
    return "", 0


@feature.step("follow-ups", order=85)
async def follow_up(turn: Turn) -> bool:
    """The next message after an answer or a menu, read as a reply to it."""
    text = turn.text
    intent, number = read(text, turn.language)
    if not intent or wants_person(text) or frustrated(text):
        return False
    recent = await recall(turn)
    if recent is None and intent in ("yes", "thanks"):  # "ok" after /language or /status:
        await turn.say(  # nothing to refer to, and no question for the knowledge base
            _("Good. Ask me anything else, or type /human for a person."), note="acknowledged"
        )
        return True
    if recent is None:
        return False  # nothing before it: a new question
    if intent == "follow":
        return await _with_context(turn, recent)
    answer = _the_answer(recent)
    if answer is not None and intent == "unhelpful":
        await _next_best(turn, answer)
        return True
    if answer is not None and intent == "thanks":  # (a "yes" may answer the article)
        await turn.say(
            _("Glad that helped. Ask me anything else, or type /human for a person."),
            note="glad it helped",
        )
        return True
    if recent.after == "answer" and intent == "yes":  # "yes" (it helped), said once or twice
        await turn.say(
            _("Good. Ask me anything else, or type /human for a person."),
            note="yes after an answer",
        )
        await keep(turn, recent)  # "that didn't help" still refers to the answer
        return True
    intent = "no" if intent == "unhelpful" else intent
    if recent.after == "menu":
        return await _after_menu(turn, recent, intent, number)
    if recent.after == "answer" and intent in ("no", "other"):
        await _next_best(turn, recent)
        return True
    if recent.after == "no" and intent in ("no", "other"):  # said already: once is enough
        await turn.say(
            _(
                "Understood, that isn't it. Tell me in other words what you need, or type"
                " /human for a person."
            ),
            note="the customer said no again",
        )
        await keep(turn, recent)
        return True
    return False


def _the_answer(recent: Recent) -> Recent | None:
    """The answer the bot gave last, if it did: the one shown, or the one a menu came
    right after (the other part of a question that asked two things)."""
    if recent.after == "answer":
        return recent
    if recent.after == "menu" and recent.answered:
        return Recent("answer", recent.answered_q, (recent.answered,), recent.rejected)
    return None


async def _after_menu(turn: Turn, recent: Recent, intent: str, number: int) -> bool:
    shown = recent.shown
    if len(shown) == 1:  # "Did you mean “X”?"
        if intent in ("yes", "pick") and number in (0, 1, -1):
            await _answer(turn, recent, shown[0])
        elif intent in ("no", "other"):
            await said_no(turn, recent, shown[0])
        else:
            return False
        return True
    if intent == "pick":
        index = len(shown) - 1 if number == -1 else number - 1
        if 0 <= index < len(shown):
            await _answer(turn, recent, shown[index])
        else:
            await turn.say(
                _(
                    "There were {n} to choose from: type a number from 1 to {n}, press its"
                    " button, or tell me more."
                ).format(n=len(shown)),
                note="asked for a number from the menu",
            )
            await keep(turn, recent)
        return True
    if intent == "no":
        await said_none(turn, recent)
        return True
    if intent in ("other", "yes"):
        if intent == "other" and len(shown) == 2:  # not the first, which the menu led with
            await _answer(turn, recent, shown[1])
        else:
            await turn.say(
                _("Which one? Type its number (1 to {n}) or press its button.").format(
                    n=len(shown)
                ),
                note="asked for a number from the menu",
            )
            await keep(turn, recent)
        return True
    return False


async def _answer(turn: Turn, recent: Recent, article_id: str) -> None:
    if turn.knowledge.get(article_id, turn.language) is None:
        await turn.say(
            _(
                "That article is no longer in the knowledge base. Ask me again in your"
                " own words, or type /human for a person."
            )
        )
        return
    await show_article(
        turn,
        article_id,
        score=None,
        chosen=True,
        question=recent.question,
        rejected=recent.rejected,
    )


def _next_close(turn: Turn, question: str, gone: tuple[str, ...]) -> list[Candidate]:
    """The articles close to the best for `question` (within the clarify spread),
    `gone` left out."""
    t = turn.knowledge.thresholds_for(turn.language)
    ranked = turn.knowledge.rank(question, t.max_options + len(gone) + 1, turn.language)
    top = ranked[0].score if ranked else 0.0
    floor = max(t.clarify_score, top - t.clarify_spread)
    close = [c for c in ranked if c.article.id not in gone and c.score >= floor]
    return close[: t.max_options]


async def _shown_already(turn: Turn, recent: Recent, asked: str) -> None:
    """A follow-up whose answer is the article just shown: not shown again; the
    next-best articles for it if any are close, else a person on offer."""
    article = turn.knowledge.get(recent.shown[0], turn.language)
    title = md_escape(article.title if article is not None else recent.shown[0])
    gone = (*recent.shown, *recent.rejected)
    close = _next_close(turn, asked, gone)
    if close:
        await turn.say(
            _("The best I have for that is “{title}”, the article I just showed you.").format(
                title=title
            )
        )
        await offer(turn, asked, close, gone)
        return
    await not_answered(
        turn,
        _(
            "The best I have for that is “{title}”, the article I just showed you, and"
            " nothing else comes close."
        ).format(title=title),
        question=asked,
        rejected=recent.rejected,
        best=[recent.shown[0]],
    )


async def _next_best(turn: Turn, recent: Recent) -> None:
    """The answer did not help: the next-best articles for the same question if any
    are close to it, never the same article again; else a person."""
    gone = (*recent.shown, *recent.rejected)
    close = _next_close(turn, recent.question, gone)
    if close and recent.question:
        await offer(turn, recent.question, close, gone)
        return
    await handover.propose(
        turn,
        "an answer did not help",
        opening=_(
            "Sorry that didn't help, and I have nothing else close enough. Let me get a"
            " person who can."
        ),
    )


async def _with_context(turn: Turn, recent: Recent) -> bool:
    """ "and for 50 seats?": matched with the question before it, answered only if
    that clears the thresholds; else left to be a new question. It asks for more
    than what was just shown: the article answered (or the menu's articles) and
    those said not to be it are left out."""
    if not recent.question:
        return False
    room = MAX_MATCHED - len(turn.text) - 1
    asked = f"{recent.question[: max(room, 0)]} {turn.text}"
    if recent.after == "answer" and _lands_on_shown(turn, recent, asked):
        await _shown_already(turn, recent, asked)
        return True
    best = _clear_winner(turn, asked, (*recent.shown, *recent.rejected))
    if best is None:
        return False
    await show_article(
        turn, best.article.id, score=best.score, question=asked, rejected=recent.rejected
    )
    return True


def _lands_on_shown(turn: Turn, recent: Recent, asked: str) -> bool:
    """The follow-up asks for the article just shown: with the question before it
    that article wins clearly, and the follow-up alone points at it first too (a
    follow-up about something else, "and the weather?", would lose to the question
    before it, and is a new question)."""
    alone = turn.decide(turn.text)
    if alone.kind == "unknown" or not alone.candidates:
        return False
    if alone.candidates[0].article.id not in recent.shown:
        return False
    again = _clear_winner(turn, asked, recent.rejected)
    return again is not None and again.article.id in recent.shown


def _clear_winner(turn: Turn, asked: str, leaving_out: tuple[str, ...]) -> Candidate | None:
    """The article that clears the answer thresholds for `asked` once `leaving_out`
    are left out, if one does."""
    t = turn.knowledge.thresholds_for(turn.language)
    ranked = [
        c
        for c in turn.knowledge.rank(asked, t.max_options + len(leaving_out) + 1, turn.language)
        if c.article.id not in leaving_out
    ]
    if not ranked:
        return None
    best, runner_up = ranked[0], ranked[1].score if len(ranked) > 1 else 0.0
    if best.score >= t.answer_score and best.score - runner_up >= t.answer_margin:
        return best
    return None
