"""`candor chat` and `candor desk` on a real terminal: the prompt stays below.

Each test runs the real command on a pseudo-terminal and reads what it draws
through a terminal emulator (pyte), so what is asserted is the screen a person
sees: a message that arrives while they are typing is printed above the prompt,
and the prompt comes back below it with the half-typed line intact.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, candor_command

if sys.platform == "win32":  # pragma: no cover - the test machines are POSIX
    pytest.skip("needs a pseudo-terminal (POSIX)", allow_module_level=True)

import fcntl
import select
import struct
import termios

import pyte

ROWS, COLUMNS = 50, 120
WAIT = 60.0  # generous: what is waited for is on the screen long before


class Screen(pyte.Screen):
    """The emulated terminal; it answers the program's questions (where is the
    cursor?) on the pseudo-terminal, as a real terminal does."""

    def __init__(self, master: int) -> None:
        super().__init__(COLUMNS, ROWS)
        self.master = master

    def write_process_input(self, data: str) -> None:
        os.write(self.master, data.encode())


class Tty:
    """A `candor` command on a pseudo-terminal that is its controlling terminal."""

    def __init__(self, *args: str) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env["TERM"] = "xterm-256color"
        self.process = subprocess.Popen(
            [*candor_command(), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.master = master
        self.screen = Screen(master)
        self.stream = pyte.ByteStream(self.screen)
        self.seen = ""  # every character drawn, in order (for a failure's message)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def cursor_line(self) -> str:
        return self.lines()[self.screen.cursor.y]

    def _pump(self, timeout: float) -> bool:
        """Feed what the program wrote to the emulator; False once it has closed."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the program has exited and closed the terminal
            return False
        if not data:
            return False
        self.seen += data.decode("utf-8", "replace")
        self.stream.feed(data)
        return True

    def wait_until(self, what: str, ready: Callable[[], object]) -> object:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = ready()
            if found:
                return found
            if not self._pump(0.1) and not ready():
                break
        screen = "\n".join(self.lines())
        pytest.fail(f"never saw {what}; the screen:\n{screen}")

    def wait_for_text(self, text: str) -> None:
        self.wait_until(repr(text), lambda: text in "\n".join(self.lines()))

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def exit_code(self) -> int:
        """Wait for the program to end (reading all it draws on the way)."""
        deadline = time.monotonic() + WAIT
        while self.process.poll() is None and time.monotonic() < deadline:
            self._pump(0.1)
        while self._pump(0):
            pass
        if self.process.poll() is None:
            self.process.kill()
            pytest.fail("the program did not end")
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        os.close(self.master)


@pytest.fixture
def ttys() -> Iterator[Callable[..., Tty]]:
    started: list[Tty] = []

    def start(*args: str) -> Tty:
        started.append(Tty(*args))
        return started[-1]

    yield start
    for tty in started:
        tty.close()


def rows(config: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    con = sqlite3.connect(config.parent / "candor.sqlite3")
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def wait_for_row(config: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = rows(config, sql, *params)
        if found:
            return found
        time.sleep(0.1)  # polling the store for what the program has written
    pytest.fail(f"the store never had a row for {sql} {params}")


def piped(config: Path, command: str, name: str, text: str) -> None:
    done = subprocess.run(
        [*candor_command(), command, "--config", str(config), "--as", name],
        input=text,
        capture_output=True,
        text=True,
        timeout=WAIT,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr


def prompt_below(tty: Tty, message: str, prompt: str) -> bool:
    """The message is on the screen, and below it, where the cursor is, the
    prompt with the half-typed line (and nothing after it); `prompt` ends where
    the cursor is."""
    lines = tty.lines()
    where = [i for i, line in enumerate(lines) if message in line]
    y = tty.screen.cursor.y
    return bool(
        where
        and where[-1] < y
        and lines[y] == prompt.rstrip()
        and tty.screen.cursor.x == len(prompt)
        and not any(lines[y + 1 :])
    )


def test_chat_redraws_the_prompt_and_the_half_typed_line_below_an_agent_s_reply(
    config_path: Path, ttys: Callable[..., Tty]
) -> None:
    ann = ttys("chat", "--config", str(config_path), "--as", "ann")
    ann.wait_for_text("Your case number is #1")
    ann.wait_until("the prompt", lambda: ann.cursor_line() == "you>")
    ann.type("/human\r")
    ann.wait_for_text("[1] Send it")
    ann.type("1\r")
    ann.wait_for_text("is with the people at Northwind Cloud")
    ann.type("hel")  # Ann is typing when the agent's reply arrives
    ann.wait_until("the half-typed line", lambda: ann.cursor_line() == "you> hel")

    piped(config_path, "desk", "maria", "/claim 1\nhi ann, maria here\n")
    reply = "Candor: Maria (support): hi ann, maria here"
    ann.wait_until(
        "the reply above the prompt and 'hel'", lambda: prompt_below(ann, reply, "you> hel")
    )
    assert "you> hel" + "Candor" not in "".join(ann.lines())  # not written over the prompt

    ann.type("lo\r")  # the line, finished, reaches the case
    [(case,)] = wait_for_row(
        config_path, "SELECT case_id FROM events WHERE kind = 'customer' AND text = 'hello'"
    )
    assert case == 1
    ann.type("\x04")  # Ctrl-D on an empty line: the end, as at the end of piped input
    assert ann.exit_code() == 0
    assert "Traceback" not in ann.seen


def test_desk_redraws_the_prompt_below_a_card_naming_the_case_it_opened(
    config_path: Path, ttys: Callable[..., Tty]
) -> None:
    maria = ttys("desk", "--config", str(config_path), "--as", "maria")
    maria.wait_for_text("Terminal desk: /open N")
    maria.wait_until("the prompt", lambda: maria.cursor_line() == "maria #->")
    maria.type("/note hel")  # Maria is typing when a case is handed over

    piped(config_path, "chat", "ann", "what is the capital of peru\n/human\n1\n")
    card = "[#1] Case #1 · ann · on console · waiting"
    maria.wait_until(  # the card opened case #1, and the prompt says so
        "the card above the prompt", lambda: prompt_below(maria, card, "maria #1> /note hel")
    )
    maria.type("lo\r")
    wait_for_row(config_path, "SELECT 1 FROM events WHERE case_id = 1 AND text = 'hello'")
    maria.wait_for_text("Note saved")
    maria.type("/open 99\r")  # the desk's own answers come above the prompt too
    maria.wait_until(
        "the answer above the prompt",
        lambda: prompt_below(maria, "there is no case #99", "maria #1> "),
    )
    maria.type("\x03")  # Ctrl-C: stops at once, with no traceback
    assert maria.exit_code() == 130
    assert "Traceback" not in maria.seen


def test_ctrl_c_while_typing_in_the_chat_stops_without_a_traceback(
    config_path: Path, ttys: Callable[..., Tty]
) -> None:
    ann = ttys("chat", "--config", str(config_path), "--as", "ann")
    ann.wait_until("the prompt", lambda: ann.cursor_line() == "you>")
    ann.type("half a thought")
    ann.wait_until("the typed text", lambda: ann.cursor_line() == "you> half a thought")
    ann.type("\x03")
    assert ann.exit_code() == 130
    assert "Traceback" not in ann.seen
    assert rows(config_path, "SELECT count(*) FROM events WHERE text = 'half a thought'") == [(0,)]


def test_piped_output_has_no_escape_sequences(config_path: Path) -> None:
    """Not a terminal: no prompt, no escape sequences, every reply printed."""
    done = subprocess.run(
        [*candor_command(), "chat", "--config", str(config_path), "--as", "ann"],
        input="hi\n/human\n",
        capture_output=True,
        text=True,
        timeout=WAIT,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "you>" not in done.stdout
    assert re.search(r"This is what I will pass on to a person", done.stdout)


def test_a_closed_terminal_ends_the_chat(config_path: Path, ttys: Callable[..., Tty]) -> None:
    """The window shut (the pseudo-terminal's other end closed): the chat ends
    rather than reading the dead terminal forever."""
    ann = ttys("chat", "--config", str(config_path), "--as", "ann")
    ann.wait_until("the prompt", lambda: ann.cursor_line() == "you>")
    os.close(ann.master)
    ann.master = os.open(os.devnull, os.O_RDONLY)  # for close() at the end
    try:
        ann.process.wait(WAIT)
    except subprocess.TimeoutExpired:
        pytest.fail("the chat kept running with its terminal gone")
