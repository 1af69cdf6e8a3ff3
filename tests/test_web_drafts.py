"""The dashboard's "Unanswered questions and knowledge drafts" page: the period's
unanswered questions and the agents' drafts with how often their question was asked,
escaped, as CSV too, and only with a session."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.web.server import WebServer
from bot.app import Candor
from bot.web.settings import WebSettings
from tests.conftest import Agent, Clock, Customer, case_of, handed_over
from tests.test_web_signin import PrivateDesk, link_for, sign_in, with_session

Factory = Callable[[str], Customer]
QUESTION = "<script>alert(1)</script> can I pay by SEPA direct debit"


@pytest.fixture
def desk(app: Candor) -> PrivateDesk:
    recorded = PrivateDesk()
    app.outbox.register(recorded)
    return recorded


@pytest.fixture
async def client(app: Candor, clock: Clock, knowledge_dir: Path) -> AsyncIterator[TestClient]:
    web = WebServer(
        app.store, WebSettings(), "Northwind Cloud", ["Maria"], clock=clock, knowledge=knowledge_dir
    )
    async with TestClient(TestServer(web.app())) as test_client:
        yield test_client


async def test_the_page_lists_unanswered_questions_and_drafts_escaped_and_as_csv(
    client: TestClient,
    app: Candor,
    desk: PrivateDesk,
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    clock: Clock,
) -> None:
    refused = await client.get("/dashboard/drafts")
    assert refused.status == 401 and "SEPA" not in await refused.text()
    assert (await client.get("/dashboard/drafts/csv?table=drafts")).status == 401
    ann, bob, maria = customer_factory("ann"), customer_factory("bob"), agent_factory("maria")
    await ann.send(QUESTION)
    await handed_over(ann)
    case = (await case_of(app, ann)).id
    await maria.say("We take SEPA direct debit on yearly plans.", case)
    await maria.say(f"/article {case}")
    assert "Draft article **script-alert-1-script-can-i-pay-by-sepa-direct**" in desk.sent[-1].text
    clock.advance(minutes=5)
    await bob.send(QUESTION)
    cookie = with_session(await sign_in(client, await link_for(maria, desk)))

    page = await client.get("/dashboard/drafts?days=7", headers=cookie)
    assert page.status == 200
    body = await page.text()
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "Unanswered questions and knowledge drafts" in body
    assert 'href="/dashboard/drafts/csv?days=7&amp;table=drafts"' in body
    row = body.split('id="table-drafts"')[1]
    assert "script-alert-1-script-can-i-pay-by-sepa-direct" in row
    assert "<td>2</td><td>2</td>" in row  # asked twice, unanswered both times

    response = await client.get("/dashboard/drafts/csv?days=7&table=drafts", headers=cookie)
    assert response.status == 200 and response.content_type == "text/csv"
    assert 'filename="candor-drafts-7d.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert rows == [
        ["Draft", "Question", "Asked", "Unanswered", "File"],
        [
            "script-alert-1-script-can-i-pay-by-sepa-direct",
            QUESTION,
            "2",
            "2",
            "script-alert-1-script-can-i-pay-by-sepa-direct.md",
        ],
    ]
    unanswered = await client.get("/dashboard/drafts/csv?days=7&table=unanswered", headers=cookie)
    assert list(csv.reader(io.StringIO(await unanswered.text())))[1] == [QUESTION.lower(), "2"]
    bad = await client.get("/dashboard/drafts/csv?table=../../etc/passwd", headers=cookie)
    assert bad.status == 400 and "no such table" in await bad.text()
    period = await client.get("/dashboard/drafts?days=<b>", headers=cookie)
    assert period.status == 400 and "<b>" not in await period.text()


async def test_with_no_drafts_the_page_says_how_to_make_one(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    cookie = with_session(await sign_in(client, await link_for(agent_factory("maria"), desk)))
    body = await (await client.get("/dashboard/drafts", headers=cookie)).text()
    assert "No drafts yet: /article on the desk turns a reply into one." in body
    assert "None in this period." in body
