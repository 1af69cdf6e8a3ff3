"""The public status page and its feed (`[web]`, bot/web/status.py, adapters/web):
what they show, what they never show, and that every string is text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.web.server import WebServer
from bot import config as config_module
from bot.app import Candor
from bot.config import ConfigError
from bot.web.html import clean, escape, html
from bot.web.settings import WebSettings
from bot.web.status import render_status, status_data
from tests.conftest import Agent, Clock, write_config

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.fixture
async def client(app: Candor, clock: Clock) -> AsyncIterator[TestClient]:
    settings = WebSettings(public_url="https://support.example.com")
    server = WebServer(app.store, settings, "Northwind Cloud", clock=clock)
    async with TestClient(TestServer(server.app())) as test_client:
        yield test_client


async def page(client: TestClient, path: str = "/status") -> str:
    response = await client.get(path)
    assert response.status == 200, path
    return await response.text()


async def test_nothing_wrong_says_so_with_a_feed_and_no_script(client: TestClient) -> None:
    response = await client.get("/status")
    assert response.status == 200
    assert response.content_type == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp  # no script may run
    assert response.headers["X-Frame-Options"] == "DENY"
    text = await response.text()
    assert "All systems normal." in text
    assert "Current incidents" not in text
    assert "No incident was resolved in the last 30 days." in text
    assert 'href="/status/feed.atom"' in text
    assert "<script" not in text


async def test_incidents_with_their_updates_newest_first_and_no_names(
    client: TestClient, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    maria = agent_factory("maria")
    await maria.say("/incident Card payments fail | checkout | card payment")
    clock.advance(minutes=10)
    await maria.say("/incident update 1 The provider is rolling back a change.")
    clock.advance(minutes=10)
    await maria.say("/incident update 1 Most payments work again.")
    await maria.say("/incident Slow login | sign-in | login")
    clock.advance(minutes=5)
    await maria.say("/incident resolve 2 Logins are fast again.")
    text = await page(client)
    assert "All systems normal." not in text
    current, resolved = text.split("Resolved in the last 30 days")
    assert "Card payments fail" in current and "Slow login" not in current
    assert "Affected: checkout" in current
    assert current.index("Most payments work again.") < current.index("rolling back")
    assert "Slow login" in resolved and "Logins are fast again." in resolved
    assert "Resolved Nov 23, 2026 10:25 UTC" in resolved
    # the agent who wrote them, the customers who follow them: never on the page
    assert "Maria" not in text and "maria" not in text


async def test_incidents_resolved_more_than_30_days_ago_are_gone(
    client: TestClient, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    maria = agent_factory("maria")
    await maria.say("/incident Old outage | everything | outage")
    await maria.say("/incident resolve 1 Fixed.")
    clock.advance(days=29)
    assert "Old outage" in await page(client)
    clock.advance(days=1, seconds=1)
    text = await page(client)
    assert "Old outage" not in text and "All systems normal." in text


async def test_every_string_is_text_in_the_page_and_the_feed(
    client: TestClient, agent_factory: Callable[[str], Agent]
) -> None:
    maria = agent_factory("maria")
    await maria.say(f"/incident {HOSTILE} | {HOSTILE} | outage")
    await maria.say(f"/incident update 1 {HOSTILE}\x07\x1b[31m")
    text = await page(client)
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    feed = await client.get("/status/feed.atom")
    assert feed.status == 200 and feed.content_type == "application/atom+xml"
    body = await feed.text()
    assert "<script" not in body and "\x07" not in body and "\x1b" not in body
    root = ET.fromstring(body)  # well-formed XML, control characters and all
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    title = entries[0].findtext(f"{ATOM}title")
    assert title is not None and HOSTILE.split(">")[0] in title  # as text, unharmed
    content = entries[0].findtext(f"{ATOM}content")
    assert content is not None and "alert(1)" in content
    link = root.find(f"{ATOM}link[@rel='self']")
    assert link is not None and link.get("href") == "https://support.example.com/status/feed.atom"


async def test_the_feed_lists_current_and_resolved_incidents(
    client: TestClient, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    maria = agent_factory("maria")
    await maria.say("/incident Email delays | email | email")
    clock.advance(minutes=3)
    await maria.say("/incident update 1 Queued mail is going out.")
    await maria.say("/incident Login is slow | sign-in | login")
    await maria.say("/incident resolve 2 Fixed.")
    root = ET.fromstring(await page(client, "/status/feed.atom"))
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert titles == ["[ongoing] Email delays", "[resolved] Login is slow"]
    assert root.findtext(f"{ATOM}updated") == "2026-11-23T10:03:00Z"
    assert "Maria" not in await page(client, "/status/feed.atom")


async def test_an_unknown_page_is_a_page_not_a_traceback(client: TestClient) -> None:
    for path in ("/", "/nope", "/status/../etc/passwd", "/%00", "/status/" + "a" * 5000):
        response = await client.get(path)
        assert response.status in (404, 400, 414), path
        assert "Traceback" not in await response.text()
        assert "Content-Security-Policy" in response.headers


async def test_a_store_that_cannot_be_read_is_a_503_page(app: Candor, clock: Clock) -> None:
    server = WebServer(app.store, WebSettings(), "Northwind Cloud", clock=clock)
    async with TestClient(TestServer(server.app())) as client:
        await app.store.close()
        response = await client.get("/status")
        assert response.status == 503
        assert "cannot be shown right now" in await response.text()


async def test_the_data_and_page_without_a_server(app: Candor, clock: Clock) -> None:
    data = await status_data(app.store, "A & B <Ltd>", clock())
    assert data.normal and data.current == () and data.resolved == ()
    shown = render_status(data, "/status/feed.atom")
    assert "<title>A &amp; B &lt;Ltd&gt; status</title>" in shown


def test_escaping_is_the_default_and_unwritable_characters_go() -> None:
    assert escape("<b>") == "&lt;b&gt;"
    assert escape(html("<b>{x}</b>", x="<i>")) == "<b>&lt;i&gt;</b>"  # made safe once
    assert html('<a title="{t}">', t='" onmouseover="x') == (
        '<a title="&quot; onmouseover=&quot;x">'
    )
    assert clean("a\x00b\x1bc\ud800d\ufffee\tf\ng") == "abcde\tf\ng"
    assert clean("Zoë 😀 مرحبا") == "Zoë 😀 مرحبا"


def test_the_web_section_defaults_and_its_errors(tmp_path, knowledge_dir) -> None:  # type: ignore[no-untyped-def]
    plain = config_module.load(write_config(tmp_path, knowledge_dir))
    assert plain.web == WebSettings()
    assert (plain.web.enabled, plain.web.port, plain.web.status_path) == (False, 8080, "/status")
    assert plain.web.base_url() == "http://127.0.0.1:8080" and not plain.web.secure
    good = WebSettings(public_url="https://support.example.com/", status_path="/outages/")
    assert (good.public_url, good.status_path, good.secure) == (
        "https://support.example.com",
        "/outages",
        True,
    )
    bad = {
        'status_path = "status"': "web.status_path",
        'status_path = "/a/../b"': "web.status_path",
        'status_path = "/dashboard"': "the dashboard's own",
        'status_path = "/s?x=1"': "web.status_path",
        'public_url = "ftp://x"': "web.public_url",
        'public_url = "https://u:p@x"': "without a query, fragment or user name",
        "port = 0": "web.port",
        "colour = 1": "web.colour",
    }
    for line, named in bad.items():
        path = write_config(tmp_path, knowledge_dir, extra=f"[web]\n{line}\n")
        with pytest.raises(ConfigError, match=named.replace("?", r"\?")):
            config_module.load(path)


def test_the_web_port_cannot_be_a_platforms(tmp_path, knowledge_dir) -> None:  # type: ignore[no-untyped-def]
    extra = """
    [telegram]
    enabled = true
    token = "1:abcdef"
    mode = "webhook"
    webhook_url = "https://bot.example.com/telegram"
    webhook_secret = "s3cret-token-0123456789"
    webhook_port = 8080
    [web]
    enabled = true
    """
    path = write_config(tmp_path, knowledge_dir, extra=extra)
    with pytest.raises(ConfigError, match="own port"):
        config_module.load(path, secrets=False)


async def test_each_request_reads_the_store_afresh(
    client: TestClient, agent_factory: Callable[[str], Agent], clock: Clock
) -> None:
    """A page read twice in a row reads the store afresh (an update in between shows)."""
    maria = agent_factory("maria")
    await maria.say("/incident Outage | all | outage")
    assert "We are looking into it." in await page(client)
    clock.advance(minutes=1)
    await maria.say("/incident update 1 Found it.")
    text = await page(client)
    assert "Found it." in text and "We are looking into it." not in text
    assert "Nov 23, 2026 10:01 UTC" in text


async def test_a_customer_told_of_an_incident_gets_the_status_pages_link(
    tmp_path, knowledge_dir, clock: Clock
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import Customer, RecordingSender

    for extra, link in (
        (
            '[web]\npublic_url = "https://support.example.com"\n',
            "https://support.example.com/status",
        ),
        ("", None),
    ):
        folder = tmp_path / ("with" if link else "without")
        folder.mkdir()
        config = config_module.load(write_config(folder, knowledge_dir, extra=extra))
        async with Candor(config, clock=clock) as app:
            sender = RecordingSender()
            app.outbox.register(sender)
            await Agent(app, "maria").say("/incident Card payments fail | checkout | card payment")
            told = "\n".join(await Customer(app, sender, "ann").send("my card payment fails"))
            assert "Known problem: Card payments fail" in told
            if link:
                assert f"Every update is also on {link}" in told
            else:
                assert "http" not in told
