"""Running the Slack channel on slack-bolt: HTTP mode (an aiohttp server, every
request verified with the signing secret) or Socket Mode.

Bolt runs with `process_before_response=True`: a listener commits the event
through `Engine.receive` and only then acknowledges it. If the commit fails the
listener raises, Slack gets a 500 and sends the event again; a repeat (Slack's
retries, or the same message twice) is recognised by its stored key and only
acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.health import health_check
from adapters.slack.convert import (
    ACTION_PREFIX,
    Ignored,
    Where,
    action_to_inbound,
    command_to_inbound,
    message_to_inbound,
)
from adapters.slack.send import SlackSender
from adapters.slack.settings import SlackSettings
from bot.app import Candor
from bot.channels import ChannelRefused
from bot.logs import failure
from bot.model import Inbound
from bot.text import well_formed

log = logging.getLogger(__name__)

NAME_TTL = 3600.0  # seconds a looked-up name is kept
LOOKUP_TIMEOUT = 2.0  # a name is nice to have; Slack wants an answer within 3 seconds
# Whatever keeps a lookup from answering: Slack's refusal, no answer in time, or the
# connection failing (aiohttp's "server disconnected" is a ClientError, not an OSError).
LOOKUP_ERRORS = (SlackApiError, TimeoutError, aiohttp.ClientError, OSError)
HTTP_TIMEOUT = 10  # seconds for a Web API call, answer included
# What auth.test answers for a token that no waiting makes good.
REFUSED = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


def make_client(settings: SlackSettings, *, timeout: int = HTTP_TIMEOUT) -> AsyncWebClient:
    """The Web API client for `settings`. `timeout`: seconds a call may take, answer
    included; one that takes longer fails (TimeoutError) and the outbox tries it
    again. Tests shorten it to meet a Web API that hangs."""
    return AsyncWebClient(
        token=settings.bot_token,
        base_url=settings.api_base_url,
        timeout=timeout,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=settings.max_retries),
            AsyncConnectionErrorRetryHandler(max_retry_count=settings.max_retries),
        ],
    )


class _TokenNotice(logging.Filter):
    """slack-bolt reads SLACK_BOT_TOKEN from the environment on its own (the README's
    variable for `bot_token`) and, as Candor gives it a client, warns that the token
    is unused: the client holds the configured token, so there is nothing to act on."""

    notice = warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.notice


class SlackChannel:
    """Customers in shared channels and DMs, agents in the triage channel."""

    def __init__(
        self, app: Candor, settings: SlackSettings, client: AsyncWebClient | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.client = client or make_client(settings)
        self.sender = SlackSender(
            self.client, per_channel_interval=settings.per_channel_interval_seconds
        )
        self.where = Where(triage_channel=settings.triage_channel)
        self.bolt: AsyncApp | None = None
        self._runner: Any = None
        self._socket: Any = None
        self._people: dict[str, tuple[float, str, str]] = {}
        self._locales: dict[str, str] = {}  # user → their Slack locale ("de-DE"), a hint

    async def start(self) -> None:
        try:
            me = await self.client.auth_test()
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            if code in REFUSED:
                raise ChannelRefused(f"slack.bot_token was refused by Slack: {code}") from error
            raise  # Slack could not say (a 5xx, a rate limit): started again later
        home = set(self.settings.home_team_ids) or {str(me.get("team_id") or "")}
        self.where = Where(
            triage_channel=self.settings.triage_channel,
            home_teams=frozenset(home - {""}),
            customer_channels=frozenset(self.settings.customer_channels),
            bot_user_id=str(me.get("user_id") or ""),
        )
        self.app.outbox.register(self.sender)
        if self.bolt is None:  # once: a start tried again keeps it
            self.bolt = self._bolt()
        if self.settings.mode == "http":
            from aiohttp import web

            web_app = self.bolt.web_app(path=self.settings.path, port=self.settings.port)
            if not any(route.method == "GET" for route in web_app.router.routes()):
                # (once: bolt gives the same application to a start tried again)
                web_app.router.add_get(self.settings.path, health_check(self.app))
            runner = web.AppRunner(web_app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, self.settings.listen, self.settings.port).start()
            self._runner = runner
            how = (
                f"HTTP mode, listening on {self.settings.listen}:{self.settings.port}"
                f"{self.settings.path}"
            )
        else:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.bolt, self.settings.app_token)
            await self._socket.connect_async()
            how = "connected in Socket Mode"
        log.info(
            "slack: %s as %s in the workspace %s (%s); triage channel %s",
            how,
            me.get("user") or me.get("user_id") or "the bot",
            me.get("team") or "?",
            me.get("team_id") or "?",
            self.settings.triage_channel or "not set",
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._socket is not None:
            await self._socket.close_async()
        session = getattr(self.client, "session", None)
        if session is not None and not session.closed:
            await session.close()

    # -- bolt --------------------------------------------------------------------------------

    def _bolt(self) -> AsyncApp:
        bolt_log = logging.getLogger(f"slack_bolt.{AsyncApp.__name__}")
        quiet = _TokenNotice()
        bolt_log.addFilter(quiet)
        try:
            bolt = AsyncApp(
                client=self.client,
                signing_secret=self.settings.signing_secret or "socket-mode-does-not-sign",
                process_before_response=True,
                request_verification_enabled=self.settings.mode == "http",
            )
        finally:
            bolt_log.removeFilter(quiet)

        @bolt.event("message")
        async def on_message(body: dict[str, Any], event: dict[str, Any], ack: Any) -> None:
            inner = event.get("message") or event.get("previous_message") or {}
            user = str(event.get("user") or inner.get("user") or "")
            team = str(event.get("user_team") or inner.get("user_team") or "")
            name = ""
            if user and not event.get("bot_id"):
                name, known_team = await self.person(user)
                team = team or known_team
            await self.commit(self.hinted(message_to_inbound(body, event, self.where, name, team)))
            await ack()

        @bolt.action(re.compile(f"^{re.escape(ACTION_PREFIX)}"))
        async def on_action(body: dict[str, Any], ack: Any) -> None:
            user = str((body.get("user") or {}).get("id") or "")
            name = (await self.person(user))[0] if user else ""
            await self.commit(self.hinted(action_to_inbound(body, self.where, name)))
            await ack()

        if self.settings.slash_command:

            @bolt.command(self.settings.slash_command)
            async def on_command(body: dict[str, Any], ack: Any) -> None:
                user = str(body.get("user_id") or "")
                name, team = await self.person(user) if user else ("", "")
                found = self.hinted(command_to_inbound(body, self.where, name, team))
                await self.commit(found)
                if isinstance(found, Ignored) and found.note:
                    await ack(text=found.note)  # only they see a command's answer
                else:
                    await ack()

        @bolt.error
        async def on_error(error: Exception) -> None:
            # Slack gets a 500 and sends the event again (bolt's own handler logs the
            # whole exception, message and all: it may quote a customer's words; and
            # the database out of reach is said once for the outage, by the store)
            failure(log, error, "slack event not committed; Slack will send it again")

        for kind in ("app_mention", "member_joined_channel", "channel_created"):

            @bolt.event(kind)
            async def on_other(ack: Any) -> None:
                await ack()  # the message event carries what matters

        return bolt

    async def commit(self, found: Inbound | Ignored) -> None:
        """Store the event through the engine; raises if it was not stored."""
        if isinstance(found, Ignored):
            log.debug("slack event ignored: %s", found.reason)
            return
        await self.app.engine.receive(well_formed(found))

    def hinted(self, found: Inbound | Ignored) -> Inbound | Ignored:
        """The sender's Slack locale (read with their name, `person`) as the hint at
        their language."""
        if isinstance(found, Ignored):
            return found
        locale = self._locales.get(found.identity.user_id, "")
        return replace(found, language_hint=locale) if locale else found

    async def person(self, user: str) -> tuple[str, str]:
        """("Ann Lee (Acme)", "T0ACME"): the person's name with, for another workspace,
        its name ("organisation unknown" when team.info fails); and their workspace.
        Looked up once an hour; ("", "") if Slack does not answer users.info in time or
        the connection fails (the message is stored all the same)."""
        now = time.monotonic()
        cached = self._people.get(user)
        if cached is not None and now - cached[0] < NAME_TTL:
            return cached[1], cached[2]
        deadline = asyncio.get_running_loop().time() + LOOKUP_TIMEOUT
        try:
            async with asyncio.timeout_at(deadline):
                found = await self.client.users_info(user=user, include_locale=True)
        except LOOKUP_ERRORS as error:
            log.info("slack: no name for %s (%r)", user, error)
            return "", ""
        person = found.get("user") or {}
        self._locales[user] = str(person.get("locale") or "")[:16]
        profile = person.get("profile") or {}
        name = str(
            profile.get("real_name")
            or person.get("real_name")
            or profile.get("display_name")
            or person.get("name")
            or ""
        )
        team = str(person.get("team_id") or "")
        if team and team not in self.where.home_teams:
            org = await self._team_name(team, deadline)
            shown = org or "organisation unknown"
            name = f"{name} ({shown})" if name else shown
            if not org:  # said so, and looked up again next time
                return name, team
        self._people[user] = (now, name, team)
        return name, team

    async def _team_name(self, team: str, deadline: float) -> str:
        """The workspace's name, "" if Slack refuses (no team:read scope, an unknown
        method), does not answer by `deadline` or the connection fails."""
        try:
            async with asyncio.timeout_at(deadline):
                found = await self.client.team_info(team=team)
        except LOOKUP_ERRORS as error:
            log.info("slack: no name for workspace %s (%r)", team, error)
            return ""
        return str((found.get("team") or {}).get("name") or "")
