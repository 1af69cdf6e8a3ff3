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

from bot.model import Conversation
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


async def remember(
    turn: Turn,
    after: After,
    question: str,
    shown: tuple[str, ...] = (),
    rejected: tuple[str, ...] = (),
) -> None:
    """Keep what the bot just said, for the next message. Nothing is kept when the
    turn made the case wait for something else (a handover offer, say): that comes
    first, and it was said last."""
    if turn.case.conversation not in (Conversation.NONE, Conversation.AWAITING_FOLLOW_UP):
        return
    if not turn.recorded:
        return
    note = json.dumps(
        {
            "after": after,
            "q": question,
            "shown": list(shown[:MAX_KEPT]),
            "not": list(dict.fromkeys(rejected))[:MAX_KEPT],
            "event": max(turn.recorded),  # the reply just said: the last event of this turn
        }
    )
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


async def forget(turn: Turn) -> None:
    if turn.case.conversation is Conversation.AWAITING_FOLLOW_UP:
        await turn.stop_waiting()


def _parsed(note: str) -> Recent | None:
    try:
        data = json.loads(note)
        after, question, event = data["after"], data["q"], data["event"]
        shown = tuple(str(s) for s in data.get("shown", ()))
        rejected = tuple(str(s) for s in data.get("not", ()))
    except (ValueError, KeyError, TypeError):
        return None
    if after not in _AFTER or not isinstance(question, str) or not isinstance(event, int):
        return None
    return Recent(after, question, shown, rejected, event)


def in_words(note: str, title_of: Callable[[str], str | None]) -> str | None:
    """What a kept note means, for the customer to read (`/mydata`): "I asked whether
    you meant “X”", never the note itself; None when there is nothing to say."""
    recent = _parsed(note)
    if recent is None:
        return None
    titles = [f"“{title}”" for a in recent.shown if (title := title_of(a)) is not None]
    if recent.after == "answer" and titles:
        return f"whether the article {titles[0]} I answered with helped you"
    if recent.after == "menu" and len(titles) == 1:
        return f"your reply: I asked whether you meant {titles[0]}"
    if recent.after == "menu" and titles:
        return f"your pick from the options I offered: {', '.join(titles)}"
    return None
