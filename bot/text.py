"""Small text helpers the core uses on everything customers send."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from bot.model import Address, Attachment, Identity, Inbound

MAX_STORED = 64_000  # characters of one message kept on a case
MAX_MATCHED = 1_000  # characters of one message the knowledge matcher looks at

# (possessive: a name that runs on, like "/" and 40,000 letters, is refused at once)
_COMMAND = re.compile(r"^/([A-Za-z][A-Za-z0-9_]{0,31}+)(?:@[A-Za-z0-9_]++)?(?:\s+(.*))?$", re.S)
_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>#|~"})
_LIST_START = re.compile(r"(?m)^([ \t]*)([-+])")  # "- x" at a line start is a list item
# "/human" in someone's words stays theirs: the core renders its own commands per
# channel ("!human" on Slack) and leaves escaped ones alone
# where "/name" is a command in text: at the start, after a space, a bracket, a quote
# or a code span's backtick; never a Markdown link's target ("[page](/status)")
COMMAND_AT = r"(?:^|(?<=[\s(\[“\"'«`]))(?<!\]\()/(?=[A-Za-z])"
_SLASH_WORD = re.compile(COMMAND_AT, re.M)


# Unicode's categories Cc (controls), Cs (surrogates) and Co (private use), all fixed
# by the standard, but newline and tab.
_UNWANTED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff"
    "\U000f0000-\U000ffffd\U00100000-\U0010fffd]"
)


def clean(text: str) -> str:
    """Text as the core keeps it: NFC, no control characters but newline and tab,
    no surrounding white space, at most MAX_STORED characters."""
    text = _UNWANTED.sub("", unicodedata.normalize("NFC", text))
    return text.strip()[:MAX_STORED]


def words(text: str) -> str:
    """Someone's words as valid Unicode. A lone surrogate (JSON's "\\ud800" escape makes
    one; no UTF-8 can carry it, so SQLite, JSON and every platform refuse it) is
    dropped: it stands for no character. A pair written as two escapes becomes the
    character it stands for."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    return text


def ident(value: str) -> str:
    """A platform's id as valid Unicode, still unique: a lone surrogate is written out
    as its escape (`\\ud800`), so two ids that differ only there stay two ids."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("ascii", "replace")
    return value


def well_formed(inbound: Inbound) -> Inbound:
    """`inbound` with every string in it valid Unicode (see `words` and `ident`).
    Every adapter passes what it makes through here, and `Engine.receive` again."""
    fields: list[str] = [
        inbound.key,
        inbound.text,
        inbound.payload,
        inbound.display_name,
        inbound.edited_key,
        *_of_identity(inbound.identity),
        *_of_address(inbound.address),
    ]
    for attachment in inbound.attachments:
        fields += (attachment.kind, attachment.ref, attachment.caption, attachment.name)
    if _valid("".join(fields)):  # one pass: any lone surrogate fails the whole
        return inbound
    address = inbound.address
    return replace(
        inbound,
        key=ident(inbound.key),
        identity=Identity(*map(ident, _of_identity(inbound.identity))),
        address=replace(  # whether it is a private place is the adapter's word: kept
            address,
            channel=ident(address.channel),
            chat_id=ident(address.chat_id),
            thread_id=ident(address.thread_id),
        ),
        text=words(inbound.text),
        payload=ident(inbound.payload),
        display_name=words(inbound.display_name),
        edited_key=ident(inbound.edited_key),
        attachments=tuple(
            Attachment(ident(a.kind), ident(a.ref), words(a.caption), words(a.name))
            for a in inbound.attachments
        ),
    )


def _of_identity(identity: Identity) -> tuple[str, str, str]:
    return identity.channel, identity.workspace, identity.user_id


def _of_address(address: Address) -> tuple[str, str, str]:
    return address.channel, address.chat_id, address.thread_id


def _valid(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_command(text: str) -> tuple[str, str] | None:
    """`/name args` → ("name", "args"); None if the text is not a command."""
    match = _COMMAND.match(text)
    if match is None:
        return None
    return match.group(1).lower(), (match.group(2) or "").strip()


# Unicode's explicit bidirectional formatting characters (embeddings, overrides,
# isolates, the left-to-right, right-to-left and Arabic letter marks): in someone's
# words quoted back, one left open turns the rest of the bot's sentence around.
_BIDI = str.maketrans(
    dict.fromkeys((*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C))
)


def unbidi(text: str) -> str:
    """`text` without bidirectional formatting characters (the text's own letters,
    right-to-left ones too, keep their direction)."""
    return text.translate(_BIDI)


def md_escape(text: str) -> str:
    """Quote someone's words inside the core's Markdown so they stay plain text: no
    Markdown of theirs, and no bidirectional control (`unbidi`) that would reverse
    the bot's words around the quote."""
    escaped = unbidi(text).translate(_MD_SPECIAL)
    return _SLASH_WORD.sub(r"\\/", _LIST_START.sub(r"\1\\\2", escaped))


def shorten(text: str, limit: int = 80) -> str:
    """One line of at most `limit` characters, with an ellipsis when cut."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def has_words(text: str) -> bool:
    """True if the text has at least one letter or digit in any script."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


_SMALL_NUMBER = re.compile(r"[0-9]{1,9}")


def small_number(text: str) -> int | None:
    """An ASCII number of at most nine digits, else None (no '²', no 5,000 digits)."""
    text = text.strip()
    return int(text) if _SMALL_NUMBER.fullmatch(text) else None


def plural(count: int, word: str, many: str = "") -> str:
    """ "1 warning", "2 warnings" (`many` when the plural is not `word` + "s"): English
    only, for the desk and the command line; customers' words go through ngettext."""
    return f"{count} {word if count == 1 else many or word + 's'}"
