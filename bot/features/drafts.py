"""The knowledge base learns from agents: `/article` turns a case's customer question
and the agent's reply into a draft article, `/teach ARTICLE_ID` adds the question
to an article as a new example (bot/knowledge/drafts.py writes the files).

The case's question is the one that led to its handover: the last thing the
customer wrote (not a button, not a command; not only a greeting, a complaint or
"that did not help") that the bot could not answer ("I don't know" or a menu)
before the case last went to the queue ahead of the latest reply by a person;
without one, the last such thing they wrote before it; a case never handed over,
the last they wrote before that reply. A case reopened since counts only what was
written after it reopened (back with its agent, it need not be handed over). The
agent names another by writing it after the command (`/article 12 how do I pay by
SEPA?`, `/teach refunds 12 money back for a wrong plan`). The reply is the last one
a person sent the customer on the case. Desk text: English, not translated.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.desk.turn import DeskTurn, number
from bot.i18n import spoken
from bot.knowledge.drafts import DraftError, add_question, valid_id, write_draft
from bot.model import Case, Customer, Event, EventKind
from bot.registry import Feature
from bot.signals import substantive
from bot.text import clean, md_escape

feature = Feature("drafts")

EVENTS_READ = 1000  # of a case's timeline, the last this many: where its question is
SUGGESTED = 3  # ids offered for an unknown one


def case_question(events: Sequence[Event]) -> str:
    """The customer's question a case is about (see the module's docstring)."""
    replied = max((i for i, e in enumerate(events) if e.kind is EventKind.AGENT), default=-1)
    last = asked = unanswered = picked = ""
    for event in events[: replied if replied >= 0 else len(events)]:
        if event.kind is EventKind.CUSTOMER:
            if (
                event.text.strip()
                and not event.data.get("button")
                and not event.data.get("command")
            ):
                last = event.text
                asked = last if substantive(last) else asked
        elif event.kind in (EventKind.UNKNOWN, EventKind.CLARIFY) and last and substantive(last):
            unanswered = last
        elif event.kind is EventKind.HANDOVER:
            picked, unanswered = unanswered or asked or last, ""
        elif event.kind is EventKind.STATE and "reopened" in event.text:
            last = asked = unanswered = picked = ""  # a reopened case: a question of its own
    return picked or unanswered or asked or last


def last_reply(events: Sequence[Event]) -> str:
    return next((e.text for e in reversed(events) if e.kind is EventKind.AGENT and e.text), "")


@feature.desk_command(
    "article",
    help="turn the case's question and your last reply into a draft article",
    case="first",
    usage="[N] [QUESTION]",
)
async def article(turn: DeskTurn, case: Case, customer: Customer, args: str) -> None:
    events = await turn.tx.timeline.recent(case.id, limit=EVENTS_READ)
    question = args.strip() or case_question(events)
    reply = last_reply(events)
    if not question:
        turn.answer(f"Case #{case.id} has no question from the customer to make an article of.")
        return
    if not reply:
        turn.answer(
            f"Case #{case.id} has no reply from a person yet: reply to the customer first,"
            " then /article makes your reply the article's answer."
        )
        return
    kb = turn.services.knowledge
    if kb.directory is None:
        turn.answer("This bot's knowledge base has no folder: no draft can be written.")
        return
    language = spoken(customer.language, turn.services.settings.languages)
    into = (  # a draft in another language is a translation: it needs an English article
        "the knowledge folder"
        if language == "en"
        else f"knowledge/{language}/ (the customer wrote in {language}) with the id of the"
        " English article it translates"
    )
    note = (
        f"draft by {turn.agent.name} from case #{case.id}, {turn.now:%Y-%m-%d}: check the"
        f" title, questions and text (nothing personal: customers see titles), then move"
        f" this file into {into}"
    )
    try:
        written = write_draft(kb.directory, question, reply, [a.id for a in kb.articles()], note)
    except DraftError as error:
        turn.answer(f"No draft for case #{case.id}: {md_escape(str(error))}")
        return
    turn.answer(
        f"📝 Draft article **{md_escape(written.article_id)}** written to"
        f" {md_escape(str(written.path))}, with “{md_escape(written.question[:200])}” as its"
        " first question and your last reply as its answer (e-mail addresses, links and long"
        " numbers in the question replaced; check the rest for anything personal). Drafts"
        " never answer customers: check it, then move it into the knowledge folder (`candor kb"
        " drafts` shows how often its question was asked; `candor kb check` validates it)."
    )


@feature.desk_command(
    "teach",
    help="add the case's question as an example to an article",
    case="second",
    usage="ARTICLE_ID [N] [QUESTION]",
)
async def teach(turn: DeskTurn, case: Case, customer: Customer, args: str) -> None:
    article_id, question = _teach_args(turn, args)
    kb = turn.services.knowledge
    if not article_id:
        turn.answer("Which article? /teach ARTICLE_ID, like /teach refunds 12")
        return
    language = spoken(customer.language, turn.services.settings.languages)
    found = kb.get(article_id, language) if valid_id(article_id) else None
    if found is None:
        ids = [a.id for a in kb.articles()]
        near = [
            str(m[0])
            for m in process.extract(
                article_id[:64], ids, scorer=Levenshtein.normalized_similarity, limit=SUGGESTED
            )
        ]
        turn.answer(
            f"There is no article {md_escape(repr(article_id[:64]))}."
            + (f" Did you mean: {md_escape(', '.join(near))}?" if near else "")
        )
        return
    events = await turn.tx.timeline.recent(case.id, limit=EVENTS_READ)
    question = question or case_question(events)
    if not question:
        turn.answer(f"Case #{case.id} has no question from the customer to add.")
        return
    now = kb.decide(question, found.language)  # another's answer now: a tie from here on
    offered = [c.article.id for c in now.candidates] if now.kind != "unknown" else []
    rival = next((i for i in offered if i != found.id), found.id)
    try:
        written = add_question(found, question, kb.articles(found.language))
    except DraftError as error:
        turn.answer(f"Nothing was added: {md_escape(str(error))}")
        return
    which = (
        "its English version"
        if found.language == "en"
        else f"its {found.language} translation (the customer's language)"
    )
    turn.answer(
        f"📚 Added “{md_escape(written.question[:200])}” as an example to"
        f" **{md_escape(found.id)}**, {which} ({md_escape(str(written.path))}). It takes effect"
        " when the knowledge base reloads: by itself within seconds when `[knowledge]"
        " reload_seconds` is above 0 (the default), else on SIGHUP or a restart."
        + (
            f" ⚠ It is answered (or offered) by **{md_escape(rival)}** now: its customers (and"
            " questions like it) may get a menu of both instead; `candor kb check` names the"
            " examples that became as close to another article."
            if rival != found.id
            else ""
        )
    )


def _teach_args(turn: DeskTurn, args: str) -> tuple[str, str]:
    """(the article's id, the question the agent wrote, "" for the case's own) from
    what followed /teach ("refunds 12 the question", "refunds the question"). The
    desk already took the case's number, the second word, when it was one."""
    words = clean(turn.inbound.text).split()[1:]
    if not words:
        return "", ""
    article_id = words[0].lower()
    rest = words[1:]
    if rest and number(rest[0]) is not None:
        rest = rest[1:]
    return article_id, " ".join(rest)
