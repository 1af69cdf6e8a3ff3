"""The web pages' loose ends (issue 20, session 10): sign-in links that survive a
chat's link preview and die once used or late, the Origin check with its scheme,
the CSV for Excel, and what an attacker sends the server (headers, methods, paths,
sizes, a slow client)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from http.cookies import SimpleCookie

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.web.server import WebServer
from bot.app import Candor
from bot.outbox import DeliveryError
from bot.web.settings import WebSettings
from bot.web.signin import COOKIE, SECURE_COOKIE, csrf_token
from tests.conftest import Agent, Clock
from tests.test_web_signin import PrivateDesk, link_for, server, with_session

PREVIEWERS = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "TelegramBot (like TwitterBot)",
]


@pytest.fixture
def desk(app: Candor) -> PrivateDesk:
    recorded = PrivateDesk()
    app.outbox.register(recorded)
    return recorded


@pytest.fixture
async def client(app: Candor, clock: Clock) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(server(app, clock).app())) as test_client:
        yield test_client


async def test_a_link_preview_takes_nothing_and_the_page_says_what_to_do(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    token = await link_for(agent_factory("maria"), desk)
    for agent in PREVIEWERS:  # Slack and Telegram unfurl the link: GET, HEAD
        for method in ("GET", "HEAD"):
            seen = await client.request(
                method, f"/signin/{token}", headers={"User-Agent": agent}, allow_redirects=False
            )
            assert seen.status == 200, (agent, method)
            assert "Set-Cookie" not in seen.headers
            assert seen.headers["Cache-Control"] == "no-store"
    page = await (await client.get(f"/signin/{token}")).text()
    assert "Press the button to go on" in page and "does not use the link up" in page
    assert f'name="token" value="{token}"' in page and 'method="post"' in page
    # the agent, after the previews: the link still signs in
    done = await client.post("/signin", data={"token": token}, allow_redirects=False)
    assert done.status == 303 and COOKIE in done.headers["Set-Cookie"]


async def test_the_links_page_tells_nobody_its_address(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    """The page's address holds the token: its stylesheet and its form must not send
    it as the Referer (a proxy's access log keeps Referers); only our origin."""
    token = await link_for(agent_factory("maria"), desk)
    for shown in (await client.get(f"/signin/{token}"), await client.get(f"/signin/{'0' * 64}")):
        assert shown.headers["Referrer-Policy"] == "strict-origin", shown.status
        assert '<meta name="referrer" content="strict-origin">' in await shown.text()
    other = await client.get("/status")
    assert other.headers["Referrer-Policy"] == "same-origin"


async def test_a_used_link_is_dead_wherever_it_was_logged(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    """A proxy's access log holds the link: once used, it opens nothing, and its page
    says so instead of showing the button."""
    token = await link_for(agent_factory("maria"), desk)
    first = await client.post("/signin", data={"token": token}, allow_redirects=False)
    assert first.status == 303
    client.session.cookie_jar.clear()  # another browser, with the logged link
    page = await client.get(f"/signin/{token}")
    text = await page.text()
    assert page.status == 410 and "This sign-in link has expired" in text
    assert 'name="token"' not in text and "Type /dashboard on the desk again" in text
    again = await client.post("/signin", data={"token": token}, allow_redirects=False)
    assert again.status == 403 and "Set-Cookie" not in again.headers
    assert (await client.get("/dashboard")).status == 401


async def test_a_link_delivered_late_says_until_when_and_its_page_says_it_expired(
    app: Candor,
    client: TestClient,
    desk: PrivateDesk,
    clock: Clock,
    agent_factory: Callable[[str], Agent],
) -> None:
    desk.failures.append(DeliveryError("the desk is unreachable"))
    await agent_factory("maria").say("/dashboard")  # issued at 10:00, not delivered
    assert not [m for m in desk.sent if "/signin/" in m.text]
    clock.advance(minutes=11)
    await app.outbox.deliver_due()  # the retry, after the link's 10 minutes
    [late] = [m for m in desk.sent if "/signin/" in m.text]
    assert "valid once, until 10:10 UTC" in late.text
    found = re.search(r"/signin/([0-9a-f]{64})", late.text)
    assert found is not None
    page = await client.get(f"/signin/{found.group(1)}")
    text = await page.text()
    assert page.status == 410
    assert "This sign-in link has expired" in text and "/dashboard" in text
    assert "valid 10 minutes" in text and 'method="post"' not in text


async def test_the_link_says_its_end_in_utc_across_midnight(
    app: Candor, desk: PrivateDesk, clock: Clock, agent_factory: Callable[[str], Agent]
) -> None:
    clock.advance(hours=13, minutes=55)  # 23:55 UTC
    await agent_factory("maria").say("/dashboard")
    [message] = [m for m in desk.sent if "/signin/" in m.text]
    assert "until 00:05 UTC" in message.text


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://support.example.com", 403),  # the same host in the clear: not ours
        ("https://support.example.com:8443", 403),
        ("https://evil.example", 403),
        ("https://support.example.com.evil.example", 403),
        ("https://support.example.com:x", 403),
        ("null", 403),
        ("https://support.example.com", 303),
        ("https://SUPPORT.example.com:443", 303),  # the same origin, spelled out
    ],
)
async def test_the_origin_is_scheme_host_and_port_of_public_url(
    app: Candor,
    clock: Clock,
    desk: PrivateDesk,
    agent_factory: Callable[[str], Agent],
    origin: str,
    status: int,
) -> None:
    web = server(app, clock, public_url="https://support.example.com")
    async with TestClient(TestServer(web.app())) as client:
        token = await link_for(agent_factory("maria"), desk)
        answer = await client.post(
            "/signin", data={"token": token}, headers={"Origin": origin}, allow_redirects=False
        )
        assert answer.status == status, origin
        assert ("Set-Cookie" in answer.headers) == (status == 303)
        if status == 303:
            session = SimpleCookie(answer.headers["Set-Cookie"])[SECURE_COOKIE].value
            cookie = {"Cookie": f"{SECURE_COOKIE}={session}"}
            out = await client.post(
                "/signout",
                data={"csrf": csrf_token(session)},
                headers={**cookie, "Origin": "http://support.example.com"},
            )
            assert out.status == 403  # signing out from the clear origin: refused too


async def test_without_public_url_the_origin_is_the_requests_own_with_its_scheme(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    token = await link_for(agent_factory("maria"), desk)
    host = f"{client.host}:{client.port}"
    forged = await client.post(
        "/signin",
        data={"token": token},
        headers={"Origin": f"https://{host}"},
        allow_redirects=False,
    )
    assert forged.status == 403
    ours = await client.post(
        "/signin",
        data={"token": token},
        headers={"Origin": f"http://{host}"},
        allow_redirects=False,
    )
    assert ours.status == 303


def _strict(policy: str) -> None:
    rules = dict(rule.strip().split(" ", 1) for rule in policy.split(";") if rule.strip())
    assert rules["default-src"] == "'none'" and "script-src" not in rules
    assert rules["frame-ancestors"] == "'none'" and rules["base-uri"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "*" not in policy


async def test_every_answer_carries_the_strict_headers(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    session = (
        await client.post(
            "/signin",
            data={"token": await link_for(agent_factory("maria"), desk)},
            allow_redirects=False,
        )
    ).cookies[COOKIE]
    client.session.cookie_jar.clear()  # the session only where it is sent below
    cookie = with_session(session.value)
    answers = [
        await client.get("/status"),
        await client.get("/dashboard", headers=cookie),
        await client.get("/dashboard/queue", headers=cookie),
        await client.get("/dashboard/csv?table=summary", headers=cookie),
        await client.get("/dashboard"),  # 401
        await client.get("/nowhere"),  # 404
        await client.request("OPTIONS", "/dashboard"),  # 405
        await client.request("HEAD", "/dashboard"),  # 401, no body
        await client.request("TRACE", "/status"),
    ]
    for answer in answers:
        where = (answer.method, answer.url.path, answer.status)
        _strict(answer.headers["Content-Security-Policy"])
        assert answer.headers["X-Frame-Options"] == "DENY", where
        assert answer.headers["X-Content-Type-Options"] == "nosniff", where
        assert answer.headers["Cross-Origin-Opener-Policy"] == "same-origin", where
        assert "Cache-Control" in answer.headers, where
    for answer in answers[1:]:  # all but the public page: kept nowhere
        assert answer.headers["Cache-Control"] == "no-store", answer.url.path
    assert answers[6].status == 405 and "GET" in answers[6].headers["Allow"]
    assert answers[7].status == 401 and await answers[7].read() == b""
    assert answers[8].status == 405
    for page in answers[:3]:
        assert "<script" not in await page.text()  # the CSP forbids it: none is needed


async def raw(client: TestClient, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (a client library would tidy a path first): the
    status and the rest of the answer."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer


@pytest.mark.parametrize(
    "path",
    [
        "/static/../config.toml",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2fetc%2fpasswd",
        "/static/candor.css/../../../etc/passwd",
        "/static/",
        "/static/candor.css%00.txt",
        "//etc/passwd",
        "/../../../../etc/passwd",
        "/status/../../etc/passwd",
    ],
)
async def test_no_path_reaches_a_file_but_the_stylesheet(client: TestClient, path: str) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    status, answer = await raw(client, request.encode("ascii"))
    assert status in (400, 404), (path, answer[:200])
    assert b"root:" not in answer and b"[storage]" not in answer
    assert (await client.get("/static/candor.css")).status == 200


async def test_oversized_headers_and_bodies_are_refused_and_the_server_goes_on(
    client: TestClient,
) -> None:
    huge = await client.get("/status", headers={"X-Padding": "a" * 100_000})
    assert huge.status in (400, 431)
    many = await client.get("/status", headers={f"X-H{n}": "a" for n in range(200)})
    assert many.status in (400, 431)
    cookie = await client.get("/dashboard", headers={"Cookie": f"{COOKIE}=" + "f" * 20_000})
    assert cookie.status in (400, 401, 431)
    body = await client.post("/signin", data={"token": "a" * 200_000}, allow_redirects=False)
    assert body.status == 413 and "Set-Cookie" not in body.headers
    assert (await client.get("/status")).status == 200


async def test_a_slow_client_holds_up_nobody_else(client: TestClient) -> None:
    """Slowloris: connections that send half a request, a byte at a time, take no
    worker away from anyone (one event loop; each waits on its own socket)."""
    held = []
    for _ in range(20):
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(b"GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        await writer.drain()
        held.append((reader, writer))
    try:
        answer = await client.get("/status")
        assert answer.status == 200 and "All systems normal." in await answer.text()
    finally:
        for _, writer in held:
            writer.close()


async def test_over_https_a_browser_is_told_to_stay_on_https(app: Candor, clock: Clock) -> None:
    for url, hsts in (("https://support.example.com", True), ("", False)):
        async with TestClient(TestServer(server(app, clock, public_url=url).app())) as client:
            for path in ("/status", "/nowhere", "/dashboard"):
                answer = await client.get(path)
                assert ("Strict-Transport-Security" in answer.headers) is hsts, (url, path)


async def test_half_a_request_is_dropped_when_idle(
    app: Candor, clock: Clock, unused_tcp_port: int
) -> None:
    """Slowloris: a connection that never finishes its request is closed after the
    server's idle time (here a fifth of a second), not held for aiohttp's hour."""
    settings = WebSettings(port=unused_tcp_port)
    web = WebServer(app.store, settings, "Northwind Cloud", clock=clock, idle_seconds=0.2)
    await web.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", unused_tcp_port)
        writer.write(b"GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        await writer.drain()
        # the server closes it: read() ends (the bound only stops a failing test)
        assert await asyncio.wait_for(reader.read(), timeout=60) == b""
        writer.close()
    finally:
        await web.stop()


MALFORMED = [
    b"POST /signin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",  # smuggling's framing
    b"GET /dashboard HTTP/1.1\r\nHost: x\r\nCookie: candor_session=a; \x00=1\r\n\r\n",
    b"GET /st\xc3\xa4tus HTTP/1.1\r\nHost: x\r\n\r\n",
    b"BREW /status HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # TLS spoken to the plain port
]


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
async def test_malformed_requests_are_refused_without_a_traceback_in_the_log(
    app: Candor,
    clock: Clock,
    unused_tcp_port: int,
    caplog: pytest.LogCaptureFixture,
    level: int,
) -> None:
    """aiohttp logged each as an ERROR with its traceback: anyone could fill the log."""
    caplog.set_level(level)
    web = WebServer(app.store, WebSettings(port=unused_tcp_port), "Northwind Cloud", clock=clock)
    await web.start()
    try:
        for request in MALFORMED:
            reader, writer = await asyncio.open_connection("127.0.0.1", unused_tcp_port)
            writer.write(request)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), timeout=60)
            writer.close()
            assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]
        ok = await asyncio.open_connection("127.0.0.1", unused_tcp_port)
        ok[1].write(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b"All systems normal." in await asyncio.wait_for(ok[0].read(), timeout=60)
        ok[1].close()
    finally:
        await web.stop()
    said = caplog.records
    assert not [r for r in said if r.levelno >= logging.WARNING or r.exc_info], [
        (r.name, r.getMessage()) for r in said
    ]
    malformed = [r for r in said if "a malformed request" in r.getMessage()]
    assert len(malformed) == (len(MALFORMED) if level == logging.DEBUG else 0)  # one line each
