"""The dashboard's overview, CSV and queue: the figures of `candor report` (one code
path), by day or week, as tables and SVG charts; every customer's string escaped."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Candor
from bot.model import Address
from bot.report import report_from
from bot.web.overview import overview
from bot.web.svg import PALETTE, bar_chart, nice_top
from tests.conftest import Agent, Clock, Customer, case_of, handed_over
from tests.test_report import converse
from tests.test_web_signin import PrivateDesk, link_for, server, sign_in, with_session

Factory = Callable[[str], Customer]
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def desk(app: Candor) -> PrivateDesk:
    recorded = PrivateDesk()
    app.outbox.register(recorded)
    return recorded


@pytest.fixture
async def client(app: Candor, clock: Clock) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(server(app, clock).app())) as test_client:
        yield test_client


@pytest.fixture
def signed_in(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> Callable[[], Awaitable[tuple[TestClient, dict[str, str]]]]:
    """Sign Maria in (now: a session lasts 12 hours of the test's clock)."""

    async def signing() -> tuple[TestClient, dict[str, str]]:
        session = await sign_in(client, await link_for(agent_factory("maria"), desk))
        return client, with_session(session)

    return signing


SignedIn = Callable[[], Awaitable[tuple[TestClient, dict[str, str]]]]


async def get(client: TestClient, path: str, cookie: dict[str, str], status: int = 200) -> str:
    response = await client.get(path, headers=cookie)
    text = await response.text()
    assert response.status == status, (path, text[:300])
    return text


async def test_the_overview_shows_the_reports_figures(
    customer_factory: Factory,
    app: Candor,
    clock: Clock,
    signed_in: SignedIn,
) -> None:
    await converse(customer_factory, app, clock)
    view = await overview(app.store, "7", clock())
    first = view.parts[0][0]
    assert view.totals == await report_from(app.store, first, clock())  # the same figures
    assert len(view.parts) == 7 and view.step == "day"
    assert sum(f["cases_opened"] for _, f in view.parts) == view.totals["cases_opened"] == 6
    by_day = {start.day: f["cases_opened"] for start, f in view.parts}
    assert (by_day[23], by_day[24]) == (1, 5)
    client, cookie = await signed_in()
    page = await get(client, "/dashboard?days=7", cookie)
    for shown in (
        "<td>Cases opened</td><td>6</td>",
        "<td>Cases resolved</td><td>2</td>",
        "<td>Handled by the bot alone</td><td>0%</td>",  # the bot's cases are open
        "<td>First human reply, median (min)</td><td>7.0</td>",
        "<td>Wait to claim, 90th percentile (min)</td><td>8.6</td>",
        "<td>Average rating (1-5)</td><td>3.5</td>",
        "<td>what is the capital of peru?</td><td>2</td>",
        "<td>the customer asked for a person</td><td>2</td>",
        "<td>2026-11-24</td><td>5</td><td>2</td><td>0%</td><td>7.0</td><td>7.0</td><td>3.5</td>",
    ):
        assert shown in page, shown
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2
    assert '<title id="cases-title">Cases opened and resolved by day</title>' in page
    assert '<desc id="waits-desc">' in page and 'role="img"' in page
    assert "<script" not in page


async def test_the_period_changes_and_a_wrong_one_is_a_clear_answer(
    signed_in: SignedIn,
) -> None:
    client, cookie = await signed_in()
    default = await get(client, "/dashboard", cookie)
    assert default.count("<tr><td>2026-") == 30 and '<option value="30" selected>' in default
    weeks = await get(client, "/dashboard?days=90", cookie)
    assert weeks.count("<tr><td>2026-") == 13 and "Cases opened and resolved by week" in weeks
    for wrong in ("5", "", "-1", HOSTILE, "9" * 5000, "٣٠"):
        refused = await get(client, f"/dashboard?days={wrong}", cookie, 400)
        assert "Choose a period of 7, 30 or 90 days." in refused and "<script" not in refused


async def test_each_table_downloads_as_csv_safe_for_a_spreadsheet(
    customer_factory: Factory,
    app: Candor,
    clock: Clock,
    signed_in: SignedIn,
) -> None:
    await converse(customer_factory, app, clock)
    [unknown] = await customer_factory("gus").send('=HYPERLINK("http://evil.example","zqx")')
    assert "I don't know that" in unknown
    client, cookie = await signed_in()
    response = await client.get("/dashboard/csv?days=7&table=summary", headers=cookie)
    assert response.status == 200 and response.content_type == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="candor-summary-7d.csv"'
    )
    assert response.charset == "utf-8"
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads it as UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["Figure", "Value"]
    assert ["Cases opened", "7"] in rows and ["Wait to claim, median (min)", "7.0"] in rows
    unanswered = list(
        csv.reader(io.StringIO(await get(client, "/dashboard/csv?days=7&table=unanswered", cookie)))
    )
    assert ["what is the capital of peru?", "2"] in unanswered
    # text, not a formula (its link a placeholder, as in a draft's question)
    assert ["'=hyperlink(\"[link]", "1"] in unanswered
    by_day = await get(client, "/dashboard/csv?days=30&table=by_period", cookie)
    assert len(by_day.strip().splitlines()) == 31
    await get(client, "/dashboard/csv?days=7&table=secrets", cookie, 400)
    client.session.cookie_jar.clear()  # the browser's cookie gone: no table
    assert (await client.get("/dashboard/csv?days=7&table=summary")).status == 401


async def test_the_queue_refreshes_itself_and_a_customer_named_script_is_text(
    customer_factory: Factory, clock: Clock, signed_in: SignedIn
) -> None:
    client, cookie = await signed_in()
    empty = await get(client, "/dashboard/queue", cookie)
    assert "Nobody is waiting." in empty
    assert '<meta http-equiv="refresh" content="30">' in empty
    who = customer_factory(HOSTILE)
    await handed_over(who)
    await who.send(f"help {HOSTILE}")
    clock.advance(minutes=1)
    page = await get(client, "/dashboard/queue", cookie)
    assert "&lt;Script&gt;Alert(1)&lt;/Script&gt;" in page  # the display name, as text
    assert "<script" not in page.lower().replace("&lt;script", "")
    assert "waiting" in page
    overview_page = await get(client, "/dashboard?days=7", cookie)
    assert "<script" not in overview_page.lower()


def test_the_charts_escape_their_labels_and_keep_their_palette() -> None:
    svg = bar_chart("x", HOSTILE, f"about {HOSTILE}", [HOSTILE, "b"], [(HOSTILE, [1, None])], "n")
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert f'fill="{PALETTE[0]}"' in svg and svg.count("<rect") == 2  # a bar and the legend's
    assert '<title id="x-title">' in svg and '<desc id="x-desc">' in svg
    assert [nice_top(v) for v in (0, 0.3, 1, 3, 7, 11, 260)] == [1, 0.4, 1, 4, 8, 20, 400]


async def test_the_overview_is_refused_without_a_session(app: Candor, clock: Clock) -> None:
    async with TestClient(TestServer(server(app, clock).app())) as client:
        for path in (
            "/dashboard",
            "/dashboard?days=7",
            "/dashboard/queue",
            "/dashboard/csv",
            "/dashboard/channels",
            "/dashboard/csv?days=7&table=channels",
        ):
            assert (await client.get(path)).status == 401, path


async def test_per_agent_the_cases_each_took_with_the_reports_figures(
    customer_factory: Factory, app: Candor, clock: Clock, signed_in: SignedIn
) -> None:
    await converse(customer_factory, app, clock)  # Maria takes bob's and eve's cases
    client, cookie = await signed_in()
    page = await get(client, "/dashboard/agents?days=7", cookie)
    cells = ["Maria", "2", "2", "7.0", "7.0", "8.6", "2", "3.5"]
    assert "".join(f"<td>{c}</td>" for c in cells) in page
    assert '<title id="agents-title">Cases taken and resolved, per agent</title>' in page
    rows = list(
        csv.reader(io.StringIO(await get(client, "/dashboard/csv?days=7&table=agents", cookie)))
    )
    assert rows[1] == ["Maria", "2", "2", "7.0", "7.0", "8.6", "2", "3.5"]
    empty = await get(client, "/dashboard/agents?days=7&x=<b>", cookie)
    assert "<b>" not in empty.replace("<body>", "")


async def test_per_channel_and_language_with_the_reports_figures(
    customer_factory: Factory, app: Candor, clock: Clock, signed_in: SignedIn
) -> None:
    """The conversations, with fay answered on Slack and speaking Portuguese, and
    ann's case (the bot answered it) closed by Maria: the bot alone on "test"."""
    await converse(customer_factory, app, clock)
    fay = await case_of(app, customer_factory("fay"))
    ann = await case_of(app, customer_factory("ann"))
    async with app.store.transaction() as tx:
        await tx.cases.update(replace(fay, reply_to=Address("slack", "D9", "", private=True)))
        await tx.customers.set_language(fay.customer_id, "pt", False)
    await Agent(app, "maria").say(f"/resolve {ann.id}")
    client, cookie = await signed_in()
    page = await get(client, "/dashboard/channels?days=7", cookie)

    def row(*cells: object) -> str:
        return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    # channel, opened, bot alone, handed over, wait, wait p90, reply, ratings, rating
    none = "no data"
    assert row("slack", 1, "0%", 0, none, none, none, 0, none) in page
    assert row("test", 5, "20%", 3, 7.0, 8.6, 7.0, 2, 3.5) in page
    assert row("en", 5, "20%", 3, 7.0, 8.6, 7.0, 2, 3.5) in page
    assert row("pt", 1, "0%", 0, none, none, none, 0, none) in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2
    assert '<title id="channels-title">Cases per channel: opened, by the bot alone,' in page
    assert '<title id="languages-title">Cases per language' in page
    assert '<a href="/dashboard/channels">Per channel and language</a>' in page
    report = await report_from(
        app.store, (await overview(app.store, "7", clock())).parts[0][0], clock()
    )
    for table, key in (("channels", "by_channel"), ("languages", "by_language")):
        got = await get(client, f"/dashboard/csv?days=7&table={table}", cookie)
        rows = list(csv.reader(io.StringIO(got)))
        assert [r[0] for r in rows[1:]] == [r[key[3:]] for r in report[key]]
        assert [int(r[1]) for r in rows[1:]] == [r["cases_opened"] for r in report[key]]
    weeks = await get(client, "/dashboard/channels?days=90", cookie)
    assert row("test", 5, "20%", 3, 7.0, 8.6, 7.0, 2, 3.5) in weeks
    await get(client, "/dashboard/channels?days=" + HOSTILE, cookie, 400)
