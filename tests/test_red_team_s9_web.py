"""Red team (session 9) on the web dashboard and the status page (issue 20): what
an attacker or a careless client sends, and what the issue asks that is not there."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.web.server import WebServer
from bot.app import Candor
from bot.doctor import examine
from bot.web.settings import WebSettings
from bot.web.signin import SECURE_COOKIE, csrf_token, well_formed
from tests.conftest import Agent, Clock, write_config
from tests.test_web_signin import COOKIE, PrivateDesk, link_for, server, with_session


@pytest.fixture
def desk(app: Candor) -> PrivateDesk:
    recorded = PrivateDesk()
    app.outbox.register(recorded)
    return recorded


@pytest.fixture
async def client(app: Candor, clock: Clock) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(server(app, clock).app())) as test_client:
        yield test_client


async def test_finding_1_an_origin_of_null_is_another_sites_form(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    """A form posted from a sandboxed frame or a data: page says `Origin: null`;
    with `public_url` unset its empty host matched the empty host of the setting, and
    the attacker's own link signed the victim's browser in as the attacker (login
    CSRF: what the victim then types lands in the attacker's session)."""
    token = await link_for(agent_factory("maria"), desk)
    for origin in ("null", "", "file://"):
        refused = await client.post(
            "/signin", data={"token": token}, headers={"Origin": origin}, allow_redirects=False
        )
        assert refused.status == 403, origin
        assert "Set-Cookie" not in refused.headers
    # the link was not taken by the refused forms: it still signs in from our own page
    ours = f"http://{client.host}:{client.port}"
    done = await client.post(
        "/signin", data={"token": token}, headers={"Origin": ours}, allow_redirects=False
    )
    assert done.status == 303


BODIES = [
    (b"--x\r\n", "multipart/form-data"),  # no boundary
    (b"--x\r\nbad\r\n\r\n--x--", "multipart/form-data; boundary=x"),  # a broken part
    (b"\xff\xfe=\xff", "application/x-www-form-urlencoded"),  # not UTF-8
    (b"token=" + b"a" * 64, "application/x-www-form-urlencoded; charset=nonsense"),
]


async def test_finding_2_a_malformed_form_is_a_400_page_not_a_failure_of_ours(
    client: TestClient,
    desk: PrivateDesk,
    agent_factory: Callable[[str], Agent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bodies no browser sends were a 500 and a logged traceback each: anyone could
    fill the log with them, and the answer blamed us."""
    token = await link_for(agent_factory("maria"), desk)
    signed = await client.post("/signin", data={"token": token}, allow_redirects=False)
    cookie = with_session(signed.cookies[COOKIE].value)
    caplog.set_level(logging.ERROR)
    for path, headers in (("/signin", {}), ("/signout", cookie)):
        for body, kind in BODIES:
            answer = await client.post(
                path, data=body, headers={**headers, "Content-Type": kind}, allow_redirects=False
            )
            assert answer.status == 400, (path, kind, await answer.text())
            assert "could not be read" in await answer.text()
            assert "Set-Cookie" not in answer.headers
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (await client.get("/dashboard", headers=cookie)).status == 200  # still signed in


async def test_finding_3_a_wrong_method_says_which_are_allowed(client: TestClient) -> None:
    """A 405 must carry `Allow` (RFC 9110 15.5.6); the guard rebuilt the answer
    without it."""
    for method, path, allowed in (
        ("POST", "/dashboard", "GET"),
        ("PUT", "/status", "GET"),
        ("GET", "/signout", "POST"),
    ):
        answer = await client.request(method, path)
        assert answer.status == 405, (method, path)
        assert allowed in answer.headers.get("Allow", ""), (method, path)
        assert answer.headers["X-Frame-Options"] == "DENY"  # still our headers


async def test_finding_4_the_status_page_speaks_the_readers_language(
    app: Candor, clock: Clock
) -> None:
    """Fixed: the page is in the browser's language among `[bot] languages`
    (tests/test_web_status_lang.py covers each language, ?lang= and the fallbacks)."""
    web = WebServer(
        app.store, WebSettings(), "Northwind Cloud", clock=clock, languages=("en", "de")
    )
    async with TestClient(TestServer(web.app())) as client:
        page = await client.get("/status", headers={"Accept-Language": "de-DE,de;q=0.9"})
        text = await page.text()
    assert 'lang="de"' in text and "All systems normal" not in text


@pytest.mark.parametrize(
    ("web", "warned"),
    [
        ('listen = "0.0.0.0"', ["without TLS", "no browser opens"]),
        ('listen = "192.0.2.7"\npublic_url = "http://192.0.2.7:8080"', ["without TLS"]),
        ('listen = "::"\npublic_url = "https://support.example.com"', []),
        ('listen = "127.0.0.1"\npublic_url = "http://localhost:8080"', []),
        ("", []),
    ],
)
async def test_finding_5_doctor_warns_of_pages_reachable_in_the_clear(
    tmp_path: Path, knowledge_dir: Path, web: str, warned: list[str]
) -> None:
    """`[web] listen = "0.0.0.0"` with an http (or no) `public_url` sends sign-in
    links and session cookies across the network unencrypted, and with no
    `public_url` the links point at http://0.0.0.0:8080; nothing said so."""
    path = write_config(tmp_path, knowledge_dir, extra=f"[web]\n{web}\n")
    findings = [f for f in await examine(path) if (f.area, f.check) == ("web", "address")]
    assert len(findings) == len(warned), [f.line() for f in findings]
    for finding, words in zip(findings, warned, strict=True):
        assert words in finding.detail and not finding.ok and not finding.needed


async def test_finding_6_a_page_per_channel_and_language(
    client: TestClient, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    token = await link_for(agent_factory("maria"), desk)
    signed = await client.post("/signin", data={"token": token}, allow_redirects=False)
    cookie = with_session(signed.cookies[COOKIE].value)
    page = await client.get("/dashboard/channels", headers=cookie)
    assert page.status == 200


async def test_finding_7_a_stranger_takes_no_write_transaction(
    app: Candor, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request with a well-formed cookie or sign-in token, signed in or not,
    took a write transaction: BEGIN IMMEDIATE on SQLite, the bot's own write lock,
    taken from another process under `candor web`. A read comes first now."""
    opened: list[str] = []
    real = app.store.transaction

    def counting():  # type: ignore[no-untyped-def]
        opened.append("tx")
        return real()

    monkeypatch.setattr(app.store, "transaction", counting)
    for n in range(5):
        forged = f"{n:064x}"
        assert (await client.get("/dashboard", headers=with_session(forged))).status == 401
        refused = await client.post("/signin", data={"token": forged}, allow_redirects=False)
        assert refused.status == 403
    assert opened == []


async def test_finding_8_over_https_a_sibling_host_cannot_plant_the_session_cookie(
    app: Candor, clock: Clock, desk: PrivateDesk, agent_factory: Callable[[str], Agent]
) -> None:
    """evil.example.com may set `candor_session` for all of .example.com (its own
    session there: the victim then works signed in as the attacker). Over https the
    cookie is `__Host-candor_session`, which a browser takes only from this host,
    Secure, for "/"; the plain name is not read there."""
    web = server(app, clock, public_url="https://support.example.com")
    async with TestClient(TestServer(web.app())) as client:
        token = await link_for(agent_factory("maria"), desk)
        signed = await client.post("/signin", data={"token": token}, allow_redirects=False)
        header = signed.headers["Set-Cookie"]
        assert header.startswith(f"{SECURE_COOKIE}=")
        assert "Secure" in header and "Path=/" in header and "Domain" not in header
        session = SimpleCookie(header)[SECURE_COOKIE].value
        planted = {"Cookie": f"{COOKIE}={session}"}
        assert (await client.get("/dashboard", headers=planted)).status == 401
        ours = {"Cookie": f"{SECURE_COOKIE}={session}"}
        assert (await client.get("/dashboard", headers=ours)).status == 200
        done = await client.post("/signout", data={"csrf": csrf_token(session)}, headers=ours)
        cleared = done.headers["Set-Cookie"]
        assert cleared.startswith(f"{SECURE_COOKIE}=") and "Secure" in cleared


def test_finding_9_a_token_is_64_hex_digits_and_nothing_after() -> None:
    """`^...$` with `re.match` let "<64 hex>\\n" pass as well formed (harmless today,
    the digest then matches nothing, but the check said what it did not check)."""
    good = "a" * 64
    assert well_formed(good)
    for bad in (good + "\n", good + "\r\n", "\n" + good, good.upper(), good[:-1], good + "0"):
        assert not well_formed(bad), repr(bad)
