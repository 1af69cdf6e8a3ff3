"""A fake Slack Web API, and signed requests from "Slack" to the bot, for tests.

The real slack-sdk (and slack-bolt) talk to `FakeSlack` over HTTP on 127.0.0.1, so tests
see exactly what the bot sent and can make Slack refuse it::

    async with FakeSlack() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        await post_event(bot_url, event_callback(message_event("U0ALICE", "hi", channel="C1")),
                         SIGNING_SECRET)
        [call] = await fake.wait_for("chat.postMessage", channel="C1")

It answers as Slack does: HTTP 200 with `{"ok": true, ...}` or `{"ok": false, "error": ...}`,
HTTP 429 with `Retry-After` when rate limited. Bodies may be JSON, form-urlencoded or a
query string; `blocks`/`attachments` sent as JSON strings are decoded. The module functions
build Events API, interactivity and slash command payloads shaped as Slack documents them,
and POST them signed (`v0=` HMAC-SHA256) to the bot's endpoint.

Besides Slack's own refusals (`fail_next`), the network can fail: `hang_next` gives Web
API calls no answer until the client's timeout, `reset_next` breaks the connection under
them; whether Slack carried such a call out is explicit (see `tests.fakes.faults`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import hmac
import inspect
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp
from aiohttp import WSMsgType, web

from adapters.slack.scopes import SCOPES
from tests.fakes.faults import InjectsFaults, NetworkFault, lose_answer, take

JSONDict = dict[str, Any]
Handler = Callable[[JSONDict], JSONDict | Awaitable[JSONDict]]

DEFAULT_TOKEN = "xoxb-test"
DEFAULT_TEAM = "T0HOME"
DEFAULT_APP = "A0APP"
DEFAULT_BOT_USER = "U0BOT"
DEFAULT_BOT_ID = "B0BOT"
DOMAIN = "candor-test"
VERIFICATION_TOKEN = "verification-token"  # the deprecated `token` field of payloads
JSON_PARAMS = frozenset({"blocks", "attachments", "metadata", "view"})  # JSON in forms
CONTENT = ("text", "blocks", "attachments")
FORM = "application/x-www-form-urlencoded"
SLACKBOT = "Slackbot 1.0 (+https://api.slack.com/robots)"
# The bot token scope each method needs, as Slack documents it (conversations.info's
# depends on the channel: see `FakeSlack._needed_scope`). Methods not named need none
# here (auth.test), or are not checked (reactions.add, conversations.join).
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "users.info": "users:read",
    "team.info": "team:read",
    "conversations.open": "im:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}


# the consumer named in the URL of the request being carried out (`api_url_for`)
_CONSUMER: ContextVar[str] = ContextVar("consumer", default="")


class _Clock:
    """Message timestamps as Slack makes them ("1700000000.000100"): now in microseconds,
    strictly increasing, shared by the fake and the builders so a reply sorts after the
    message it answers."""

    def __init__(self) -> None:
        self.last = 0

    def __call__(self) -> str:
        self.last = max(time.time_ns() // 1000, self.last + 1)
        seconds, micros = divmod(self.last, 1_000_000)
        return f"{seconds}.{micros:06d}"


next_ts = _Clock()
_event_ids = itertools.count(1)
_trigger_ids = itertools.count(1)


class SlackError(Exception):
    """A Slack error answer; raise it from a handler given to `FakeSlack.on`."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        extra: JSONDict | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.extra = extra or {}  # more fields of the answer ("needed", "provided")

    def response(self) -> web.Response:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        body = {"ok": False, "error": self.error, **self.extra}
        return web.json_response(body, status=self.status, headers=headers)


@dataclass(frozen=True, slots=True)
class Call:
    """One request to the fake: the method, its decoded params (without the token), and
    the error or the result (the answer without "ok"). A call that met a network fault
    has `fault` ("hang", "reset"): not ok (status 0) if Slack never saw it, else carried
    out and recorded as usual, its answer lost."""

    method: str
    params: JSONDict
    ok: bool = True
    error: str | None = None
    result: JSONDict | None = None
    status: int = 200
    at: float = field(default_factory=time.monotonic)
    fault: str | None = None
    #: Which client made it, for a fake shared by several processes: the name in its
    #: base URL (`api_url_for(consumer)`), "" if none.
    consumer: str = ""


@dataclass(slots=True)
class _Failure:
    method: str
    error: SlackError
    remaining: int | None
    channel: str | None


def _decode(key: str, value: Any) -> Any:
    if key in JSON_PARAMS and isinstance(value, str) and value[:1] in ("[", "{"):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _matches(params: JSONDict, match: Mapping[str, Any]) -> bool:
    for key, wanted in match.items():
        if key not in params:
            return False
        if callable(wanted) and not isinstance(wanted, type):
            if not wanted(params[key]):
                return False
        elif params[key] != wanted:
            return False
    return True


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class FakeSlack(InjectsFaults):
    """A Slack Web API on 127.0.0.1 for one bot token.

    Point `AsyncWebClient(token=..., base_url=fake.api_url)` at it; register users and
    channels with `add_user`/`add_channel`; read what the bot did from `calls`, `sent()`
    and `wait_for()`; make calls fail with `fail_next()`, or the network under them with
    `hang_next()` and `reset_next()`. Every call is recorded when it is answered, refused
    ones too (`Call.ok` false); one that meets a network fault when it arrives (Slack never
    saw it) or when Slack has carried it out (`processed=True`). Posts to a
    `response_url()` are recorded as method "response_url" (params: the JSON body).
    """

    def __init__(
        self,
        bot_token: str = DEFAULT_TOKEN,
        *,
        team_id: str = DEFAULT_TEAM,
        bot_user_id: str = DEFAULT_BOT_USER,
        bot_id: str = DEFAULT_BOT_ID,
        app_id: str = DEFAULT_APP,
        app_token: str = "xapp-test",
        scopes: Iterable[str] | None = None,
    ) -> None:
        self.bot_token = bot_token
        #: The bot token's scopes (default: every one Candor needs): sent in the
        #: `x-oauth-scopes` header of every answer to the bot token; a method whose
        #: scope is not among them answers `missing_scope`.
        self.scopes = [s.name for s in SCOPES] if scopes is None else list(scopes)
        self.scopes_header = True  # False: answers without it (as through a proxy that drops it)
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.calls: list[Call] = []
        self.users: dict[str, JSONDict] = {}
        self.channels: dict[str, JSONDict] = {}
        self.messages: dict[tuple[str, str], JSONDict] = {}  # (channel, ts): bot's messages
        self.reactions: set[tuple[str, str, str]] = set()  # (channel, ts, name)
        self._failures: list[_Failure] = []
        self._faults: list[NetworkFault] = []
        self._stopping = False
        self._handlers: dict[str, Handler] = {}
        self._builtin: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._get_permalink,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "reactions.add": self._reactions_add,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }
        #: Socket Mode: the open sockets, and every ack the bot sent over them.
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: list[JSONDict] = []
        #: Files uploaded with files_upload_v2: id -> {"name", "data", "channel", ...}.
        self.files: dict[str, JSONDict] = {}
        self._file_ids = itertools.count(1)
        self._hook_ids = itertools.count(1)
        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """For `AsyncWebClient(base_url=...)`."""
        return f"{self.url}/api/"

    def api_url_for(self, consumer: str) -> str:
        """An `api_url` whose calls are recorded with `Call.consumer` = `consumer`:
        several processes of one app on one fake, told apart."""
        return f"{self.url}/c/{consumer}/api/"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_route("*", "/c/{consumer}/api/{method}", self._api)
        app.router.add_post("/hooks/{hook}", self._hook)
        app.router.add_post("/upload/{file}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._stopping = True  # calls held by hang_next are let go
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- the workspace --------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        team_id: str | None = None,
        is_bot: bool = False,
        real_name: str | None = None,
        **extra: Any,
    ) -> JSONDict:
        """Register a user for users.info (`extra` fields are merged in); a `team_id`
        other than the fake's makes a Slack Connect user."""
        team, real = team_id or self.team_id, real_name or name
        profile = {"real_name": real, "real_name_normalized": real, "team": team}
        profile |= {"display_name": name, "display_name_normalized": name}
        user = {"id": user_id, "team_id": team, "name": name, "deleted": False, "real_name": real}
        user |= {"is_bot": is_bot, "is_app_user": False, "is_restricted": False}
        user |= {"is_ultra_restricted": False, "tz": "Europe/London", "profile": profile}
        self.users[user_id] = user | extra
        return self.users[user_id]

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str = "",
        is_im: bool = False,
        is_ext_shared: bool = False,
        is_private: bool = False,
        is_member: bool = True,
        user: str | None = None,
        **extra: Any,
    ) -> JSONDict:
        """Register a channel (an IM with `user` if `is_im`) for conversations.*."""
        channel: JSONDict = {"id": channel_id, "created": 1_700_000_000, "is_im": is_im}
        if is_im:
            channel["user"] = user
        else:
            channel |= {"name": name, "name_normalized": name}
        channel |= {"is_channel": not (is_im or is_private), "is_group": is_private and not is_im}
        channel |= {"is_mpim": False, "is_private": is_private or is_im, "is_archived": False}
        channel |= {"is_shared": is_ext_shared, "is_ext_shared": is_ext_shared}
        channel |= {"is_org_shared": False, "is_member": is_member, "context_team_id": self.team_id}
        self.channels[channel_id] = channel | extra
        return self.channels[channel_id]

    def response_url(self) -> str:
        """A new `response_url` for the builders; posts to it are recorded as calls of
        method "response_url" (result: {"url": ...})."""
        return f"{self.url}/hooks/{next(self._hook_ids)}"

    # -- what the bot did -----------------------------------------------------------------

    def calls_to(self, method: str, *, include_failed: bool = True, **match: Any) -> list[Call]:
        """Calls of `method` whose params match (equal, or a predicate returning true)."""
        return [
            call
            for call in self.calls
            if call.method == method
            and (include_failed or call.ok)
            and _matches(call.params, match)
        ]

    def sent(self, method: str = "chat.postMessage", **match: Any) -> list[JSONDict]:
        """The params of the successful calls of `method` that match."""
        return [call.params for call in self.calls_to(method, include_failed=False, **match)]

    def texts(self, channel: str | None = None) -> list[str]:
        """The texts posted with chat.postMessage (to `channel` if given)."""
        match = {} if channel is None else {"channel": channel}
        return [params.get("text", "") for params in self.sent(**match)]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is the point of this helper
        *,
        include_failed: bool = True,
        **match: Any,
    ) -> list[Call]:
        """Wait until `count` calls of `method` matching `match` have arrived and return
        them; fails the test with the calls seen when they do not come in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(found := self.calls_to(method, include_failed=include_failed, **match)) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [(c.method, c.params, c.error) for c in self.calls]
                raise AssertionError(
                    f"expected {count} {method} call(s) matching {match} within {timeout}s,"
                    f" got {len(found)}; calls: {seen}"
                )
            self._changed = self._changed or asyncio.Event()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):  # (wait_for may swallow a cancel)
                    await self._changed.wait()
        return found

    def clear(self) -> None:
        """Forget the recorded calls (messages, users, channels and failures stay)."""
        self.calls.clear()

    # -- making Slack refuse --------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int | None = None,
        retry_after: int = 1,
        count: int | None = 1,
        channel: str | None = None,
    ) -> None:
        """Refuse the next `count` calls of `method` (all when None; only those to
        `channel` if given). "ratelimited" answers HTTP 429 with `Retry-After`, other
        errors ("not_in_channel", "is_archived", ...) HTTP 200 with ok false."""
        status = status or (429 if error == "ratelimited" else 200)
        after = retry_after if status == 429 else None
        failure = _Failure(
            method, SlackError(error, status=status, retry_after=after), count, channel
        )
        self._failures.append(failure)

    def clear_failures(self) -> None:
        """Stop the refusals of `fail_next` and the faults of `hang_next`/`reset_next`."""
        self._failures.clear()
        self._faults.clear()

    def on(self, method: str, handler: Handler) -> None:
        """Answer `method` with `handler(params)`: a dict sent with "ok": true, or raise
        `SlackError`. Replaces the built-in behaviour; adds methods."""
        self._handlers[method] = handler

    def _take_failure(self, method: str, params: JSONDict) -> SlackError | None:
        for failure in self._failures:
            if failure.method != method or failure.channel not in (None, params.get("channel")):
                continue
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
            return failure.error
        return None

    # -- HTTP -----------------------------------------------------------------------------

    def _record(self, call: Call) -> None:
        if not call.consumer and _CONSUMER.get():
            call = replace(call, consumer=_CONSUMER.get())
        self.calls.append(call)
        self._notify()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def _refuse(
        self, method: str, params: JSONDict, error: SlackError, fault: str | None = None
    ) -> web.Response:
        self._record(
            Call(method, params, ok=False, error=error.error, status=error.status, fault=fault)
        )
        return error.response()

    @staticmethod
    async def _read_params(request: web.Request) -> JSONDict:
        params: JSONDict = dict(request.query)
        if request.content_type == "application/json" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError as error:
                raise SlackError("invalid_json") from error
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            params.update(body)
        elif request.can_read_body:
            form = await request.post()
            params.update((k, v) for k, v in form.items() if not isinstance(v, web.FileField))
        return {key: _decode(key, value) for key, value in params.items()}

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        _CONSUMER.set(request.match_info.get("consumer", ""))  # (this request's task only)
        try:
            params = await self._read_params(request)
        except SlackError as error:
            return self._refuse(method, {}, error)
        token = params.pop("token", None) or _bearer(request)
        fault = take(self._faults, method, params, _matches)
        if fault is None:
            answer = await self._carry_out(method, params, token, None)
            if token and token == self.bot_token and self.scopes_header:  # as Slack does
                answer.headers["x-oauth-scopes"] = ",".join(self.scopes)
            return answer
        if fault.processed:
            await self._carry_out(method, params, token, fault.kind)  # recorded as answered
        else:
            self._record(Call(method, params, ok=False, status=0, fault=fault.kind))
        return await lose_answer(request, fault, lambda: self._stopping)

    async def _carry_out(
        self, method: str, params: JSONDict, token: str | None, fault: str | None
    ) -> web.Response:
        """Do what the call asks, as Slack would; record it and answer."""
        if method == "apps.connections.open" and token == self.app_token:
            url = f"ws://127.0.0.1:{self.port}/socket"
            self._record(Call(method, params, result={"url": url}, fault=fault))
            return web.json_response({"ok": True, "url": url})
        if method == "apps.connections.open" and token == self.bot_token:
            return self._refuse(method, params, SlackError("not_allowed_token_type"), fault)
        if not token or token != self.bot_token:
            error = SlackError("invalid_auth" if token else "not_authed")
            return self._refuse(method, params, error, fault)
        if (scope := self._needed_scope(method, params)) and scope not in self.scopes:
            provided = ",".join(self.scopes)
            error = SlackError("missing_scope", extra={"needed": scope, "provided": provided})
            return self._refuse(method, params, error, fault)
        if (failure := self._take_failure(method, params)) is not None:
            return self._refuse(method, params, failure, fault)
        handler = self._handlers.get(method) or self._builtin.get(method)
        if handler is None:
            return self._refuse(method, params, SlackError("unknown_method"), fault)
        try:
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except SlackError as error:
            return self._refuse(method, params, error, fault)
        # A copy: later calls (chat.update, conversations.join) change the stored objects.
        self._record(Call(method, params, result=copy.deepcopy(result), fault=fault))
        return web.json_response({"ok": True, **result})

    def _needed_scope(self, method: str, params: JSONDict) -> str:
        if method != "conversations.info":
            return METHOD_SCOPES.get(method, "")
        channel = self.channels.get(str(params.get("channel") or ""), {})
        if channel.get("is_im"):
            return "im:read"
        return "groups:read" if channel.get("is_private") else "channels:read"

    async def _hook(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {"_raw": text}
        url = f"{self.url}/hooks/{request.match_info['hook']}"
        self._record(Call("response_url", body, result={"url": url}))
        return web.Response(text="ok")

    # -- Socket Mode: the WebSocket apps.connections.open hands out -----------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": len(self.sockets)})
        self._notify()
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
                    self._notify()
        finally:
            self.sockets.remove(socket)
        return socket

    async def send_envelope(self, payload: JSONDict, kind: str = "events_api") -> str:
        """Send an event (or "interactive", "slash_commands") over the open socket, as
        Slack does in Socket Mode; returns the envelope id its ack must carry."""
        envelope = f"env-{next(_event_ids)}"
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope,
                "type": kind,
                "accepts_response_payload": kind != "events_api",
                "payload": payload,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope

    async def wait_for_socket(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not self.sockets:
                self._changed = self._changed or asyncio.Event()
                await self._changed.wait()

    def acked(self, envelope: str) -> bool:
        return any(ack.get("envelope_id") == envelope for ack in self.acks)

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL files.getUploadURLExternal handed out: the bytes land here."""
        file = self.files.get(request.match_info["file"])
        if file is None:
            return web.Response(status=404, text="unknown upload")
        file["data"] = await request.read()
        return web.Response(text="OK - uploaded")

    # -- methods --------------------------------------------------------------------------

    def _upload_url(self, params: JSONDict) -> JSONDict:
        file_id = f"F{next(self._file_ids):08d}"
        self.files[file_id] = {"name": str(params.get("filename", "")), "data": b""}
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, params: JSONDict) -> JSONDict:
        found = params.get("files")
        if isinstance(found, str):
            found = json.loads(found)
        shared = []
        for item in found or []:
            file = self.files.get(str(item.get("id")))
            if file is None:
                raise SlackError("file_not_found")
            file |= {
                "title": item.get("title", ""),
                "channel": params.get("channel_id"),
                "thread_ts": params.get("thread_ts"),
            }
            shared.append({"id": item.get("id"), "name": file["name"]})
        return {"files": shared}

    @staticmethod
    def _channel(params: JSONDict) -> str:
        channel = str(params.get("channel") or "")
        if not channel:
            raise SlackError("channel_not_found")
        # Posting to a user id opens (or reuses) the IM with them.
        return "D" + channel[1:] if channel[0] in "UW" else channel

    def _auth_test(self, params: JSONDict) -> JSONDict:
        url = f"https://{DOMAIN}.slack.com/"
        answer = {"url": url, "team": "Candor Test", "user": "candor", "team_id": self.team_id}
        return answer | {"user_id": self.bot_user_id, "bot_id": self.bot_id}

    def _post_message(self, params: JSONDict) -> JSONDict:
        channel = self._channel(params)
        if not any(params.get(key) for key in CONTENT):
            raise SlackError("no_text")
        if self.channels.get(channel, {}).get("is_archived"):
            raise SlackError("is_archived")
        ts = next_ts()
        message = {"type": "message", "text": params.get("text", ""), "user": self.bot_user_id}
        message |= {"bot_id": self.bot_id, "app_id": self.app_id, "team": self.team_id, "ts": ts}
        message |= {k: params[k] for k in ("thread_ts", *CONTENT[1:], "metadata") if params.get(k)}
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def _update(self, params: JSONDict) -> JSONDict:
        channel, ts = self._channel(params), str(params.get("ts", ""))
        if (message := self.messages.get((channel, ts))) is None:
            raise SlackError("message_not_found")
        message |= {k: params[k] for k in (*CONTENT, "metadata") if k in params}
        message["edited"] = {"user": self.bot_user_id, "ts": next_ts()}
        return {"channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _post_ephemeral(self, params: JSONDict) -> JSONDict:
        self._channel(params)
        if not params.get("user"):
            raise SlackError("user_not_in_channel")
        if not any(params.get(key) for key in CONTENT):
            raise SlackError("no_text")
        return {"message_ts": next_ts()}

    def _get_permalink(self, params: JSONDict) -> JSONDict:
        channel, ts = self._channel(params), str(params.get("message_ts", ""))
        if not ts:
            raise SlackError("message_not_found")
        link = f"https://{DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        if thread_ts := self.messages.get((channel, ts), {}).get("thread_ts"):
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _users_info(self, params: JSONDict) -> JSONDict:
        if (user := self.users.get(str(params.get("user", "")))) is None:
            raise SlackError("user_not_found")
        if str(params.get("include_locale", "")).lower() in ("true", "1"):
            return {"user": {"locale": "en-US"} | user}  # Slack's locale only when asked
        return {"user": {k: v for k, v in user.items() if k != "locale"}}

    def _conversations_info(self, params: JSONDict) -> JSONDict:
        channel = self.channels.get(self._channel(params))
        # A private channel the bot is not in is one it cannot see.
        if channel is None or (channel["is_private"] and not channel["is_member"]):
            raise SlackError("channel_not_found")
        return {"channel": channel}

    def _conversations_join(self, params: JSONDict) -> JSONDict:
        channel = self._conversations_info(params)["channel"]
        if channel["is_im"]:
            raise SlackError("method_not_supported_for_channel_type")
        if channel["is_archived"]:
            raise SlackError("is_archived")
        channel["is_member"] = True
        return {"channel": channel}

    def _conversations_open(self, params: JSONDict) -> JSONDict:
        """The IM with one user (`users`), opened if need be: its id is D + theirs."""
        users = str(params.get("users") or "").split(",")
        if len(users) != 1 or users[0] not in self.users:
            raise SlackError("user_not_found")
        im = "D" + users[0][1:]
        if im not in self.channels:
            self.add_channel(im, is_im=True, user=users[0])
        return {"channel": {"id": im}}

    def _reactions_add(self, params: JSONDict) -> JSONDict:
        channel, name = self._channel(params), str(params.get("name", "")).strip(":")
        if not name:
            raise SlackError("invalid_name")
        key = (channel, str(params.get("timestamp", "")), name)
        if key in self.reactions:
            raise SlackError("already_reacted")
        self.reactions.add(key)
        return {}


# -- payloads Slack sends to the bot ------------------------------------------------------


def event_callback(
    event: JSONDict,
    *,
    team_id: str = DEFAULT_TEAM,
    event_id: str | None = None,
    event_time: int | None = None,
    api_app_id: str = DEFAULT_APP,
    bot_user_id: str = DEFAULT_BOT_USER,
    is_ext_shared_channel: bool = False,
) -> JSONDict:
    """The Events API envelope around `event` (event ids "Ev0001", ... unless given)."""
    event_id = event_id or f"Ev{next(_event_ids):04d}"
    if event_time is None:
        event_time = int(float(event.get("event_ts") or time.time()))
    context = {"et": event.get("type"), "tid": team_id, "aid": api_app_id}
    context |= {"cid": event["channel"]} if "channel" in event else {}
    authorization: JSONDict = {"enterprise_id": None, "team_id": team_id, "user_id": bot_user_id}
    authorization |= {"is_bot": True, "is_enterprise_install": False}
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [authorization],
        "is_ext_shared_channel": is_ext_shared_channel,
        "event_context": "4-" + base64.urlsafe_b64encode(json.dumps(context).encode()).decode(),
    }


def message_event(
    user: str,
    text: str,
    *,
    channel: str,
    channel_type: str = "channel",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = DEFAULT_TEAM,
    user_team: str | None = None,
    files: list[JSONDict] | None = None,
    bot_id: str | None = None,
    subtype: str | None = None,
) -> JSONDict:
    """A `message` event (channel_type "channel", "group", "im" or "mpim"). For a Slack
    Connect user give `user_team` (their team; also `source_team`)."""
    ts = ts or next_ts()
    event: JSONDict = {"type": "message", **({"subtype": subtype} if subtype else {})}
    event |= {"user": user, "text": text, "ts": ts}
    event |= {"bot_id": bot_id} if bot_id else {"client_msg_id": str(uuid.uuid4())}
    event["team"] = team
    if user_team:
        event |= {"user_team": user_team, "source_team": user_team}
    if text:
        section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
        event["blocks"] = [{"type": "rich_text", "block_id": ts[-5:], "elements": [section]}]
    if files:
        event |= {"files": files, "upload": False, "display_as_bot": False}
    if thread_ts:
        event["thread_ts"] = thread_ts
        if thread_ts == ts:
            event["parent_user_id"] = user
    return event | {"channel": channel, "event_ts": ts, "channel_type": channel_type}


def file_object(
    name: str = "report.pdf", *, mimetype: str = "application/pdf", user: str = "U0ALICE"
) -> JSONDict:
    """A file as it appears in a file_share message's `files`."""
    file_id = f"F{uuid.uuid4().hex[:10].upper()}"
    url = f"https://files.slack.com/files-pri/{DEFAULT_TEAM}-{file_id}/{name}"
    file = {"id": file_id, "created": int(time.time()), "name": name, "title": name}
    file |= {"mimetype": mimetype, "filetype": name.rpartition(".")[2], "user": user}
    file |= {"size": 1024, "mode": "hosted", "url_private": url, "url_private_download": url}
    return file | {"permalink": f"https://{DOMAIN}.slack.com/files/{user}/{file_id}/{name}"}


def file_share_event(
    user: str, files: list[JSONDict], *, channel: str, text: str = "", **options: Any
) -> JSONDict:
    """A message sharing `files` (see `file_object`); options as for `message_event`."""
    return message_event(user, text, channel=channel, files=files, subtype="file_share", **options)


def message_changed_event(
    channel: str,
    ts: str,
    new_text: str,
    user: str,
    *,
    old_text: str = "",
    channel_type: str = "channel",
    thread_ts: str | None = None,
    team: str = DEFAULT_TEAM,
) -> JSONDict:
    """The hidden `message_changed` event for an edit of message `ts`."""
    now = next_ts()
    thread = {"thread_ts": thread_ts} if thread_ts else {}
    previous = {"type": "message", "user": user, "text": old_text, "ts": ts, "team": team, **thread}
    message = previous | {"text": new_text, "edited": {"user": user, "ts": now}}
    event = {"type": "message", "subtype": "message_changed", "hidden": True, "channel": channel}
    event |= {"message": message, "previous_message": previous, "ts": now, "event_ts": now}
    return event | {"channel_type": channel_type}


def message_deleted_event(
    channel: str,
    ts: str,
    *,
    user: str = "U0ALICE",
    old_text: str = "",
    channel_type: str = "channel",
    thread_ts: str | None = None,
) -> JSONDict:
    """The hidden `message_deleted` event for message `ts`."""
    now = next_ts()
    previous = {"type": "message", "user": user, "text": old_text, "ts": ts}
    previous |= {"thread_ts": thread_ts} if thread_ts else {}
    event = {"type": "message", "subtype": "message_deleted", "hidden": True, "channel": channel}
    event |= {"deleted_ts": ts, "previous_message": previous, "ts": now, "event_ts": now}
    return event | {"channel_type": channel_type}


def _trigger_id() -> str:
    return f"{next(_trigger_ids)}.{int(time.time())}.{uuid.uuid4().hex}"


def _response_url(team: str) -> str:
    """Slack's kind of response_url; pass `FakeSlack.response_url()` to catch replies."""
    return f"https://hooks.slack.com/actions/{team}/{next(_trigger_ids)}/{uuid.uuid4().hex}"


def block_actions(
    user: str,
    action_id: str,
    value: str,
    *,
    channel: str,
    message_ts: str,
    thread_ts: str | None = None,
    team: str = DEFAULT_TEAM,
    trigger_id: str | None = None,
    response_url: str | None = None,
    block_id: str = "actions",
    user_team: str | None = None,
    message_text: str = "",
    ephemeral: bool = False,
) -> JSONDict:
    """A `block_actions` payload: `user` clicked a button on the bot message `message_ts`
    (with `ephemeral`, one only they saw: Slack sends no `message` then)."""
    thread = {"thread_ts": thread_ts} if thread_ts else {}
    container = {"type": "message", "message_ts": message_ts, "channel_id": channel}
    message = {"type": "message", "user": DEFAULT_BOT_USER, "bot_id": DEFAULT_BOT_ID}
    action: JSONDict = {"type": "button", "action_id": action_id, "block_id": block_id}
    action |= {"text": {"type": "plain_text", "text": value}, "value": value}
    action["action_ts"] = next_ts()
    name = user.lower()
    shown = (
        {}
        if ephemeral
        else {"message": message | {"text": message_text, "ts": message_ts, **thread}}
    )
    return {
        "type": "block_actions",
        "user": {"id": user, "username": name, "name": name, "team_id": user_team or team},
        "api_app_id": DEFAULT_APP,
        "token": VERIFICATION_TOKEN,
        "container": container | {"is_ephemeral": ephemeral, **thread},
        "trigger_id": trigger_id or _trigger_id(),
        "team": {"id": team, "domain": DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower()},
        **shown,
        "state": {"values": {}},
        "response_url": response_url or _response_url(team),
        "actions": [action],
    }


def slash_command(
    command: str,
    text: str,
    *,
    user: str,
    channel: str,
    team: str = DEFAULT_TEAM,
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The form fields of a slash command invocation."""
    fields = {"token": VERIFICATION_TOKEN, "team_id": team, "team_domain": DOMAIN}
    fields |= {"channel_id": channel, "channel_name": channel.lower(), "user_id": user}
    fields |= {"user_name": user.lower(), "command": command, "text": text}
    fields |= {"api_app_id": DEFAULT_APP, "is_enterprise_install": "false"}
    fields |= {"response_url": response_url or _response_url(team)}
    return fields | {"trigger_id": trigger_id or _trigger_id()}


# -- signing and posting ------------------------------------------------------------------


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signature headers for `body` (timestamp: now by default)."""
    body = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


async def post_raw(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    """POST `body` as is (e.g. forged or unsigned); returns (status, body text)."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.post(url, data=body, headers=dict(headers)) as response,
    ):
        return response.status, await response.text()


async def _post_signed(
    url: str,
    body: bytes,
    secret: str,
    content_type: str,
    timestamp: int | None,
    headers: Mapping[str, str] | None,
) -> tuple[int, str]:
    signed = {"Content-Type": content_type, "User-Agent": SLACKBOT} | sign(body, secret, timestamp)
    return await post_raw(url, body, signed | dict(headers or {}))


async def post_event(
    url: str,
    payload: JSONDict,
    secret: str,
    *,
    timestamp: int | None = None,
    headers: Mapping[str, str] | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> tuple[int, str]:
    """POST an Events API payload as JSON, signed; a redelivery if `retry_num` is set."""
    retry = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
    headers = (retry if retry_num is not None else {}) | dict(headers or {})
    body = json.dumps(payload).encode()
    return await _post_signed(url, body, secret, "application/json", timestamp, headers)


async def post_interaction(
    url: str,
    payload: JSONDict,
    secret: str,
    *,
    timestamp: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """POST an interactivity payload as the form field `payload=<json>`, signed."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return await _post_signed(url, body, secret, FORM, timestamp, headers)


async def post_command(
    url: str,
    fields: Mapping[str, str],
    secret: str,
    *,
    timestamp: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """POST slash command form fields, signed."""
    body = urlencode(dict(fields)).encode()
    return await _post_signed(url, body, secret, FORM, timestamp, headers)
