"""Rendering the core's Markdown for each platform, and splitting long messages.

The core writes a small Markdown: **bold**, _italic_, `code`, [links](https://…),
"# headings", "- lists", and backslash escapes (`\\*`) around anything a person
wrote. Every platform gets the same reading of it; whatever is not markup is
escaped for the target, so nobody's words can turn into markup, links or pings.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_ESCAPED = re.compile(r"\\([\\`*_\[\]<>#|~+/-])")
_CODE = re.compile(r"`([^`\n]+)`")
# No pattern may read on to the end of the text from each place it could start, or
# "[a [a [a …" costs time quadratic in its length: a link's label stops at the next
# "[" (the innermost brackets make the link), bold is looked for only up to the last
# place it can end (`_bold`), a heading's text is found greedily.
_LINK = re.compile(r"\[([^\[\]\n]+)\]\(((?:https?://|mailto:)[^\s()<>]+)\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.S)
_BOLD_END = re.compile(r"(?<=\S)(?=\*\*)")  # every place bold can end, overlapping
_ITALIC = re.compile(r"(?<![\w*])_(?=\S)([^_\n]+?)(?<=\S)_(?!\w)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.*[^ \t#\n]|.+?)[ \t#]*+$", re.M)
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.M)
_SLOT = re.compile("\x00(\\d+)\x00")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but newline and tab


class _Slots:
    """Placeholders for pieces that must not be touched by later steps."""

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def put(self, rendered: str) -> str:
        self.pieces.append(rendered)
        return f"\x00{len(self.pieces) - 1}\x00"

    def restore(self, text: str) -> str:
        while _SLOT.search(text):
            text = _SLOT.sub(lambda m: self.pieces[int(m.group(1))], text)
        return text


def _render(
    md: str,
    *,
    escape: Callable[[str], str],
    bold: Callable[[str], str],
    italic: Callable[[str], str],
    code: Callable[[str], str],
    link: Callable[[str, str], str],
    literal: Callable[[str], str] | None = None,
) -> str:
    """`literal`: how a backslash-escaped character (someone's words) is written;
    `escape` by default."""
    md = md.replace("\x00", "")
    slots = _Slots()
    quote = literal or escape
    text = _ESCAPED.sub(lambda m: slots.put(quote(m.group(1))), md)
    text = _CODE.sub(lambda m: slots.put(code(escape(m.group(1)))), text)
    text = _LINK.sub(lambda m: slots.put(link(m.group(1), m.group(2))), text)
    text = escape(text)
    text = _HEADING.sub(lambda m: bold(m.group(1)), text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = _bold(text, bold)
    text = _ITALIC.sub(lambda m: italic(m.group(1)), text)
    return slots.restore(text)


def _bold(text: str, bold: Callable[[str], str]) -> str:
    """`_BOLD` replaced, in linear time: after the last place bold can end no bold
    can start, so that is not searched (from each "**" there it would read to the
    end); before it, every "**" that can start bold ends at the first such place."""
    last = None
    for last in _BOLD_END.finditer(text):  # noqa: B007
        pass
    if last is None:
        return text
    cut = last.start() + 2
    return _BOLD.sub(lambda m: bold(m.group(1)), text[:cut]) + text[cut:]


def to_telegram_html(md: str) -> str:
    """Telegram's HTML parse mode: only <b>, <i>, <code>, <a>; everything else escaped."""
    return _render(
        md,
        escape=lambda s: html.escape(s, quote=False),
        bold=lambda s: f"<b>{s}</b>",
        italic=lambda s: f"<i>{s}</i>",
        code=lambda s: f"<code>{s}</code>",
        link=lambda label, url: (
            f'<a href="{html.escape(url, quote=True)}">{html.escape(label, quote=False)}</a>'
        ),
    )


def slack_escape(text: str) -> str:
    """Slack's three control characters; with < and > escaped nobody can write
    <!channel>, <@U123> or <https://evil|harmless> through the bot."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack has no escape for its formatting characters: someone's *, _, ~ and ` are
# kept from pairing up into formatting by a zero-width space on each side.
_UNPAIRED = "\u200b"
_FORMATTING = frozenset("*_~`")


def _slack_literal(char: str) -> str:
    """A character someone wrote, as Slack shows it without reading it as markup."""
    return f"{_UNPAIRED}{char}{_UNPAIRED}" if char in _FORMATTING else slack_escape(char)


def to_slack_mrkdwn(md: str) -> str:
    """Slack mrkdwn: *bold*, _italic_, `code`, <url|label>; someone's words (escaped
    in the Markdown) can neither ping, link nor format."""
    return _render(
        md,
        escape=slack_escape,
        literal=_slack_literal,
        bold=lambda s: f"*{s}*",
        italic=lambda s: f"_{s}_",
        code=lambda s: f"`{s}`",
        link=lambda label, url: f"<{slack_escape(url).replace('|', '%7C')}|{slack_escape(label)}>",
    )


def to_slack_plain(md: str) -> str:
    """Plain words for Slack's plain fields (the `text` fallback of notifications
    and previews): the markup dropped, someone's formatting characters kept from
    pairing up; not yet escaped (`slack_escape` that, after shortening it)."""
    return _render(
        _CONTROL.sub("", md),
        escape=lambda s: s,
        literal=lambda c: f"{_UNPAIRED}{c}{_UNPAIRED}" if c in _FORMATTING else c,
        bold=lambda s: s,
        italic=lambda s: s,
        code=lambda s: s,
        link=lambda label, url: f"{label} ({url})",
    )


def to_plain(md: str, *, ansi: bool = False) -> str:
    """Plain text for a terminal: the markup dropped (bold kept as ANSI bold if
    `ansi`), the words kept; control characters never reach the terminal."""
    return _render(
        _CONTROL.sub("", md),
        escape=lambda s: s,
        bold=(lambda s: f"\x1b[1m{s}\x1b[0m") if ansi else (lambda s: s),
        italic=lambda s: s,
        code=lambda s: s,
        link=lambda label, url: f"{label} ({url})",
    )


def split(md: str, limit: int) -> list[str]:
    """Cut Markdown into pieces of at most `limit` characters: at paragraph breaks,
    else line breaks, else spaces, and only mid-word when nothing else fits."""
    if limit < 16:
        raise ValueError("limit too small")
    pieces: list[str] = []
    rest = md.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > limit // 3:
                break
        else:
            cut = limit
        # never split an escape from the character it escapes: count the backslashes
        # before the cut; an odd number means the last one escapes what follows
        run = 0
        while run < cut and rest[cut - 1 - run] == "\\":
            run += 1
        if run % 2 == 1:
            cut -= 1
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces or [""]
