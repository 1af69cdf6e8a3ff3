"""`candor doctor`'s checks of Slack: the bot token works and names the workspace, the
scopes Candor needs are granted, the bot is in the triage channel, and the way Slack
reaches Candor works (Socket Mode: the app-level token opens a connection; HTTP mode:
the listen address is free).

Reads only: `auth.test`, `conversations.info` and `apps.connections.open` change
nothing anyone sees. The Socket Mode URL `apps.connections.open` hands out is not
connected to: while a socket is open Slack sends it events (a running `candor run`'s
among them), and what it received would not be stored.

Every call has `context.timeout`; nothing raises: a refusal, no answer or an answer
that makes no sense is a finding. Secrets never reach a finding: slack-sdk sends the
app-level token in the URL, which some errors repeat.
"""

from __future__ import annotations

import asyncio
import errno
import math
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.channel import REFUSED  # the answers no waiting makes good
from adapters.slack.platform import CHANNEL
from adapters.slack.scopes import missing, needed
from adapters.slack.settings import SlackSettings
from bot.doctor import Context, Finding
from bot.redact import MARK, redact

ADD_SCOPE = "add it under OAuth & Permissions → Bot Token Scopes, then reinstall the app"


class _Unreachable(Exception):
    """No answer from Slack: the network, a timeout, or something that is not Slack
    (`answered`: something answered, but not as Slack does)."""

    def __init__(self, why: str, *, answered: bool = False) -> None:
        super().__init__(why)
        self.answered = answered


def _scrub(text: str, settings: SlackSettings) -> str:
    for secret in (settings.bot_token, settings.app_token, settings.signing_secret):
        if secret:
            text = text.replace(secret, MARK)
    return redact(_short(text))


def _short(text: str, limit: int = 200) -> str:
    """An error's text, cut: some repeat the whole answer (a proxy's page)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code(error: SlackApiError) -> str:
    """Slack's error code ("invalid_auth"); `_ask` lets through only errors whose
    answer is Slack's JSON."""
    response = error.response
    data = getattr(response, "data", None)
    code = str(data.get("error") or "") if isinstance(data, dict) else ""
    status = getattr(response, "status_code", 0)
    return _short(code) or f"HTTP {status}"


def _slacks(response: object) -> bool:
    """Whether an answer is Slack's: a JSON object with "ok" (its errors are too)."""
    return isinstance(response, AsyncSlackResponse) and (
        isinstance(response.data, dict) and "ok" in response.data
    )


async def _ask(
    call: Callable[[], Awaitable[AsyncSlackResponse]], context: Context, settings: SlackSettings
) -> AsyncSlackResponse:
    """Slack's answer (ok), SlackApiError (Slack said no), or _Unreachable (why not:
    no answer, or one that is not Slack's)."""
    try:
        async with asyncio.timeout(context.timeout):
            answer = await call()
    except SlackApiError as error:
        if _slacks(error.response):
            raise
        status = getattr(error.response, "status_code", None) or getattr(
            error.response, "status", "?"
        )
        raise _Unreachable(f"HTTP {status}, not Slack's JSON", answered=True) from error
    except TimeoutError as error:
        raise _Unreachable(f"no answer within {context.timeout:g} seconds") from error
    except (aiohttp.ClientError, OSError) as error:
        raise _Unreachable(_scrub(f"{type(error).__name__}: {error}", settings)) from error
    except Exception as error:  # an answer slack-sdk cannot read: [1, 2], a page
        raise _Unreachable(
            _scrub(f"not Slack's JSON: {type(error).__name__}", settings), answered=True
        ) from error
    if not _slacks(answer):
        raise _Unreachable("not Slack's JSON", answered=True)
    return answer


def _unreachable(settings: SlackSettings, error: _Unreachable) -> Finding:
    host = urlsplit(settings.api_base_url).hostname or settings.api_base_url
    if error.answered:
        return Finding(
            CHANNEL,
            "reachable",
            False,
            f"{host} answers, but not as Slack does ({error}): check slack.api_base_url"
            " (Slack's is https://slack.com/api/) and this machine's proxy (HTTPS_PROXY)",
        )
    return Finding(
        CHANNEL,
        "reachable",
        False,
        f"cannot reach {host}: {error}: check the network (a proxy: HTTPS_PROXY) and"
        " slack.api_base_url",
    )


def _text(value: object) -> str:
    """A field of Slack's answer meant to be text ("" when it is anything else)."""
    return value if isinstance(value, str) else ""


async def probe(settings: SlackSettings, context: Context) -> AsyncIterator[Finding]:
    """The Slack checks, in the order an operator fixes them."""
    client = AsyncWebClient(
        token=settings.bot_token,
        base_url=settings.api_base_url,
        timeout=max(1, math.ceil(context.timeout)),
    )
    reached = True
    try:
        me: AsyncSlackResponse | None = await _ask(client.auth_test, context, settings)
        if me is not None and not (_text(me.get("team_id")) and _text(me.get("user_id"))):
            raise _Unreachable("auth.test's answer names no team_id and user_id", answered=True)
    except _Unreachable as error:
        me, reached = None, False
        yield _unreachable(settings, error)
    except SlackApiError as error:
        me = None
        yield _token_refused(_code(error))
    if me is not None:
        team, team_id = _text(me.get("team")) or "?", _text(me.get("team_id")) or "?"
        user = _text(me.get("user")) or _text(me.get("user_id")) or "the bot"
        yield Finding(CHANNEL, "bot token", True, f"{team} ({team_id}) as @{user}")
        for finding in _scopes(me.headers.get("x-oauth-scopes"), settings):
            yield finding
        async for finding in _triage(client, settings, context, user):
            yield finding
    else:
        if reached:
            why = "the scopes and the triage channel need a bot token Slack accepts"
        elif settings.mode == "socket":
            why = "the scopes, the triage channel and Socket Mode need Slack to answer"
        else:
            why = "the scopes and the triage channel need Slack to answer"
        yield Finding(CHANNEL, "other checks", False, f"skipped: {why}", needed=False)
    if settings.mode == "socket":
        if reached:
            yield await _socket_mode(client, settings, context)
    else:
        yield await _listen(settings, context)
        yield Finding(
            CHANNEL,
            "request URL",
            False,
            "cannot be checked from here: in the Slack app, Event Subscriptions and"
            f" Interactivity & Shortcuts must point at https://YOUR-HOST{settings.path},"
            f" a TLS proxy in front of {settings.listen}:{settings.port}",
            needed=False,
        )


def _token_refused(code: str) -> Finding:
    if code in REFUSED:
        detail = (
            f"slack.bot_token is refused: {code}: copy the Bot User OAuth Token (xoxb-...)"
            " from OAuth & Permissions (reinstall the app if it was removed) into the"
            " variable slack.bot_token names"
        )
    else:
        detail = (
            f"Slack did not say whether slack.bot_token works: auth.test: {code}: check"
            " slack.api_base_url, or try again later"
        )
    return Finding(CHANNEL, "bot token", False, detail)


def _scopes(header: str | None, settings: SlackSettings) -> list[Finding]:
    if header is None:
        return [
            Finding(
                CHANNEL,
                "scopes",
                False,
                "Slack sent no x-oauth-scopes header: cannot tell which are granted; compare"
                " OAuth & Permissions → Bot Token Scopes with the README's list",
                needed=False,
            )
        ]
    lacking = missing(header.split(","), settings.slash_command)
    found = [
        Finding(
            CHANNEL,
            "scopes",
            False,
            f"{s.name} is not granted (for {s.why}): "
            + (f"without it {s.without}; " if s.optional else "")
            + ADD_SCOPE,
            needed=not s.optional,
        )
        for s in lacking
    ]
    if not any(f.needed for f in found):
        names = ", ".join(s.name for s in needed(settings.slash_command) if s not in lacking)
        found.insert(0, Finding(CHANNEL, "scopes", True, f"granted: {names}"))
    return found


async def _triage(
    client: AsyncWebClient, settings: SlackSettings, context: Context, user: str
) -> AsyncIterator[Finding]:
    channel = settings.triage_channel
    if not channel:
        yield Finding(CHANNEL, "triage channel", True, "none set (slack.triage_channel)")
        return
    where = f"slack.triage_channel {channel}"
    invite = f"invite the bot (`/invite @{user}` in the channel)"
    try:
        found = await _ask(lambda: client.conversations_info(channel=channel), context, settings)
    except _Unreachable as error:
        yield _unreachable(settings, error)
        return
    except SlackApiError as error:
        code = _code(error)
        if code == "channel_not_found":
            detail = (
                f"{where}: not found, or the bot cannot see it: {invite}, and check the id"
                " (channel details → About → Channel ID)"
            )
        elif code == "missing_scope":  # doctor's own need: `candor run` never asks this
            lacks = _text(error.response.get("needed")) or "channels:read or groups:read"
            yield Finding(
                CHANNEL,
                "triage channel",
                False,
                f"cannot look at {where}: the bot token lacks {lacks}: {ADD_SCOPE}; or check"
                f" yourself that the bot is in the channel, else {invite}",
                needed=False,
            )
            return
        else:
            detail = f"cannot look at {where}: conversations.info: {code}"
        yield Finding(CHANNEL, "triage channel", False, detail)
        return
    info = found.get("channel")
    if not isinstance(info, dict):
        yield _unreachable(
            settings, _Unreachable("conversations.info's answer has no channel", answered=True)
        )
        return
    name = f"#{_text(info.get('name'))}" if _text(info.get("name")) else channel
    if info.get("is_archived"):
        yield Finding(
            CHANNEL, "triage channel", False, f"{where} ({name}) is archived: unarchive it"
        )
    elif info.get("is_im") or info.get("is_mpim"):
        yield Finding(
            CHANNEL,
            "triage channel",
            False,
            f"{where} is a direct message, not a channel: give a channel's id (C...)",
        )
    elif not info.get("is_member"):
        yield Finding(
            CHANNEL, "triage channel", False, f"{where} ({name}): the bot is not in it: {invite}"
        )
    else:
        yield Finding(CHANNEL, "triage channel", True, f"{name} ({channel}): the bot is in it")


async def _socket_mode(
    client: AsyncWebClient, settings: SlackSettings, context: Context
) -> Finding:
    """apps.connections.open with the app-level token: a URL means Socket Mode would
    connect. It is not connected to (see the module's docstring)."""
    check = "Socket Mode"
    token = settings.app_token
    try:
        opened = await _ask(
            lambda: client.apps_connections_open(app_token=token), context, settings
        )
    except _Unreachable as error:
        return _unreachable(settings, error)
    except SlackApiError as error:
        code = _code(error)
        if code in REFUSED:
            detail = f"slack.app_token is refused: {code}"
        elif code == "not_allowed_token_type":
            detail = "slack.app_token is not an app-level token (xapp-...)"
        else:
            detail = f"slack.app_token does not open a connection: apps.connections.open: {code}"
        return Finding(
            CHANNEL,
            check,
            False,
            f"{detail}: turn on Socket Mode, and create an app-level token with"
            " connections:write (Basic Information → App-Level Tokens)",
        )
    url = _text(opened.get("url"))
    if not url.startswith(("wss://", "ws://")):
        return _unreachable(
            settings, _Unreachable("apps.connections.open's answer has no URL", answered=True)
        )
    return Finding(
        CHANNEL,
        check,
        True,
        "slack.app_token opens a connection (not connected to: Slack would send it events)",
    )


async def _listen(settings: SlackSettings, context: Context) -> Finding:
    """Whether `candor run` could listen on listen:port: bound as aiohttp binds it, and
    let go at once."""
    check = "listen address"
    address = f"{settings.listen}:{settings.port}"
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(context.timeout):
            server = await loop.create_server(
                asyncio.Protocol, settings.listen, settings.port, reuse_address=True
            )
            server.close()
            await server.wait_closed()
    except socket.gaierror as error:
        return Finding(
            CHANNEL,
            check,
            False,
            f"slack.listen {settings.listen!r} is not a name or address of this machine:"
            f" {error.strerror}",
        )
    except TimeoutError:
        return Finding(
            CHANNEL, check, False, f"could not try {address} within {context.timeout:g} seconds"
        )
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            if context.running:
                return Finding(
                    CHANNEL, check, True, f"{address} is in use by the running `candor run`"
                )
            return Finding(
                CHANNEL,
                check,
                False,
                f"{address} is in use by another program: stop it, or set slack.listen and"
                " slack.port to a free address",
            )
        return Finding(
            CHANNEL,
            check,
            False,
            f"cannot listen on {address}: {error.strerror or error}: set slack.listen to an"
            " address of this machine",
        )
    if context.running:
        return Finding(
            CHANNEL,
            check,
            True,
            f"{address} is free: the running `candor run` does not listen there (yet)",
        )
    return Finding(CHANNEL, check, True, f"{address} is free for `candor run`")
