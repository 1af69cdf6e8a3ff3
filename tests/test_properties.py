"""Property-based tests: platform payloads into `Inbound`, the core's Markdown into each
platform's markup, the knowledge matcher, the text helpers, and the engine end to end.

Every property runs on generated input (Hypothesis); the bugs they found are pinned by
small explicit examples below, so that they stay fixed.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from telegram import Update

from adapters.markdown import slack_escape, split, to_plain, to_slack_mrkdwn, to_telegram_html
from adapters.slack.convert import Ignored as SlackIgnored
from adapters.slack.convert import (
    Where,
    action_to_inbound,
    command_to_inbound,
    message_to_inbound,
    typed,
)
from adapters.telegram.convert import Ignored as TelegramIgnored
from adapters.telegram.convert import to_inbound
from bot.app import Candor
from bot.knowledge import KnowledgeBase, Thresholds
from bot.knowledge.articles import Article
from bot.model import Inbound, InboundKind
from bot.text import MAX_STORED, clean, md_escape, parse_command, unbidi
from tests.conftest import Customer, RecordingSender

FAST = settings(max_examples=60, deadline=None)
SLOW = settings(max_examples=25, deadline=None)

# -- text strategies ----------------------------------------------------------------------

SPECIAL_TEXTS = [
    "",
    " ",
    "\n\n",
    "\x00\x07\x1b[31mred\x1b[0m\x7f",
    "\u202eevil\u202c",  # right-to-left override
    "مرحبا كيف حالك",
    "שלום עולם",
    "👩‍👩‍👧‍👦🏳️‍🌈😀",
    "e\u0301\u0301\u0301",  # combining marks
    "<b>bold</b> &amp; <a href='x'>link</a>",
    "<!channel> <@U123> <https://evil.example|harmless>",
    "**bold** _it_ `code` [x](https://evil.example) # head\n- item\n+ item",
    "\\*\\\\\\_ \\",
    "/claim 1",
    "\ufeff\u200b\u2028\u2029",
]

short_text = st.text(max_size=200)
# Huge texts are built by repetition: generating 100k characters one by one is slow.
huge_text = st.builds(
    lambda chunk, times: chunk * times,
    st.text(min_size=1, max_size=20),
    st.integers(min_value=1_000, max_value=5_000),
)
any_text = st.one_of(short_text, st.sampled_from(SPECIAL_TEXTS), huge_text)
# Lone surrogates and private-use characters too (a str can hold them; JSON can carry them).
raw_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=300)


# -- Telegram -----------------------------------------------------------------------------

STAFF = -1001234567890
ids = st.integers(min_value=-(10**13), max_value=10**13)
small_ids = st.integers(min_value=1, max_value=2**31 - 1)
junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
extra_fields = st.dictionaries(st.sampled_from(["zzz_unknown", "x_extra", "nested_junk"]), junk)


@st.composite
def tg_user(draw: st.DrawFn) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": draw(small_ids),
        "is_bot": draw(st.booleans()),
        "first_name": draw(any_text),
    }
    if draw(st.booleans()):
        user["last_name"] = draw(short_text)
    if draw(st.booleans()):
        user["username"] = draw(st.text(max_size=32))
    return user


@st.composite
def tg_chat(draw: st.DrawFn) -> dict[str, Any]:
    chat_id = draw(st.sampled_from([STAFF]) | ids)
    chat_type = draw(st.sampled_from(["private", "group", "supergroup", "channel"]))
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = draw(short_text)
    if draw(st.booleans()):
        chat["is_forum"] = draw(st.booleans())
    return chat


def _file(prefix: str, draw: st.DrawFn) -> dict[str, Any]:
    return {
        "file_id": prefix + draw(st.text(max_size=8)),
        "file_unique_id": draw(st.text(max_size=8)),
    }


@st.composite
def tg_message(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": draw(small_ids),
        "date": draw(st.integers(min_value=0, max_value=2_000_000_000)),
        "chat": draw(tg_chat()),
    }
    if draw(st.integers(0, 9)) > 0:
        message["from"] = draw(tg_user())
    content = draw(
        st.sampled_from(
            ["text", "text", "caption_photo", "document", "sticker", "voice", "service", "none"]
        )
    )
    if content == "text":
        message["text"] = draw(any_text)
    elif content == "caption_photo":
        sizes = [
            {**_file("AgAD", draw), "width": draw(st.integers(0, 4000)), "height": 90}
            for _ in range(draw(st.integers(0, 3)))
        ]
        message["photo"] = sizes
        if draw(st.booleans()):
            message["caption"] = draw(any_text)
    elif content == "document":
        message["document"] = {**_file("BQAC", draw), "file_name": draw(short_text)}
        if draw(st.booleans()):
            message["caption"] = draw(short_text)
    elif content == "voice":
        message["voice"] = {**_file("AwAC", draw), "duration": draw(st.integers(0, 100))}
    elif content == "sticker":
        message["sticker"] = {
            **_file("CAAC", draw),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": draw(st.booleans()),
            "is_video": False,
            "emoji": draw(st.text(max_size=2)),
        }
    elif content == "service":
        which = draw(st.sampled_from(["new_chat_members", "group_chat_created", "forum"]))
        if which == "new_chat_members":
            message["new_chat_members"] = [draw(tg_user())]
        elif which == "group_chat_created":
            message["group_chat_created"] = True
        else:
            message["forum_topic_created"] = {"name": draw(short_text), "icon_color": 0}
    if draw(st.booleans()):
        message["message_thread_id"] = draw(small_ids)
        message["is_topic_message"] = draw(st.booleans())
    if depth == 0 and draw(st.integers(0, 3)) == 0:
        message["reply_to_message"] = draw(tg_message(depth=1))
    if draw(st.integers(0, 9)) == 0:
        message["sender_chat"] = draw(tg_chat())
    message.update(draw(extra_fields))
    return message


@st.composite
def tg_update(draw: st.DrawFn) -> dict[str, Any]:
    update: dict[str, Any] = {"update_id": draw(small_ids)}
    kind = draw(
        st.sampled_from(
            ["message", "edited_message", "callback_query", "channel_post", "nothing", "message"]
        )
    )
    if kind == "message":
        update["message"] = draw(tg_message())
    elif kind == "edited_message":
        edited = draw(tg_message())
        if draw(st.booleans()):
            edited["edit_date"] = edited["date"] + draw(st.integers(0, 10_000))
        update["edited_message"] = edited
    elif kind == "channel_post":
        update["channel_post"] = draw(tg_message())
    elif kind == "callback_query":
        query: dict[str, Any] = {
            "id": draw(st.text(min_size=1, max_size=20)),
            "from": draw(tg_user()),
            "chat_instance": draw(st.text(max_size=10)),
        }
        if draw(st.booleans()):
            query["data"] = draw(st.text(max_size=64))
        if draw(st.integers(0, 4)) > 0:
            query["message"] = draw(tg_message(depth=1))
        update["callback_query"] = query
    update.update(draw(extra_fields))
    return update


@FAST
@given(tg_update(), st.sampled_from([None, STAFF]))
def test_telegram_update_becomes_an_inbound_or_is_ignored(
    data: dict[str, Any], staff: int | None
) -> None:
    update = Update.de_json(data, bot=None)
    assert update is not None
    found = to_inbound(update, staff_group_id=staff)
    assert isinstance(found, Inbound | TelegramIgnored)
    if isinstance(found, Inbound):
        assert found.key and isinstance(found.key, str)
        assert found.identity.channel == found.address.channel == "telegram"
        assert found.identity.user_id and found.address.chat_id
        assert isinstance(found.text, str) and isinstance(found.payload, str)
        chat = int(found.address.chat_id)
        # a customer only ever writes from a private chat; a group is only ever the staff's
        assert chat == staff or found.address.thread_id == ""


@FAST
@given(any_text, st.sampled_from(["private", "group", "supergroup"]))
def test_telegram_text_is_passed_on_unchanged_from_a_private_chat(
    text: str, chat_type: str
) -> None:
    data = {
        "update_id": 1,
        "message": {
            "message_id": 7,
            "date": 1_700_000_000,
            "chat": {"id": 42 if chat_type == "private" else -42, "type": chat_type},
            "from": {"id": 42, "is_bot": False, "first_name": text[:64] or "A"},
            "text": text,
        },
    }
    found = to_inbound(Update.de_json(data, bot=None), staff_group_id=STAFF)
    if chat_type == "private":
        assert isinstance(found, Inbound)
        assert found.kind is InboundKind.MESSAGE and found.text == text
        assert found.key == "42:7"
    else:
        assert isinstance(found, TelegramIgnored)


# -- Slack --------------------------------------------------------------------------------

# JSON-like values where strings are expected: ints, None, lists, booleans, nested junk.
scalar = st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats()
loose = st.one_of(
    scalar,
    st.sampled_from(["", "U1", "D1", "C1", "CT", "T1", "T_HOME", "im", "channel"]),
    st.lists(scalar, max_size=2),
    junk,  # nested lists and objects where a string belongs
)
SLACK_KEYS = [
    "subtype",
    "channel",
    "channel_type",
    "user",
    "text",
    "ts",
    "thread_ts",
    "team",
    "user_team",
    "bot_id",
    "team_id",
    "trigger_id",
    "user_id",
    "channel_id",
    "action_ts",
    "value",
    "id",
    "message_ts",
]
SUBTYPES = ["", "message_changed", "message_deleted", "file_share", "bot_message", "me_message"]
flat = st.dictionaries(st.sampled_from(SLACK_KEYS), loose, max_size=10)
files = st.lists(
    st.one_of(
        scalar,
        st.fixed_dictionaries(
            {"id": loose}, optional={"mimetype": loose, "name": loose, "junk": junk}
        ),
    ),
    max_size=3,
)


@st.composite
def slack_event(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    event = draw(flat)
    if draw(st.booleans()):
        event["subtype"] = draw(st.sampled_from(SUBTYPES))
    if draw(st.booleans()):
        event["files"] = draw(files)
    if depth == 0:
        for key in ("message", "previous_message"):
            if draw(st.booleans()):
                inner = draw(slack_event(depth=1))
                if draw(st.booleans()):
                    inner["edited"] = {"ts": draw(loose)}
                event[key] = inner
    return event


@st.composite
def slack_action_body(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(flat)
    if draw(st.integers(0, 4)) > 0:
        body["actions"] = draw(st.lists(flat, max_size=2))
    for key in ("user", "channel", "container", "message", "team"):
        # where Slack sends an object: an object (any keys, any scalar values), null or none
        body[key] = draw(st.one_of(flat, st.none(), st.just(None)))
        if body[key] is None and draw(st.booleans()):
            del body[key]
    return body


wheres = st.builds(
    Where,
    triage_channel=st.sampled_from(["", "CT"]),
    home_teams=st.sampled_from([frozenset(), frozenset({"T_HOME"})]),
    customer_channels=st.sampled_from([frozenset(), frozenset({"C1"})]),
    bot_user_id=st.sampled_from(["", "UBOT", "U1"]),
)


def _check_slack(found: Inbound | SlackIgnored) -> None:
    assert isinstance(found, Inbound | SlackIgnored)
    if isinstance(found, Inbound):
        assert isinstance(found.key, str) and found.key
        assert found.identity.channel == found.address.channel == "slack"
        assert isinstance(found.identity.user_id, str) and found.identity.user_id
        assert isinstance(found.text, str) and isinstance(found.payload, str)
        assert all(isinstance(a.ref, str) and a.ref for a in found.attachments)


@FAST
@given(flat, slack_event(), wheres, st.text(max_size=20), st.sampled_from(["", "T1", "T_HOME"]))
def test_slack_message_never_raises(
    body: dict[str, Any], event: dict[str, Any], where: Where, name: str, team: str
) -> None:
    _check_slack(message_to_inbound(body, event, where, name, team))


@FAST
@given(slack_action_body(), wheres, st.text(max_size=20))
def test_slack_action_never_raises(body: dict[str, Any], where: Where, name: str) -> None:
    _check_slack(action_to_inbound(body, where, name))


@FAST
@given(flat, wheres, st.text(max_size=20))
def test_slack_command_never_raises(body: dict[str, Any], where: Where, name: str) -> None:
    found = command_to_inbound(body, where, name)
    _check_slack(found)
    if isinstance(found, Inbound):
        assert found.text.startswith("/")


@FAST
@given(any_text)
def test_slack_dm_text_is_passed_on(text: str) -> None:
    event = {"user": "U1", "channel": "D1", "text": text, "ts": "1.2"}
    found = message_to_inbound({}, event, Where(triage_channel="CT"))
    assert isinstance(found, Inbound)
    bang = re.match(r"![a-z]", text, re.I) is not None
    sent = typed(text)  # Slack's escapes of what was typed, undone
    assert found.text == ("/" + sent[1:] if bang else sent)


def test_slack_text_is_kept_as_typed_not_as_slack_escapes_it() -> None:
    event = {"user": "U1", "channel": "D1", "text": "a &lt; b &amp;&amp; c &gt; <@U2>", "ts": "1"}
    found = message_to_inbound({}, event, Where(triage_channel="CT"))
    assert isinstance(found, Inbound) and found.text == "a < b && c > <@U2>"
    assert typed("&amp;lt;") == "&lt;"  # typed "&lt;" comes as "&amp;lt;": kept as typed


# Payloads with the wrong *shape* (a string or number where Slack sends an object or a
# list): the converters assume Slack's shapes and crash instead of ignoring the payload.
WRONG_SHAPES: list[tuple[str, Callable[[], object]]] = [
    (
        "message_changed with a string 'message'",
        lambda: message_to_inbound({}, {"subtype": "message_changed", "message": "x"}, Where()),
    ),
    (
        "message_changed whose message has 'edited': null",
        lambda: message_to_inbound(
            {},
            {
                "subtype": "message_changed",
                "channel": "D1",
                "message": {"user": "U1", "text": "new", "edited": None},
                "previous_message": {"text": "old"},
            },
            Where(),
        ),
    ),
    (
        "message_deleted with a list 'previous_message'",
        lambda: message_to_inbound(
            {}, {"subtype": "message_deleted", "previous_message": [1]}, Where()
        ),
    ),
    (
        "message with a number for 'files'",
        lambda: message_to_inbound({}, {"user": "U1", "channel": "D1", "files": 5}, Where()),
    ),
    (
        "action with an object for 'actions'",
        lambda: action_to_inbound({"actions": {"a": 1}}, Where()),
    ),
    (
        "action with a string for 'actions'",
        lambda: action_to_inbound(
            {"actions": "x", "user": {"id": "U"}, "channel": {"id": "C1"}}, Where()
        ),
    ),
    (
        "action with a string for 'user'",
        lambda: action_to_inbound(
            {"actions": [{}], "user": "U1", "channel": {"id": "C1"}}, Where()
        ),
    ),
    (
        "action with a string for 'channel'",
        lambda: action_to_inbound({"actions": [{}], "user": {"id": "U"}, "channel": "C1"}, Where()),
    ),
    (
        "action with a number as the action",
        lambda: action_to_inbound(
            {"actions": [1], "user": {"id": "U"}, "channel": {"id": "C1"}}, Where()
        ),
    ),
]


@pytest.mark.parametrize("call", [c for _, c in WRONG_SHAPES], ids=[n for n, _ in WRONG_SHAPES])
def test_slack_payload_with_a_wrong_shape_is_ignored_not_raised(
    call: Callable[[], object],
) -> None:
    found = call()
    assert isinstance(found, Inbound | SlackIgnored)


# -- Markdown -----------------------------------------------------------------------------

_TELEGRAM_TAG = re.compile(r'</?(?:b|i|code)>|<a href="[^"<>]*">|</a>')
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#x27);")
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _for_terminal(text: str) -> str:
    """What a terminal may show of a text: control characters but newline and tab gone."""
    return _TERMINAL_CONTROL.sub("", text)


def _nonspace(text: str) -> str:
    return "".join(text.split())


markdown_text = st.one_of(
    st.text(max_size=400),
    st.text(alphabet="*_`[]()<>#|~\\-+ \n\t&!@ab:/.", max_size=200),
    st.sampled_from(SPECIAL_TEXTS),
    st.builds(
        lambda label, url: f"**{label}** [{label}]({url}) `x{label}` _{label}_",
        st.text(max_size=20),
        st.sampled_from(
            ["https://a.example/x", "mailto:a@b.example", 'https://a.example/?q="1"&r=<2>']
        ),
    ),
)


@FAST
@given(markdown_text)
def test_rendering_any_markdown_never_raises(md: str) -> None:
    for render in (to_telegram_html, to_slack_mrkdwn, to_plain):
        assert isinstance(render(md), str)
    assert isinstance(to_plain(md, ansi=True), str)
    assert "\x00" not in to_telegram_html(md) + to_slack_mrkdwn(md) + to_plain(md)
    for md_tag in re.findall(r"<[^>]*>", to_telegram_html(md)):
        assert _TELEGRAM_TAG.fullmatch(md_tag), md_tag  # only the tags the renderer writes


@FAST
@given(st.one_of(st.text(max_size=500), st.sampled_from(SPECIAL_TEXTS), huge_text))
@example("<b>x</b> & &amp; &lt;")
@example("\\<b\\>")
@example("[x](https://evil.example) **y** `z` # h")
def test_user_text_in_telegram_html_stays_text(said: str) -> None:
    rendered = to_telegram_html(md_escape(said))
    assert "<" not in rendered and ">" not in rendered  # no tag at all: nothing was markup
    assert _ENTITY.sub("", rendered).count("&") == 0  # every & starts an entity
    # their words, but any bidirectional control (which would turn the bot's own words
    # around the quote)
    assert html.unescape(rendered) == unbidi(said).replace("\x00", "")


@FAST
@given(st.one_of(st.text(max_size=500), st.sampled_from(SPECIAL_TEXTS)))
@example("<!channel> <!here> <@U123> <#C1|general> <https://evil.example|harmless>")
@example("\\<!channel\\>")
@example("*bold* _it_ ~gone~ `code` **x**")
def test_user_text_in_slack_mrkdwn_cannot_ping_or_link(said: str) -> None:
    rendered = to_slack_mrkdwn(md_escape(said))
    assert "<" not in rendered and ">" not in rendered
    assert _ENTITY.sub("", rendered).count("&") == 0
    back = rendered.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    # every formatting character of theirs stands between zero-width spaces: none pairs up
    unpaired = "".join(f"\u200b{c}\u200b" if c in "*_~`" else c for c in unbidi(said))
    assert back == unpaired.replace("\x00", "")


@FAST
@given(st.text(max_size=300), st.sampled_from(["https://a.example/p", "mailto:x@y.example"]))
def test_a_core_link_is_the_only_angle_bracket_in_slack(label: str, url: str) -> None:
    md = f"see [{md_escape(label)}]({url}) and {md_escape(label)}"
    assume("\n" not in label and "]" not in label)
    rendered = to_slack_mrkdwn(md)
    outside = re.sub(r"<(?:https://|mailto:)[^<>|]*\|[^<>]*>", "", rendered)
    assert "<" not in outside and ">" not in outside


@FAST
@given(st.text(max_size=500))
def test_slack_escape_leaves_no_control_characters(text: str) -> None:
    escaped = slack_escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


@FAST
@given(st.text(max_size=500))
def test_user_text_in_plain_is_the_text(said: str) -> None:
    assert to_plain(md_escape(said)) == _for_terminal(said)


def test_plain_text_carries_no_terminal_control_characters() -> None:
    shown = to_plain("before \x1b[2J\x1b]0;owned\x07 after")
    assert not any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in shown)


def test_a_leading_dash_stays_a_dash() -> None:
    said = "- one\n+ two"
    assert html.unescape(to_telegram_html(md_escape(said))) == said


@FAST
@given(
    st.one_of(markdown_text, huge_text, st.text(alphabet="ab \n\\*", max_size=3000)),
    st.integers(min_value=16, max_value=5000),
)
@example("x" * 2500, 1000)
@example("\n\n".join(["word " * 40] * 20), 300)
def test_split_keeps_pieces_under_the_limit_and_every_character(md: str, limit: int) -> None:
    pieces = split(md, limit)
    assert pieces and all(len(piece) <= limit for piece in pieces)
    assert _nonspace("".join(pieces)) == _nonspace(md)
    if md.strip():
        assert all(piece.strip() for piece in pieces)
    else:
        assert pieces == [""]


@FAST
@given(st.text(max_size=3000), st.integers(min_value=16, max_value=600))
def test_split_never_separates_an_escape_from_its_character(said: str, limit: int) -> None:
    """Escaped user text split into messages reads the same as in one message. (No '-'
    or '+' bullets: a cut can start a new piece with '- ', which then renders as a bullet.)"""
    said = said.replace("-", "").replace("+", "").replace("\x00", "")
    md = md_escape(said)
    longest_run = max((len(run) for run in re.findall(r"\\+", md)), default=0)
    assume(longest_run < limit - 2)  # degenerate backslash runs: pinned separately below
    pieces = split(md, limit)
    assert _nonspace("".join(to_plain(p) for p in pieces)) == _nonspace(_for_terminal(said))


def test_split_of_many_backslashes_stays_few_pieces() -> None:
    md = md_escape("\\" * 5000)  # 10,000 characters of escaped backslashes
    pieces = split(md, 4096)
    assert len(pieces) <= 3
    assert "".join(to_plain(p) for p in pieces) == "\\" * 5000


def test_split_refuses_a_tiny_limit() -> None:
    with pytest.raises(ValueError, match="limit too small"):
        split("hello", 15)


# -- text helpers -------------------------------------------------------------------------


@FAST
@given(st.one_of(raw_text, any_text))
def test_clean_keeps_no_control_characters_and_at_most_max_stored(text: str) -> None:
    cleaned = clean(text)
    assert len(cleaned) <= MAX_STORED
    bad = {"Cc", "Cs", "Co"}
    assert not any(unicodedata.category(ch) in bad and ch not in "\n\t" for ch in cleaned)
    assert cleaned == cleaned.lstrip()


def test_clean_removes_exactly_controls_surrogates_and_private_use_but_newline_and_tab() -> None:
    """Every code point, against this Python's Unicode database: clean() drops a
    character alone exactly when its category is Cc, Cs or Co (and it is not \\n or \\t)."""
    differ = [
        hex(point)
        for point in range(0x110000)
        if (clean(f"a{chr(point)}b") == "ab")
        != (unicodedata.category(chr(point)) in ("Cc", "Cs", "Co") and chr(point) not in "\n\t")
        and unicodedata.normalize("NFC", f"a{chr(point)}b") == f"a{chr(point)}b"
    ]
    assert differ == []


def test_clean_cuts_a_huge_message_to_max_stored() -> None:
    assert len(clean("y" * 100_000)) == MAX_STORED


@FAST
@given(st.one_of(raw_text, any_text, st.builds(lambda s: "/" + s, st.text(max_size=60))))
def test_parse_command_never_raises_and_names_are_simple(text: str) -> None:
    found = parse_command(text)
    if found is not None:
        name, args = found
        assert text.startswith("/")
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name)
        assert args == args.strip()


@FAST
@given(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,31}", fullmatch=True),
    st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=50),
)
def test_parse_command_reads_name_and_arguments(name: str, args: str) -> None:
    assert parse_command(f"/{name} {args}") == (name.lower(), args.strip())
    assert parse_command(f"/{name}@candor_bot") == (name.lower(), "")


@FAST
@given(st.text(max_size=300))
def test_md_escape_only_adds_backslashes(text: str) -> None:
    escaped = md_escape(text)
    assert re.sub(r"\\(.)", r"\1", escaped, flags=re.S) == text


# -- knowledge ----------------------------------------------------------------------------

ARTICLES = [
    Article(
        "pricing",
        "Plans and prices",
        ("how much does it cost", "price list", "what plans are there"),
        ("sales",),
        "Team is $8.",
    ),
    Article(
        "trial",
        "The free trial",
        ("is there a free trial", "how long is the trial"),
        ("sales",),
        "14 days.",
    ),
    Article(
        "refunds", "Refunds", ("can I get a refund", "money back"), ("billing",), "Unused months."
    ),
    Article(
        "sso",
        "Single sign-on",
        ("do you support SAML SSO", "okta login"),
        ("security",),
        "Yes, SAML 2.0.",
    ),
    Article("cancel", "Cancelling", ("how do I cancel", "delete my account"), (), "In settings."),
]
KB = KnowledgeBase.of(ARTICLES)

query_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(SPECIAL_TEXTS),
    st.sampled_from([q for a in ARTICLES for q in a.questions]),
    st.lists(
        st.sampled_from(["price", "trial", "refund", "saml", "cancel", "the", "how", "prcie"]),
        max_size=12,
    ).map(" ".join),
)


def _check_decision(kb: KnowledgeBase, text: str) -> None:
    decision = kb.decide(text)
    t = kb.thresholds
    assert decision.kind in {"answer", "clarify", "unknown"}
    assert decision.query == text
    assert all(0.0 <= c.score <= 1.0 for c in decision.candidates)
    ids = [c.article.id for c in decision.candidates]
    assert len(ids) == len(set(ids))
    if decision.kind == "answer":
        assert len(decision.candidates) == 1
        assert decision.candidates[0].score >= t.answer_score
    elif decision.kind == "clarify":
        assert 1 <= len(decision.candidates) <= t.max_options
        assert all(c.score >= t.clarify_score for c in decision.candidates)
    else:
        assert all(c.score < t.clarify_score for c in decision.candidates[:1])


@FAST
@given(query_text)
def test_decide_is_always_one_of_three_with_scores_in_range(text: str) -> None:
    _check_decision(KB, text)


def test_decide_on_a_huge_question_does_not_raise() -> None:
    _check_decision(KB, "how much does the trial cost " * 4_000)
    _check_decision(KB, "x" * 100_000)
    _check_decision(KB, "")


article_words = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "Zs"]), min_size=0, max_size=40
)


@st.composite
def articles(draw: st.DrawFn) -> list[Article]:
    count = draw(st.integers(min_value=0, max_value=6))
    return [
        Article(
            f"a{i}",
            draw(article_words),
            tuple(draw(st.lists(article_words, max_size=4))),
            tuple(draw(st.lists(st.text(max_size=10), max_size=2))),
            draw(st.text(max_size=50)),
        )
        for i in range(count)
    ]


@SLOW
@given(articles(), query_text, st.integers(min_value=1, max_value=5))
def test_decide_on_any_knowledge_base_never_raises(
    found: list[Article], text: str, options: int
) -> None:
    # one ordinary article keeps the index non-empty (a wordless one is pinned below)
    kb = KnowledgeBase.of([*found, ARTICLES[0]], Thresholds(max_options=options))
    _check_decision(kb, text)


def test_a_knowledge_base_without_words_does_not_crash() -> None:
    kb = KnowledgeBase.of([Article("faq", "?", ("?",), (), "body")])
    assert kb.decide("hello").kind == "unknown"


# -- the engine end to end ----------------------------------------------------------------

_people = itertools.count()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.one_of(any_text, st.sampled_from(["/status", "/human", "/help"])), min_size=1, max_size=3
    )
)
async def test_every_message_gets_a_reply_and_the_engine_never_raises(
    app: Candor, sender: RecordingSender, texts: list[str]
) -> None:
    who = Customer(app, sender, f"prop{next(_people)}")
    for text in texts:
        replies = await who.send(text)
        assert replies, f"no reply to {text[:80]!r}"
        assert all("something went wrong" not in r for r in replies), replies


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.text(max_size=64), any_text)
async def test_any_button_payload_or_name_gets_a_reply(
    app: Candor, sender: RecordingSender, payload: str, name: str
) -> None:
    who = Customer(app, sender, f"btn{next(_people)}")
    inbound = who.inbound("", InboundKind.BUTTON, payload=payload)
    inbound = Inbound(
        inbound.key,
        inbound.identity,
        inbound.address,
        inbound.kind,
        payload=payload,
        display_name=name,
    )
    before = len(sender.texts(who.name))
    receipt = await app.engine.receive(inbound)
    await app.outbox.deliver_due()
    replies = sender.texts(who.name)[before:]
    assert not receipt.duplicate
    assert replies and all("something went wrong" not in r for r in replies)
