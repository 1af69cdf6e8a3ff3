"""What the bot last said that the customer's next message may refer to: an answer
(which article, for which question), a menu (which articles, in which order), or
a "no" to an offered article (which one not to offer again).

It is kept on the case (`Conversation.AWAITING_FOLLOW_UP`, the note as JSON), so
it holds across a restart and across processes, and it is good for the bot's last
turn only: the id of the reply it belongs to is kept with it, and anything said on
the case since (by the bot, a person or the system) ends it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.i18n import _
from bot.model import Conversation
from bot.text import shorten
from bot.turn import Turn

After = Literal["answer", "menu", "no"]
_AFTER: tuple[After, ...] = ("answer", "menu", "no")
RECENT_EVENTS = 20  # events looked at to find the bot's last turn
MAX_KEPT = 8  # article ids kept (shown, or said "no" to)


@dataclass(frozen=True, slots=True)
class Recent:
    after: After
    question: str  # what the customer asked that led to it
    shown: tuple[str, ...] = ()  # answer: the article; menu: the options in order
    rejected: tuple[str, ...] = field(default=())  # articles they said were not it
    event: int = 0  # the timeline event of the bot's reply
    # a menu offered right after an answer (the other part of a question that asked
    # two things): the article answered, and the part of the question it answered
    answered: str = ""
    answered_q: str = ""


async def remember(
    turn: Turn,
    after: After,
    question: str,
    shown: tuple[str, ...] = (),
    rejected: tuple[str, ...] = (),
    *,
    answered: tuple[str, str] | None = None,
) -> None:
    """Keep what the bot just said, for the next message. Nothing is kept when the
    turn made the case wait for something else (a handover offer, say): that comes
    first, and it was said last. `answered`: (article, question) of the answer the
    menu came right after."""
    if turn.case.conversation not in (Conversation.NONE, Conversation.AWAITING_FOLLOW_UP):
        return
    if not turn.recorded:
        return
    kept: dict[str, object] = {
        "after": after,
        "q": question,
        "shown": list(shown[:MAX_KEPT]),
        "not": list(dict.fromkeys(rejected))[:MAX_KEPT],
        "event": max(turn.recorded),  # the reply just said: the last event of this turn
    }
    if answered is not None:
        kept["answered"], kept["aq"] = answered
    note = json.dumps(kept)
    await turn.wait_for(Conversation.AWAITING_FOLLOW_UP, note=note)


async def recall(turn: Turn) -> Recent | None:
    """What the bot said last, if the customer's message now is the next thing on the
    case after it (nothing said by anyone else since)."""
    if not turn.waiting_for(Conversation.AWAITING_FOLLOW_UP):
        return None
    recent = _parsed(turn.case.conversation_note)
    if recent is None:
        return None
    return recent if await _said_last(turn, recent) else None


async def rejected(turn: Turn) -> tuple[str, ...]:
    """The articles the customer just said were not it (the timeline is read only
    when there are some)."""
    if not turn.waiting_for(Conversation.AWAITING_FOLLOW_UP):
        return ()
    recent = _parsed(turn.case.conversation_note)
    if recent is None or not recent.rejected or not await _said_last(turn, recent):
        return ()
    return recent.rejected


async def _said_last(turn: Turn, recent: Recent) -> bool:
    for event in reversed(await turn.timeline(RECENT_EVENTS)):
        if event.id in turn.recorded or event.actor == "customer":
            continue
        return event.id == recent.event
    return False


async def keep(turn: Turn, recent: Recent) -> None:
    """What the bot said before still stands after this turn's reply (one that
    answered nothing, "which one?" or "that has expired")."""
    answered = (recent.answered, recent.answered_q) if recent.answered else None
    await remember(
        turn, recent.after, recent.question, recent.shown, recent.rejected, answered=answered
    )


async def forget(turn: Turn) -> None:
    if turn.case.conversation is Conversation.AWAITING_FOLLOW_UP:
        await turn.stop_waiting()


def _parsed(note: str) -> Recent | None:
    try:
        data = json.loads(note)
        after, question, event = data["after"], data["q"], data["event"]
        shown = tuple(str(s) for s in data.get("shown", ()))
        rejected = tuple(str(s) for s in data.get("not", ()))
        answered, answered_q = str(data.get("answered", "")), str(data.get("aq", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if after not in _AFTER or not isinstance(question, str) or not isinstance(event, int):
        return None
    return Recent(after, question, shown, rejected, event, answered, answered_q)


def in_words(note: str, title_of: Callable[[str], str | None]) -> str:
    """What a kept note means, for the customer to read (`/mydata`): "I asked whether
    you meant “X”", never the note itself. Every state is said, the one kept after
    a "no" too; an article no longer in the knowledge base is named by its id."""
    recent = _parsed(note)
    if recent is None:
        return _("nothing: what I kept about my last reply can no longer be read")

    def quoted(ids: tuple[str, ...]) -> list[str]:
        return [f"“{title_of(a) or a}”" for a in ids]

    shown, turned_down = quoted(recent.shown), quoted(recent.rejected)
    if recent.after == "answer" and shown:
        said = _("whether the article {title} I answered with helped you").format(title=shown[0])
    elif recent.after == "menu" and len(shown) == 1:
        said = _("your reply: I asked whether you meant {title}").format(title=shown[0])
    elif recent.after == "menu" and shown:
        said = _("your pick from the options I offered: {titles}").format(titles=", ".join(shown))
    elif recent.question:
        said = _("your next message, after your question “{question}”").format(
            question=shorten(recent.question)
        )
    else:
        said = _("your next message")
    if recent.answered:
        [answer] = quoted((recent.answered,))
        said += _(", and whether the article {title} I answered with helped you").format(
            title=answer
        )
    if turned_down:
        said += _(
            "; that you said {titles} isn't it: it won't be offered for your next message"
        ).format(titles=", ".join(turned_down))
    return said
