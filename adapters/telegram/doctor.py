"""`candor doctor`'s checks of Telegram: what `candor run` will meet, asked before it.

Only reads: getMe, getWebhookInfo, getChat, getChatMember (nothing a customer or an
agent could see, no webhook changed), each with the doctor's timeout; and, in
webhook mode, whether the listen address can be bound. A refused token or an
unreachable Bot API ends the checks with one finding: every later one would fail
the same way. Findings never hold the token (it is in the Bot API's URLs).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from telegram import (
    Bot,
    ChatFullInfo,
    ChatMember,
    ChatMemberAdministrator,
    ChatMemberRestricted,
    WebhookInfo,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from adapters.telegram.platform import CHANNEL
from adapters.telegram.settings import TelegramSettings
from bot.doctor import Context, Finding

if TYPE_CHECKING:
    from telegram import User

T = TypeVar("T")

SKIPPED = "the other Telegram checks need it: skipped"
# A webhook error older than this, or with no update waiting, is Telegram's memory of
# a past failure (the last restart of `candor run`), not a fault now.
RECENT_ERROR_SECONDS = 10 * 60
NOT_MEMBERS = ("left", "kicked")


class _Stop(Exception):
    """Telegram cannot be asked any more (unreachable): the finding that says so."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.detail)
        self.finding = finding


class _Asker:
    """Asking Telegram, and keeping what is found."""

    def __init__(self, settings: TelegramSettings, context: Context) -> None:
        self.settings = settings
        self.context = context
        self.found: list[Finding] = []
        timeout = context.timeout
        request = HTTPXRequest(
            connection_pool_size=2,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
        )
        self.bot = Bot(
            settings.token,
            base_url=settings.api_base_url,
            base_file_url=settings.file_base_url,
            request=request,
            get_updates_request=request,
        )

    def add(self, check: str, ok: bool, detail: str, *, needed: bool = True) -> None:
        self.found.append(Finding(CHANNEL, check, ok, self.clean(detail), needed))

    def clean(self, text: str) -> str:
        """`text` without the token or its secret half (errors may quote a URL)."""
        token = self.settings.token
        for secret in (token, token.partition(":")[2]):
            if len(secret) >= 6:
                text = text.replace(secret, "[redacted]")
        return text

    @property
    def host(self) -> str:
        url = urlsplit(self.settings.api_base_url)
        return url.netloc.rpartition("@")[2] or self.settings.api_base_url

    async def ask(self, check: str, call: Awaitable[T]) -> T:
        """`call`'s answer within the timeout. Unreachable, or an answer that is not the
        Bot API's (a wrong api_base_url, a proxy's page): `_Stop`. Telegram's own
        refusals are raised as they are, for the check to read."""
        try:
            return await asyncio.wait_for(call, self.context.timeout)
        except TelegramError as error:
            if _not_the_bot_api(error):
                raise _Stop(self._garbage(check, "not JSON")) from error
            if not _network(error):
                raise
            raise _Stop(self._unreachable(check, error)) from error
        except (TimeoutError, OSError) as error:
            raise _Stop(self._unreachable(check, error)) from error
        except Exception as error:  # JSON of another shape: [1, 2], {}, a result of []
            raise _Stop(self._garbage(check, f"{type(error).__name__}")) from error

    def _unreachable(self, check: str, error: BaseException) -> Finding:
        what = "no answer in time" if _timed_out(error) else _short(f"{error}")
        return Finding(
            CHANNEL,
            check,
            False,
            self.clean(
                f"cannot reach {self.host} (telegram.api_base_url): {what}: check this"
                f" machine's network, its proxy (HTTPS_PROXY) and api_base_url; {SKIPPED}"
            ),
        )

    def _garbage(self, check: str, why: str) -> Finding:
        return Finding(
            CHANNEL,
            check,
            False,
            self.clean(
                f"{self.host} (telegram.api_base_url) answers, but not as the Bot API does"
                f" ({why}): check api_base_url (Telegram's is https://api.telegram.org/bot)"
                f" and this machine's proxy (HTTPS_PROXY); {SKIPPED}"
            ),
        )

    # -- the token ---------------------------------------------------------------------

    async def token(self) -> User | None:
        try:
            me = await self.ask("token", self.bot.get_me())
        except InvalidToken as error:
            path = (
                " (or telegram.api_base_url is not the Bot API's: Telegram's is"
                " https://api.telegram.org/bot)"
                if "not found" in error.message.lower()
                else ""
            )
            self.add(
                "token",
                False,
                f"telegram.token is refused by Telegram: copy it again from @BotFather{path};"
                f" {SKIPPED}",
            )
            return None
        except TelegramError as error:
            self.add(
                "token", False, f"getMe failed: Telegram said “{_short(error.message)}”; {SKIPPED}"
            )
            return None
        self.add("token", True, f"@{me.username} (id {me.id})")
        return me


class _Updates(_Asker):
    """How updates come: the webhook (or its absence), the listen address."""

    async def _info(self) -> WebhookInfo | None:
        """getWebhookInfo, or None (said as a finding) when Telegram refuses it."""
        try:
            return await self.ask("webhook", self.bot.get_webhook_info())
        except TelegramError as error:
            self.add(
                "webhook", False, f"getWebhookInfo failed: Telegram said “{_short(error.message)}”"
            )
            return None

    async def webhook(self) -> None:
        wanted = self.settings.webhook_url
        info = await self._info()
        if info is None:
            return
        running = self.context.running
        if not info.url:
            if running:
                self.add(
                    "webhook",
                    False,
                    "no webhook is set, though `candor run` set it at start: something else"
                    " using this bot's token removed it (a deleteWebhook, or a bot polling"
                    " with it): give each deployment its own bot, then restart `candor run`",
                )
            else:
                # Nothing to do: `candor run` sets it at start, and only then can Telegram
                # reach it (a webhook set now would fail until Candor listens).
                self.add("webhook", True, f"not set yet: `candor run` sets it to {wanted} at start")
            return
        if info.url != wanted:
            if running:
                self.add(
                    "webhook",
                    False,
                    f"Telegram posts this bot's updates to {info.url}, not to"
                    f" telegram.webhook_url ({wanted}): something else using this bot's token"
                    " set it after `candor run` started: give each deployment its own bot,"
                    " then restart `candor run`",
                )
            else:  # as polling's webhook left set: `candor run` sets it at start
                self.add(
                    "webhook",
                    False,
                    f"Telegram posts this bot's updates to {info.url}, not to"
                    f" telegram.webhook_url ({wanted}): `candor run` sets it to webhook_url at"
                    " start, taking the updates from whatever uses that address: check"
                    " webhook_url, and give each deployment its own bot",
                    needed=False,
                )
            return
        pending = f"{info.pending_update_count} updates waiting"
        if info.last_error_message:
            self._last_error(info, pending)
            return
        self.add("webhook", True, f"set to {wanted}, no errors ({pending})")

    def _last_error(self, info: WebhookInfo, pending: str) -> None:
        """Telegram's last failed post to the webhook. It is "the most recent error",
        kept after deliveries work again: a failure only while `candor run` runs, with
        updates waiting and the error recent; otherwise worth knowing."""
        wanted = self.settings.webhook_url
        when = f" at {info.last_error_date:%Y-%m-%d %H:%M} UTC" if info.last_error_date else ""
        said = f"Telegram's last try to post to {wanted} failed{when}: “{info.last_error_message}”"
        recent = info.last_error_date is not None and (
            time.time() - info.last_error_date.timestamp() <= RECENT_ERROR_SECONDS
        )
        if not self.context.running:  # while Candor is stopped Telegram cannot post
            self.add(
                "webhook",
                False,
                f"{said} ({pending}; Candor is not running, so that may be all it is):"
                " run `candor doctor` again while `candor run` runs",
                needed=False,
            )
        elif info.pending_update_count and recent:
            self.add(
                "webhook",
                False,
                f"{said} ({pending}): check that {wanted} reaches this machine and that"
                f" the proxy forwards it to {self._listen_address()}"
                f"{self.settings.webhook_path}",
            )
        else:
            self.add(
                "webhook",
                False,
                f"{said} ({pending}), not in the last {RECENT_ERROR_SECONDS // 60} minutes"
                " or with nothing waiting: Telegram keeps its last error after deliveries"
                " work again; if it recurs, check that the proxy forwards"
                f" {wanted} to {self._listen_address()}{self.settings.webhook_path}",
                needed=False,
            )

    async def polling(self) -> None:
        info = await self._info()
        if info is None:
            return
        if not info.url:
            self.add("webhook", True, "none set (polling mode asks Telegram for updates)")
        elif self.context.running:
            self.add(
                "webhook",
                False,
                f"a webhook is set (to {info.url}): Telegram refuses the running `candor run`"
                " its updates (getUpdates fails with 409 Conflict while one is). Something"
                " else using this bot's token set it: stop that (give each deployment its"
                " own bot), then restart `candor run`, which deletes the webhook at start",
            )
        else:
            self.add(
                "webhook",
                False,
                f"a webhook is set (to {info.url}), which makes getUpdates fail with 409"
                " Conflict: `candor run` deletes it at start (polling mode); if another"
                " deployment uses this bot's token with that webhook, it then stops getting"
                " updates: give each deployment its own bot",
                needed=False,
            )

    def _listen_address(self) -> str:
        host = self.settings.webhook_listen
        return (
            f"[{host}]:{self.settings.webhook_port}"
            if ":" in host
            else (f"{host}:{self.settings.webhook_port}")
        )

    async def listen(self) -> None:
        """Whether `candor run` can listen on webhook_listen:webhook_port (bound and let
        go at once, as aiohttp would bind it: SO_REUSEADDR)."""
        where = self._listen_address()
        try:
            error = await asyncio.wait_for(
                asyncio.to_thread(_bind, self.settings.webhook_listen, self.settings.webhook_port),
                self.context.timeout,
            )
        except TimeoutError:
            error = OSError(f"cannot resolve {self.settings.webhook_listen} in time")
        running = self.context.running
        if error is None:
            if running:
                self.add(
                    "listen",
                    False,
                    f"{where} is free, though `candor run` runs on this database: it has not"
                    " started its webhook (its log says why: Telegram unreachable at its"
                    " start?) or runs with another config",
                    needed=False,
                )
            else:
                self.add("listen", True, f"{where} is free for `candor run`")
        elif error.errno == errno.EADDRINUSE and running:
            self.add("listen", True, f"{where} is in use by the running `candor run`")
        elif error.errno == errno.EADDRINUSE:
            self.add(
                "listen",
                False,
                f"{where} is in use by another program: stop it, or change"
                " telegram.webhook_port (and the proxy's forwarding)",
            )
        else:
            self.add(
                "listen",
                False,
                f"cannot listen on {where}: {error.strerror or error}: check"
                " telegram.webhook_listen (an address of this machine) and webhook_port",
            )


class _Checks(_Updates):
    """Every check, and the staff group's."""

    async def run(self) -> list[Finding]:
        try:
            me = await self.token()
            if me is not None:
                if self.settings.mode == "webhook":
                    await self.webhook()
                    await self.listen()
                else:
                    await self.polling()
                await self.staff_group(me)
        except _Stop as stop:
            self.found.append(stop.finding)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.bot.shutdown(), self.context.timeout)
        return self.found

    async def staff_group(self, me: User) -> None:
        group = self.settings.staff_group_id
        desk = CHANNEL in self.context.config.desk.channels
        if group is None:
            return
        if not desk:
            self.add(
                "staff group",
                False,
                f"telegram.staff_group_id is set ({group}) but [desk] channels does not name"
                ' "telegram": no case goes there (add "telegram" to channels to use it)',
                needed=False,
            )
            return
        chat = await self.chat(group)
        if chat is None:
            return
        before = len(self.found)
        bot = await self.member(group, me.id, "bot's rights")
        if bot is not None:
            self.rights(chat, bot, me)
        elif len(self.found) == before:  # Telegram knows no such member
            self.add("bot's rights", False, "the bot is not in the group any more: add it again")
        await self.agents(group)

    async def chat(self, group: int) -> ChatFullInfo | None:
        try:
            chat = await self.ask("staff group", self.bot.get_chat(group))
        except ChatMigrated as moved:
            self.add(
                "staff group",
                False,
                f"the group {group} is now a supergroup with the id {moved.new_chat_id}"
                f" (turning Topics on does that): set telegram.staff_group_id ="
                f" {moved.new_chat_id}; the group's other checks are skipped",
            )
            return None
        except (BadRequest, Forbidden) as error:
            self.add(
                "staff group",
                False,
                f"telegram.staff_group_id = {group}: Telegram said"
                f" “{_short(error.message)}”: add the bot to the group, then put the id"
                " from Candor's log (“telegram: in the"
                " group … (id …)” when `candor run` runs) in staff_group_id; the group's"
                " other checks are skipped",
            )
            return None
        except TelegramError as error:
            self.add(
                "staff group", False, f"getChat failed: Telegram said “{_short(error.message)}”"
            )
            return None
        title = f"“{chat.title}” ({group})" if chat.title else str(group)
        if chat.type != chat.SUPERGROUP:
            kind = {chat.GROUP: "a basic group", chat.CHANNEL: "a channel"}.get(
                chat.type, f"a {chat.type} chat"
            )
            self.add(
                "staff group",
                False,
                f"{title} is {kind}, not a supergroup: turn on Topics in the group's settings"
                " (that makes it a supergroup, with a new id: read it in Candor's log)",
                needed=self.settings.staff_topics or chat.type != chat.GROUP,
            )
            return chat if chat.type == chat.GROUP else None
        if self.settings.staff_topics and not chat.is_forum:
            self.add(
                "staff group",
                False,
                f"{title} has Topics off: turn on Topics in the group's settings, or set"
                " telegram.staff_topics = false",
            )
            return chat
        topics = "topics on" if chat.is_forum else "topics off"
        self.add("staff group", True, f"{title}, a supergroup with {topics}")
        return chat

    async def member(self, group: int, user_id: int, check: str) -> ChatMember | None:
        """`user_id`'s membership of the group; None (and a finding) if Telegram will not
        say. A user Telegram does not know is not a member: status "left"."""
        try:
            return await self.ask(check, self.bot.get_chat_member(group, user_id))
        except BadRequest as error:
            if "user not found" in error.message.lower() or "participant_id_invalid" in (
                error.message.lower()
            ):
                return None
            self.add(check, False, f"getChatMember failed: Telegram said “{_short(error.message)}”")
        except TelegramError as error:
            self.add(check, False, f"getChatMember failed: Telegram said “{_short(error.message)}”")
        return None

    def rights(self, chat: ChatFullInfo, member: ChatMember, me: User) -> None:
        """What Candor does in the group: post cards and replies; with topics, create,
        rename, close and reopen a topic per case (the right to manage topics, which
        Telegram gives admins only). Candor pins nothing."""
        check = "bot's rights"
        topics = self.settings.staff_topics
        admins = "the group's settings → Administrators"
        if member.status in NOT_MEMBERS:
            self.add(check, False, "the bot is not in the group any more: add it again")
            return
        if isinstance(member, ChatMemberAdministrator):
            if topics and not member.can_manage_topics:
                self.add(
                    check,
                    False,
                    "the bot is an admin without the right to manage topics, which it needs"
                    f" to open a topic per case: turn on “Manage topics” for it ({admins})",
                )
                return
            self.add(check, True, "admin" + (", may manage topics" if topics else ""))
            return
        if member.status == member.OWNER:
            self.add(check, True, "owner")
            return
        if topics:
            self.add(
                check,
                False,
                "the bot is not an admin of the group: make it an admin with the right to"
                f" manage topics ({admins}); Telegram lets only admins open topics",
            )
            return
        if isinstance(member, ChatMemberRestricted):
            may_post = member.can_send_messages
        else:
            may_post = chat.permissions is None or bool(chat.permissions.can_send_messages)
        if not may_post:
            self.add(
                check,
                False,
                "the bot may not send messages in the group: allow it (the group's"
                " permissions, or the bot's exceptions there), or make it an admin",
            )
            return
        if not me.can_read_all_group_messages:
            self.add(
                check,
                False,
                "a member (may post), not an admin, with privacy mode on: it sees only"
                " replies to its messages and commands addressed to it (/cases@"
                f"{me.username}): make it an admin, or turn privacy mode off (@BotFather:"
                " /setprivacy)",
                needed=False,
            )
            return
        self.add(check, True, "a member that may post")

    async def agents(self, group: int) -> None:
        """Every agent with a Telegram id is in the staff group (named by their config
        name: the group is where they work)."""
        agents = [
            (agent.name, user_id)
            for agent in self.context.config.desk.agents
            if (user_id := agent.user_id_on(CHANNEL)) is not None
        ]
        if not agents:
            self.add(
                "agents",
                False,
                "no agent in [desk] agents has a telegram id: nobody can act in the staff"
                " group (add `telegram = <their numeric user id>` to their entries)",
            )
            return
        missing = 0
        for name, user_id in agents:
            member = await self.member(group, int(user_id), "agents")
            if member is None or member.status in NOT_MEMBERS or _left(member):
                missing += 1
                self.add(
                    "agents",
                    False,
                    f"{name} (telegram = {user_id}) is not a member of the staff group: add"
                    " them to it (or correct their telegram id: @userinfobot gives it)",
                )
        if not missing:
            self.add("agents", True, f"all {len(agents)} with a telegram id are in the group")


def _left(member: ChatMember) -> bool:
    return isinstance(member, ChatMemberRestricted) and not member.is_member


def _not_the_bot_api(error: TelegramError) -> bool:
    """An answer python-telegram-bot could not read as JSON: whatever answered is not
    the Bot API (its refusals and errors are JSON), whatever the HTTP status."""
    cause = error.__cause__
    return (
        error.message == "Invalid server response"
        or "Parsing the server response" in error.message
        or (isinstance(cause, TelegramError) and cause.message == "Invalid server response")
    )


def _short(text: str, limit: int = 200) -> str:
    """An error's text, cut: some repeat the whole answer (a proxy's page)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _network(error: TelegramError) -> bool:
    """A failure of the way to Telegram, not its answer (BadRequest is a NetworkError
    too, in python-telegram-bot; a 502 Bad Gateway is the way)."""
    return type(error) in (NetworkError, TimedOut)


def _timed_out(error: BaseException) -> bool:
    return isinstance(error, TimeoutError | TimedOut)


def _bind(host: str, port: int) -> OSError | None:
    """Bind host:port and let it go; the error if that fails."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as error:
        return error
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as error:
        return error
    return None


async def probe(settings: TelegramSettings, context: Context) -> AsyncIterator[Finding]:
    """Telegram's findings, in the order an operator fixes them."""
    try:
        checks = _Checks(settings, context)
    except TelegramError as error:  # the token cannot even make a bot (empty)
        yield Finding(CHANNEL, "token", False, f"telegram.token cannot be used: {error.message}")
        return
    for finding in await checks.run():
        yield finding
