"""Answers from the knowledge base: one article when the matcher is sure, a choice
of two or three when it is not, and "I don't know" (with a person on offer) when
nothing fits. Every answer names its article. Questions the bot could not answer
in a row are counted; at the limit it offers a person itself."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.features import community, handover
from bot.features.recent import Recent, forget, keep, recall, remember
from bot.features.recent import rejected as just_rejected
from bot.i18n import LANGUAGE_NAMES, _, ngettext
from bot.knowledge import Candidate
from bot.knowledge.drafts import impersonal
from bot.model import Button, Conversation, EventKind
from bot.registry import Feature, RegistryError, pack
from bot.report import ReportData, ReportSection, counted, normalise
from bot.text import md_escape
from bot.turn import Turn

log = logging.getLogger(__name__)

feature = Feature("answers")


def menu_key(shown: Sequence[str]) -> str:
    """A short name for a menu's articles, in order: its "None of these" button says
    which menu it was on, and acts on no other (an old menu's press has expired)."""
    return hashlib.blake2s("\n".join(shown).encode(), digest_size=4).hexdigest()


def article_buttons(options: Sequence[Candidate]) -> list[Button]:
    """A button per article offered; one whose id is too long for a button's payload
    is left out (it is still listed by its title)."""
    buttons = []
    for option in options:
        try:
            buttons.append(Button(option.article.title, pack("article", option.article.id)))
        except RegistryError:
            log.warning("article %r: its id is too long for a button", option.article.id)
    return buttons


@feature.step("answer", order=100)
async def answer(turn: Turn) -> bool:
    decision = turn.decide(turn.text)
    rejected = await just_rejected(turn)
    options = tuple(c for c in decision.candidates if c.article.id not in rejected)
    if decision.kind == "answer" and decision.candidates:
        best = decision.candidates[0]
        if best.article.id in rejected:  # they said just now it is not what they mean
            title = md_escape(best.article.title)
            await not_answered(
                turn,
                _("The article I find is “{title}” again, and you said that isn't it.").format(
                    title=title
                ),
                question=turn.text,
                rejected=rejected,
                best=[best.article.id],
            )
        else:
            await show_article(turn, best.article.id, score=best.score, question=turn.text)
            also = tuple(c for c in decision.also if c.article.id not in rejected)
            if also and turn.case.conversation in (
                Conversation.NONE,
                Conversation.AWAITING_FOLLOW_UP,
            ):  # (not when the article offered a person: that was said last)
                answered = (best.article.id, decision.asked or turn.text)
                await offer(turn, decision.also_asked, also, rejected, answered=answered)
    elif decision.kind == "clarify" and options:
        await offer(turn, turn.text, options, rejected)
    else:
        await not_answered(
            turn,
            _("I don't know that, and I'd rather say so than guess."),
            question=turn.text,
            rejected=rejected,
            best=[c.article.id for c in decision.candidates[:3]],
        )
    return True


def _quoted(text: str) -> str:
    """The customer's words quoted back, at most QUOTED characters."""
    said = " ".join(text.split())
    return md_escape(said if len(said) <= QUOTED else said[: QUOTED - 1].rstrip() + "…")


QUOTED = 80  # characters of the customer's other ask quoted back


async def offer(
    turn: Turn,
    question: str,
    options: Sequence[Candidate],
    rejected: Sequence[str] = (),
    *,
    answered: tuple[str, str] | None = None,
) -> None:
    """Ask which article was meant: "Did you mean “X”?" (yes or no) for one, a
    numbered menu for more. The next message may answer it (features/followups.py).
    `answered`: (article, question) of the answer just given to one part of a
    question that asked two things, `question` being the other part: "You also
    asked about “...”"; the next message may be about either."""
    also = (
        _("You also asked about “{question}”.").format(question=_quoted(question))
        if answered
        else ""
    )
    if len(options) == 1:
        only = options[0].article
        title = md_escape(only.title)
        text = (
            also + " " + _("Is it this: “{title}”? Say yes or no.").format(title=title)
            if also
            else _("Did you mean “{title}”? Say yes or no, or tell me more.").format(title=title)
        )
        try:
            buttons = [
                Button(_("Yes"), pack("article", only.id)),
                Button(_("No"), pack("notit", only.id)),
            ]
        except RegistryError:  # its id is too long for a button: a typed yes or no still works
            log.warning("article %r: its id is too long for a button", only.id)
            buttons = []
    else:
        lines = "\n".join(f"{i}. {md_escape(c.article.title)}" for i, c in enumerate(options, 1))
        lead = (
            also + " " + _("Is it one of these?")
            if also
            else _("I'm not sure which of these you mean:")
        )
        text = f"{lead}\n{lines}\n\n" + _(
            "Pick one (or type its number), tell me more, or choose “None of these”."
        )
        none = pack("none", menu_key([c.article.id for c in options]))
        buttons = [*article_buttons(options), Button(_("None of these"), none)]
    await turn.say(
        text,
        kind=EventKind.CLARIFY,
        note="offered articles for the other part of the question"
        if also
        else "asked which topic was meant",
        buttons=buttons,
        options=[c.article.id for c in options],
        scores=[round(c.score, 3) for c in options],
    )
    shown = tuple(c.article.id for c in options)
    await remember(turn, "menu", question, shown, tuple(rejected), answered=answered)


async def not_answered(
    turn: Turn,
    opening: str,
    *,
    question: str = "",
    rejected: Sequence[str] = (),
    **data: object,
) -> None:
    """Count an unanswered question (every one of them goes on the timeline as
    such); after too many in a row, offer a person. `rejected`: articles the
    customer said were not it, not offered again for their next message."""
    await turn.save_case(unanswered=turn.case.unanswered + 1)
    count = turn.case.unanswered
    if question:  # what the report counts (a typed "no" is not the question)
        data = {"question": question, **data}
    if count >= turn.settings.unknown_limit:
        await turn.record(EventKind.UNKNOWN, "said it did not know", actor="bot", **data)
        await handover.propose(
            turn,
            f"the bot could not answer {count} times in a row",
            opening=opening
            + " "
            + (
                _("That's twice now I couldn't help, so let me get a person.")
                if count == 2
                else ngettext(
                    "That's {count} time now I couldn't help, so let me get a person.",
                    "That's {count} times now I couldn't help, so let me get a person.",
                    count,
                ).format(count=count)
            ),
        )
        return
    await turn.say(
        opening
        + " "
        + _(
            "A person from {company} can help: type /human or press the button, and"
            " they'll see what you asked."
        ).format(company=turn.settings.company),
        kind=EventKind.UNKNOWN,
        note="said it did not know",
        buttons=[Button(_("Talk to a person"), handover.HUMAN)],
        **data,
    )
    if rejected:
        await remember(turn, "no", question, (), tuple(rejected))
    else:
        await forget(turn)


async def show_article(
    turn: Turn,
    article_id: str,
    *,
    score: float | None,
    chosen: bool = False,
    question: str = "",
    rejected: Sequence[str] = (),
) -> None:
    """The article as the answer, named; the next message may say it did not help
    (features/followups.py)."""
    article = turn.knowledge.get(article_id, turn.language)
    assert article is not None
    if turn.case.unanswered:
        await turn.save_case(unanswered=0)
    source = _("Source: the article “{title}”.").format(title=md_escape(article.title))
    text = f"{article.body.strip()}\n\n_{source}_"
    if article.language != turn.language:  # never a silent switch of language
        text += "\n" + _("(This article is in {language}: I don't have it in yours yet.)").format(
            language=_(LANGUAGE_NAMES.get(article.language, article.language))
        )
    await turn.say(
        text,
        kind=EventKind.ANSWER,
        note=article.title,
        article=article.id,
        score=None if score is None else round(score, 3),
        chosen=chosen,
    )
    await remember(turn, "answer", question, (article.id,), tuple(rejected))
    await community.after_article(turn, article)  # a place where others work on it, once
    if article.handover:
        await handover.propose(
            turn,
            f"the article “{article.title}” asks for a person",
            opening=_("This is something a person should look at, so I'll offer you one now."),
        )


TOP_UNANSWERED = 10  # questions the report lists


def _unanswered(data: ReportData) -> dict[str, Any]:
    """Each "I don't know" counts the question it could not answer: the one it names
    (`question`: the question a typed "no" or "None of these" was about, the one that
    handed the case over), else the customer's last words before it on its case, not
    a button they pressed since nor a command."""
    asked: Counter[str] = Counter()
    last: dict[int, str] = {}
    for event in data.events:
        if event.kind is EventKind.CUSTOMER:
            if event.text and not event.data.get("button") and not event.data.get("command"):
                last[event.case_id] = event.text
        elif event.kind is EventKind.UNKNOWN:
            named = event.data.get("question")
            said = last.pop(event.case_id, "")
            # with no e-mail, link or long number of theirs (as a draft's question): the
            # report, the dashboard and its CSV are shared further than the desk
            question = normalise(
                impersonal(named if isinstance(named, str) and named.strip() else said)
            )
            if question:
                asked[question] += 1
    ranked = sorted(asked.items(), key=lambda item: (-item[1], item[0]))[:TOP_UNANSWERED]
    return {"top_unanswered": [{"question": q, "count": n} for q, n in ranked]}


def _unanswered_text(report: dict[str, Any]) -> list[str]:
    rows = [(q["question"], int(q["count"])) for q in report["top_unanswered"]]
    return [
        "Top unanswered questions (material for new knowledge articles)",
        *(
            counted(rows, ("time", "times"))
            if rows
            else ["  none: the bot had an answer every time"]
        ),
        "  → on the desk, /article N turns an agent's reply on case N into a draft article and"
        " /teach ARTICLE_ID N adds its question to one; `candor kb drafts` lists the drafts",
    ]


feature.report_section(ReportSection("Top unanswered questions", 50, _unanswered, _unanswered_text))


@feature.button("article", str)
async def picked(turn: Turn, fields: tuple[object, ...]) -> None:
    article = turn.knowledge.get(str(fields[0]), turn.language)
    if article is None:
        await turn.say_privately(
            _(
                "That article is no longer in the knowledge base. Ask me again in your"
                " own words, or type /human for a person."
            )
        )
        return
    recent = await recall(turn)
    if recent is None or recent.after != "menu" or article.id not in recent.shown:
        recent = None  # an older menu's button: the article, for no question kept now
    question, rejected = ("", ()) if recent is None else (recent.question, recent.rejected)
    await show_article(
        turn, article.id, score=None, chosen=True, question=question, rejected=rejected
    )


@feature.button("none", str)
async def none_of_these(turn: Turn, fields: tuple[object, ...]) -> None:
    """ "None of these" to the menu showing now (its button names that menu); to any
    other, "that has expired"."""
    recent = await recall(turn)
    if recent is None or recent.after != "menu" or len(recent.shown) < 2:
        await expired(turn, recent)
        return
    if menu_key(recent.shown) != str(fields[0]):  # another menu's, shown before this one
        await expired(turn, recent)
        return
    await said_none(turn, recent)


@feature.button("notit", str)
async def not_it(turn: Turn, fields: tuple[object, ...]) -> None:
    """ "No" to "Did you mean “X”?" while that question stands; once it has been
    answered (a second press, an old message's button), "that has expired"."""
    recent, article_id = await recall(turn), str(fields[0])
    if recent is None or recent.after != "menu" or recent.shown != (article_id,):
        await expired(turn, recent)
        return
    await said_no(turn, recent, article_id)


async def expired(turn: Turn, recent: Recent | None) -> None:
    """A reply to a question no longer asked: said so, nothing counted or handed
    over, and what the bot asked since still stands."""
    await turn.say(
        _(
            "That question has expired, so I did nothing with it. Ask me again in your own"
            " words, or type /human for a person."
        ),
        note="a reply to a question that has expired",
    )
    if recent is not None:
        await keep(turn, recent)


async def said_none(turn: Turn, recent: Recent | None) -> None:
    """None of a menu's articles is it: said so, and they are not offered again."""
    shown = () if recent is None or recent.after != "menu" else recent.shown
    await _not_those(
        turn, recent, shown, _("None of those, then. I don't know the answer, and I won't guess.")
    )


async def said_no(turn: Turn, recent: Recent | None, article_id: str) -> None:
    """ "No" to "Did you mean “X”?": said so honestly; never the same question again."""
    await _not_those(
        turn,
        recent,
        (article_id,),
        _(
            "Not that, then. I have nothing else close enough and I won't guess: you can say"
            " it in other words."
        ),
    )


async def _not_those(
    turn: Turn, recent: Recent | None, articles: Sequence[str], opening: str
) -> None:
    question, earlier = ("", ()) if recent is None else (recent.question, recent.rejected)
    await not_answered(turn, opening, question=question, rejected=(*articles, *earlier))
