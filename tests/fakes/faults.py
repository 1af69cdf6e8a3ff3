"""Network faults for the fake servers: a call that gets no answer (the client's
read timeout runs out), and a connection that breaks under a call. `FakeTelegram`
and `FakeSlack` offer them as `hang_next()` and `reset_next()`.

Whether the platform *did* what a faulty call asked is what a fault test is about,
so it is explicit:

- `processed=False` (the default): the call never reached the platform. Nothing is
  done; the call is recorded as failed with `fault` set ("hang" or "reset"). A
  client that tries again causes it exactly once.
- `processed=True`: the platform carried the call out (a message was sent, an
  update offset confirmed) and recorded it as usual, `fault` set; only the answer
  is lost. A client that tries again does it twice: the at-least-once window.

A hung call is held until the client hangs up (its timeout) or the fake stops, and
then its connection is closed without an answer; it never gets a late answer.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

Kind = Literal["hang", "reset"]
HANG: Kind = "hang"
RESET: Kind = "reset"
DESCRIPTIONS = {
    HANG: "no answer: the call hung until the client gave up",
    RESET: "no answer: the connection was reset",
}
_CHECK_SECONDS = 0.01  # how often a held call looks whether its client hung up


@dataclass(slots=True)
class NetworkFault:
    """One `hang_next`/`reset_next` order: for the next `remaining` calls (None: all)
    of `method` whose params match `match` (as for the fakes' `calls_to`)."""

    kind: Kind
    method: str
    remaining: int | None
    processed: bool = False
    graceful: bool = False
    match: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.kind]


def take(
    faults: list[NetworkFault],
    method: str,
    params: dict[str, Any],
    matches: Callable[[dict[str, Any], dict[str, Any]], bool],
    *,
    ignore_case: bool = False,
) -> NetworkFault | None:
    """The fault this call of `method` meets (counting it), or None."""
    for fault in faults:
        same = fault.method.lower() == method.lower() if ignore_case else fault.method == method
        if not same or not matches(params, fault.match):
            continue
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.remove(fault)
        return fault
    return None


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def lose_answer(
    request: web.Request, fault: NetworkFault, stopping: Callable[[], bool]
) -> web.Response:
    """Give the call no answer: for a hang, hold it until the client hangs up or the
    fake is `stopping()`; then close the connection under it (reset, or a plain close
    if `graceful`). The response returned is never written."""
    if fault.kind == HANG:
        # aiohttp tells a handler nothing when its client hangs up: look now and then
        while not _client_gone(request) and not stopping():  # noqa: ASYNC110
            await asyncio.sleep(_CHECK_SECONDS)
    transport = request.transport
    if transport is not None and not transport.is_closing():
        sock = transport.get_extra_info("socket")
        if sock is not None and not fault.graceful:
            # SO_LINGER 0: closing sends RST, "connection reset by peer"; without it
            # the client sees an orderly close before any answer, "server disconnected".
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=504, text="connection lost")


class InjectsFaults:
    """`hang_next()` and `reset_next()` for a fake server, which keeps the orders in
    `_faults` and meets them with `take()` and `lose_answer()`."""

    _faults: list[NetworkFault]

    def hang_next(
        self, method: str, *, count: int | None = 1, processed: bool = False, **match: Any
    ) -> None:
        """Give the next `count` calls of `method` whose params match `match` (as for
        `calls_to`: `chat_id=42`, `channel="C1"`, `text=lambda t: ...`) no answer:
        each is held until the client gives up (its timeout) or the fake stops, then
        its connection is closed. `count=None` hangs until `clear_failures()`.

        By default the platform never saw the call (recorded failed, `fault` "hang");
        with `processed=True` it carried it out (a message is sent, a getUpdates
        offset confirmed) and only the answer is lost."""
        self._faults.append(NetworkFault(HANG, method, count, processed, match=match))

    def reset_next(
        self,
        method: str,
        *,
        count: int | None = 1,
        processed: bool = False,
        graceful: bool = False,
        **match: Any,
    ) -> None:
        """Reset the connection under the next `count` calls of `method` whose params
        match `match` instead of answering: the client reads "connection reset by
        peer" (with `graceful=True`, an orderly close: "server disconnected").
        `count=None` resets until `clear_failures()`; `processed` as for `hang_next`."""
        self._faults.append(NetworkFault(RESET, method, count, processed, graceful, match))
