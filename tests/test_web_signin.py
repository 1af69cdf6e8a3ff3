"""Signing in to the dashboard with a one-time link from `/dashboard` on the desk,
and everything that must refuse: no session, a link expired or used, a non-agent,
a forged cookie, a missing CSRF token, another site's form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from http.cookies import SimpleCookie

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.console.desk import DeskSender
from adapters.web.server import WebServer
from bot.app import Candor
from bot.model import Address, Cause, Delivery, Identity, Inbound, Outbound, Purpose
from bot.outbox import unsolicited
from bot.web.settings import WebSettings
from bot.web.signin import COOKIE, csrf_token
from tests.conftest import Agent, Clock, RecordingDesk

LINK = re.compile(r"https?://\S+/signin/([0-9a-f]{64})")
AGENTS = ["Maria", "Sam"]


class PrivateDesk(RecordingDesk):
    """The terminal desk's channel, recorded, showing a message to one agent alone
    (as the console's does)."""

    shows_to_one = True


@pytest.fixture
def desk(app: Candor) -> PrivateDesk:
    recorded = PrivateDesk()
    app.outbox.register(recorded)
    return recorded


def server(app: Candor, clock: Clock, agents: list[str] = AGENTS, **settings: str) -> WebServer:
    return WebServer(app.store, WebSettings(**settings), "Northwind Cloud", agents, clock=clock)


@pytest.fixture
async def client(app: Candor, clock: Clock) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(server(app, clock).app())) as test_client:
        yield test_client


async def link_for(agent: Agent, desk: PrivateDesk) -> str:
    """The token of the link `/dashboard` gives the agent."""
    before = len(desk.sent)
    await agent.say("/dashboard")
    found = [LINK.search(m.text) for m in desk.sent[before:]]
    tokens = [m.group(1) for m in found if m]
    assert len(tokens) == 1, [m.text for m in desk.sent[before:]]
    return tokens[0]


async def sign_in(client: TestClient, token: str) -> str:
    """Press the sign-in page's button; the session cookie's value."""
    response = await client.post("/signin", data={"token": token}, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/dashboard"
    cookie = SimpleCookie(response.headers["Set-Cookie"])[COOKIE]
    return cookie.value


def with_session(session: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={session}"}


async def test_a_link_signs_the_agent_in_with_a_strict_cookie(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    token = await link_for(agent_factory("maria"), desk)
    [message] = [m for m in desk.sent if token in m.text]
    assert message.delivery.private and message.delivery.only_to == "maria"
    assert "http://127.0.0.1:8080/signin/" in message.text  # [web] base_url by default
    # opening the link (or a preview fetching it) takes nothing: it shows a button
    for _ in range(2):
        form = await client.get(f"/signin/{token}")
        assert form.status == 200 and 'method="post"' in await form.text()
    response = await client.post("/signin", data={"token": token}, allow_redirects=False)
    assert response.status == 303
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Max-Age=43200" in header
    assert "Secure" not in header  # http: a Secure cookie would never come back
    session = SimpleCookie(header)[COOKIE].value
    page = await client.get("/dashboard", headers=with_session(session))
    assert page.status == 200
    text = await page.text()
    assert "Signed in as Maria." in text
    assert f'name="csrf" value="{csrf_token(session)}"' in text
    assert page.headers["Cache-Control"] == "no-store"


async def test_over_https_the_cookie_is_secure(
    app: Candor, clock: Clock, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    web = server(app, clock, public_url="https://support.example.com")
    async with TestClient(TestServer(web.app())) as client:
        response = await client.post(
            "/signin",
            data={"token": await link_for(agent_factory("sam"), desk)},
            allow_redirects=False,
        )
        assert response.status == 303 and "Secure" in response.headers["Set-Cookie"]


async def test_no_page_but_the_public_one_without_a_session(client: TestClient) -> None:
    forged = ["", "0" * 64, "f" * 64, "x" * 5000, "<script>", "../../etc/passwd", "é" * 64]
    for cookie in forged:
        response = await client.get("/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"})
        assert response.status == 401, cookie
        text = await response.text()
        assert "Type /dashboard on the desk" in text and "<script>" not in text
    assert (await client.get("/status")).status == 200


async def test_a_used_or_expired_link_is_refused(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    maria = agent_factory("maria")
    token = await link_for(maria, desk)
    await sign_in(client, token)
    again = await client.post("/signin", data={"token": token}, allow_redirects=False)
    assert again.status == 403 and "was used already" in await again.text()
    late = await link_for(maria, desk)
    clock.advance(minutes=10, seconds=1)
    expired = await client.post("/signin", data={"token": late}, allow_redirects=False)
    assert expired.status == 403 and "Set-Cookie" not in expired.headers
    for junk in ({"token": "0" * 64}, {"token": "<b>"}, {}, {"token": "a" * 100_000}):
        refused = await client.post("/signin", data=junk, allow_redirects=False)
        assert refused.status in (403, 413), junk
        assert "Set-Cookie" not in refused.headers


async def test_a_non_agent_gets_no_link(app: Candor, desk: PrivateDesk) -> None:
    stranger = Inbound(
        "x-1", Identity("desk", "local", "mallory"), Address("desk", "terminal"), text="/dashboard"
    )
    await app.engine.receive(stranger)
    await app.outbox.deliver_due()
    texts = desk.texts()
    assert any("you are not one of them" in t for t in texts)
    assert not any("/signin/" in t for t in texts)


async def test_signing_out_needs_the_csrf_token_and_another_sites_form_is_refused(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    session = await sign_in(client, await link_for(agent_factory("maria"), desk))
    cookie = with_session(session)
    for form in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": csrf_token("f" * 64)}):
        refused = await client.post("/signout", data=form, headers=cookie)
        assert refused.status == 403, form
    cross = await client.post(
        "/signout",
        data={"csrf": csrf_token(session)},
        headers={**cookie, "Origin": "https://evil.example"},
    )
    assert cross.status == 403
    fetched = await client.post(
        "/signout",
        data={"csrf": csrf_token(session)},
        headers={**cookie, "Sec-Fetch-Site": "cross-site"},
    )
    assert fetched.status == 403
    assert (await client.get("/dashboard", headers=cookie)).status == 200  # still signed in
    done = await client.post("/signout", data={"csrf": csrf_token(session)}, headers=cookie)
    assert done.status == 200 and "You are signed out" in await done.text()
    assert f"{COOKIE}=" in done.headers["Set-Cookie"]  # the browser's is cleared
    assert (await client.get("/dashboard", headers=cookie)).status == 401  # and gone here


async def test_a_session_survives_a_restart_and_ends_with_the_agent(
    app: Candor, clock: Clock, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    async with TestClient(TestServer(server(app, clock).app())) as first:
        session = await sign_in(first, await link_for(agent_factory("maria"), desk))
    async with Candor(app.config, clock=clock) as again:  # the same database, a new process
        for agents, status in ((AGENTS, 200), (["Sam"], 401), (AGENTS, 401)):
            web = server(again, clock, agents)
            async with TestClient(TestServer(web.app())) as client:
                page = await client.get("/dashboard", headers=with_session(session))
                assert page.status == status, agents  # removed: signed out for good


def test_the_link_goes_to_the_agent_alone_or_nowhere() -> None:
    """A private desk message (a sign-in link) is shown in a shared desk only where
    the channel can show it to that agent alone."""
    link = Outbound(
        address=Address("desk", "group"),
        text="link",
        cause=Cause.DESK,
        delivery=Delivery(purpose=Purpose.DESK_REPLY, private=True, private_to="maria"),
    )
    desks = {("desk", "group")}
    assert unsolicited(link, desks, to_one={"desk"}) == ""
    assert "cannot show one person" in unsolicited(link, desks, to_one=set())
    nobody = Outbound(
        address=link.address, text="x", cause=Cause.DESK, delivery=Delivery(private=True)
    )
    assert unsolicited(nobody, desks, to_one={"desk"}) == "private words to a shared place"


async def test_the_terminal_desk_shows_a_link_to_its_own_agent_only() -> None:
    import io

    out = io.StringIO()
    sender = DeskSender(out, agent="sam")
    message = Outbound(
        address=Address("desk", "terminal"),
        text="Your sign-in link",
        cause=Cause.DESK,
        delivery=Delivery(private=True, private_to="maria", only_to="maria"),
    )
    await sender.send(message)
    assert "sign-in" not in out.getvalue()
    sender.agent = "maria"
    await sender.send(message)
    assert "Your sign-in link" in out.getvalue()


async def test_a_link_of_an_agent_no_longer_configured_opens_nothing(
    app: Candor, clock: Clock, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    token = await link_for(agent_factory("maria"), desk)
    async with TestClient(TestServer(server(app, clock, ["Sam"]).app())) as client:
        refused = await client.post("/signin", data={"token": token}, allow_redirects=False)
        assert refused.status == 403 and "Set-Cookie" not in refused.headers
