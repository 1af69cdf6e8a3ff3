"""The assembled core: store, knowledge base, dialog, engine and outbox, opened
at start and closed at stop. Channels (the adapters) plug into it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType

from bot import i18n
from bot.config import Config
from bot.desk import Desk
from bot.desk import commands as desk_commands
from bot.dialog import Dialog
from bot.dialog import core as conversation
from bot.engine import Engine, utcnow
from bot.features import (
    answers,
    breakdowns,
    cases,
    community,
    delivery,
    drafts,
    feedback,
    followups,
    greeting,
    handover,
    help,
    ideas,
    incidents,
    language,
    link,
    media,
    notices,
    privacy,
    rating,
    status,
)
from bot.knowledge import KnowledgeBase, Thresholds
from bot.leader import Work, lead
from bot.logs import outage
from bot.outbox import NoticePolicy, Outbox
from bot.registry import Feature, Registry
from bot.sharing import Sharing
from bot.store import Store, open_store
from bot.store.outage import Outage
from bot.tasks import cancel_and_wait
from bot.turn import DialogSettings, Services

log = logging.getLogger(__name__)

# The names of the work run once for the whole deployment (`Candor.lead`).
REMINDERS = "reminders"


# Every feature Candor has, in the order /help lists their commands.
FEATURES: tuple[Feature, ...] = (
    conversation,
    greeting.feature,
    status.feature,
    answers.feature,
    followups.feature,
    handover.feature,
    cases.feature,
    rating.feature,
    feedback.feature,
    link.feature,
    ideas.feature,
    notices.feature,
    community.feature,
    privacy.feature,
    incidents.feature,
    media.feature,
    language.feature,
    help.feature,
    desk_commands.feature,
    drafts.feature,
    delivery.feature,
    breakdowns.feature,
)


class Candor:
    """Use as `async with Candor(config) as app:`; then `app.engine.receive(...)`."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], datetime] = utcnow,
        store: Store | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.store: Store = store or open_store(config)
        self._knowledge: KnowledgeBase | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.registry = Registry(FEATURES)
        self.outbox = Outbox(
            self.store,
            clock,
            max_attempts=config.outbox.max_attempts,
            retry_base=config.outbox.retry_base_seconds,
            retry_max=config.outbox.retry_max_seconds,
            paused=config.outbox.paused,
            desks=config.desk_addresses(),
            desk_channels=config.desk_channels(),
            stuck_alert=timedelta(minutes=config.outbox.stuck_alert_minutes),
            sharing=self._sharing(),
            policy=NoticePolicy(
                rules=self.registry.notice_rules,
                holds=self.registry.holds,
                timezone=config.bot.timezone,
            ),
        )
        self.desk = Desk(
            addresses=config.desk_addresses(),
            desk_channels=config.desk_channels(),
            agents=config.desk.agents,
            hours=config.hours.business_hours(),
            timezone=config.bot.timezone,
            waiting_alert=timedelta(minutes=config.desk.waiting_alert_minutes),
            on_duty_for=timedelta(hours=config.desk.on_duty_hours),
        )
        self.outbox.desk_lanes.reopen = self.desk.reopen  # a case whose desk thread was deleted
        self.dialog = Dialog(
            Services(
                lambda: self.knowledge,
                self.desk,
                self.registry,
                DialogSettings(
                    name=config.bot.name,
                    company=config.bot.company,
                    timezone=config.bot.timezone,
                    languages=config.bot.languages,
                    reopen_window=timedelta(hours=config.cases.reopen_window_hours),
                    unknown_limit=config.desk.unknown_limit,
                    rating_comment_window=timedelta(minutes=config.desk.rating_comment_minutes),
                    web_url=config.web.base_url(),
                    status_url=config.web.status_url(),
                ),
                command_prefix=lambda channel: config.commands_on(channel).prefix,
            )
        )
        self.dialog.services.detector.warm()  # its models load now, not on a message
        for code in config.bot.languages:  # the catalogs compiled now, too
            i18n.translations(code)
        self.engine = Engine(self.store, self.dialog, clock=clock, on_commit=self.outbox.wake)

    @property
    def knowledge(self) -> KnowledgeBase:
        if self._knowledge is None:
            raise RuntimeError("Candor is not open")
        return self._knowledge

    def load_knowledge(self) -> KnowledgeBase:
        settings = self.config.knowledge
        thresholds = Thresholds.measured(settings.semantic, **settings.thresholds())
        kb = KnowledgeBase.load(
            settings.directory, thresholds, settings.semantic, self.config.bot.languages
        )
        for problem in kb.problems:
            log.log(
                logging.ERROR if problem.severity == "error" else logging.WARNING,
                "knowledge: %s:%d: %s",
                problem.path,
                problem.line,
                problem.message,
            )
        log.info("knowledge: %d articles from %s", len(kb.articles()), settings.directory)
        return kb

    def reload_knowledge(self) -> None:
        """Swap in a fresh knowledge base; a broken file is skipped, never fatal."""
        try:
            self._knowledge = self.load_knowledge()
        except Exception:
            log.exception("reloading the knowledge base failed; keeping the old one")

    def _reload_in_thread(self) -> None:
        """SIGHUP: reload as the watcher does, off the event loop."""
        task = asyncio.create_task(asyncio.to_thread(self.reload_knowledge))
        self._tasks.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        if task in self._tasks:
            self._tasks.remove(task)

    async def _watch_knowledge(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            if self.knowledge.changed_on_disk():
                log.info("knowledge: files changed, reloading")
                # in a thread: loading trains the second opinion (bot/knowledge/
                # learned.py, seconds at 300 articles), and the customers' messages
                # are answered by the old knowledge base meanwhile, not held
                await asyncio.to_thread(self.reload_knowledge)

    def _sharing(self) -> Sharing | None:
        """PostgreSQL: the outbox shares its database with other processes' (SQLite:
        one `candor run` per file sends everything)."""
        if not self.config.storage.url:
            return None
        outbox = self.config.outbox
        heartbeat = min(outbox.heartbeat_seconds, outbox.lease_seconds / 3)
        return Sharing(self.store, lease=outbox.lease_seconds, heartbeat=heartbeat)

    async def __aenter__(self) -> Candor:
        # What is opened here is closed here when a later step fails (a knowledge base
        # that does not load, a model that does not run): `__aexit__` is not called
        # then, and an open store's thread would keep the process from exiting.
        async with contextlib.AsyncExitStack() as opened:
            # (registered before it opens: a store half open, its open interrupted or
            # failed midway, is closed too)
            opened.push_async_callback(self.store.close)
            await self.store.open()
            self._knowledge = self.load_knowledge()
            opened.pop_all()  # all opened: `__aexit__` closes them from now on
        return self

    def unhealthy(self) -> str:
        """Why this process cannot serve now, or "" (the HTTP servers' health check):
        its database out of reach, as the store last found it (PostgreSQL's outage,
        `bot.store.outage`; SQLite has none)."""
        outage = getattr(self.store, "outage", None)
        if isinstance(outage, Outage) and outage.down:
            return "the database cannot be reached"
        return ""

    def lead(self, name: str, work: Work) -> asyncio.Task[None]:
        """Run `work` only while this process leads `name` in the deployment (one
        process of those on the database; on SQLite, this one), and in another when
        this one stops or dies. Stopped with the app."""
        task = asyncio.create_task(lead(lambda: self.store.leadership(name), work))
        self._tasks.append(task)
        return task

    async def _remind(self, every: float) -> None:
        while True:
            try:
                await self.engine.remind()
            except Exception as error:  # (the database out of reach: said once, by the store)
                level = logging.DEBUG if outage(error) else logging.ERROR
                log.log(level, "raising waiting cases on the desk failed", exc_info=True)
            await asyncio.sleep(every)

    def start_background(self, *, desk: bool = False) -> None:
        """Deliver the outbox, and reload the knowledge base when its files change
        (and on SIGHUP, where the platform has it). With `desk`, also raise cases
        that wait too long again on the desk: in one process of the deployment at a
        time (the leader of "reminders")."""
        self._tasks.append(asyncio.create_task(self.outbox.run(self.config.outbox.poll_seconds)))
        if desk:
            every = min(60.0, self.config.desk.waiting_alert_minutes * 60 / 4)
            self.lead(REMINDERS, lambda: self._remind(every))
        if self.config.knowledge.reload_seconds > 0:
            self._tasks.append(
                asyncio.create_task(self._watch_knowledge(self.config.knowledge.reload_seconds))
            )
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._reload_in_thread)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        if self.outbox.sharing is not None:  # the others take its addresses at once
            try:
                await self.outbox.sharing.leave()
            except Exception:  # (unreachable: its leases lapse instead)
                log.warning("could not release the outbox's leases; they lapse")
        await self.store.close()
