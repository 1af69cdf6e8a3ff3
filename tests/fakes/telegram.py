"""A fake Telegram Bot API server for tests.

The real python-telegram-bot talks to it over HTTP on 127.0.0.1, so tests see exactly
what the bot sent (and can make Telegram refuse it)::

    async with FakeTelegram(token="123:ABC") as fake:
        bot = telegram.Bot("123:ABC", base_url=fake.base_url, base_file_url=fake.base_file_url)
        fake.push_message(42, "hello")
        ...
        [sent] = await fake.wait_for("sendMessage", chat_id=42)

It answers the way Telegram does: `{"ok": true, "result": ...}` with realistic objects
and ids that increase (message ids per chat, shared by both directions), or
`{"ok": false, "error_code": ..., "description": ...}` with the same HTTP status.
Requests may be JSON, form-urlencoded or multipart; values that python-telegram-bot
sends JSON-encoded in a form (numbers, `reply_markup`, ...) are decoded.

Besides Telegram's own refusals (`fail_next`), the network can fail: `hang_next` gives
calls no answer until the client's timeout, `reset_next` breaks the connection under
them; whether Telegram carried such a call out is explicit (see `tests.fakes.faults`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import itertools
import json
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from functools import cache
from html import unescape
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from tests.fakes.faults import InjectsFaults, NetworkFault, lose_answer, take

if TYPE_CHECKING:
    from telegram.ext import ExtBot
    from telegram.request import HTTPXRequest

JSONDict = dict[str, Any]
Handler = Callable[[JSONDict], Any | Awaitable[Any]]

DEFAULT_TOKEN = "123:ABC"
MAX_POLL_TIMEOUT = 1.0
TOPIC_ICON_COLOR = 0x6FB9F0
MAX_TEXT = 4096
MAX_CAPTION = 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request;"
    " make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# Parameters that are strings even when they look like JSON ("42", "true", "[1]").
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "name",
        "title",
        "description",
        "short_description",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "file_id",
        "language_code",
        "emoji",
        "icon_custom_emoji_id",
        "business_connection_id",
        "message_effect_id",
        "query",
        "data",
        "action",
        "document",
        "photo",
        "audio",
        "video",
        "voice",
        "animation",
        "sticker",
        "video_note",
        "thumbnail",
        "custom_title",
        "question",
        "explanation",
        "first_name",
        "last_name",
        "username",
    }
)

KNOWN_METHODS = (
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendMessage",
    "sendDocument",
    "sendPhoto",
    "sendVoice",
    "sendAudio",
    "sendVideo",
    "sendChatAction",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "createForumTopic",
    "deleteForumTopic",
    "editForumTopic",
    "closeForumTopic",
    "reopenForumTopic",
    "getChat",
    "getChatMember",
    "getFile",
)

# A ChatMemberAdministrator's rights, as Telegram gives them to a bot made an admin
# with the app's defaults; `set_member(..., can_manage_topics=False)` takes one away.
# (can_post_messages and can_edit_messages are for channels only.)
ADMIN_RIGHTS: dict[str, bool] = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
    "can_manage_topics": True,
}
# A ChatMemberRestricted's permissions (all granted unless a test says otherwise).
RESTRICTED_RIGHTS: dict[str, bool] = {
    "is_member": True,
    "can_send_messages": True,
    "can_send_audios": True,
    "can_send_documents": True,
    "can_send_photos": True,
    "can_send_videos": True,
    "can_send_video_notes": True,
    "can_send_voice_notes": True,
    "can_send_polls": True,
    "can_send_other_messages": True,
    "can_add_web_page_previews": True,
    "can_react_to_messages": True,
    "can_change_info": False,
    "can_invite_users": True,
    "can_pin_messages": False,
    "can_manage_topics": False,
    "can_edit_tag": False,
}
# A group's default permissions for its members (getChat's `permissions`).
GROUP_PERMISSIONS: dict[str, bool] = {
    key: value
    for key, value in RESTRICTED_RIGHTS.items()
    if key not in ("is_member", "can_edit_tag")
}
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")


class TelegramApiError(Exception):
    """A Telegram error answer; raise it from a handler given to `FakeTelegram.on`."""

    def __init__(
        self, error_code: int, description: str, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> TelegramApiError:
    return TelegramApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request, as found in `Call.params`."""

    name: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Call:
    """One request to the fake: the method (as Telegram spells it) and its decoded
    parameters. A refused call has `failed` set and the error code and description.
    A call that met a network fault has `fault` ("hang", "reset"): failed if Telegram
    never saw it, else carried out and recorded as usual, its answer lost."""

    method: str
    params: JSONDict
    failed: bool = False
    error_code: int | None = None
    description: str | None = None
    result: Any = None
    token: str = ""
    at: float = field(default_factory=time.monotonic)  # when it arrived
    fault: str | None = None
    #: Which client made it, for a fake shared by several bots (processes) of one
    #: token: the name in its base URL (`base_url_for(consumer)`), "" if none.
    consumer: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(slots=True)
class _Failure:
    method: str
    error: TelegramApiError
    remaining: int | None
    chat_id: int | str | None


@dataclass(frozen=True, slots=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes


@cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every test bot: httpx would load the CA bundle for each
    client (a tenth of a second), and plain HTTP to the fake never uses it."""
    return ssl.create_default_context()


# -- HTML parse mode --------------------------------------------------------------------------

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*/?>")
_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|lt|gt|amp|quot);")


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's HTML parse mode: the plain text and its entities (offsets in UTF-16
    code units). Raises a 400 "can't parse entities" error for what Telegram refuses:
    unsupported tags, end tags that do not match, tags left open, a stray "<"."""
    plain: list[str] = []
    length = 0  # UTF-16 length of the plain text so far
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[JSONDict] = []
    i = 0

    def refuse(detail: str) -> TelegramApiError:
        return bad_request(f"can't parse entities: {detail}")

    def at(position: int) -> str:
        return f"at byte offset {len(text[:position].encode())}"

    while i < len(text):
        char = text[i]
        if char == "&":
            match = _ENTITY.match(text, i)
            piece = unescape(match.group(0)) if match else "&"
            i = match.end() if match else i + 1
        elif char == "<":
            match = _TAG.match(text, i)
            if match is None:
                raise refuse(f"Unsupported start tag {at(i)}")
            closing, name, rest = match.group(1) == "/", match.group(2).lower(), match.group(3)
            if closing:
                if not stack:
                    raise refuse(f"Unexpected end tag {at(i)}")
                open_name, start, attrs = stack.pop()
                if open_name != name:
                    raise refuse(
                        f'Unmatched end tag {at(i)}, expected "</{open_name}>", found "</{name}>"'
                    )
                if length > start:
                    entities.append(_entity(open_name, start, length - start, attrs))
            else:
                attrs = {
                    m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None)
                    for m in _ATTR.finditer(rest)
                }
                if name not in _HTML_TAGS or (
                    name == "span" and attrs.get("class") != "tg-spoiler"
                ):
                    raise refuse(f'Unsupported start tag "{name}" {at(i)}')
                stack.append((name, length, {k: unescape(v) for k, v in attrs.items()}))
            i = match.end()
            continue
        else:
            end = min((j for j in (text.find("<", i), text.find("&", i)) if j >= 0), default=-1)
            end = len(text) if end < 0 else end
            piece = text[i:end]
            i = end
        plain.append(piece)
        length += _utf16(piece)
    if stack:
        raise refuse(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(plain), entities


def _entity(tag: str, offset: int, length: int, attrs: dict[str, str]) -> JSONDict:
    kind = _HTML_TAGS[tag]
    entity: JSONDict = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        entity["url"] = attrs.get("href", "")
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif kind == "code" and attrs.get("class", "").startswith("language-"):
        entity["type"] = "pre"
        entity["language"] = attrs["class"].removeprefix("language-")
    return entity


def _decode(key: str, value: Any) -> Any:
    """A request value as Telegram reads it: form values other than plain strings are
    JSON (python-telegram-bot encodes numbers, booleans, keyboards and lists so)."""
    if not isinstance(value, str) or key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _matches(params: JSONDict, match: dict[str, Any]) -> bool:
    for key, wanted in match.items():
        if key not in params:
            return False
        value = params[key]
        if callable(wanted) and not isinstance(wanted, type):
            if not wanted(value):
                return False
        elif value != wanted and not (isinstance(value, int) and str(value) == wanted):
            return False  # (a chat id may be given as "42")
    return True


class FakeTelegram(InjectsFaults):
    """A Telegram Bot API on 127.0.0.1 for one bot token.

    Use `base_url`/`base_file_url` for `telegram.Bot`; push updates with the `push_*`
    helpers (or build them with `build_*` to POST to a webhook yourself); read what the
    bot did from `calls`, `sent()` and `wait_for()`; make calls fail with `fail_next()`,
    `block()` or `reject_html`, or the network under them with `hang_next()` and
    `reset_next()`. A call is recorded when it is answered (a long poll when it returns),
    refused ones too (`Call.failed`); one that meets a network fault when it arrives
    (Telegram never saw it) or when Telegram has carried it out (`processed=True`).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "candor_test_bot",
        first_name: str = "Candor",
        max_poll_timeout: float = MAX_POLL_TIMEOUT,
        reject_html: bool = False,
        filter_allowed_updates: bool = False,
    ) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_user: JSONDict = {
            "id": int(prefix) if prefix.isdigit() else 123,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.max_poll_timeout = max_poll_timeout
        #: Refuse sendMessage/editMessageText HTML whose tags Telegram would refuse.
        self.reject_html = reject_html
        #: Deliver only the update types of the last getUpdates' `allowed_updates`.
        self.filter_allowed_updates = filter_allowed_updates
        #: The clock for message dates (seconds since the epoch).
        self.clock: Callable[[], float] = time.time

        self.calls: list[Call] = []
        self.updates: list[JSONDict] = []  # queued, not yet confirmed
        self.confirmed_offset: int | None = None
        self.allowed_updates: list[str] | None = None
        self.webhook: JSONDict | None = None
        self.commands: list[JSONDict] = []
        self.messages: dict[tuple[int, int], JSONDict] = {}  # (chat id, message id)
        self.topics: dict[tuple[int, int], JSONDict] = {}  # (chat id, thread id)
        self.chats: dict[int, JSONDict] = {}  # set_chat overrides
        self.files: dict[str, _StoredFile] = {}
        self.blocked: set[int] = set()
        self.callback_ids: set[str] = set()

        self._failures: list[_Failure] = []
        self._faults: list[NetworkFault] = []
        self._handlers: dict[str, Handler] = {}
        self._users: dict[int, JSONDict] = {}
        self._forums: set[int] = set()
        #: Who is in which group, and how: chat id -> user id -> a ChatMember object.
        self.members: dict[int, dict[int, JSONDict]] = {}
        #: Telegram's last failure to post to the webhook: (unix time, its words).
        self.webhook_error: tuple[int, str] | None = None
        self._update_ids = itertools.count(100_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._changed: asyncio.Event | None = None
        self._poll_generation = 0
        #: getUpdates long polls waiting now (recorded only once answered).
        self.polling = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For `telegram.Bot(base_url=...)`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For `telegram.Bot(base_file_url=...)`."""
        return f"{self.url}/file/bot"

    def base_url_for(self, consumer: str) -> str:
        """A `base_url` whose calls are recorded with `Call.consumer` = `consumer`:
        several bots (processes) of one token on one fake, told apart."""
        return f"{self.url}/c/{consumer}/bot"

    def request(self, **kwargs: Any) -> HTTPXRequest:
        """An `HTTPXRequest` (kwargs as for it) that is quick to make; for `Bot(request=...,
        get_updates_request=...)` in tests."""
        from telegram.request import HTTPXRequest

        httpx_kwargs = {"verify": _tls_context(), **kwargs.pop("httpx_kwargs", {})}
        return HTTPXRequest(httpx_kwargs=httpx_kwargs, **kwargs)

    def bot(self, token: str | None = None, **kwargs: Any) -> ExtBot[None]:
        """An `ExtBot` pointed at this fake (kwargs as for `ExtBot`, e.g. rate_limiter)."""
        from telegram.ext import ExtBot

        kwargs.setdefault("request", self.request())
        kwargs.setdefault("get_updates_request", self.request())
        return ExtBot(
            self.token if token is None else token,
            base_url=self.base_url,
            base_file_url=self.base_file_url,
            **kwargs,
        )

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_route("*", "/c/{consumer}/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._closing = True
        self._notify()  # pending long polls answer at once
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

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _changed_within(self, seconds: float) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        event = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # (wait_for may swallow a cancel on 3.11)
                await event.wait()

    # -- what the bot did -----------------------------------------------------------------

    def calls_to(
        self,
        method: str,
        *,
        include_failed: bool = True,
        consumer: str | None = None,
        **match: Any,
    ) -> list[Call]:
        """Calls of `method` whose params match (equal, or a predicate returning true),
        made by `consumer` if given (`base_url_for`)."""
        return [
            call
            for call in self.calls
            if call.method == method
            and (include_failed or not call.failed)
            and (consumer is None or call.consumer == consumer)
            and _matches(call.params, match)
        ]

    def sent(
        self,
        method: str = "sendMessage",
        chat_id: int | str | None = None,
        *,
        include_failed: bool = False,
        **match: Any,
    ) -> list[JSONDict]:
        """The params of the successful calls of `method` (to `chat_id`, if given)."""
        if chat_id is not None:
            match["chat_id"] = chat_id
        return [c.params for c in self.calls_to(method, include_failed=include_failed, **match)]

    def texts(self, chat_id: int | str | None = None) -> list[str]:
        """The texts of the messages sent (successfully) with sendMessage."""
        return [str(p.get("text", "")) for p in self.sent("sendMessage", chat_id)]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is the point of this helper
        *,
        include_failed: bool = True,
        consumer: str | None = None,
        **match: Any,
    ) -> list[Call]:
        """Wait until `count` calls of `method` matching `match` have arrived (refused
        ones too, unless `include_failed=False`); returns them. Fails the test with what
        did arrive when they do not come within `timeout` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.calls_to(method, include_failed=include_failed, consumer=consumer, **match)
            if len(found) >= count:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = [(c.method, c.params, c.description) for c in self.calls]
                raise AssertionError(
                    f"expected {count} {method} call(s) matching {match} within {timeout}s,"
                    f" got {len(found)}; calls: {seen}"
                )
            await self._changed_within(remaining)

    async def wait_for_poller(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a getUpdates long poll is waiting."""
        async with asyncio.timeout(timeout):
            while not self.polling:
                await self._changed_within(timeout)

    def clear(self) -> None:
        """Forget the recorded calls (the queue, messages and failures stay)."""
        self.calls.clear()

    # -- making Telegram refuse -------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        count: int | None = 1,
        chat_id: int | str | None = None,
        parameters: JSONDict | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` (to `chat_id`, if given) with a
        Telegram error; `count=None` keeps failing until `clear_failures()`.

        429 defaults to "Too Many Requests: retry after 3" with `retry_after` 3 in the
        parameters; 403 to "Forbidden: bot was blocked by the user"; 400 to "Bad Request:
        chat not found". Other parameters (`migrate_to_chat_id`) go in `parameters`."""
        params = dict(parameters or {})
        if error_code == 429 or retry_after is not None:
            params.setdefault("retry_after", 3 if retry_after is None else retry_after)
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {params['retry_after']}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
        error = TelegramApiError(error_code, description, params or None)
        self._failures.append(_Failure(method, error, count, chat_id))

    def clear_failures(self) -> None:
        """Stop the refusals of `fail_next` and the faults of `hang_next`/`reset_next`."""
        self._failures.clear()
        self._faults.clear()

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sending to their chat is Forbidden from now on."""
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self.blocked.discard(user_id)

    def on(self, method: str, handler: Handler) -> None:
        """Answer `method` with `handler(params)` (sync or async; raise
        `TelegramApiError` to refuse) instead of the built-in behaviour."""
        self._handlers[method.lower()] = handler

    def _take_failure(self, method: str, params: JSONDict) -> TelegramApiError | None:
        for failure in self._failures:
            if failure.method.lower() != method.lower():
                continue
            if failure.chat_id is not None and str(params.get("chat_id")) != str(failure.chat_id):
                continue
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
            return failure.error
        return None

    # -- chats and users --------------------------------------------------------------------

    def set_chat(self, chat_id: int, **fields: Any) -> JSONDict:
        """Describe a chat (type, title, is_forum, ...) for the objects the fake builds."""
        chat = {**self._chat(chat_id), **fields, "id": chat_id}
        self.chats[chat_id] = chat
        if chat.get("is_forum"):
            self._forums.add(chat_id)
        return chat

    def set_member(
        self, chat_id: int, user_id: int, status: str = "member", **rights: Any
    ) -> JSONDict:
        """Make `user_id` (the bot: `bot_user["id"]`) a member of the group `chat_id` with
        this status (creator, administrator, member, restricted, left, kicked), as
        getChatMember will answer; `rights` override an administrator's rights
        (`can_manage_topics=False`) or a restricted member's permissions."""
        user = self.bot_user if user_id == self.bot_user["id"] else self._users.get(user_id)
        member = self._member(user or self._user(user_id), status, **rights)
        self.members.setdefault(chat_id, {})[user_id] = member
        return member

    @staticmethod
    def _member(user: JSONDict, status: str, **rights: Any) -> JSONDict:
        """A ChatMember object, with the fields Telegram gives for its status."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"not a chat member status: {status!r}")
        member: JSONDict = {"status": status, "user": dict(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(ADMIN_RIGHTS)
        elif status == "restricted":
            member.update(RESTRICTED_RIGHTS, until_date=0)
        elif status == "kicked":
            member["until_date"] = 0
        unknown = set(rights) - set(member) - set(ADMIN_RIGHTS) - {"custom_title"}
        if unknown:
            raise ValueError(f"not a right of a {status}: {sorted(unknown)}")
        member.update(rights)
        return member

    def _now(self) -> int:
        return int(self.clock())

    def _user(
        self,
        user_id: int,
        first_name: str = "Ann",
        username: str | None = None,
        *,
        is_bot: bool = False,
        last_name: str | None = None,
    ) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if not is_bot:
            user["language_code"] = "en"
        self._users[user_id] = user
        return user

    def _chat(self, chat_id: int, chat_type: str | None = None) -> JSONDict:
        if chat_id in self.chats and chat_type in (None, self.chats[chat_id]["type"]):
            return dict(self.chats[chat_id])
        kind = chat_type or ("private" if chat_id > 0 else "supergroup")
        chat: JSONDict = {"id": chat_id, "type": kind}
        if kind == "private":
            user = self._users.get(chat_id, {"first_name": "Ann"})
            chat["first_name"] = user["first_name"]
            for key in ("last_name", "username"):
                if key in user:
                    chat[key] = user[key]
        else:
            chat["title"] = f"Group {abs(chat_id)}"
            if kind == "supergroup" and chat_id in self._forums:
                chat["is_forum"] = True
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _new_file(self, prefix: str, suffix: str, data: bytes) -> _StoredFile:
        n = next(self._file_seq)
        stored = _StoredFile(
            file_id=f"{prefix}AAxkBAAI{n:06d}",
            file_unique_id=f"AQAD{n:06d}",
            file_path=f"{suffix}/file_{n}",
            data=data,
        )
        self.files[stored.file_id] = stored
        return stored

    def add_file(self, data: bytes, *, kind: str = "documents") -> str:
        """Store a file the bot can getFile and download; returns its file_id."""
        return self._new_file("BQACAgIA", kind, data).file_id

    # -- updates ----------------------------------------------------------------------------

    def push(self, update: JSONDict) -> JSONDict:
        """Queue an update for getUpdates (an `update_id` is given if it has none)."""
        if "update_id" not in update:
            update["update_id"] = next(self._update_ids)
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self.callback_ids.add(str(query["id"]))
        self.updates.append(update)
        self._notify()
        return update

    def _message(
        self,
        user_id: int,
        content: JSONDict,
        *,
        first_name: str,
        username: str | None,
        last_name: str | None,
        chat_id: int | None,
        chat_type: str | None,
        message_thread_id: int | None,
        is_topic_message: bool,
        reply_to_message_id: int | None,
        is_bot: bool,
    ) -> JSONDict:
        user = self._user(user_id, first_name, username, is_bot=is_bot, last_name=last_name)
        where = user_id if chat_id is None else chat_id
        if is_topic_message and message_thread_id:
            self._forums.add(where)
        chat = self._chat(where, chat_type)
        message: JSONDict = {
            "message_id": self._next_message_id(where),
            "from": user,
            "chat": chat,
            "date": self._now(),
            **content,
        }
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
            if is_topic_message:
                message["is_topic_message"] = True
        if reply_to_message_id is not None:
            message["reply_to_message"] = self._reply_target(where, reply_to_message_id)
        elif is_topic_message and message_thread_id:
            message["reply_to_message"] = self._topic_message(where, message_thread_id)
        self.messages[(where, message["message_id"])] = message
        return message

    def _reply_target(self, chat_id: int, message_id: int) -> JSONDict:
        known = self.messages.get((chat_id, message_id))
        if known is not None:
            return {k: v for k, v in known.items() if k != "reply_to_message"}
        return {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": self._now(),
            "text": "",
        }

    def _topic_message(self, chat_id: int, thread_id: int) -> JSONDict:
        """The "topic created" service message a topic's messages reply to."""
        known = self.messages.get((chat_id, thread_id))
        if known is not None and "forum_topic_created" in known:
            return dict(known)
        topic = self.topics.setdefault(
            (chat_id, thread_id),
            {"message_thread_id": thread_id, "name": f"Topic {thread_id}", "icon_color": 0},
        )
        service = {
            "message_id": thread_id,
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": self._now(),
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": topic["name"], "icon_color": topic["icon_color"]},
        }
        self.messages.setdefault((chat_id, thread_id), service)
        return service

    def build_message(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Ann",
        username: str | None = None,
        last_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str | None = None,
        message_thread_id: int | None = None,
        is_topic_message: bool = False,
        reply_to_message_id: int | None = None,
        is_bot: bool = False,
        **extra: Any,
    ) -> JSONDict:
        """A text message update. `chat_id` defaults to the user's private chat; the chat
        type to private for positive ids, supergroup for negative. A leading /command
        gets its bot_command entity; `extra` goes into the message as it is."""
        content: JSONDict = {"text": text, **extra}
        command = re.match(r"/[A-Za-z0-9_]+(@\w+)?", text)
        if command and "entities" not in content:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        message = self._message(
            user_id,
            content,
            first_name=first_name,
            username=username,
            last_name=last_name,
            chat_id=chat_id,
            chat_type=chat_type,
            message_thread_id=message_thread_id,
            is_topic_message=is_topic_message,
            reply_to_message_id=reply_to_message_id,
            is_bot=is_bot,
        )
        return {"update_id": next(self._update_ids), "message": message}

    def push_message(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Ann",
        username: str | None = None,
        last_name: str | None = None,
        chat_id: int | None = None,
        chat_type: str | None = None,
        message_thread_id: int | None = None,
        is_topic_message: bool = False,
        reply_to_message_id: int | None = None,
        is_bot: bool = False,
        **extra: Any,
    ) -> JSONDict:
        """Queue `build_message(...)`; returns the update."""
        return self.push(
            self.build_message(
                user_id,
                text,
                first_name=first_name,
                username=username,
                last_name=last_name,
                chat_id=chat_id,
                chat_type=chat_type,
                message_thread_id=message_thread_id,
                is_topic_message=is_topic_message,
                reply_to_message_id=reply_to_message_id,
                is_bot=is_bot,
                **extra,
            )
        )

    def build_callback(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int,
        chat_id: int | None = None,
        message_thread_id: int | None = None,
        first_name: str = "Ann",
        username: str | None = None,
    ) -> JSONDict:
        """A button press on the bot's message `message_id` (the message as the bot sent
        it, when the fake knows it)."""
        user = self._user(user_id, first_name, username)
        where = user_id if chat_id is None else chat_id
        message = self.messages.get((where, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": self._chat(where),
                "date": self._now(),
                "text": "",
            }
            if message_thread_id is not None:
                message["message_thread_id"] = message_thread_id
                message["is_topic_message"] = where < 0
            self.messages[(where, message_id)] = message
        query_id = f"{user_id}{next(self._callback_seq):06d}"
        self.callback_ids.add(query_id)
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(message),
                "chat_instance": str(abs(where) * 7919 % 10**18),
                "data": data,
            },
        }

    def push_callback(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int,
        chat_id: int | None = None,
        message_thread_id: int | None = None,
        first_name: str = "Ann",
        username: str | None = None,
    ) -> JSONDict:
        return self.push(
            self.build_callback(
                user_id,
                data,
                message_id=message_id,
                chat_id=chat_id,
                message_thread_id=message_thread_id,
                first_name=first_name,
                username=username,
            )
        )

    def build_edit(
        self,
        user_id: int,
        message_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str = "Ann",
        username: str | None = None,
    ) -> JSONDict:
        """The user edited their message `message_id` to `text`."""
        where = user_id if chat_id is None else chat_id
        known = self.messages.get((where, message_id))
        if known is not None:
            message = copy.deepcopy(known)
        else:
            message = {
                "message_id": message_id,
                "from": self._user(user_id, first_name, username),
                "chat": self._chat(where),
                "date": self._now() - 60,
            }
        key = "caption" if "caption" in message else "text"
        message[key] = text
        message.pop("entities" if key == "text" else "caption_entities", None)
        message["edit_date"] = max(self._now(), int(message["date"]) + 1)
        self.messages[(where, message_id)] = message
        return {"update_id": next(self._update_ids), "edited_message": message}

    def push_edit(
        self,
        user_id: int,
        message_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str = "Ann",
        username: str | None = None,
    ) -> JSONDict:
        return self.push(
            self.build_edit(
                user_id, message_id, text, chat_id=chat_id, first_name=first_name, username=username
            )
        )

    def _media(
        self, user_id: int, content: JSONDict, caption: str | None, options: dict[str, Any]
    ) -> JSONDict:
        if caption is not None:
            content["caption"] = caption
        message = self._message(
            user_id,
            content,
            first_name=options.get("first_name", "Ann"),
            username=options.get("username"),
            last_name=options.get("last_name"),
            chat_id=options.get("chat_id"),
            chat_type=options.get("chat_type"),
            message_thread_id=options.get("message_thread_id"),
            is_topic_message=options.get("is_topic_message", False),
            reply_to_message_id=options.get("reply_to_message_id"),
            is_bot=options.get("is_bot", False),
        )
        return {"update_id": next(self._update_ids), "message": message}

    def build_photo(self, user_id: int, caption: str | None = None, **options: Any) -> JSONDict:
        """A photo (three sizes, the same picture) with an optional caption. `options` are
        those of `build_message` (chat_id, first_name, ...)."""
        sizes = []
        for width, height in ((90, 68), (320, 240), (1280, 960)):
            stored = self._new_file("AgACAgIA", "photos", b"\xff\xd8\xff\xe0 fake jpeg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": width * height // 10,
                    "width": width,
                    "height": height,
                }
            )
        return self._media(user_id, {"photo": sizes}, caption, options)

    def push_photo(self, user_id: int, caption: str | None = None, **options: Any) -> JSONDict:
        return self.push(self.build_photo(user_id, caption, **options))

    def build_document(
        self,
        user_id: int,
        file_name: str = "invoice.pdf",
        caption: str | None = None,
        *,
        mime_type: str = "application/pdf",
        data: bytes = b"%PDF-1.4 fake",
        **options: Any,
    ) -> JSONDict:
        stored = self._new_file("BQACAgIA", "documents", data)
        document = {
            "file_name": file_name,
            "mime_type": mime_type,
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(data),
        }
        return self._media(user_id, {"document": document}, caption, options)

    def push_document(
        self,
        user_id: int,
        file_name: str = "invoice.pdf",
        caption: str | None = None,
        *,
        mime_type: str = "application/pdf",
        data: bytes = b"%PDF-1.4 fake",
        **options: Any,
    ) -> JSONDict:
        return self.push(
            self.build_document(
                user_id, file_name, caption, mime_type=mime_type, data=data, **options
            )
        )

    def build_voice(
        self, user_id: int, *, duration: int = 3, caption: str | None = None, **options: Any
    ) -> JSONDict:
        data = b"OggS fake voice"
        stored = self._new_file("AwACAgIA", "voice", data)
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._media(user_id, {"voice": voice}, caption, options)

    def push_voice(
        self, user_id: int, *, duration: int = 3, caption: str | None = None, **options: Any
    ) -> JSONDict:
        return self.push(self.build_voice(user_id, duration=duration, caption=caption, **options))

    def build_sticker(self, user_id: int, *, emoji: str = "👍", **options: Any) -> JSONDict:
        stored = self._new_file("CAACAgIA", "stickers", b"RIFF fake webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "FakeStickers",
            "file_size": len(stored.data),
        }
        return self._media(user_id, {"sticker": sticker}, None, options)

    def push_sticker(self, user_id: int, *, emoji: str = "👍", **options: Any) -> JSONDict:
        return self.push(self.build_sticker(user_id, emoji=emoji, **options))

    def build_my_chat_member(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        old_status: str = "member",
        new_status: str = "kicked",
        first_name: str = "Ann",
    ) -> JSONDict:
        """The bot's membership changed; by default the user blocked the bot."""
        where = user_id if chat_id is None else chat_id
        old = self._member(self.bot_user, old_status)
        new = self._member(self.bot_user, new_status)
        if where < 0:  # the bot's membership of the group is now this
            self.members.setdefault(where, {})[self.bot_user["id"]] = new
        return {
            "update_id": next(self._update_ids),
            "my_chat_member": {
                "chat": self._chat(where),
                "from": self._user(user_id, first_name),
                "date": self._now(),
                "old_chat_member": old,
                "new_chat_member": new,
            },
        }

    def push_my_chat_member(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        old_status: str = "member",
        new_status: str = "kicked",
        first_name: str = "Ann",
    ) -> JSONDict:
        return self.push(
            self.build_my_chat_member(
                user_id,
                chat_id=chat_id,
                old_status=old_status,
                new_status=new_status,
                first_name=first_name,
            )
        )

    # -- HTTP -----------------------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> JSONDict:
        params: JSONDict = {key: _decode(key, value) for key, value in request.query.items()}
        if not request.can_read_body:
            return params
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as error:
                raise bad_request("can't parse JSON encoded request body") from error
            if not isinstance(body, dict):
                raise bad_request("the request body must be a JSON object")
            params.update({key: _decode(key, value) for key, value in body.items()})
            return params
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = UploadedFile(
                    name=key,
                    filename=value.filename,
                    content_type=value.content_type,
                    data=value.file.read(),
                )
            else:
                params[key] = _decode(key, value)
        return params

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._notify()

    async def _api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        asked = request.match_info["method"]
        method = next((m for m in KNOWN_METHODS if m.lower() == asked.lower()), asked)
        try:
            params = await self._read_params(request)
        except TelegramApiError as error:
            return self._refuse(Call(method, {}, token=token), error)
        fault = take(self._faults, method, params, _matches, ignore_case=True)
        call = Call(
            method,
            params,
            token=token,
            fault=fault.kind if fault else None,
            consumer=request.match_info.get("consumer", ""),
        )
        if fault is not None:
            if fault.processed:
                await self._carry_out(call)  # recorded as Telegram answered it
            else:
                self._record(replace(call, failed=True, description=fault.description))
            return await lose_answer(request, fault, lambda: self._closing)
        return await self._carry_out(call)

    async def _carry_out(self, call: Call) -> web.Response:
        """Do what the call asks, as Telegram would; record it and answer."""
        method, params, token = call.method, call.params, call.token
        if token != self.token:
            return self._refuse(call, TelegramApiError(401, "Unauthorized"))
        failure = self._take_failure(method, params)
        if failure is not None:
            return self._refuse(call, failure)
        handler = self._handlers.get(method.lower()) or self._builtin(method)
        if handler is None:
            return self._refuse(call, TelegramApiError(404, "Not Found: method not found"))
        try:
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except TelegramApiError as error:
            return self._refuse(call, error)
        self._record(replace(call, result=result))
        return web.json_response({"ok": True, "result": result})

    def _refuse(self, call: Call, error: TelegramApiError) -> web.Response:
        self._record(
            replace(call, failed=True, error_code=error.error_code, description=error.description)
        )
        return web.json_response(error.body(), status=error.error_code)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(TelegramApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return web.json_response(TelegramApiError(404, "Not Found").body(), status=404)

    def _builtin(self, method: str) -> Handler | None:
        name = "_m_" + re.sub(r"(?<!^)([A-Z])", r"_\1", method).lower()
        found = getattr(self, name, None)
        return found if method in KNOWN_METHODS and callable(found) else None

    # -- methods ----------------------------------------------------------------------------------

    def _m_get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_log_out(self, params: JSONDict) -> bool:
        return True

    def _m_close(self, params: JSONDict) -> bool:
        return True

    async def _m_get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook is not None:
            raise TelegramApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            self.confirmed_offset = max(self.confirmed_offset or 0, offset)
        elif isinstance(offset, int) and offset < 0:
            self.updates = self.updates[offset:]
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = [str(kind) for kind in params["allowed_updates"]]
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = min(float(params.get("timeout") or 0), self.max_poll_timeout)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll ends with 409, as on Telegram
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.polling += 1
        try:
            while True:
                if generation != self._poll_generation:
                    raise TelegramApiError(409, DEFAULT_DESCRIPTIONS[409])
                ready = self._deliverable()[:limit]
                remaining = deadline - loop.time()
                if ready or self._closing or remaining <= 0:
                    return copy.deepcopy(ready)
                await self._changed_within(remaining)
        finally:
            self.polling -= 1

    def _deliverable(self) -> list[JSONDict]:
        if not self.filter_allowed_updates or not self.allowed_updates:
            return list(self.updates)
        allowed = set(self.allowed_updates)
        return [u for u in self.updates if allowed.intersection(u.keys() - {"update_id"})]

    def _m_set_webhook(self, params: JSONDict) -> bool:
        if not params.get("url"):
            return self._m_delete_webhook(params)
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = {
            "url": params["url"],
            "secret_token": params.get("secret_token"),
            "allowed_updates": params.get("allowed_updates"),
            "max_connections": params.get("max_connections", 40),
        }
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = list(params["allowed_updates"])
        self._notify()
        return True

    def _m_delete_webhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = None
        return True

    def _m_get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
            if self.webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self.webhook_error
        return info

    def _m_set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        self.commands = commands
        return True

    def _m_get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands

    def _m_delete_my_commands(self, params: JSONDict) -> bool:
        self.commands = []
        return True

    def _chat_id(self, params: JSONDict) -> int:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            if chat_id is None or chat_id == "":
                raise bad_request("chat_id is empty")
            raise bad_request("chat not found")
        if chat_id in self.blocked:
            raise TelegramApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _formatted(self, params: JSONDict, key: str, limit: int) -> tuple[str, list[JSONDict]]:
        """Text (or caption) and entities as Telegram stores them after parse_mode."""
        raw = params.get(key)
        text = "" if raw is None else str(raw)
        given = params.get("entities" if key == "text" else f"{key}_entities")
        entities: list[JSONDict] = list(given) if isinstance(given, list) else []
        if str(params.get("parse_mode") or "").upper() == "HTML":
            try:
                text, entities = parse_html(text)
            except TelegramApiError:
                if self.reject_html:
                    raise
        if key == "text" and not text.strip():
            raise bad_request("message text is empty")
        if _utf16(text) > limit:
            raise bad_request(
                "message caption is too long" if key == "caption" else "message is too long"
            )
        return text, entities

    def _bot_message(self, params: JSONDict, chat_id: int, content: JSONDict) -> JSONDict:
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": self._now(),
        }
        thread = params.get("message_thread_id")
        if isinstance(thread, int) and thread:
            if chat_id in self._forums and (chat_id, thread) not in self.topics:
                raise bad_request("message thread not found")  # never made, or deleted
            message["message_thread_id"] = thread
            if chat_id < 0:
                message["is_topic_message"] = True
        reply = params.get("reply_parameters")
        reply_to = reply.get("message_id") if isinstance(reply, dict) else None
        reply_to = reply_to or params.get("reply_to_message_id")
        if isinstance(reply_to, int):
            reply_chat = reply.get("chat_id", chat_id) if isinstance(reply, dict) else chat_id
            known = self.messages.get((int(reply_chat), reply_to))
            lenient = params.get("allow_sending_without_reply") or (
                isinstance(reply, dict) and reply.get("allow_sending_without_reply")
            )
            if known is not None:
                message["reply_to_message"] = {
                    k: v for k, v in known.items() if k != "reply_to_message"
                }
            elif not lenient:
                raise bad_request("message to be replied not found")
        elif message.get("is_topic_message") and isinstance(thread, int):
            message["reply_to_message"] = self._topic_message(chat_id, thread)
        message.update(content)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _m_send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        text, entities = self._formatted(params, "text", MAX_TEXT)
        content: JSONDict = {"text": text}
        if entities:
            content["entities"] = entities
        return self._bot_message(params, chat_id, content)

    def _send_media(self, params: JSONDict, kind: str) -> JSONDict:
        chat_id = self._chat_id(params)
        given = params.get(kind)
        if given is None or given == "":
            raise bad_request(f"there is no {kind} in the request")
        caption, entities = self._formatted(params, "caption", MAX_CAPTION)
        if isinstance(given, UploadedFile):
            stored = self._new_file("BQACAgIA", f"{kind}s", given.data)
            file_name, mime, size = given.filename, given.content_type, len(given.data)
        else:
            known = self.files.get(str(given))
            stored = known or self._new_file("BQACAgIA", f"{kind}s", b"")
            file_name, mime, size = "file", "application/octet-stream", len(stored.data)
        ids = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        media: Any
        if kind == "photo":
            media = [{**ids, "file_size": size, "width": 1280, "height": 960}]
        elif kind == "document":
            media = {**ids, "file_name": file_name, "mime_type": mime, "file_size": size}
        else:
            media = {**ids, "duration": int(params.get("duration") or 0), "file_size": size}
            media["mime_type"] = "audio/ogg" if kind == "voice" else mime
            if kind == "video":
                media.update(
                    width=int(params.get("width") or 640), height=int(params.get("height") or 480)
                )
        content: JSONDict = {kind: media}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        return self._bot_message(params, chat_id, content)

    def _m_send_document(self, params: JSONDict) -> JSONDict:
        return self._send_media(params, "document")

    def _m_send_photo(self, params: JSONDict) -> JSONDict:
        return self._send_media(params, "photo")

    def _m_send_voice(self, params: JSONDict) -> JSONDict:
        return self._send_media(params, "voice")

    def _m_send_audio(self, params: JSONDict) -> JSONDict:
        return self._send_media(params, "audio")

    def _m_send_video(self, params: JSONDict) -> JSONDict:
        return self._send_media(params, "video")

    def _m_send_chat_action(self, params: JSONDict) -> bool:
        self._chat_id(params)
        return True

    def _editable(self, params: JSONDict) -> tuple[int, JSONDict] | None:
        """The bot message an edit is about; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._chat_id(params)
        message = self.messages.get((chat_id, int(params.get("message_id") or 0)))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return chat_id, message

    def _m_edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        text, entities = self._formatted(params, "text", MAX_TEXT)
        found = self._editable(params)
        if found is None:
            return True
        _, message = found
        markup = params.get("reply_markup")
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise bad_request(NOT_MODIFIED)
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        self._set_markup(message, markup)
        message["edit_date"] = self._now()
        return copy.deepcopy(message)

    def _m_edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        found = self._editable(params)
        if found is None:
            return True
        _, message = found
        markup = params.get("reply_markup")
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        self._set_markup(message, markup)
        message["edit_date"] = self._now()
        return copy.deepcopy(message)

    @staticmethod
    def _set_markup(message: JSONDict, markup: Any) -> None:
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    def _m_delete_message(self, params: JSONDict) -> bool:
        chat_id = self._chat_id(params)
        if self.messages.pop((chat_id, int(params.get("message_id") or 0)), None) is None:
            raise bad_request("message to delete not found")
        return True

    def _m_answer_callback_query(self, params: JSONDict) -> bool:
        if str(params.get("callback_query_id")) not in self.callback_ids:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        return True

    def _m_create_forum_topic(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        if chat_id > 0:
            raise bad_request("method is available for supergroup and channel chats only")
        name = str(params.get("name") or "")
        if not name or len(name) > 128:
            raise bad_request("TOPIC_NAME_INVALID" if not name else "topic name is too long")
        self._forums.add(chat_id)
        icon_color = int(params.get("icon_color") or TOPIC_ICON_COLOR)
        thread_id = self._next_message_id(chat_id)
        topic: JSONDict = {"message_thread_id": thread_id, "name": name, "icon_color": icon_color}
        if params.get("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = params["icon_custom_emoji_id"]
        self.topics[(chat_id, thread_id)] = topic
        self._topic_message(chat_id, thread_id)
        return dict(topic)

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Someone on the staff deletes a forum topic, with its messages, in the app:
        the bot is not told, and sending into it is refused from now on ("Bad Request:
        message thread not found", as Telegram answers)."""
        if self.topics.pop((chat_id, thread_id), None) is None:
            raise KeyError(f"no topic {thread_id} in chat {chat_id}")
        for key, message in list(self.messages.items()):
            if key[0] == chat_id and message.get("message_thread_id") == thread_id:
                del self.messages[key]
        self.messages.pop((chat_id, thread_id), None)

    def _m_delete_forum_topic(self, params: JSONDict) -> bool:
        chat_id = self._chat_id(params)
        thread = params.get("message_thread_id")
        if not isinstance(thread, int) or (chat_id, thread) not in self.topics:
            raise bad_request("message thread not found")
        self.delete_topic(chat_id, thread)
        return True

    def _forum_topic(self, params: JSONDict) -> JSONDict:
        """The topic a forum method is about, as Telegram finds it: a forum
        supergroup's topic that exists (never made, or deleted: "message thread not
        found")."""
        chat_id = self._chat_id(params)
        if chat_id > 0:
            raise bad_request("method is available for supergroup and channel chats only")
        thread = params.get("message_thread_id")
        topic = self.topics.get((chat_id, thread)) if isinstance(thread, int) else None
        if topic is None:
            raise bad_request("message thread not found")
        return topic

    def _m_edit_forum_topic(self, params: JSONDict) -> bool:
        """A topic renamed (or its icon changed); a name or icon not given (or empty)
        is kept. Nothing changed: "TOPIC_NOT_MODIFIED", as Telegram answers."""
        topic = self._forum_topic(params)
        name = str(params.get("name") or "") or topic["name"]
        if len(name) > 128:
            raise bad_request("TOPIC_NAME_INVALID")
        icon = params.get("icon_custom_emoji_id")
        changed = {"name": name} if name != topic["name"] else {}
        if icon is not None and icon != topic.get("icon_custom_emoji_id", ""):
            changed["icon_custom_emoji_id"] = str(icon)
        if not changed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.update(changed)
        return True

    def _m_close_forum_topic(self, params: JSONDict) -> bool:
        """A topic closed: only admins may write in it now (the bot is one, with
        can_manage_topics, as the README says: it still may). Closed already:
        "TOPIC_NOT_MODIFIED"."""
        topic = self._forum_topic(params)
        if topic.get("is_closed"):
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic["is_closed"] = True
        return True

    def _m_reopen_forum_topic(self, params: JSONDict) -> bool:
        """A closed topic open again. Open already: "TOPIC_NOT_MODIFIED"."""
        topic = self._forum_topic(params)
        if not topic.get("is_closed"):
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic["is_closed"] = False
        return True

    def _m_get_chat(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        chat = self._chat(chat_id)
        if chat["type"] != "private":
            self._bot_in(chat_id)
            chat.setdefault("permissions", dict(GROUP_PERMISSIONS))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _bot_in(self, chat_id: int) -> None:
        """Refuse, as Telegram does, a call about a group the bot is not in: one it was
        never added to (nor told of by `set_chat`), left, or was removed from."""
        known = chat_id in self.chats or chat_id in self.members or chat_id in self._forums
        mine = self.members.get(chat_id, {}).get(self.bot_user["id"])
        status = mine["status"] if mine else None
        if status == "kicked":
            kind = self._chat(chat_id)["type"]
            raise TelegramApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if not known or status == "left":
            raise bad_request("chat not found")

    def _m_get_chat_member(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        if chat_id < 0:
            self._bot_in(chat_id)
        user_id = params.get("user_id")
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        found = self.members.get(chat_id, {}).get(user_id)
        if found is not None:
            return copy.deepcopy(found)
        user = self.bot_user if user_id == self.bot_user["id"] else self._users.get(user_id)
        if user is None:  # nobody the bot has seen
            raise bad_request("user not found")
        return self._member(user, "left")

    def _m_get_file(self, params: JSONDict) -> JSONDict:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
