"""`candor chat`: a customer's conversation in the terminal.

Works interactively and with piped input (`printf 'hi\n' | candor chat --as ann`):
every reply is printed, and at the end of input it exits once the replies are out.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from adapters.console.platform import CHANNEL
from adapters.console.terminal import Terminal, shown, terminal
from adapters.markdown import to_plain
from bot.app import Candor
from bot.model import Address, Button, Identity, Inbound, InboundKind, Outbound, SentFile
from bot.text import well_formed


def render(text: str, buttons: tuple[Button, ...] = (), *, ansi: bool = False) -> str:
    """The core's Markdown as terminal text; buttons become numbered choices."""
    text = to_plain(text, ansi=ansi)
    if buttons:
        choices = "\n".join(f"  [{i}] {button.label}" for i, button in enumerate(buttons, 1))
        text += f"\n{choices}"
        if len(buttons) > 1:  # in no language: the customer's may not be the terminal's
            text += f"\n  (1–{len(buttons)})"
    return text


class ConsoleSender:
    """Prints the customer's messages; remembers the last buttons so a typed
    number can press one."""

    channel = CHANNEL

    def __init__(
        self, out: TextIO, bot_name: str, *, ansi: bool = False, files: Path | None = None
    ) -> None:
        self._out = out
        self._bot_name = bot_name
        self._ansi = ansi
        self._files = files or Path("exports")
        self.buttons: tuple[Button, ...] = ()

    async def send(self, message: Outbound) -> str:
        body = render(message.text, message.buttons, ansi=self._ansi)
        file = message.delivery.file
        if file is not None:
            body += f"\n[file saved: {self._save(file, message.address.chat_id)}]"
        if message.delivery.erase_when_sent:  # they were forgotten: so are their files
            shutil.rmtree(self._folder(message.address.chat_id), ignore_errors=True)
        indent = " " * (len(self._bot_name) + 2)
        body = body.replace("\n", "\n" + indent)
        await shown(self._out, f"{self._bot_name}: {body}\n\n")
        if message.buttons:  # like buttons on a chat app, the last ones stay pressable
            self.buttons = message.buttons
        return ""

    def _save(self, file: SentFile, chat_id: str) -> Path:
        """A file the bot sends (the /mydata export) lands in the customer's own folder
        of the exports folder, which goes when they are forgotten."""
        folder = self._folder(chat_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (Path(file.name).name or "file.txt")
        path.write_text(file.text, encoding="utf-8")
        return path

    def _folder(self, chat_id: str) -> Path:
        """The exports folder's folder for one terminal customer (their name, made
        safe as a file name: no "/", no "." or ".." of its own)."""
        name = quote(chat_id, safe=" ")
        if not name.strip("."):
            name = name.replace(".", "%2E") or "%00"
        return self._files / name

    def inbound(self, line: str, name: str) -> Inbound:
        """A typed line as an Inbound: a number pressing an offered button, else text."""
        return well_formed(self._inbound(line, name))

    def _inbound(self, line: str, name: str) -> Inbound:
        identity = Identity(CHANNEL, "local", name)
        address = Address(CHANNEL, name, private=True)
        key = uuid.uuid4().hex
        choice = line.strip()
        if choice.isascii() and choice.isdigit() and 1 <= int(choice[:6]) <= len(self.buttons):
            button = self.buttons[int(choice) - 1]
            self.buttons = ()
            return Inbound(
                key,
                identity,
                address,
                InboundKind.BUTTON,
                text=button.label,
                payload=button.payload,
                display_name=name,
                language_hint=terminal_language(),
            )
        return Inbound(
            key,
            identity,
            address,
            InboundKind.MESSAGE,
            text=line,
            display_name=name,
            language_hint=terminal_language(),
        )


def terminal_language() -> str:
    """The terminal's language (LC_ALL, LC_MESSAGES or LANG, as "de_DE.UTF-8"): the
    console's hint at the customer's language, as Telegram's app language is."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return value.split(".", 1)[0].split("@", 1)[0][:16]
    return ""


async def chat(
    app: Candor,
    name: str,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    *,
    drain_timeout: float = 30.0,
) -> int:
    """Run one customer's terminal conversation until the end of input."""
    async with terminal(stdin or sys.stdin, stdout or sys.stdout) as term:
        term.prompt = lambda: "you> "
        return await _converse(app, name, term, drain_timeout)


async def _converse(app: Candor, name: str, term: Terminal, drain_timeout: float) -> int:
    exports = app.config.storage.path.parent / "exports"
    sender = ConsoleSender(term.out, app.config.bot.name, ansi=term.interactive, files=exports)
    app.outbox.register(sender, chat_id=name)
    app.start_background()

    await app.outbox.deliver_due()  # anything still owed from an earlier session
    start = Inbound(
        uuid.uuid4().hex,
        Identity(CHANNEL, "local", name),
        Address(CHANNEL, name, private=True),
        InboundKind.START,
        display_name=name,
        language_hint=terminal_language(),
    )
    await app.engine.receive(start)
    await app.outbox.deliver_due()
    while (line := await term.line()) is not None:
        if not line.strip():
            continue  # an empty Enter in a terminal is not a message
        await app.engine.receive(sender.inbound(line, name))
        await app.outbox.deliver_due()
    await _drain(app, name, drain_timeout)
    return 0


async def _drain(app: Candor, name: str, limit: float) -> None:
    """Wait until every reply for this customer is shown (unless delivery is paused)."""
    if app.outbox.paused:
        return
    deadline = asyncio.get_running_loop().time() + limit
    while await app.outbox.pending_count(CHANNEL, name):
        if asyncio.get_running_loop().time() > deadline:
            break
        await app.outbox.deliver_due()
        await asyncio.sleep(0.05)
