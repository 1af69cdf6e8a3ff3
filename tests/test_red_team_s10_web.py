"""Red team, session 10: the reports, their CSV, the dashboard's new pages and the web
hardening, attacked through the real engine, store and web server."""

from __future__ import annotations

import asyncio
import csv
import errno
import io
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.web.server import WebServer
from bot.app import Candor
from bot.cli import main
from bot.knowledge.base import Decision
from bot.model import CaseState, Event, EventKind, Identity
from bot.report import report_command, report_from
from bot.web.settings import WebSettings
from bot.web.signin import csrf_token
from tests.conftest import Agent, Clock, Customer, RecordingSender, case_of, handed_over
from tests.test_cli_kb_report import _cases
from tests.test_link import button, code_in, last_to
from tests.test_web_signin import PrivateDesk, link_for, server, sign_in, with_session

Factory = Callable[[str], Customer]


@pytest.fixture
def desk(app: Candor) -> PrivateDesk:
    recorded = PrivateDesk()
    app.outbox.register(recorded)
    return recorded


@pytest.fixture
async def client(app: Candor, clock: Clock) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(server(app, clock).app())) as test_client:
        yield test_client


async def _csv(app: Candor, clock: Clock, tmp_path: Path) -> list[dict[str, str]]:
    out = io.StringIO()
    assert await report_command(app.config.storage.path, None, False, out, clock(), None, "-") == 0
    return list(csv.DictReader(io.StringIO(out.getvalue())))


async def test_finding_1_a_case_merged_by_link_is_not_the_bot_alone(
    customer_factory: Factory, app: Candor, sender: RecordingSender, clock: Clock
) -> None:
    """Ann asks a person for help on one chat, then on another chat writes again
    and joins the two with /link: the second chat's open case is merged into the
    first (its events move there) and closed. Nothing was solved by the bot on it:
    it must not raise "handled by the bot alone"."""
    ann, other = customer_factory("ann"), customer_factory("ann-elsewhere")
    other.identity = Identity("test", "w2", "ann-elsewhere")
    await ann.send("my invoice is billed twice")
    await handed_over(ann)
    clock.advance(minutes=5)
    await other.send("hello, it's about the invoice again")
    [given] = await ann.send("/link")
    await other.send(f"/link {code_in(given)}")
    await other.press(button(last_to(sender, other), "Yes"))
    await ann.press(button(last_to(sender, ann), "Yes"))
    a = await app.store.customer_by_identity(ann.identity)
    b = await app.store.customer_by_identity(other.identity)
    assert a is not None and b is not None and a.id == b.id  # joined
    report = await report_from(app.store, None, clock())
    assert report["cases_opened"] == 2
    assert report["bot_alone"] == 0, report
    rows = await _csv(app, clock, Path())
    assert [r["bot_alone"] for r in rows] == ["0", "0"]


async def test_a_customer_who_forgot_leaves_anonymous_rows_and_no_bot_success(
    customer_factory: Factory, app: Candor, clock: Clock
) -> None:
    """Checked fine (plus finding 1's rule): /forget keeps counts only. Their CSV row
    says nothing of them (no reason in their words, no channel), and the open case
    the erasure closed is no success of the bot's."""
    zed = customer_factory("zed")
    await zed.send('=HYPERLINK("http://evil.example","my card 4111")')
    await handed_over(zed, "/human my card 4111 was charged")
    clock.advance(minutes=1)
    await Agent(app, "maria").press(f"desk:claim:{(await case_of(app, zed)).id}")
    yan = customer_factory("yan")
    await yan.send("is there a free trial")
    for who in (zed, yan):
        await who.send("/forget")
        await who.press("forget:yes")
    rows = await _csv(app, clock, Path())
    assert len(rows) == 2
    whole = repr(rows)
    for personal in ("4111", "HYPERLINK", "zed", "Zed", "yan", "Yan", "trial"):
        assert personal not in whole, (personal, rows)
    assert [r["bot_alone"] for r in rows] == ["0", "0"]
    assert [r["first_agent"] for r in rows] == ["Maria", ""]  # anonymous counts stay
    report = await report_from(app.store, None, clock())
    assert (report["cases_opened"], report["bot_alone"]) == (2, 0)


class _FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("shape", [["--csv"], ["--json"], []])
def test_finding_2_a_full_disk_on_stdout_is_a_clear_line_not_a_traceback(
    shape: list[str],
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`candor report --csv > /dev/full` (a full disk, a closed pipe) printed a
    traceback; `--csv /dev/full` already said why in a line."""
    from bot import config as config_module

    asyncio.run(_cases(config_module.load(config_path).storage.path))
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    assert main(["report", "--config", str(config_path), *shape]) == 1
    err = capsys.readouterr().err
    assert "candor: cannot print the report (No space left on device)" in err
    assert "Traceback" not in err
    to_file = ["report", "--config", str(config_path), "--csv", "/dev/full"]
    if Path("/dev/full").exists():
        assert main(to_file) == 2
        assert "--csv /dev/full: cannot write it (No space left on device)" in (
            capsys.readouterr().err
        )


PAGES = (
    "/dashboard",
    "/dashboard/agents",
    "/dashboard/channels",
    "/dashboard/channels?days=90",
    "/dashboard/queue",
    "/dashboard/drafts",
    "/dashboard/csv?table=channels",
    "/dashboard/csv?table=languages",
    "/dashboard/drafts/csv?table=drafts",
    "/dashboard/drafts/csv?table=unanswered",
)


async def test_every_new_page_refuses_a_missing_forged_or_signed_out_session(
    customer_factory: Factory, client: TestClient, desk: PrivateDesk, app: Candor
) -> None:
    """Checked fine: GET and HEAD, no cookie, a forged one, one signed out."""
    await customer_factory("ann").send("<script>alert(1)</script> where is my parcel")
    session = await sign_in(client, await link_for(Agent(app, "maria"), desk))
    out = await client.post(
        "/signout", data={"csrf": csrf_token(session)}, headers=with_session(session)
    )
    assert out.status == 200, await out.text()
    for headers in ({}, with_session("f" * 64), with_session(session), with_session("x\u202e")):
        for path in PAGES:
            for method in ("GET", "HEAD"):
                response = await client.request(method, path, headers=headers)
                body = await response.text()
                assert response.status == 401, (method, path, response.status)
                assert "parcel" not in body and response.content_type == "text/html"
                assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
async def drafts_client(
    app: Candor, clock: Clock, knowledge_dir: Path
) -> AsyncIterator[TestClient]:
    web = WebServer(
        app.store, WebSettings(), "Northwind Cloud", ["Maria"], clock=clock, knowledge=knowledge_dir
    )
    async with TestClient(TestServer(web.app())) as test_client:
        yield test_client


HOSTILE_DRAFT = """+++
id = "hostile"
title = "<img src=x onerror=alert(1)>"
questions = ["=HYPERLINK(\\"http://evil.example\\") </td></tr><script>alert(2)</script>"]
+++
<b>answer</b>
"""


async def test_finding_3_the_drafts_csv_opens_in_a_spreadsheet_as_the_dashboards_does(
    drafts_client: TestClient,
    app: Candor,
    desk: PrivateDesk,
    knowledge_dir: Path,
) -> None:
    """A draft whose front matter holds markup and a formula: the page shows it as
    text, and its CSV neutralises the formula; the dashboard's CSVs carry a BOM so
    that Excel reads UTF-8 (the web brief, point 6), the drafts page's did not: a
    draft's "Kündigung" or "¿cómo?" came out as mojibake."""
    folder = knowledge_dir / "drafts"
    folder.mkdir(exist_ok=True)
    (folder / "hostile.md").write_text(HOSTILE_DRAFT, encoding="utf-8")
    (folder / "<b>broken<b>.md").write_text("+++\nid = 3\n", encoding="utf-8")
    cookie = with_session(await sign_in(drafts_client, await link_for(Agent(app, "maria"), desk)))
    page = await drafts_client.get("/dashboard/drafts", headers=cookie)
    body = await page.text()
    assert page.status == 200, body
    assert "<script>" not in body and "<img" not in body and "<b>" not in body
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;alert(2)" in body
    assert "&lt;b&gt;broken&lt;b&gt;.md" in body  # the unreadable file, named as text
    response = await drafts_client.get("/dashboard/drafts/csv?table=drafts", headers=cookie)
    raw = await response.read()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[1][:2] == [
        "hostile",
        '\'=HYPERLINK("http://evil.example") </td></tr><script>alert(2)</script>',
    ]
    assert raw.startswith("\ufeff".encode()), raw[:20]
    assert response.charset == "utf-8"


async def test_a_case_handed_over_twice_and_reopened_counts_once_with_its_first_wait(
    customer_factory: Factory, app: Candor, clock: Clock, desk: PrivateDesk
) -> None:
    """Checked fine: the report and the CSV agree on a case that went to the queue,
    was claimed after 4 minutes, given back to the bot, handed over again and
    claimed by another agent, resolved, and reopened by the customer (same topic)."""
    maria, sam = Agent(app, "maria"), Agent(app, "sam")
    bob = customer_factory("bob")
    await bob.send("my invoice is billed twice")
    await handed_over(bob)
    case = (await case_of(app, bob)).id
    clock.advance(minutes=4)
    await maria.press(f"desk:claim:{case}")
    await maria.say("Looking into it", case=case)
    clock.advance(minutes=1)
    await maria.say(f"/bot {case}")
    clock.advance(minutes=30)
    await handed_over(bob)
    clock.advance(minutes=5)
    await sam.press(f"desk:claim:{case}")
    await sam.press(f"desk:resolve:{case}")
    clock.advance(minutes=10)
    await bob.send("the invoice is still billed twice")
    assert (await case_of(app, bob)).id == case  # reopened, not a new case
    report = await report_from(app.store, None, clock())
    assert (report["cases_opened"], report["cases_handed_over"], report["bot_alone"]) == (1, 1, 0)
    assert report["median_wait_to_claim_minutes"] == 4.0  # from the first handover
    assert report["median_first_reply_minutes"] == 4.0
    assert report["handovers_by_reason"] == [
        {"reason": "the customer asked for a person", "count": 2}
    ]
    [row] = await _csv(app, clock, Path())
    assert (row["wait_to_claim_s"], row["first_reply_s"]) == ("240", "240")
    assert (row["first_agent"], row["handovers"], row["resolved_at"]) == ("Maria", "2", "")
    assert [r["agent"] for r in report["by_agent"]] == ["Maria"]


async def test_finding_4_a_public_url_with_a_path_is_refused_not_half_served(
    app: Candor, clock: Clock, desk: PrivateDesk, tmp_path: Path
) -> None:
    """`public_url = "https://example.com/support"` (a proxy that serves Candor
    under a path) was taken, and doctor said ✓: the sign-in link pointed at
    /support/signin/..., but the link's page posts to /signin, the menu links to
    /dashboard and the Origin check passes: half the pages are outside the path the
    proxy forwards. Now the config says so when it loads."""
    from pydantic import ValidationError

    web = server(app, clock, public_url="https://example.com/")
    assert web.settings.base_url() == "https://example.com"  # a bare "/" is fine
    with pytest.raises(ValidationError, match="without a path"):
        WebSettings(public_url="https://example.com/support")
    with pytest.raises(ValidationError, match="without a path"):
        WebSettings(public_url="https://example.com/support/")


@pytest.mark.parametrize(
    "args",
    [
        ["--until", "0001-01-01"],
        ["--since", "0001-01-01T00:00:00+14:00"],
        ["--since", "9999-12-31T23:59:59-14:00", "--csv"],
        ["--until", "9999-12-31T23:59:59-14:00", "--json"],
    ],
)
def test_finding_5_a_date_at_the_calendars_end_is_a_usage_error_not_a_traceback(
    args: list[str], config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`candor report --until 0001-01-01` (the period ends the instant before) or a
    time zone past year 9999 raised OverflowError with a traceback."""
    from bot import config as config_module

    asyncio.run(_cases(config_module.load(config_path).storage.path))
    assert main(["report", "--config", str(config_path), *args]) == 2
    err = capsys.readouterr().err
    assert "expected a date from 1970 to 9998" in err and "Traceback" not in err


async def test_the_channels_page_and_its_csv_answer_a_garbage_period_clearly(
    client: TestClient, desk: PrivateDesk, app: Candor, customer_factory: Factory
) -> None:
    """Checked fine: a period or table that is garbage, huge, markup or repeated."""
    await customer_factory("ann").send("is there a free trial")
    cookie = with_session(await sign_in(client, await link_for(Agent(app, "maria"), desk)))
    for days in ("9" * 4000, "<script>", "30%00", "7.0", "+7", " 7", "%EF%BC%97"):
        for path in ("/dashboard/channels", "/dashboard/csv"):
            response = await client.get(f"{path}?days={days}&table=channels", headers=cookie)
            body = await response.text()
            assert response.status == 400, (path, days, response.status)
            assert "Choose a period of 7, 30 or 90 days." in body and "<script>" not in body
    for table in ("../summary", "channels\r\nX-Evil: 1", "<b>"):
        response = await client.get("/dashboard/csv", params={"table": table}, headers=cookie)
        assert response.status == 400 and "X-Evil" not in response.headers
    twice = await client.get("/dashboard/channels?days=7&days=90", headers=cookie)
    assert twice.status == 200 and '<option value="7" selected>' in await twice.text()
    page = await client.get("/dashboard/channels?days=7", headers=cookie)
    body = await page.text()
    assert "<td>test</td><td>1</td>" in body and "<td>en</td><td>1</td>" in body


async def test_a_customer_typing_dashboard_gets_no_link_and_the_desk_hears_nothing(
    customer_factory: Factory, desk: PrivateDesk, app: Candor, sender: RecordingSender
) -> None:
    """Checked fine: /dashboard is the desk's; a customer who types it (or its
    sign-in path) gets no token and nothing of it reaches the desk."""
    mallory = customer_factory("mallory")
    before = len(desk.sent)
    replies = [*await mallory.send("/dashboard"), *await mallory.send("/dashboard maria")]
    assert replies and not [r for r in replies if "/signin/" in r]
    assert not [m for m in desk.sent[before:] if "/signin/" in m.text]


def test_finding_6_the_drafts_page_matches_a_periods_messages_once_not_on_every_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The drafts page counts each draft's askers by deciding every distinct message
    of the period; its docstring promised "a page asked again matches only the
    messages that are new", but the base keeps only 4,096 recent decisions: a
    period with more distinct messages (20,000: 23 s in a thread beside the live
    bot, measured) was matched again on every load. Shown with the base keeping 8
    and 40 messages."""
    from bot.knowledge import base as kb_module
    from bot.knowledge import drafts as drafts_module
    from bot.knowledge.articles import load_articles

    monkeypatch.setattr(kb_module, "DECISIONS_KEPT", 8)
    drafts_module._knowledge.cache_clear()
    live, _ = load_articles(Path(__file__).parent.parent / "knowledge")
    draft = replace(live[0], id="sepa", title="SEPA", questions=("can I pay by sepa direct debit",))
    events = [
        Event(n, n, datetime(2026, 11, 23, tzinfo=UTC), EventKind.CUSTOMER, "customer", text, {})
        for n, text in enumerate(
            [f"can I pay by sepa direct debit from bank {n}" for n in range(20)]
            + [f"where is my parcel number {n}" for n in range(20)]
        )
    ]
    decided: list[str] = []
    original = kb_module.KnowledgeBase.decide

    def counting(self: kb_module.KnowledgeBase, text: str, language: str = "en") -> Decision:
        decided.append(text)
        return original(self, text, language)

    monkeypatch.setattr(kb_module.KnowledgeBase, "decide", counting)
    first = drafts_module.draft_counts(live, [draft], events)
    assert len(decided) == 40
    decided.clear()
    again = drafts_module.draft_counts(live, [draft], events)
    assert again == first
    assert decided == [], f"{len(decided)} messages matched again"
    drafts_module._knowledge.cache_clear()


def test_percentiles_by_hand_with_one_and_two_cases_and_iso_week_53() -> None:
    """Checked fine: one wait of 6 min is every percentile; two of 1 and 10 min give
    a median of 5.5, a p90 of 9.1 and a p99 of 9.91 (linear between ranks); a case
    opened on Monday 28 December 2026 is in 2026-W53 and one on 4 January in 2027-W01."""
    from bot.report import ReportData, figures
    from bot.store.protocols import CaseTimes

    monday = datetime(2026, 12, 28, 9, tzinfo=UTC)

    def history(waits: list[int]) -> ReportData:
        cases, events = [], []
        for n, wait in enumerate(waits, start=1):
            opened = monday + timedelta(days=7 * (n - 1))
            cases.append(CaseTimes(n, CaseState.AGENT, opened, None, "test", "en"))
            events += [
                Event(10 * n, n, opened, EventKind.HANDOVER, "bot", "the customer asked", {}),
                Event(
                    10 * n + 1, n, opened + timedelta(minutes=wait), EventKind.CLAIM, "Ann", "", {}
                ),
            ]
        return ReportData(None, monday + timedelta(days=14), cases, events, 0, ())

    one = figures(history([6]))
    assert [one[f"{p}_wait_to_claim_minutes"] for p in ("median", "p90", "p99")] == [6.0] * 3
    two = figures(history([1, 10]))
    assert [two[f"{p}_wait_to_claim_minutes"] for p in ("median", "p90", "p99")] == [
        5.5,
        9.1,
        9.91,
    ]
    assert [(w["week"], w["cases_opened"]) for w in two["weekly_trend"]] == [
        ("2026-W53", 1),
        ("2027-W01", 1),
        ("2027-W02", 0),
    ]


async def test_finding_7_unanswered_questions_keep_no_card_number_or_address(
    customer_factory: Factory, client: TestClient, desk: PrivateDesk, app: Candor, clock: Clock
) -> None:
    """A question the bot could not answer is listed in the report, on the dashboard
    and in its CSV download (meant to be passed around as material for articles) in
    the customer's own words: their card number and e-mail address with it. A
    draft's question gets placeholders for those (`impersonal`); the list now too,
    and the same question with two order numbers counts as one."""
    words = "zqx card 4111 1111 1111 1111 declined, write to ann@example.com"
    [unknown] = await customer_factory("ann").send(words)
    assert "I don't know that" in unknown
    [unknown] = await customer_factory("bob").send(words.replace("4111", "5500"))
    report = await report_from(app.store, None, clock())
    assert report["top_unanswered"] == [
        {"question": "zqx card [number] declined, write to [e-mail]", "count": 2}
    ]
    cookie = with_session(await sign_in(client, await link_for(Agent(app, "maria"), desk)))
    for path in ("/dashboard?days=7", "/dashboard/csv?days=7&table=unanswered"):
        body = await (await client.get(path, headers=cookie)).text()
        assert "zqx card [number]" in body
        assert "4111" not in body and "1111" not in body and "ann@example.com" not in body
