"""Where `candor chat` and `candor desk` read lines and write what arrives.

On a terminal, lines are read with prompt_toolkit: whatever arrives while you type
(a reply, an agent's message, a card) is printed above the prompt, and the prompt
with your half-typed line is drawn again below it. Ctrl-D on an empty line ends the
conversation (as the end of input does); Ctrl-C stops it at once.

Piped input (`printf 'hi\\n' | candor chat --as ann`) is read line by line on a
thread, with no prompt and no escape sequences, exactly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import threading
from collections.abc import AsyncIterator, Callable
from typing import TextIO, cast

from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session, run_in_terminal
from prompt_toolkit.input import Input, create_input
from prompt_toolkit.input.posix_utils import PosixStdinReader
from prompt_toolkit.input.vt100 import Vt100Input
from prompt_toolkit.output import Output, create_output

from bot.tasks import cancel_and_wait

# What the reading side hands over: a line, None at the end of input, or what to
# raise in the conversation's loop (Ctrl-C's KeyboardInterrupt).
_Item = str | None | BaseException


class Terminal:
    """Lines in, one at a time; `out` is where everything shown is written. On a
    terminal, `prompt` is called each time the prompt is drawn (it may name what
    changes, like the desk's case)."""

    def __init__(self, out: TextIO, lines: asyncio.Queue[_Item], *, interactive: bool) -> None:
        self.out = out
        self.interactive = interactive
        self.prompt: Callable[[], str] = lambda: "> "
        self._lines = lines

    async def line(self) -> str | None:
        """The next line (without its newline); None at the end of input."""
        item = await self._lines.get()
        if isinstance(item, BaseException):
            raise item
        return item


def read_lines(
    stream: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[_Item]
) -> None:
    """Read lines on a daemon thread, so a blocked read never holds up exit."""
    try:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\r\n"))
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    loop.call_soon_threadsafe(queue.put_nowait, None)


@contextlib.asynccontextmanager
async def terminal(stdin: TextIO, stdout: TextIO) -> AsyncIterator[Terminal]:
    """The conversation's terminal: prompt_toolkit when both ends are a terminal,
    else plain lines."""
    lines: asyncio.Queue[_Item] = asyncio.Queue()
    if not (stdin.isatty() and stdout.isatty()):
        loop = asyncio.get_running_loop()
        threading.Thread(target=read_lines, args=(stdin, loop, lines), daemon=True).start()
        yield Terminal(stdout, lines, interactive=False)
        return
    keyboard, screen = _terminal_input(stdin), create_output(stdout)
    with create_app_session(input=keyboard, output=screen):
        above = _AbovePrompt(screen)
        term = Terminal(cast(TextIO, above), lines, interactive=True)
        reader = asyncio.create_task(_prompt_lines(PromptSession(), term, lines))
        try:
            yield term
        finally:
            await cancel_and_wait([reader])
            await above.written()


class _AbovePrompt:
    """Where what arrives is written, on a terminal: prompt_toolkit takes the prompt
    away, the text is written, and the prompt (with what was typed) is drawn again
    below it (`run_in_terminal`). Every write is made on the event loop's thread, by
    the conversation's coroutines, in the terminal's app session."""

    def __init__(self, screen: Output) -> None:
        self._screen = screen
        self._showing: set[asyncio.Future[None]] = set()

    def write(self, text: str) -> int:
        # raw: the only escape sequences are the renderer's own bold (what the core
        # sends has its control characters removed, adapters/markdown.py)
        def show() -> None:
            self._screen.write_raw(text)
            self._screen.flush()

        showing = asyncio.ensure_future(run_in_terminal(show, in_executor=False))
        self._showing.add(showing)  # (shown in order: each waits for the one before)
        showing.add_done_callback(self._showing.discard)
        return len(text)

    def flush(self) -> None:
        pass  # each write is shown as a whole

    async def show(self, text: str) -> None:
        """Write `text` and return once it is on the screen (or raise why it is not):
        a reply is recorded as sent only after this."""
        self.write(text)
        await self.written(raising=True)

    async def written(self, *, raising: bool = False) -> None:
        """Wait until everything written is on the screen; with `raising`, raise what
        kept any of it off (a closed terminal), else only wait."""
        done = await asyncio.gather(*self._showing, return_exceptions=True)
        failed = [e for e in done if isinstance(e, BaseException)]
        if raising and failed:
            raise failed[0]


async def shown(out: TextIO, text: str) -> None:
    """Write `text` to `out` and return once it is shown: on a terminal, above the
    prompt; elsewhere (a pipe, a file), written and flushed. A sender returns (and the
    outbox records the message as sent) only after this."""
    if isinstance(out, _AbovePrompt):
        await out.show(text)
        return
    out.write(text)
    out.flush()


class _HangUpReader(PosixStdinReader):
    """prompt_toolkit's reader of a terminal, which also sees the terminal close
    (its window shut, the ssh connection gone): prompt_toolkit reads that as a
    resize, and would read again and again, forever; here it is the end of input."""

    def read(self, count: int = 1024) -> str:
        text = super().read(count)
        if not text and not self.closed:
            events = select.poll()
            events.register(self.stdin_fd, select.POLLIN)
            self.closed = any(event & _HUNG_UP for _, event in events.poll(0))
        return text


_HUNG_UP = select.POLLHUP | select.POLLERR | select.POLLNVAL


def _terminal_input(stdin: TextIO) -> Input:
    """The keyboard, as prompt_toolkit reads it (on POSIX, seeing a hang-up)."""
    keyboard = create_input(stdin)
    if isinstance(keyboard, Vt100Input):
        keyboard.stdin_reader = _HangUpReader(keyboard.fileno(), encoding=stdin.encoding)
    return keyboard


async def _prompt_lines(
    session: PromptSession[str], term: Terminal, lines: asyncio.Queue[_Item]
) -> None:
    """Keep a prompt on the screen, handing over each line entered: the prompt is
    back (redrawn below anything printed) while the last line is still answered."""
    while True:
        try:
            line = await session.prompt_async(lambda: term.prompt())
        except (EOFError, OSError):  # Ctrl-D on an empty line, or the terminal closed
            lines.put_nowait(None)
            return
        except (KeyboardInterrupt, Exception) as stop:  # Ctrl-C, or a failure: the
            lines.put_nowait(stop)  # conversation's loop raises it, never waits on
            return
        lines.put_nowait(line)
