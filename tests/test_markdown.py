"""Rendering the core's Markdown for each platform; escaping always holds."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from adapters.markdown import split, to_plain, to_slack_mrkdwn, to_telegram_html
from bot.text import md_escape

SAMPLE = (
    "# Plans\n**Team** is $8 & up, see [pricing](https://northwind.example/pricing).\n"
    "- _yearly_ saves 20%\n- `code`"
)


def test_telegram_html() -> None:
    assert to_telegram_html(SAMPLE) == (
        "<b>Plans</b>\n<b>Team</b> is $8 &amp; up, see "
        '<a href="https://northwind.example/pricing">pricing</a>.\n'
        "• <i>yearly</i> saves 20%\n• <code>code</code>"
    )


def test_slack_mrkdwn() -> None:
    assert to_slack_mrkdwn(SAMPLE) == (
        "*Plans*\n*Team* is $8 &amp; up, see <https://northwind.example/pricing|pricing>.\n"
        "• _yearly_ saves 20%\n• `code`"
    )


def test_plain() -> None:
    assert to_plain("**Case #3**: you wrote “a\\_b \\*x\\*”") == "Case #3: you wrote “a_b *x*”"


def test_what_a_customer_wrote_stays_text_everywhere() -> None:
    said = "<b>hi</b> **not bold** <!channel> <@U1> [x](https://evil.example) & _y_"
    quoted = f"**Ann:** {md_escape(said)}"
    assert to_telegram_html(quoted) == (
        "<b>Ann:</b> &lt;b&gt;hi&lt;/b&gt; **not bold** &lt;!channel&gt; &lt;@U1&gt; "
        "[x](https://evil.example) &amp; _y_"
    )
    z = "\u200b"  # Slack has no escape: a zero-width space keeps each * or _ from pairing
    assert to_slack_mrkdwn(quoted) == (
        f"*Ann:* &lt;b&gt;hi&lt;/b&gt; {z}*{z}{z}*{z}not bold{z}*{z}{z}*{z} &lt;!channel&gt;"
        f" &lt;@U1&gt; [x](https://evil.example) &amp; {z}_{z}y{z}_{z}"
    )


def test_only_web_and_mail_links_become_links() -> None:
    assert "<a" not in to_telegram_html("[x](javascript:alert(1))")
    assert to_telegram_html('[x](https://a.example/?q="1")') == (
        '<a href="https://a.example/?q=&quot;1&quot;">x</a>'
    )


def test_split_keeps_pieces_under_the_limit_and_loses_nothing() -> None:
    text = "\n\n".join(f"Paragraph {i} " + "word " * 50 for i in range(30))
    pieces = split(text, 1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())
    assert all(p.startswith("Paragraph") for p in pieces)  # cut at paragraph breaks
    assert split("x" * 2500, 1000) == ["x" * 1000, "x" * 1000, "x" * 500]


_TAGS = re.compile(r"</?(b|i|code|a)( href=\"[^\"<>]*\")?>")


@given(st.text())
def test_any_customer_text_renders_without_live_markup(said: str) -> None:
    rendered = to_telegram_html(md_escape(said))
    assert _TAGS.search(rendered) is None
    assert "<" not in rendered.replace("&lt;", "")
    assert html.unescape(rendered) == said.replace("\x00", "")
    slack = to_slack_mrkdwn(md_escape(said))
    assert "<" not in slack and ">" not in slack


@given(st.text(min_size=0, max_size=3000), st.integers(min_value=16, max_value=500))
def test_split_never_exceeds_the_limit(text: str, limit: int) -> None:
    assert all(len(piece) <= limit for piece in split(text, limit))
