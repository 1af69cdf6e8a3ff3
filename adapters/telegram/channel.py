"""Running the Telegram channel: polling or webhook, each committing every update
before Telegram is told it arrived.

python-telegram-bot's own Updater confirms a polled update (the next getUpdates
offset) as soon as it is queued, and its webhook server answers 200 before the
update is handled; a crash in between loses the message. So Candor fetches and
answers itself: the offset moves past an update, and the webhook answers 200, only
after `Engine.receive` has committed it. A crash before that means Telegram sends
the update again, and the dedupe key makes the repeat harmless.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import warnings
from collections import defaultdict
from typing import Any

from aiohttp import web
from telegram import BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from adapters.health import health_check
from adapters.telegram.convert import Ignored, to_inbound
from adapters.telegram.platform import CHANNEL
from adapters.telegram.send import TelegramSender
from adapters.telegram.settings import TelegramSettings
from bot.app import Candor
from bot.channels import ChannelRefused
from bot.i18n import ENGLISH, _, speaking
from bot.leader import lead
from bot.logs import described, failure, outage
from bot.registry import Registry
from bot.tasks import cancel_and_wait
from bot.text import clean, shorten, well_formed, words

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
MENU_DESCRIPTION = 256  # Telegram's limit for a command's description
# In polling mode one process of the deployment polls (Telegram answers a second
# getUpdates consumer 409 Conflict): the leader of this name (`Store.leadership`).
POLLING = "telegram polling"


def menu(registry: Registry, language: str = ENGLISH) -> list[BotCommand]:
    """Telegram's command menu: the registry's public commands, as /help lists them,
    described in `language`."""
    with speaking(language):
        described = [(c.name, _(c.help)) for c in registry.public_commands()]
    return [
        BotCommand(name, text[:1].upper() + text[1:MENU_DESCRIPTION]) for name, text in described
    ]


HTTP_TIMEOUT = 5.0  # python-telegram-bot's own default


def make_bot(settings: TelegramSettings, *, timeout: float = HTTP_TIMEOUT) -> ExtBot[Any]:
    """The bot for `settings`. `timeout`: seconds to connect, to send a call and to
    wait for its answer (a getUpdates long poll waits `poll_timeout_seconds` on top);
    a call that takes longer fails as TimedOut and is tried again. Tests shorten it
    to meet a Bot API that hangs."""

    def request(pool: int) -> HTTPXRequest:
        return HTTPXRequest(
            connection_pool_size=pool,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
        )

    return ExtBot(
        settings.token,
        base_url=settings.api_base_url,
        base_file_url=settings.file_base_url,
        request=request(256),  # python-telegram-bot's defaults for the pool sizes
        get_updates_request=request(1),
        # One message per 1/rate seconds rather than `rate` per second: aiolimiter lets
        # a whole bucket through at once, which put up to twice the rate in one second.
        rate_limiter=AIORateLimiter(
            overall_max_rate=1,
            overall_time_period=1 / settings.overall_per_second,
            group_max_rate=1,
            group_time_period=60 / settings.group_per_minute,
            max_retries=0,  # a 429 goes back to the outbox, which keeps the message
        ),
    )


class NotCommitted(Exception):
    """An update of the batch was not committed: it comes again at the next poll."""


def _update_id(raw: Any) -> int | None:
    found = raw.get("update_id") if isinstance(raw, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def _sender(raw: Any) -> str:
    """Who sent a raw update, as far as it says: the user id of its first part that
    has a "from" (a message, an edit, a button press), else ""."""
    if isinstance(raw, dict):
        for part in raw.values():
            person = part.get("from") if isinstance(part, dict) else None
            if isinstance(person, dict) and isinstance(person.get("id"), int):
                return str(person["id"])
    return ""


class TelegramChannel:
    """Customers in private chats, agents in the staff group, one bot."""

    def __init__(self, app: Candor, settings: TelegramSettings, bot: ExtBot[Any] | None = None):
        self.app = app
        self.settings = settings
        self.bot = bot or make_bot(settings)
        self.sender = TelegramSender(
            self.bot,
            staff_group_id=settings.staff_group_id,
            staff_topics=settings.staff_topics,
            per_chat_interval=settings.per_chat_interval_seconds,
            group_interval=60 / settings.group_per_minute,
            overall_per_second=settings.overall_per_second,
        )
        self._task: asyncio.Task[None] | None = None
        self._groups_seen: set[int] = set()  # groups whose id this run has logged
        self._runner: web.AppRunner | None = None
        self._not_committed: BaseException | None = None  # why the last update was not
        self.retry_delay = 1.0  # seconds before polling again after a failure, doubling
        self.retry_max = 60.0  # up to this

    async def start(self) -> None:
        try:
            await self.bot.initialize()
        except InvalidToken as error:
            raise ChannelRefused("telegram.token was refused by Telegram") from error
        self.app.outbox.register(self.sender)
        try:
            # the default menu in the default language, and one per other language for
            # the people whose Telegram app is in it
            languages = self.app.config.bot.languages
            await self.bot.set_my_commands(menu(self.app.registry, languages[0]))
            for code in languages[1:]:
                await self.bot.set_my_commands(menu(self.app.registry, code), language_code=code)
        except TelegramError as error:
            log.warning("could not register the bot's commands: %s", error)
        if self.settings.mode == "polling":
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._task = asyncio.create_task(
                lead(lambda: self.app.store.leadership(POLLING), self.poll)
            )
            how = "polling for updates"
        else:
            await self.start_webhook()
            how = (
                f"webhook {self.settings.webhook_url}, listening on"
                f" {self.settings.webhook_listen}:{self.settings.webhook_port}"
                f"{self.settings.webhook_path}"
            )
        group = self.settings.staff_group_id
        log.info(
            "telegram: @%s %s; staff group %s",
            self.bot.username,
            how,
            "not set" if group is None else f"{group} (topics {self.settings.staff_topics})",
        )

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None
        if self._runner is not None:
            await self._runner.cleanup()
        await self.bot.shutdown()

    # -- handling ---------------------------------------------------------------------

    async def handle(self, update: Update, raw: Any = None) -> None:
        """Commit one update (read from `raw`) through the engine. Raises if it was not
        committed. One that Candor fails to convert is kept raw instead: it would fail
        the same way every time Telegram sent it again."""
        try:
            found = to_inbound(update, staff_group_id=self.settings.staff_group_id)
        except Exception as error:
            kept = raw if raw is not None else {"update_id": update.update_id}
            await self.keep_unreadable(kept, f"Candor cannot convert it ({type(error).__name__})")
            log.debug("converting update %s failed", update.update_id, exc_info=error)
            return
        if isinstance(found, Ignored):
            # (the reason names a kind of update, never what it says); nothing is
            # said back, least of all in a group: it may be the future staff group
            log.info("telegram update %s ignored: %s", update.update_id, found.reason)
            self._say_which_group(update)
            return
        await self.app.engine.receive(well_formed(found))
        if update.callback_query is not None:
            await self._best_effort(update.callback_query.answer())

    def _say_which_group(self, update: Update) -> None:
        """Log, at INFO, the id and title of a group an ignored update comes from (once
        a run, and at every change of the bot's membership), so that the operator can
        copy the id into `staff_group_id`. A group's title is no customer's words;
        nobody's name is logged."""
        chat = update.effective_chat
        if chat is None or chat.type not in (chat.GROUP, chat.SUPERGROUP):
            return
        title = shorten(clean(words(chat.title or "")), 80) or "(no title)"
        staff = chat.id == self.settings.staff_group_id
        member = update.my_chat_member
        if member is not None and member.new_chat_member.status in ("left", "kicked"):
            self._groups_seen.discard(chat.id)
            level = logging.WARNING if staff else logging.INFO
            what = "the staff group" if staff else "the group"
            log.log(level, "telegram: no longer in %s “%s” (id %s)", what, title, chat.id)
            return
        if member is None and chat.id in self._groups_seen:
            return
        self._groups_seen.add(chat.id)
        message = update.effective_message
        moved = message.migrate_to_chat_id if message is not None else None
        if moved:  # turning Topics on makes a group a supergroup, with a new id
            log.log(
                logging.WARNING if staff else logging.INFO,
                "telegram: the group “%s” (id %s) is now a supergroup with id %s%s",
                title,
                chat.id,
                moved,
                f"; set [telegram] staff_group_id = {moved}" if staff else "",
            )
            return
        if staff:
            log.info("telegram: in the staff group “%s” (id %s)", title, chat.id)
            return
        log.info(
            "telegram: in the group “%s” (id %s); set [telegram] staff_group_id = %s to use"
            " it as the desk",
            title,
            chat.id,
            chat.id,
        )

    async def _best_effort(self, call: Any) -> None:
        try:
            await call
        except TelegramError as error:
            log.info("telegram call failed (not needed for the case): %s", error)

    async def handle_batch(self, updates: list[tuple[Update, Any]]) -> int | None:
        """Handle updates (each with its JSON), each chat's in order and chats
        concurrently. Returns the first update id that could not be committed (None if
        all were)."""
        by_chat: dict[int, list[tuple[Update, Any]]] = defaultdict(list)
        for update, raw in updates:
            chat = update.effective_chat
            by_chat[chat.id if chat else 0].append((update, raw))

        async def one_chat(queue: list[tuple[Update, Any]]) -> int | None:
            for update, raw in queue:
                try:
                    await self.handle(update, raw)
                except Exception as error:
                    self._not_committed = error
                    failure(
                        log,
                        error,
                        "update %s not committed; Telegram will send it again",
                        update.update_id,
                    )
                    return update.update_id
            return None

        failed = [
            f for f in await asyncio.gather(*map(one_chat, by_chat.values())) if f is not None
        ]
        return min(failed) if failed else None

    # -- reading updates one by one ------------------------------------------------------------

    def read(self, raw: Any) -> Update | None:
        """One update from its JSON, or None if python-telegram-bot cannot read it (a
        field it requires is missing: an older Bot API server, a newer Telegram)."""
        try:
            return Update.de_json(raw, self.bot)
        except Exception:  # whatever its parser raises; the caller keeps the raw update
            return None

    async def keep_unreadable(self, raw: Any, why: str) -> None:
        """Keep an update that cannot be read, as it came; raises if it was not kept."""
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        text = json.dumps(raw, ensure_ascii=True, sort_keys=True, default=str)
        key = (
            str(update_id)
            if update_id is not None
            else f"raw:{hashlib.sha256(text.encode()).hexdigest()[:32]}"
        )
        new = await self.app.engine.keep_unreadable(CHANNEL, key, _sender(raw), text, why)
        if new:
            log.warning(
                "telegram update %s could not be read (%s): kept as it came, not answered",
                key,
                why,
            )

    async def handle_raw(self, batch: list[Any]) -> int | None:
        """Read and handle a getUpdates batch; returns the first update id that was not
        committed (None if all were). An update that cannot be read is kept raw and
        counts as committed: the offset moves past it."""
        updates: list[tuple[Update, Any]] = []
        failed: list[int] = []
        for raw in batch:
            update = self.read(raw)
            if update is not None:
                updates.append((update, raw))
                continue
            try:
                await self.keep_unreadable(raw, "python-telegram-bot cannot read it")
            except Exception as error:
                self._not_committed = error
                failure(log, error, "an unreadable telegram update was not kept")
                failed.append(_update_id(raw) or 0)
        handled = await self.handle_batch(updates)
        if handled is not None:
            failed.append(handled)
        return min(failed) if failed else None

    # -- polling ----------------------------------------------------------------------------

    async def get_updates(self, offset: int | None) -> list[Any]:
        """One getUpdates, as JSON. python-telegram-bot's own `get_updates` reads the
        whole batch at once: one update it cannot read fails them all (for good: the
        same batch comes again), and it logs the batch, customers' words and all, at
        CRITICAL. `do_api_request` without a return type gives the JSON; each update
        is read on its own (`handle_raw`)."""
        timeout = self.settings.poll_timeout_seconds
        result = await self.bot.do_api_request(
            "getUpdates",
            api_kwargs={"offset": offset, "timeout": timeout, "allowed_updates": ALLOWED_UPDATES},
            read_timeout=(self.bot.request.read_timeout or 0) + timeout,
        )
        return list(result) if isinstance(result, list) else []

    async def poll(self) -> None:
        """Poll for ever: no failure stops it. A failed getUpdates, or a bug handling a
        batch, is logged and tried again after a back-off that doubles up to
        `retry_max` seconds and starts over once a poll succeeds."""
        warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'")
        offset: int | None = None
        failures = 0
        while True:
            try:
                batch = await self.get_updates(offset)
                if batch:
                    failed = await self.handle_raw(batch)
                    ids = [i for i in map(_update_id, batch) if i is not None]
                    if failed is not None:
                        offset = failed  # confirm only what is committed; the rest comes again
                        raise NotCommitted(f"update {failed} not committed") from (
                            self._not_committed
                        )
                    if ids:
                        offset = max(ids) + 1
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                delay = min(self.retry_max, self.retry_delay * 2 ** min(failures - 1, 16))
                # (Telegram's own words say nobody's; anything else: its type only)
                said = (
                    f"{type(error).__name__}: {error}"
                    if isinstance(error, TelegramError)
                    else described(error)
                )
                # (the database out of reach: the store says so once for the outage)
                level = logging.DEBUG if outage(error) else logging.WARNING
                log.log(level, "telegram polling: %s; trying again in %.1f s", said, delay)
                log.debug("the polling failure in full:", exc_info=error)
                await asyncio.sleep(delay)

    # -- webhook ------------------------------------------------------------------------------

    async def start_webhook(self) -> None:
        web_app = web.Application(client_max_size=1024 * 1024)
        web_app.router.add_post(self.settings.webhook_path, self.webhook)
        web_app.router.add_get(self.settings.webhook_path, health_check(self.app))
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.webhook_listen, self.settings.webhook_port)
        await site.start()
        await self.bot.set_webhook(
            self.settings.webhook_url,
            secret_token=self.settings.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), self.settings.webhook_secret.encode()):
            log.warning("telegram webhook: wrong secret token from %s", request.remote)
            return web.Response(status=401, text="wrong secret token")
        try:
            data = await request.json()
        except Exception:  # not JSON at all: nothing to keep
            return web.Response(status=400, text="not an update")
        if not isinstance(data, dict) or _update_id(data) is None:
            return web.Response(status=400, text="not an update")
        update = self.read(data)
        try:
            if update is None:
                # authentic but unreadable: kept, and answered 200, or Telegram would
                # send it again for ever
                await self.keep_unreadable(data, "python-telegram-bot cannot read it")
            else:
                await self.handle(update, data)
        except Exception as error:
            failure(
                log,
                error,
                "update %s not committed; asking Telegram to send it again",
                _update_id(data),
            )
            return web.Response(status=500, text="not stored; send again")
        return web.Response(status=200)
