"""Rendering the core's Markdown for each platform, and splitting long messages.

The core writes a small Markdown: **bold**, _italic_, `code`, [links](https://…),
"# headings", "- lists", tables ("| a | b |" over "| --- | --- |"), and
backslash escapes (`\\*`) around anything a person wrote. Every platform gets the
same reading of it; whatever is not markup is escaped for the target, so nobody's
words can turn into markup, links or pings.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
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
# how wide a table may be laid out (see "tables" below): a phone, a terminal
PHONE_WIDTH = 36
TERMINAL_WIDTH = 72
_GAP = "  "


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
    block: Callable[[str], str] | None = None,
    width: int = PHONE_WIDTH,
) -> str:
    """`literal`: how a backslash-escaped character (someone's words) is written;
    `escape` by default. `block`: how a table laid out in columns is shown (its
    text already escaped), at most `width` characters wide."""
    md = md.replace("\x00", "")
    slots = _Slots()
    quote = literal or escape
    text = _tables(md, lambda rows: slots.put(_table(rows, escape, block or escape, width)))
    text = _ESCAPED.sub(lambda m: slots.put(quote(m.group(1))), text)
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


# -- tables ------------------------------------------------------------------------------
#
# A table (a header row, a row of dashes and colons under it, body rows; every one of
# these lines with an unescaped "|") is laid out in aligned columns in a monospace
# block: phones show about 36 monospace characters on a line (PHONE_WIDTH), so wide
# cells are wrapped within their column, the widest column first, and the rows stay
# aligned and keep every word. A table that cannot fit even so (many columns, long
# words) becomes a list, a row per line: "• Team — Billed yearly: $8; Billed
# monthly: $10", which reads on any screen. Found by reading lines and splitting on
# "|", no pattern: linear in the text.


def _cells(line: str) -> list[str] | None:
    """A row's cells, split at unescaped "|"; None if the line has none."""
    cells, start, i, found = [], 0, 0, False
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == "|":
            cells.append(line[start:i])
            start, found = i + 1, True
        i += 1
    if not found:
        return None
    cells.append(line[start:])
    if line.strip().startswith("|"):
        cells = cells[1:]
    if len(cells) > 1 and line.rstrip().endswith("|") and not line.rstrip().endswith("\\|"):
        cells = cells[:-1]
    return [c.strip() for c in cells]


def _is_delimiter(cells: list[str]) -> bool:
    for cell in cells:
        inner = cell.removeprefix(":").removesuffix(":")
        if not inner or inner.strip("-"):
            return False
    return True


def _table_at(lines: list[str], i: int) -> tuple[int, list[list[str]]] | None:
    """The table starting at line `i`: how many lines it takes, and its rows."""
    if i + 1 >= len(lines):
        return None
    header, rule = _cells(lines[i]), _cells(lines[i + 1])
    if not header or not rule or len(rule) != len(header) or not _is_delimiter(rule):
        return None
    rows, end = [header], i + 2
    while end < len(lines) and lines[end].strip():
        row = _cells(lines[end])
        if row is None:
            break
        if len(row) > len(header):  # GitHub drops the extra cells; nothing is lost here
            row = [*row[: len(header) - 1], " | ".join(row[len(header) - 1 :])]
        rows.append(row)  # a short row is padded only if it is laid out in columns
        end += 1
    return end - i, rows


def _tables(md: str, put: Callable[[list[list[str]]], str]) -> str:
    """`md` with each table replaced by `put(rows)`; anything else untouched."""
    if "|" not in md:
        return md
    lines = md.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        found = _table_at(lines, i) if "|" in lines[i] else None
        if found is None:
            out.append(lines[i])
            i += 1
        else:
            out.append(put(found[1]))
            i += found[0]
    return "\n".join(out)


def _width(text: str) -> int:
    """Columns a monospace screen gives `text`: wide (East Asian) characters two,
    combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _wrap(text: str, width: int) -> list[str]:
    """Words in lines of at most `width` columns; a longer word is cut."""
    lines: list[str] = []
    line, used = "", 0
    for word in text.split():
        size = _width(word)
        if size > width:  # cut into pieces, one pass over the word
            if line:
                lines.append(line)
            line, used = "", 0
            for char in word:
                w = _width(char)
                if used + w > width and line:
                    lines.append(line)
                    line, used = "", 0
                line, used = line + char, used + w
            continue
        if line and used + 1 + size <= width:
            line, used = f"{line} {word}", used + 1 + size
        else:
            if line:
                lines.append(line)
            line, used = word, size
    return [*lines, line] if line or not lines else lines


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _plain_cell(cell: str) -> str:
    """A cell's Markdown as the words it shows (no markup fits in a monospace block)."""
    return " ".join(
        _render(
            _CONTROL.sub(" ", cell),
            escape=lambda s: s,
            bold=lambda s: s,
            italic=lambda s: s,
            code=lambda s: s,
            link=lambda label, url: f"{label} ({url})",
        ).split()
    )


def _columns(rows: list[list[str]], width: int) -> list[int] | None:
    """Column widths that fit `width` with the gaps, or None if none can."""
    natural = [max(max(_width(r[j]) for r in rows), 1) for j in range(len(rows[0]))]
    room = width - len(_GAP) * (len(natural) - 1)
    floor = [
        min(n, max((_width(w) for r in rows for w in r[j].split()), default=1))
        for j, n in enumerate(natural)
    ]
    if sum(floor) > room:
        return None
    if sum(natural) <= room:
        return natural
    low, high = 1, max(natural)  # the largest cap on every column that fits
    while low < high:
        cap = (low + high + 1) // 2
        if sum(max(f, min(n, cap)) for f, n in zip(floor, natural, strict=True)) <= room:
            low = cap
        else:
            high = cap - 1
    widths = [max(f, min(n, low)) for f, n in zip(floor, natural, strict=True)]
    # a wrapped column may use less than its cap: give what is left to the widest
    widths = [
        max(_width(line) for r in rows for line in _wrap(r[j], w)) for j, w in enumerate(widths)
    ]
    wrapped = [j for j, n in enumerate(natural) if n > widths[j]]
    if wrapped:
        widest = max(wrapped, key=lambda j: natural[j] - widths[j])
        widths[widest] += room - sum(widths)
    return widths


def _table(
    rows: list[list[str]],
    escape: Callable[[str], str],
    block: Callable[[str], str],
    width: int,
) -> str:
    """A table as aligned columns in a monospace `block`, or as a list if it cannot
    fit `width` (see above); every cell's words escaped for the platform."""
    rows = [[_plain_cell(c) for c in row] for row in rows]
    columns = len(rows[0])
    widths = None
    if (columns - 1) * (len(_GAP) + 1) < width:  # else not even one character a column
        rows = [row + [""] * (columns - len(row)) for row in rows]
        widths = _columns(rows, width)
    if widths is None:
        header, *body = rows
        names = header[1:]
        items = []
        for row in body or [header]:
            rest = "; ".join(
                f"{h}: {c}" if h else c for h, c in zip(names, row[1:], strict=False) if c
            )
            items.append(f"• {row[0]} — {rest}" if rest else f"• {row[0]}")
        return escape("\n".join(items))
    lines = []
    for n, row in enumerate(rows):
        cells = [_wrap(c, w) for c, w in zip(row, widths, strict=True)]
        for k in range(max(len(c) for c in cells)):
            parts = [
                _pad(c[k] if k < len(c) else "", w) for c, w in zip(cells, widths, strict=True)
            ]
            lines.append(_GAP.join(parts).rstrip())
        if n == 0:
            lines.append(_GAP.join("─" * w for w in widths))
    return block(escape("\n".join(lines)))


def to_telegram_html(md: str) -> str:
    """Telegram's HTML parse mode: only <b>, <i>, <code>, <pre>, <a>; everything else
    escaped. A table becomes a <pre> block in columns (see `_table`)."""
    return _render(
        md,
        escape=lambda s: html.escape(s, quote=False),
        block=lambda s: f"<pre>{s}</pre>",
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
    in the Markdown) can neither ping, link nor format. A table becomes a ``` block
    in columns (see `_table`); no ``` inside it can end the block early."""
    return _render(
        md,
        escape=slack_escape,
        literal=_slack_literal,
        block=lambda s: "```\n" + s.replace("`", f"`{_UNPAIRED}") + "\n```",
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
        width=TERMINAL_WIDTH,
    )


def _table_spans(text: str) -> list[tuple[int, int, int]]:
    """Where the tables are in `text`: (start, end of the header and delimiter
    rows, end), in characters, in one pass over the lines."""
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    spans = []
    i = 0
    while i < len(lines):
        found = _table_at(lines, i) if "|" in lines[i] else None
        if found is None:
            i += 1
            continue
        spans.append((starts[i], starts[i + 2], starts[i + found[0]] - 1))
        i += found[0]
    return spans


def split(md: str, limit: int) -> list[str]:
    """Cut Markdown into pieces of at most `limit` characters: at paragraph breaks,
    else line breaks, else spaces, and only mid-word when nothing else fits.

    A table is never cut: it goes whole into the next piece when it fits in one;
    a longer one is cut between its rows, and each piece after the first starts
    with its header again, so every piece shows a whole table."""
    if limit < 16:
        raise ValueError("limit too small")
    pieces: list[str] = []
    text = md.strip()
    spans = _table_spans(text) if "|" in text else []
    pos, header = 0, ""  # header: a table's first two rows, when a piece starts in it
    while len(header) + len(text) - pos > limit:
        room = limit - len(header)
        window = text[pos : pos + room + 1]
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > room // 3:
                break
        else:
            cut = room
        cut, header_next = _around_tables(text, spans, pos, cut, limit)
        # never split an escape from the character it escapes: count the backslashes
        # before the cut; an odd number means the last one escapes what follows
        run = 0
        while run < cut and text[pos + cut - 1 - run] == "\\":
            run += 1
        if run % 2 == 1:
            cut -= 1
        pieces.append((header + text[pos : pos + cut]).rstrip())
        pos += cut
        while pos < len(text) and text[pos].isspace():
            pos += 1
        header = text[header_next[0] : header_next[1]] if header_next else ""
    if pos < len(text):
        pieces.append(header + text[pos:])
    return pieces or [""]


def _around_tables(
    text: str, spans: list[tuple[int, int, int]], pos: int, cut: int, limit: int
) -> tuple[int, tuple[int, int] | None]:
    """The cut `split` chose, moved out of a table: to before it if it fits in the
    next piece (or cannot be cut between rows), else to the last break between its
    rows, with its header rows for the next piece to repeat."""
    at = pos + cut
    found = bisect.bisect_left(spans, (at,)) - 1  # the last table starting before the cut
    for start, head, end in spans[max(found, 0) : found + 1]:
        if not start < at < end:
            continue
        row = text.rfind("\n", max(pos, head), at + 1)  # ends a body row
        if start > pos and (end - start <= limit or row <= pos):
            return start - pos, None
        if row > pos:
            repeat = (start, head) if 2 * (head - start) <= limit else None
            return row - pos, repeat
        break  # one row longer than a piece: cut in it (nothing is lost)
    return cut, None
