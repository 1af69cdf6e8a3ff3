"""`tx.desk`: which desk thread (a Slack thread, a Telegram topic) is which case's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.model import Address, Outbound
from bot.store.protocols.personal import PersonalData


class DeskThreads(PersonalData, Protocol):
    """Stored, never parsed back out of message text: an agent's reply finds its case
    through this mapping. A case's thread is where its card went; other messages sent
    into that thread map to the case too (an agent may reply to any of them).

    Personal data: not exported (where the team works); `forget` erases the
    threads of the customer's cases; `merge` maps the merged case's threads to the
    kept case."""

    async def map_thread(
        self, address: Address, case_id: int, *, card: bool = False, card_message: str = ""
    ) -> None:
        """The desk thread at `address` is the case's; with `card`, it is where the
        case's card is, and `card_message` (if given) the platform's id of the card
        message in it, where that is not the thread's own id (a Telegram forum topic).
        Mapping a thread again to the same case keeps what it had unless given anew;
        to another case moves it there, with only what is given now."""

    async def case_for_thread(self, address: Address) -> int | None:
        """The case whose desk thread is at `address`, or None."""

    async def thread_of(self, channel: str, chat_id: str, case_id: int) -> str | None:
        """The thread id of the case's card in that desk chat (the latest, if the card
        was sent again), or None."""

    async def card_message_of(self, channel: str, chat_id: str, case_id: int) -> str:
        """The `card_message` of the thread `thread_of` gives ("" if none was given,
        or no card thread is there)."""

    # -- every terminal desk sees every desk message (migration 018) --------------------

    async def watch(self, viewer: str, desk: Address) -> None:
        """`viewer` (one agent's terminal desk) is shown the messages to `desk` from
        now on: those not sent yet and all that come after. Once: a viewer that
        watched before goes on where it was (nothing twice after a restart)."""

    async def unseen(self, viewer: str, desk: Address, limit: int = 100) -> list[Outbound]:
        """The messages to `desk` (sent, or still to be) that `viewer` has not been
        shown, oldest first; not those before it first watched."""

    async def saw(self, viewer: str, message_ids: Sequence[int]) -> None:
        """`viewer` has been shown these messages."""
