"""Issue 15, findings 7, 14 (its first two points) and 15: a press not meant for the
presser, or a stale one, is answered to the presser alone; the terminal desk says
what to do instead of switching to a case that does not exist or asking "which
case?"; the Slack card says "organisation unknown" when team.info fails.

Slack goes through the real slack-bolt against the fake Web API (tests/fakes/slack.py),
with the drivers of tests/test_slack.py; the desk is the real `candor desk` process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests import test_slack as on_slack
from tests.fakes.slack import FakeSlack
from tests.test_console import chat, desk
from tests.test_slack import ANN, BOB, HOME, MARIA, SHARED, TRIAGE, Slack, config_for, running

fake = on_slack.fake  # the fake Slack of tests/test_slack.py, with its people and channels
port = on_slack.port


def posted_in(fake: FakeSlack, channel: str, since: int) -> list[str]:
    """What the bot posted for everyone to see in `channel` after call `since`."""
    return [
        str(call.params.get("text"))
        for call in fake.calls[since:]
        if call.method == "chat.postMessage" and call.params.get("channel") == channel
    ]


async def resolved_with_rating(slack: Slack, fake: FakeSlack) -> Any:
    """Ann's case, handed over, resolved by Maria: the rating question shown to Ann."""
    await slack.say(ANN, "/human")
    [proposal] = await slack.only_to(ANN)
    await slack.press(ANN, proposal, "handover:send")
    [card] = await slack.reply_to(TRIAGE, None)
    thread = card.result["ts"]
    await slack.say(MARIA, "!resolve", channel=TRIAGE, thread_ts=thread, team=HOME)
    [rating] = await fake.wait_for(
        "chat.postMessage", 1, channel=SHARED, text=lambda t: "How did we do" in t
    )
    return rating


# -- finding 7 --------------------------------------------------------------------------


async def test_bob_pressing_ann_s_rating_button_is_answered_to_bob_alone(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config_for(tmp_path, knowledge_dir, fake, port)):
        rating = await resolved_with_rating(slack, fake)
        mark = len(fake.calls)
        status, _ = await slack.press(BOB, rating, "rate:1")
        assert status == 200
        [refused] = await fake.wait_for(
            "chat.postEphemeral", 1, user=BOB, text=lambda t: "someone else" in t
        )
        assert refused.params["channel"] == SHARED
        assert posted_in(fake, SHARED, mark) == []  # nothing for the channel to see


async def test_ann_pressing_her_rating_button_twice_hears_the_second_time_alone(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, port: int
) -> None:
    slack = Slack(fake, port)
    async with running(config_for(tmp_path, knowledge_dir, fake, port)):
        rating = await resolved_with_rating(slack, fake)
        await slack.press(ANN, rating, "rate:4")
        await fake.wait_for("chat.postMessage", 1, channel=SHARED, text=lambda t: "4 out" in t)
        mark = len(fake.calls)
        await slack.press(ANN, rating, "rate:2")  # stale: the case is rated already
        [stale] = await fake.wait_for(
            "chat.postEphemeral", 1, user=ANN, text=lambda t: "already rated" in t
        )
        assert stale.params["channel"] == SHARED
        assert posted_in(fake, SHARED, mark) == []


# -- finding 14 -------------------------------------------------------------------------


def test_the_terminal_desk_says_what_to_do_for_a_case_it_cannot_write_in(
    config_path: Path,
) -> None:
    first = chat(config_path, "ann", "hi\n")  # case #1: with the bot, never handed over
    assert first.returncode == 0, first.stderr
    agent = desk(config_path, "maria", "/open 99\nhello?\n/open 1\nhello again\n")
    assert agent.returncode == 0, agent.stderr
    out = agent.stdout
    assert "there is no case #99" in out
    assert "now writing in case #99" not in out
    assert "case #1 was never handed over to the desk" in out and "/claim 1" in out
    assert "now writing in case #1" not in out
    assert out.count("no case is open here") == 2  # both lines: what to do, said
    assert "Which case?" not in out


# -- finding 15 -------------------------------------------------------------------------


async def test_the_card_says_organisation_unknown_when_team_info_fails(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, port: int
) -> None:
    fake.fail_next("team.info", error="missing_scope", count=None)
    slack = Slack(fake, port)
    async with running(config_for(tmp_path, knowledge_dir, fake, port)):
        await slack.say(ANN, "/human")
        [proposal] = await slack.only_to(ANN)
        await slack.press(ANN, proposal, "handover:send")
        [card] = await slack.reply_to(TRIAGE, None)
        assert "Ann Lee (organisation unknown)" in on_slack.text_of(card)
    assert fake.sent("team.info") == [] and any(c.method == "team.info" for c in fake.calls)


async def test_the_card_names_the_organisation_when_team_info_answers(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, port: int
) -> None:
    fake.on("team.info", lambda params: {"team": {"id": params["team"], "name": "Acme"}})
    slack = Slack(fake, port)
    async with running(config_for(tmp_path, knowledge_dir, fake, port)):
        await slack.say(ANN, "/human")
        [proposal] = await slack.only_to(ANN)
        await slack.press(ANN, proposal, "handover:send")
        [card] = await slack.reply_to(TRIAGE, None)
        assert "Ann Lee (Acme)" in on_slack.text_of(card)


async def test_a_stale_handover_press_in_a_shared_channel_is_answered_to_the_presser_alone(
    fake: FakeSlack, tmp_path: Path, knowledge_dir: Path, port: int
) -> None:
    """The class, not only the rating: "Add something" pressed once the summary went."""
    slack = Slack(fake, port)
    async with running(config_for(tmp_path, knowledge_dir, fake, port)):
        await slack.say(ANN, "/human")
        [proposal] = await slack.only_to(ANN)
        await slack.press(ANN, proposal, "handover:send")
        await slack.reply_to(TRIAGE, None)
        await fake.wait_for("chat.postMessage", 1, channel=SHARED, text=lambda t: "Done" in t)
        mark = len(fake.calls)
        await slack.press(ANN, proposal, "handover:add")
        [stale] = await fake.wait_for(
            "chat.postEphemeral", 1, user=ANN, text=lambda t: "nothing waiting" in t
        )
        assert stale.params["channel"] == SHARED
        assert posted_in(fake, SHARED, mark) == []
