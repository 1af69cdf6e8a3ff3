"""Rendering the core's Markdown for each platform; escaping always holds."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.console.chat import render
from adapters.markdown import split, to_plain, to_slack_mrkdwn, to_telegram_html
from adapters.slack.send import blocks_for
from bot.text import md_escape
from tests.fakes.telegram import FakeTelegram
from tests.test_telegram import ANN, TOKEN, running, said, telegram_config, text_of

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


# -- tables (issue 15, #6) -----------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
PRICING = ROOT / "knowledge" / "pricing-plans.md"
PHONE_WIDTH = 40  # monospace characters a phone shows on a line, about
ROWS = [("Free", "$0", "$0"), ("Team", "$8", "$10"), ("Business", "$16", "$19")]


def pricing_body() -> str:
    return PRICING.read_text(encoding="utf-8").split("+++", 2)[2]


def block(rendered: str, start: str, end: str) -> list[str]:
    """The lines of the one monospace block in `rendered`."""
    return rendered.split(start, 1)[1].split(end, 1)[0].strip("\n").split("\n")


def assert_aligned(lines: list[str]) -> None:
    """Each plan's figures on its own line, every column starting where its
    header does, and narrow enough for a phone."""
    assert all(len(line) <= PHONE_WIDTH for line in lines), lines
    header = lines[0]
    yearly, monthly = header.index("Billed yearly"), header.rindex("Billed")
    for plan, year, month in ROWS:
        [row] = [line for line in lines if line.startswith(plan + " ")]
        assert row[yearly:].startswith(year + " ") and row[monthly:] == month, lines
    assert "| ---" not in "\n".join(lines) and "|" not in "\n".join(lines)


def test_the_pricing_table_reaches_telegram_in_aligned_columns() -> None:
    rendered = to_telegram_html(pricing_body())
    assert rendered.count("<pre>") == 1
    assert "| --- |" not in rendered and "| **Free**" not in rendered
    lines = block(rendered, "<pre>", "</pre>")
    assert_aligned([html.unescape(line) for line in lines])
    assert "custom quote" in rendered and "$192 per" in rendered  # no word lost
    assert "<b>per user (seat) per month</b>" in rendered  # the rest rendered as before
    assert "• Free is for up to 5 users." in rendered


def test_the_pricing_table_reaches_slack_in_aligned_columns() -> None:
    rendered = to_slack_mrkdwn(pricing_body())
    assert "| --- |" not in rendered and rendered.count("```") == 2
    assert_aligned(block(rendered, "```\n", "\n```"))
    [sent] = blocks_for(pricing_body(), ())
    assert "```\nPlan " in sent[0]["text"]["text"] and "| ---" not in str(sent)


def test_the_terminal_shows_the_table_aligned_and_wider() -> None:
    rendered = to_plain(pricing_body())
    lines = [line for line in rendered.split("\n") if line.startswith(("Plan ", "Free ", "Team "))]
    assert lines[0].index("Billed yearly") == lines[1].index("$0") == lines[2].index("$8")
    assert "$8 ($96 per user per year)" in lines[2]  # a terminal is wide enough: not wrapped
    assert "| ---" not in render(pricing_body())


def test_a_table_is_escaped_for_each_platform_and_cannot_end_its_block() -> None:
    md = (
        "| a | b |\n|:--|--:|\n| <b>x</b> & <!channel> | ```y``` |\n"
        "| [l](https://e.example) | `z` |"
    )
    telegram = to_telegram_html(md)
    assert "<b>x" not in telegram and "&lt;b&gt;x&lt;/b&gt; &amp; &lt;!channel&gt;" in telegram
    assert telegram.count("<pre>") == telegram.count("</pre>") == 1
    slack = to_slack_mrkdwn(md)
    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack
    assert slack.count("```") == 2  # the cell's ``` broken up, the block closed once
    assert "l (https://e.example)" in to_plain(md)


def test_what_is_not_a_table_is_left_alone() -> None:
    for md in (
        "a | b\nno rule under it",
        "a | b\n--- | ---x",
        "| a | b |\n| --- |",  # the rule has another number of cells
        "a\n---\nb",  # a heading's underline, no pipes
    ):
        assert "<pre>" not in to_telegram_html(md), md
        assert html.unescape(to_telegram_html(md)) == md, md
    said = "| a | b |\n| --- | --- |\n| 1 | 2 |"  # a customer's words stay theirs
    assert html.unescape(to_telegram_html(md_escape(said))) == said


def test_a_table_ends_at_a_blank_line_or_a_line_without_pipes_and_rows_keep_every_cell() -> None:
    md = "| a | b |\n|---|---|\n| 1 | 2 | 3 |\n| 4 |\nafter\n\n| x |"
    rendered = to_plain(md)
    assert rendered.endswith("\nafter\n\n| x |")
    assert "2 | 3" in rendered and "4" in rendered


def test_a_table_too_wide_for_columns_becomes_a_list() -> None:
    md = (
        "| Plan | Yearly | Monthly | Seats | Storage |\n|-|-|-|-|-|\n"
        "| Team | $8 | $10 | 50 | unlimitedstorage |"
    )
    rendered = to_telegram_html(md)
    assert "<pre>" not in rendered
    assert rendered == "• Team — Yearly: $8; Monthly: $10; Seats: 50; Storage: unlimitedstorage"


def test_split_never_cuts_a_table_and_repeats_its_header_when_it_must() -> None:
    body = "Intro. " * 20 + "\n\n" + pricing_body()
    for limit in range(130, 700, 7):  # the header rows and a row fit
        pieces = split(body, limit)
        assert all(len(p) <= limit for p in pieces)
        for piece in pieces:
            rows = [line for line in piece.split("\n") if line.startswith("|")]
            if rows:  # a piece with rows starts the table with its header
                assert rows[0] == "| Plan | Billed yearly | Billed monthly |", (limit, piece)
                assert "| --- |" not in to_telegram_html(piece), (limit, piece)
        shown = "\n".join(pieces)
        assert all(f"**{plan}**" in shown for plan, _, _ in ROWS)
    big = "| n | square |\n| --- | --- |\n" + "".join(f"| {i} | {i * i} |\n" for i in range(400))
    pieces = split(big, 500)
    assert len(pieces) > 5 and all(len(p) <= 500 for p in pieces)
    assert all(p.startswith("| n | square |\n| --- | --- |\n| ") for p in pieces)
    assert sum(p.count("\n") - 1 for p in pieces) == 400  # every row, once
    assert all("<pre>n" in to_telegram_html(p) for p in pieces)


@pytest.fixture
def shipped_pricing(tmp_path: Path) -> Path:
    """A knowledge folder holding the shipped pricing article only."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    shutil.copy(PRICING, folder / PRICING.name)
    return folder


async def test_a_customer_asking_the_price_on_telegram_gets_the_table_in_columns(
    tmp_path: Path, shipped_pricing: Path
) -> None:
    async with FakeTelegram(TOKEN) as fake:
        config = telegram_config(tmp_path, shipped_pricing, fake)
        async with running(config):
            fake.push_message(ANN, "how much does it cost?")
            [answer] = await said(fake, ANN, 1)
    text = text_of(answer)
    assert answer.params["parse_mode"] == "HTML"
    assert "| --- |" not in text and "Plans and prices" in text
    assert_aligned([html.unescape(line) for line in block(text, "<pre>", "</pre>")])
