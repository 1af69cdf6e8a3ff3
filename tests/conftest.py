"""Shared fixtures: a small knowledge base and a config on temporary folders.

Tests never read ../shared: a clone elsewhere has nothing beside it.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import config as config_module
from bot.app import Candor
from bot.config import Config
from bot.model import Address, Case, Identity, Inbound, InboundKind, Outbound
from bot.registry import bind, unbind
from bot.store import PostgresStore
from tests.postgres import Server as PostgresServer

ROOT = Path(__file__).resolve().parent.parent

ARTICLES = {
    "pricing-plans": (
        "Plans and prices",
        ["how much does it cost", "what plans do you have", "price list", "pricing"],
        "Team is $8 per user a month billed yearly. Business is $16.",
        False,
    ),
    "free-trial": (
        "The free trial",
        ["is there a free trial", "can I try it for free", "how long is the trial"],
        "The trial lasts 14 days and needs no card.",
        False,
    ),
    "refunds": (
        "Refunds",
        ["can I get a refund", "I want my money back", "refund policy"],
        "We refund unused months on annual plans.",
        True,
    ),
}


def write_articles(folder: Path, articles: dict[str, tuple[str, list[str], str, bool]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for article_id, (title, questions, body, handover) in articles.items():
        quoted = ", ".join(f'"{q}"' for q in questions)
        (folder / f"{article_id}.md").write_text(
            f'+++\ntitle = "{title}"\nquestions = [{quoted}]\ntags = ["sales"]\n'
            f"handover = {str(handover).lower()}\n+++\n{body}\n",
            encoding="utf-8",
        )
    return folder


CONSOLE_AGENTS = """
agents = [
  { name = "Maria", console = "maria" },
  { name = "Sam", console = "sam" },
]
"""


def write_config(
    folder: Path,
    knowledge: Path,
    extra: str = "",
    outbox: str = "",
    desk: str = CONSOLE_AGENTS,
) -> Path:
    path = folder / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [bot]
            name = "Candor"
            company = "Northwind Cloud"
            [storage]
            path = "{folder / "candor.sqlite3"}"
            [knowledge]
            directory = "{knowledge}"
            reload_seconds = 0
            [desk]
            {desk}
            [outbox]
            retry_base_seconds = 0.01
            poll_seconds = 0.2
            {outbox}
            [logging]
            file = "{folder / "candor.log"}"
            """
        )
        + textwrap.dedent(extra),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    return write_articles(tmp_path / "knowledge", ARTICLES)


@pytest.fixture
def config_path(tmp_path: Path, knowledge_dir: Path) -> Path:
    return write_config(tmp_path, knowledge_dir)


@pytest.fixture
def config(config_path: Path) -> Config:
    return config_module.load(config_path)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


class RecordingSender:
    """A channel that records what it was asked to send (and can be told to fail)."""

    def __init__(self, channel: str = "test") -> None:
        self.channel = channel
        self.sent: list[Outbound] = []
        self.failures: list[Exception] = []

    async def send(self, message: Outbound) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return f"m{len(self.sent)}"

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [m.text for m in self.sent if chat_id is None or m.address.chat_id == chat_id]


@pytest.fixture
async def app(config: Config, clock: Clock) -> AsyncIterator[Candor]:
    async with Candor(config, clock=clock) as candor:
        yield candor


@pytest.fixture
def sender(app: Candor) -> RecordingSender:
    recording = RecordingSender()
    app.outbox.register(recording)
    return recording


class Customer:
    """Drives the engine as one customer on the test channel."""

    _seq = 0

    def __init__(self, app: Candor, sender: RecordingSender, name: str) -> None:
        self.app = app
        self.sender = sender
        self.name = name
        self.identity = Identity("test", "w", name)
        self.address = Address("test", name, private=True)  # a private chat with the bot

    def inbound(
        self, text: str = "", kind: InboundKind = InboundKind.MESSAGE, **more: object
    ) -> Inbound:
        Customer._seq += 1
        return Inbound(
            f"{self.name}-{Customer._seq}",
            self.identity,
            self.address,
            kind,
            text=text,
            display_name=self.name.title(),
            **more,  # type: ignore[arg-type]
        )

    async def send(
        self, text: str = "", kind: InboundKind = InboundKind.MESSAGE, **more: object
    ) -> list[str]:
        """Send and return the replies delivered for it."""
        before = len(self.sender.texts(self.name))
        await self.app.engine.receive(self.inbound(text, kind, **more))
        await self.app.outbox.deliver_due()
        return self.sender.texts(self.name)[before:]

    async def press(self, payload: str) -> list[str]:
        """Press the button carrying `payload` that was shown to them (as shown: bound
        to them); one never shown is pressed as given (forged)."""
        return await self.send("", InboundKind.BUTTON, payload=self.shown(payload))

    async def own(self, payload: str) -> str:
        """`payload` bound to this customer, as if a button with it had been shown to
        them (a route pressed without the bot's having offered it)."""
        customer = await self.app.store.customer_by_identity(self.identity)
        assert customer is not None
        return bind(payload, customer.id)

    def shown(self, payload: str) -> str:
        for message in reversed(self.sender.sent):
            if message.address.chat_id == self.name:
                for button in message.buttons:
                    if unbind(button.payload)[0] == payload:
                        return button.payload
        return payload

    def latest(self, kind: str) -> str:
        """The payload (unbound) of the last button of `kind` shown to them, whatever
        its fields say ("none" names the menu it was on)."""
        for message in reversed(self.sender.sent):
            if message.address.chat_id == self.name:
                for button in message.buttons:
                    payload = unbind(button.payload)[0]
                    if payload == kind or payload.startswith(kind + ":"):
                        return payload
        raise AssertionError(f"no {kind!r} button was shown to {self.name}")


class RecordingDesk(RecordingSender):
    """The terminal desk's channel, recorded: a card's thread is its case number."""

    def __init__(self) -> None:
        super().__init__("desk")

    async def send(self, message: Outbound) -> str:
        await super().send(message)
        if message.delivery.card:
            return str(message.case_id)
        return message.address.thread_id

    def kinds(self) -> list[str]:
        return [str(m.delivery.purpose) for m in self.sent]


@pytest.fixture
def desk(app: Candor) -> RecordingDesk:
    recording = RecordingDesk()
    app.outbox.register(recording)
    return recording


class Agent:
    """Drives the engine as an agent on the terminal desk."""

    _seq = 0

    def __init__(self, app: Candor, name: str) -> None:
        self.app = app
        self.identity = Identity("desk", "local", name)

    async def say(self, text: str, case: int | None = None) -> None:
        await self._send(text, InboundKind.MESSAGE, "", case)

    async def press(self, payload: str) -> None:
        await self._send("", InboundKind.BUTTON, payload, None)

    async def _send(self, text: str, kind: InboundKind, payload: str, case: int | None) -> None:
        Agent._seq += 1
        address = Address("desk", "terminal", str(case) if case else "")
        await self.app.engine.receive(
            Inbound(f"agent-{Agent._seq}", self.identity, address, kind, text=text, payload=payload)
        )
        await self.app.outbox.deliver_due()


@pytest.fixture
def agent_factory(app: Candor) -> Callable[[str], Agent]:
    return lambda name: Agent(app, name)


@pytest.fixture
def customer_factory(app: Candor, sender: RecordingSender) -> Callable[[str], Customer]:
    return lambda name: Customer(app, sender, name)


async def case_of(app: Candor, who: Customer) -> Case:
    """The customer's latest case, as stored."""
    customer = await app.store.customer_by_identity(who.identity)
    assert customer is not None
    return (await app.store.cases_of(customer.id))[-1]


async def handed_over(who: Customer, trigger: str = "/human") -> list[str]:
    """Trigger a handover and confirm the summary as it is; returns what they were told."""
    shown = await who.send(trigger)
    assert "This is what I will pass on to a person" in shown[-1], shown
    return shown + await who.press("handover:send")


def candor_command() -> list[str]:
    script = Path(sys.executable).parent / "candor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def fail_next_commit(app: Candor, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's next commit fails (a full disk, say); the ones after succeed."""
    real = app.engine.receive
    failing = {"left": 1}

    async def flaky(inbound: Inbound) -> object:
        if failing["left"]:
            failing["left"] -= 1
            raise OSError("disk full")
        return await real(inbound)

    monkeypatch.setattr(app.engine, "receive", flaky)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's throwaway PostgreSQL server (tests/postgres.py). If it cannot
    start, every test that needs it fails with the reason: never a silent skip."""
    try:
        server = PostgresServer()
        server.start()
    except RuntimeError as error:
        pytest.fail(f"PostgreSQL is needed and could not be started: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def url(postgres_server: PostgresServer, tmp_path: Path) -> str:
    """A fresh database of its own on the session's server, for one test."""
    return postgres_server.database_for(tmp_path)


@pytest.fixture
async def stores(url: str) -> AsyncIterator[Callable[[], PostgresStore]]:
    """Stores on the one database, as many as a test makes: one per "process"."""
    made: list[PostgresStore] = []

    def make() -> PostgresStore:
        store = PostgresStore(url)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()
