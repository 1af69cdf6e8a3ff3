"""The fake Slack: the real slack-sdk and slack-bolt against it, and signed requests."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import (
    FakeSlack,
    block_actions,
    event_callback,
    file_object,
    file_share_event,
    message_changed_event,
    message_deleted_event,
    message_event,
    post_command,
    post_event,
    post_interaction,
    post_raw,
    sign,
    slash_command,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hello*"}}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.api_url)


async def test_auth_test(fake: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["ok"] is True
    assert response["user_id"] == "U0BOT"
    assert response["bot_id"] == "B0BOT"
    assert response["team_id"] == "T0HOME"
    assert fake.calls[0].method == "auth.test"
    assert fake.calls[0].ok


async def test_post_message_with_blocks_in_a_thread(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="C0SUPPORT", text="hi", blocks=BLOCKS)
    second = await client.chat_postMessage(
        channel="C0SUPPORT", text="in thread", thread_ts=first["ts"]
    )
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == BLOCKS
    assert first["message"]["user"] == "U0BOT"
    assert second["message"]["thread_ts"] == first["ts"]
    [params] = fake.sent(channel="C0SUPPORT", blocks=BLOCKS)
    assert params["text"] == "hi"
    assert fake.sent(thread_ts=first["ts"]) == [fake.calls[1].params]
    link = await client.chat_getPermalink(channel="C0SUPPORT", message_ts=second["ts"])
    assert link["permalink"].endswith(f"?thread_ts={first['ts']}&cid=C0SUPPORT")
    assert fake.sent(text=lambda text: text.startswith("in ")) == [fake.calls[1].params]
    assert fake.texts("C0SUPPORT") == ["hi", "in thread"]


async def test_form_encoded_blocks_are_decoded(fake: FakeSlack, client: AsyncWebClient) -> None:
    await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "x", "blocks": json.dumps(BLOCKS)}
    )
    assert fake.sent(channel="C1")[0]["blocks"] == BLOCKS
    assert fake.calls[0].result is not None
    assert fake.calls[0].result["message"]["blocks"] == BLOCKS


async def test_post_message_to_a_user_opens_an_im(client: AsyncWebClient) -> None:
    response = await client.chat_postMessage(channel="U0ALICE", text="hello")
    assert response["channel"] == "D0ALICE"


async def test_update_changes_the_stored_message(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="before")
    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="after", blocks=[])
    assert updated["ts"] == posted["ts"]
    assert fake.messages[("C1", posted["ts"])]["text"] == "after"
    assert "edited" in fake.messages[("C1", posted["ts"])]
    assert fake.calls[0].result is not None
    assert fake.calls[0].result["message"]["text"] == "before"  # recorded as answered
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel="C1", ts="1.000001", text="x")
    assert raised.value.response["error"] == "message_not_found"


async def test_other_methods(fake: FakeSlack, client: AsyncWebClient) -> None:
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U0ALICE", text="psst")
    assert ephemeral["message_ts"]
    link = await client.chat_getPermalink(channel="C1", message_ts="1700000000.000100")
    assert link["permalink"].endswith("/archives/C1/p1700000000000100")
    await client.reactions_add(channel="C1", timestamp="1700000000.000100", name="eyes")
    assert ("C1", "1700000000.000100", "eyes") in fake.reactions
    with pytest.raises(SlackApiError, match="already_reacted"):
        await client.reactions_add(channel="C1", timestamp="1700000000.000100", name="eyes")
    with pytest.raises(SlackApiError, match="unknown_method"):
        await client.api_call("bogus.method")
    assert [c.method for c in fake.calls if not c.ok] == ["reactions.add", "bogus.method"]


async def test_users_and_channels(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.add_user("U0ALICE", name="alice", real_name="Alice Liddell")
    fake.add_user("U0EXT", name="ext", team_id="T0OTHER")
    fake.add_channel("C0SHARED", name="shared", is_ext_shared=True, is_member=False)
    fake.add_channel("D0ALICE", is_im=True, user="U0ALICE")
    fake.scopes.append("im:read")  # conversations.info on a DM; Candor itself asks none

    alice = await client.users_info(user="U0ALICE")
    assert alice["user"]["real_name"] == "Alice Liddell"
    assert alice["user"]["is_bot"] is False
    assert (await client.users_info(user="U0EXT"))["user"]["team_id"] == "T0OTHER"
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.users_info(user="U0NOBODY")

    shared = await client.conversations_info(channel="C0SHARED")
    assert shared["channel"]["is_ext_shared"] is True
    assert (await client.conversations_info(channel="D0ALICE"))["channel"]["is_im"] is True
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.conversations_info(channel="C0NOPE")
    await client.conversations_join(channel="C0SHARED")
    assert fake.channels["C0SHARED"]["is_member"] is True


async def test_scopes_as_slack_tells_and_enforces_them() -> None:
    async with FakeSlack(scopes=["chat:write", "channels:read"]) as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        fake.add_channel("C0PUB", name="pub")
        fake.add_channel("C0PRIV", name="priv", is_private=True)
        fake.add_channel("C0OUT", name="out", is_private=True, is_member=False)
        answer = await client.auth_test()
        assert answer.headers["X-OAuth-Scopes"] == "chat:write,channels:read"
        assert (await client.conversations_info(channel="C0PUB"))["channel"]["name"] == "pub"
        with pytest.raises(SlackApiError) as raised:
            await client.conversations_info(channel="C0PRIV")
        assert raised.value.response["error"] == "missing_scope"
        assert raised.value.response["needed"] == "groups:read"
        assert raised.value.response["provided"] == "chat:write,channels:read"
        assert raised.value.response.headers["x-oauth-scopes"] == "chat:write,channels:read"
        with pytest.raises(SlackApiError, match="missing_scope"):
            await client.users_info(user="U0ANY")
        fake.scopes.append("groups:read")
        # a private channel the bot is not in is one it cannot see
        with pytest.raises(SlackApiError, match="channel_not_found"):
            await client.conversations_info(channel="C0OUT")
        fake.scopes_header = False
        assert "x-oauth-scopes" not in (await client.auth_test()).headers


async def test_apps_connections_open_takes_only_the_app_token(fake: FakeSlack) -> None:
    client = AsyncWebClient(base_url=fake.api_url)
    opened = await client.apps_connections_open(app_token=fake.app_token)
    assert opened["url"].endswith("/socket")
    for token, error in (
        ("xapp-wrong", "invalid_auth"),
        (fake.bot_token, "not_allowed_token_type"),
    ):
        with pytest.raises(SlackApiError) as raised:
            await client.apps_connections_open(app_token=token)
        assert raised.value.response["error"] == error
    assert fake.sockets == []  # a URL handed out is no connection


async def test_rate_limit_without_and_with_retry(fake: FakeSlack) -> None:
    plain = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
    fake.fail_next("chat.postMessage")
    with pytest.raises(SlackApiError) as raised:
        await plain.chat_postMessage(channel="C1", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert raised.value.response["error"] == "ratelimited"

    retrying = AsyncWebClient(
        token="xoxb-test",
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.fail_next("chat.postMessage", retry_after=0)
    response = await retrying.chat_postMessage(channel="C1", text="again")
    assert response["ok"]
    assert [(c.ok, c.status, c.error) for c in fake.calls_to("chat.postMessage")] == [
        (False, 429, "ratelimited"),
        (False, 429, "ratelimited"),
        (True, 200, None),
    ]


async def test_other_errors_and_channel_filter(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail_next("chat.postMessage", error="not_in_channel", channel="C2", count=None)
    await client.chat_postMessage(channel="C1", text="fine")
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel="C2", text="refused")
        assert raised.value.response.status_code == 200
        assert raised.value.response["error"] == "not_in_channel"
    assert fake.sent(channel="C2") == []
    assert len(fake.calls_to("chat.postMessage", channel="C2")) == 2
    fake.clear_failures()
    await client.chat_postMessage(channel="C2", text="now fine")
    assert fake.texts() == ["fine", "now fine"]


async def test_bad_tokens(fake: FakeSlack) -> None:
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url)
    with pytest.raises(SlackApiError) as raised:
        await wrong.auth_test()
    assert raised.value.response["error"] == "invalid_auth"
    missing = AsyncWebClient(base_url=fake.api_url)
    with pytest.raises(SlackApiError, match="not_authed"):
        await missing.auth_test()
    assert [c.error for c in fake.calls] == ["invalid_auth", "not_authed"]


async def test_wait_for(fake: FakeSlack, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C1", text="one")
    [call] = await fake.wait_for("chat.postMessage", channel="C1")
    assert call.params["text"] == "one"
    with pytest.raises(AssertionError, match=r"expected 2 chat\.postMessage"):
        await fake.wait_for("chat.postMessage", count=2, timeout=0.05)


async def test_custom_handler_and_response_url(fake: FakeSlack) -> None:
    fake.on("team.info", lambda params: {"team": {"id": "T0HOME", "name": "Candor"}})
    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
    assert (await client.team_info())["team"]["name"] == "Candor"

    hook = fake.response_url()
    async with (
        aiohttp.ClientSession() as session,
        session.post(hook, json={"text": "done", "replace_original": True}) as response,
    ):
        assert response.status == 200
    [call] = fake.calls_to("response_url", text="done")
    assert call.result == {"url": hook}


def test_sign_verifies_with_slack_sdk() -> None:
    body = b'{"type":"event_callback"}'
    headers = sign(body, SECRET)
    verifier = SignatureVerifier(SECRET)
    timestamp = headers["X-Slack-Request-Timestamp"]
    assert verifier.is_valid(body, timestamp, headers["X-Slack-Signature"])
    assert not SignatureVerifier("other").is_valid(body, timestamp, headers["X-Slack-Signature"])
    stale = sign(body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid(
        body, stale["X-Slack-Request-Timestamp"], stale["X-Slack-Signature"]
    )


def test_payload_shapes() -> None:
    message = message_event("U0ALICE", "hi", channel="D0ALICE", channel_type="im")
    reply = message_event("U0ALICE", "more", channel="C1", thread_ts=message["ts"])
    assert float(reply["ts"]) > float(message["ts"])
    assert message["event_ts"] == message["ts"]
    assert reply["thread_ts"] == message["ts"]
    envelope = event_callback(message, is_ext_shared_channel=True)
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"].startswith("Ev")
    assert envelope["authorizations"][0]["user_id"] == "U0BOT"
    assert envelope["is_ext_shared_channel"] is True
    assert event_callback(message)["event_id"] != envelope["event_id"]

    external = message_event("U0EXT", "hi", channel="C1", user_team="T0OTHER")
    assert (external["team"], external["user_team"]) == ("T0HOME", "T0OTHER")
    changed = message_changed_event("C1", message["ts"], "edited", "U0ALICE")
    assert changed["message"]["ts"] == message["ts"]
    assert changed["subtype"] == "message_changed"
    deleted = message_deleted_event("C1", message["ts"])
    assert deleted["deleted_ts"] == message["ts"]
    png = file_object("a.png", mimetype="image/png")
    shared = file_share_event("U0ALICE", [png], channel="C1", thread_ts=message["ts"])
    assert (shared["subtype"], shared["thread_ts"]) == ("file_share", message["ts"])
    assert shared["files"][0]["url_private"].endswith("/a.png")

    click = block_actions("U0AGENT", "claim", "ticket-1", channel="C1", message_ts="1.2")
    assert click["container"] == {
        "type": "message",
        "message_ts": "1.2",
        "channel_id": "C1",
        "is_ephemeral": False,
    }
    assert click["actions"][0]["action_id"] == "claim"
    assert click["trigger_id"]
    fields = slash_command("/candor", "status", user="U0AGENT", channel="C1")
    assert fields["command"] == "/candor"
    assert all(isinstance(value, str) for value in fields.values())


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A bare endpoint that checks signatures like Slack apps must."""
    received: list[tuple[dict[str, str], bytes]] = []
    verifier = SignatureVerifier(SECRET)

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        received.append((dict(request.headers), body))
        if not verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=401, text="invalid signature")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/slack/events", received
    await runner.cleanup()


async def test_posting_signed_requests(
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, received = receiver
    payload = event_callback(message_event("U0ALICE", "hi", channel="C1"))
    assert await post_event(url, payload, SECRET) == (200, "ok")
    assert json.loads(received[-1][1]) == payload
    assert received[-1][0]["Content-Type"] == "application/json"

    assert await post_event(url, payload, SECRET, retry_num=1) == (200, "ok")
    assert received[-1][0]["X-Slack-Retry-Num"] == "1"
    assert received[-1][0]["X-Slack-Retry-Reason"] == "http_timeout"

    click = block_actions("U0AGENT", "claim", "t1", channel="C1", message_ts="1.2")
    assert await post_interaction(url, click, SECRET) == (200, "ok")
    assert json.loads(parse_qs(received[-1][1].decode())["payload"][0]) == click

    fields = slash_command("/candor", "status please", user="U0AGENT", channel="C1")
    assert (await post_command(url, fields, SECRET))[0] == 200
    assert parse_qs(received[-1][1].decode())["text"] == ["status please"]

    stale = int(time.time()) - 600
    assert (await post_event(url, payload, SECRET, timestamp=stale))[0] == 401
    assert (await post_event(url, payload, "wrong-secret"))[0] == 401
    assert (await post_raw(url, b"{}", {"Content-Type": "application/json"}))[0] == 401


async def test_bolt_app_end_to_end(fake: FakeSlack) -> None:
    """slack-bolt served over HTTP: signed events, clicks and commands in; replies to the fake."""
    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
    app = AsyncApp(client=client, signing_secret=SECRET)

    @app.event("message")
    async def on_message(event: dict[str, str], say: AsyncSay) -> None:
        await say(text=f"echo: {event['text']}", thread_ts=event["ts"])

    @app.action("claim")
    async def on_claim(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(text=f"claimed by {body['user']['id']}", replace_original=False)

    @app.command("/candor")
    async def on_command(ack: AsyncAck, command: dict[str, str]) -> None:
        await ack(text=f"status: {command['text']}")

    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        message = message_event("U0ALICE", "hello", channel="C0SUPPORT")
        status, _ = await post_event(url, event_callback(message), SECRET)
        assert status == 200
        [call] = await fake.wait_for("chat.postMessage", channel="C0SUPPORT")
        assert call.params["text"] == "echo: hello"
        assert call.params["thread_ts"] == message["ts"]
        forged, _ = await post_event(url, event_callback(message), "wrong-secret")
        assert forged == 401

        hook = fake.response_url()
        click = block_actions(
            "U0AGENT", "claim", "t1", channel="C0SUPPORT", message_ts="1.2", response_url=hook
        )
        assert (await post_interaction(url, click, SECRET))[0] == 200
        await fake.wait_for("response_url", text="claimed by U0AGENT")

        fields = slash_command("/candor", "all good?", user="U0AGENT", channel="C0SUPPORT")
        status, text = await post_command(url, fields, SECRET)
        assert (status, text) == (200, "status: all good?")  # bolt acks a bare text as is
    finally:
        await runner.cleanup()
