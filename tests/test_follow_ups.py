"""The dialog around the matcher: "Did you mean X?" for a menu of one, and the
message right after an answer or a menu read as a reply to it ("yes", "that didn't
help", "the second one", "and what about yearly?"), not as a new search. Real
engine, real SQLite (and the real python-telegram-bot against the fake Bot API)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot import config as config_module
from bot.app import Candor
from bot.config import Config
from bot.features.followups import read
from bot.model import Conversation, EventKind, InboundKind
from tests.conftest import (
    ARTICLES,
    Clock,
    Customer,
    RecordingSender,
    case_of,
    write_articles,
    write_config,
)
from tests.fakes.telegram import FakeTelegram
from tests.postgres import Server as PostgresServer
from tests.test_console import chat
from tests.test_telegram import (
    ANN,
    TOKEN,
    buttons_of,
    running,
    said,
    shown,
    telegram_config,
    text_of,
)
from tests.test_telegram import case_of as tg_case_of

Factory = Callable[[str], Customer]

# what each of these questions gets from the matcher here is checked in
# test_the_questions_used_here_get_the_decisions_the_tests_need
ONE_OPTION = "can I get my data out somehow"  # -> "Did you mean “Exporting your data”?"
TWO_OPTIONS = "trial"  # -> 1. Extending a trial, 2. The free trial
CLOSE_RUNNER_UP = "how long is the trial"  # -> The free trial; Extending a trial close behind
ALONE = "money back"  # -> Refunds, nothing else close

TEST_ARTICLES = {
    "free-trial": ARTICLES["free-trial"],
    "refunds": (*ARTICLES["refunds"][:3], False),
    "team-price": (
        "The Team plan's price",
        ["how much is the team plan", "team plan price"],
        "Team costs $8 a user a month.",
        False,
    ),
    "business-price": (
        "The Business plan's price",
        ["how much is the business plan", "business plan price"],
        "Business costs $16 a user a month.",
        False,
    ),
    "team-yearly": (
        "The Team plan billed yearly",
        ["team plan yearly", "team plan billed annually"],
        "Team billed yearly is $80 a user.",
        False,
    ),
    "business-yearly": (
        "The Business plan billed yearly",
        ["business plan yearly", "business plan billed annually"],
        "Business billed yearly is $160 a user.",
        False,
    ),
    "export-data": (
        "Exporting your data",
        ["how do I export my data", "download a backup of my data"],
        "Open Settings, then Export.",
        False,
    ),
    "trial-extension": (
        "Extending a trial",
        ["can I extend my trial", "more time on the trial"],
        "Write to us for 7 more days.",
        False,
    ),
}


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    return write_articles(tmp_path / "knowledge", TEST_ARTICLES)


async def answers(app: Candor, who: Customer) -> list[str]:
    """The articles answered on their case, in order."""
    case = await case_of(app, who)
    return [
        e.data["article"] for e in await app.store.events_of(case.id) if e.kind is EventKind.ANSWER
    ]


def test_the_questions_used_here_get_the_decisions_the_tests_need(app: Candor) -> None:
    kb = app.knowledge
    one = kb.decide(ONE_OPTION)
    assert one.kind == "clarify" and [c.article.id for c in one.candidates] == ["export-data"]
    two = kb.decide(TWO_OPTIONS)
    assert [c.article.id for c in two.candidates] == ["trial-extension", "free-trial"]
    assert kb.decide(CLOSE_RUNNER_UP).kind == "answer"
    assert kb.decide(ALONE).kind == "answer"
    assert kb.decide("what about yearly?").kind == "clarify"  # alone, it is not sure


# a menu of one: "Did you mean X?" -------------------------------------------------------------


async def test_a_menu_of_one_asks_did_you_mean_with_yes_and_no(
    customer_factory: Factory, app: Candor, sender: RecordingSender
) -> None:
    ann = customer_factory("ann")
    [asked] = await ann.send(ONE_OPTION)
    assert "Did you mean “Exporting your data”?" in asked
    labels = [(b.label, b.payload) for b in sender.sent[-1].buttons]
    assert [label for label, _ in labels] == ["Yes", "No"]
    [yes] = await ann.press("article:export-data")
    assert "Open Settings, then Export." in yes
    assert "Source: the article “Exporting your data”" in yes  # named, as every answer
    assert await answers(app, ann) == ["export-data"]


@pytest.mark.parametrize("typed", ["yes", "Yep!", "yeah", "that's it", "ok", "1"])
async def test_a_typed_yes_answers_with_the_article(
    customer_factory: Factory, app: Candor, typed: str
) -> None:
    ann = customer_factory("ann")
    await ann.send(ONE_OPTION)
    [yes] = await ann.send(typed)
    assert "Source: the article “Exporting your data”" in yes
    assert await answers(app, ann) == ["export-data"]


@pytest.mark.parametrize("how", ["button", "no", "Nope.", "nah", "not that one"])
async def test_no_says_so_offers_a_person_and_never_the_same_menu_again(
    customer_factory: Factory, app: Candor, sender: RecordingSender, how: str
) -> None:
    ann = customer_factory("ann")
    await ann.send(ONE_OPTION)
    [no] = await (ann.press("notit:export-data") if how == "button" else ann.send(how))
    assert "Not that, then" in no and "say it in other words" in no
    assert "Did you mean" not in no
    assert [b.label for b in sender.sent[-1].buttons] == ["Talk to a person"]
    # said differently, the matcher finds the same article: not offered again
    again = await ann.send("backup")
    assert all("Did you mean “Exporting your data”" not in m for m in again)
    assert await answers(app, ann) == []


async def test_a_forged_or_someone_elses_yes_or_no_is_refused_and_changes_nothing(
    customer_factory: Factory, app: Candor
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    await bob.send("hello")
    await ann.send(ONE_OPTION)
    case = await case_of(app, ann)
    [unbound] = await ann.send("", InboundKind.BUTTON, payload="article:export-data")
    assert "no longer active" in unbound
    bobs = await bob.own("notit:export-data")
    [foreign] = await ann.send("", InboundKind.BUTTON, payload=bobs)
    assert "for someone else" in foreign
    assert await case_of(app, ann) == case  # the case, its wait and its count as they were
    assert await answers(app, ann) == []
    [yes] = await ann.send("yes")  # the question still stands
    assert "Source: the article “Exporting your data”" in yes


# a menu of several: a number or "the second one" picks ----------------------------------------


@pytest.mark.parametrize(
    ("typed", "article"),
    [
        ("2", "free-trial"),
        ("the second one", "free-trial"),
        ("No, the second.", "free-trial"),
        ("#1", "trial-extension"),
        ("first one", "trial-extension"),
        ("the last one", "free-trial"),
        ("no, the other one", "free-trial"),
    ],
)
async def test_a_number_or_an_ordinal_after_a_menu_picks_from_it(
    customer_factory: Factory, app: Candor, typed: str, article: str
) -> None:
    ann = customer_factory("ann")
    [menu] = await ann.send(TWO_OPTIONS)
    assert "1. Extending a trial" in menu and "2. The free trial" in menu
    [picked] = await ann.send(typed)
    title = TEST_ARTICLES[article][0]
    assert f"Source: the article “{title}”" in picked
    assert await answers(app, ann) == [article]


async def test_a_number_not_on_the_menu_asks_again_for_one_and_the_menu_still_stands(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send(TWO_OPTIONS)
    [again] = await ann.send("5")
    assert "There were 2 to choose from" in again
    [picked] = await ann.send("2")
    assert "Source: the article “The free trial”" in picked


async def test_yes_to_a_menu_of_several_asks_which_and_then_a_number_picks(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send(TWO_OPTIONS)
    [which] = await ann.send("yes")
    assert "Which one? Type its number (1 to 2)" in which
    [picked] = await ann.send("1")
    assert "Source: the article “Extending a trial”" in picked


@pytest.mark.parametrize("typed", ["none of these", "neither", "that didn't help"])
async def test_none_of_these_typed_after_a_menu_is_none_of_these(
    customer_factory: Factory, app: Candor, typed: str
) -> None:
    ann = customer_factory("ann")
    await ann.send(TWO_OPTIONS)
    [none] = await ann.send(typed)
    assert "None of those, then" in none
    case = await case_of(app, ann)
    assert case.unanswered == 1
    kinds = [e.kind for e in await app.store.events_of(case.id)]
    assert kinds.count(EventKind.UNKNOWN) == 1


# after an answer: "that didn't help" -------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["that didn't help", "Not what I asked.", "no", "nope, the other one"]
)
async def test_that_did_not_help_offers_the_next_best_never_the_same_article(
    customer_factory: Factory, app: Candor, typed: str
) -> None:
    ann = customer_factory("ann")
    [answer] = await ann.send(CLOSE_RUNNER_UP)
    assert "Source: the article “The free trial”" in answer
    [offered] = await ann.send(typed)
    assert "Did you mean “Extending a trial”?" in offered
    assert "The free trial" not in offered
    assert await answers(app, ann) == ["free-trial"]  # not answered again
    [yes] = await ann.send("yes")
    assert "Source: the article “Extending a trial”" in yes


@pytest.mark.parametrize("typed", ["thanks!", "Thank you", "perfect", "great, thanks"])
async def test_thanks_after_an_answer_is_not_an_unanswered_question(
    customer_factory: Factory, app: Candor, typed: str
) -> None:
    ann = customer_factory("ann")
    await ann.send(ALONE)
    [glad] = await ann.send(typed)
    assert "Glad that helped" in glad
    case = await case_of(app, ann)
    assert case.unanswered == 0
    assert EventKind.UNKNOWN not in [e.kind for e in await app.store.events_of(case.id)]


async def test_that_did_not_help_with_nothing_close_offers_a_person(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send(ALONE)
    shown = await ann.send("that didn't help")
    assert "nothing else close enough" in shown[0]
    assert "This is what I will pass on to a person" in shown[-1]
    case = await case_of(app, ann)
    assert case.conversation is Conversation.AWAITING_SUMMARY_CHOICE
    assert case.pending_reason == "an answer did not help"
    assert await answers(app, ann) == ["refunds"]


# nothing before it, or something else in between: a new question ------------------------------


@pytest.mark.parametrize("typed", ["no", "2", "the other one"])  # ("yes": acknowledged, below)
async def test_a_reply_with_nothing_before_it_is_a_new_question(
    customer_factory: Factory, app: Candor, typed: str
) -> None:
    ann = customer_factory("ann")
    await ann.send("hello")
    [reply] = await ann.send(typed)
    assert "I don't know that" in reply  # matched as a question: nothing fits
    assert await answers(app, ann) == []


async def test_no_after_i_dont_know_is_a_new_question(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    [unknown] = await ann.send("what is the capital of peru")
    assert "I don't know that" in unknown
    assert (await case_of(app, ann)).conversation is Conversation.NONE
    shown = await ann.send("no")
    assert "I don't know that" in shown[0]  # "no" as a question: nothing matches


async def test_the_window_is_the_bots_last_turn_only(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send(TWO_OPTIONS)
    await ann.send("/status")  # the bot said something else since the menu
    [after] = await ann.send("2")
    assert "Source" not in after and "I don't know that" in after
    assert await answers(app, ann) == []


async def test_a_long_message_is_a_new_question_whatever_it_starts_with(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send(TWO_OPTIONS)
    long = "no the second one " + "x" * 40_000
    assert read(long) == ("", 0)
    [reply] = await ann.send(long)
    assert "Source" not in reply
    assert await answers(app, ann) == []


# a short follow-up: matched with the question before it -----------------------------------------


async def test_what_about_yearly_after_an_answer_is_matched_with_the_question_before(
    customer_factory: Factory, app: Candor
) -> None:
    ann, bob = customer_factory("ann"), customer_factory("bob")
    [team] = await ann.send("how much is the team plan")
    assert "Team costs $8" in team
    [yearly] = await ann.send("what about yearly?")
    assert "Source: the article “The Team plan billed yearly”" in yearly
    assert await answers(app, ann) == ["team-price", "team-yearly"]
    [alone] = await bob.send("what about yearly?")  # without the question before: unsure
    assert "which of these" in alone and "Source" not in alone


async def test_a_follow_up_that_does_not_clear_the_thresholds_is_a_new_question(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send("how much is the team plan")
    [reply] = await ann.send("and what about the weather?")
    assert "Source" not in reply
    assert await answers(app, ann) == ["team-price"]


@pytest.mark.parametrize("typed", ["and the team plan price?", "what about the team plan?"])
async def test_a_follow_up_that_lands_on_the_article_just_shown_offers_the_next_ones(
    customer_factory: Factory, app: Candor, typed: str
) -> None:
    ann = customer_factory("ann")
    await ann.send("how much is the team plan")
    said_again, offered = await ann.send(typed)
    assert "“The Team plan's price”, the article I just showed you" in said_again
    assert "Team costs $8" not in said_again + offered  # not answered again
    assert "The Team plan's price" not in offered
    assert "Did you mean" in offered or "which of these" in offered
    assert await answers(app, ann) == ["team-price"]
    [picked] = await ann.send("1")
    assert "Source: the article" in picked and "The Team plan's price" not in picked


async def test_a_follow_up_on_the_article_just_shown_with_nothing_else_close_offers_a_person(
    customer_factory: Factory, app: Candor, sender: RecordingSender
) -> None:
    ann = customer_factory("ann")
    await ann.send(ALONE)
    [reply] = await ann.send("and what about money back?")
    assert "“Refunds”, the article I just showed you, and nothing else comes close" in reply
    assert "A person from" in reply
    assert [b.label for b in sender.sent[-1].buttons] == ["Talk to a person"]
    assert await answers(app, ann) == ["refunds"]


# it is kept on the case: a restart, another process -------------------------------------------


async def test_a_menu_is_still_answered_after_a_restart(config: Config, clock: Clock) -> None:
    async with Candor(config, clock=clock) as first:
        sender = RecordingSender()
        first.outbox.register(sender)
        [menu] = await Customer(first, sender, "ann").send(TWO_OPTIONS)
        assert "2. The free trial" in menu
    async with Candor(config, clock=clock) as second:  # a new process, the same store
        sender = RecordingSender()
        second.outbox.register(sender)
        ann = Customer(second, sender, "ann")
        [picked] = await ann.send("the second one")
        assert "Source: the article “The free trial”" in picked
        assert await answers(second, ann) == ["free-trial"]


def test_short_replies_are_read_from_explicit_phrases() -> None:
    assert read("Yes!") == ("yes", 0)
    assert read("that didn’t help") == ("unhelpful", 0)  # a "no" about an answer only
    assert read("no, that didn't help") == ("unhelpful", 0)
    assert read("nope") == ("no", 0)
    assert read("No, the other one.") == ("other", 0)
    assert read("option 3") == ("pick", 3)
    assert read("and for 50 seats?") == ("follow", 0)
    assert read("and") == ("", 0)
    assert read("great thanks") == ("thanks", 0)
    assert read("how do I export my data") == ("", 0)
    assert read("and can you tell me how to export all of the data in my account") == ("", 0)


# on a platform: the real python-telegram-bot against the fake Bot API ---------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


async def test_on_telegram_did_you_mean_has_yes_and_no_buttons_and_the_other_one_follows_an_answer(
    fake: FakeTelegram, tmp_path: Path, knowledge_dir: Path
) -> None:
    config = telegram_config(tmp_path, knowledge_dir, fake)
    async with running(config) as (app, _):
        fake.push_message(ANN, ONE_OPTION)
        [asked] = await said(fake, ANN, 1)
        assert "Did you mean" in text_of(asked) and "Exporting your data" in text_of(asked)
        assert buttons_of(asked) == [("Yes", "article:export-data"), ("No", "notit:export-data")]
        fake.push_callback(
            ANN, shown(asked, "notit:export-data"), message_id=asked.result["message_id"]
        )
        no = (await said(fake, ANN, 2))[-1]
        assert "Not that, then" in text_of(no)
        assert buttons_of(no) == [("Talk to a person", "human")]
        fake.push_message(ANN, "how long is the trial")
        answered = (await said(fake, ANN, 3))[-1]
        assert "14 days" in text_of(answered)
        fake.push_message(ANN, "no, the other one")
        offered = (await said(fake, ANN, 4))[-1]
        assert "Extending a trial" in text_of(offered)
        assert buttons_of(offered)[0] == ("Yes", "article:trial-extension")
        fake.push_callback(
            ANN, shown(offered, "article:trial-extension"), message_id=offered.result["message_id"]
        )
        yes = (await said(fake, ANN, 5))[-1]
        assert "7 more days" in text_of(yes)
        case = await tg_case_of(app, ANN)
        kept = [
            e.data["article"]
            for e in await app.store.events_of(case.id)
            if e.kind is EventKind.ANSWER
        ]
        assert kept == ["free-trial", "trial-extension"]


def test_in_candor_chat_the_yes_and_no_are_numbered_choices_and_a_typed_no_is_read(
    config_path: Path,
) -> None:
    result = chat(config_path, "ann", f"{ONE_OPTION}\n1\nhow long is the trial\nnope\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Did you mean “Exporting your data”?" in out
    assert "[1] Yes" in out and "[2] No" in out
    assert "Open Settings, then Export." in out  # "1": the Yes button
    assert "The trial lasts 14 days" in out
    assert out.count("Did you mean “Extending a trial”?") == 1  # "nope" after the answer
    assert result.stderr == ""


async def test_a_menu_shown_by_one_process_is_answered_by_another_on_postgresql(
    postgres_server: PostgresServer, tmp_path: Path, knowledge_dir: Path, clock: Clock
) -> None:
    """Two processes on one PostgreSQL database: the menu goes out from one, the
    pick arrives at the other, which reads what was offered from the case."""
    url = postgres_server.database_for(tmp_path)
    path = write_config(tmp_path, knowledge_dir)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[storage]\n", f'[storage]\nurl = "{url}"\n', 1))
    config = config_module.load(path)
    async with Candor(config, clock=clock) as one, Candor(config, clock=clock) as two:
        sender = RecordingSender()
        ann_on_one, ann_on_two = Customer(one, sender, "ann"), Customer(two, sender, "ann")
        await one.engine.receive(ann_on_one.inbound(TWO_OPTIONS))
        await two.engine.receive(ann_on_two.inbound("the second one"))
        await two.engine.receive(ann_on_two.inbound("that didn't help"))
        case = await case_of(two, ann_on_two)
        events = await two.store.events_of(case.id)
        assert [e.data["article"] for e in events if e.kind is EventKind.ANSWER] == ["free-trial"]
        [*_, offered] = [e for e in events if e.kind is EventKind.CLARIFY]
        assert offered.data["options"] == ["trial-extension"]  # the next best, once more


# /mydata: what the bot keeps to read the next message by, in words --------------------------


@pytest.mark.parametrize(
    ("question", "waiting"),
    [
        (ONE_OPTION, "your reply: I asked whether you meant “Exporting your data”"),
        (
            TWO_OPTIONS,
            "your pick from the options I offered: “Extending a trial”, “The free trial”",
        ),
        (ALONE, "whether the article “Refunds” I answered with helped you"),
    ],
)
async def test_mydata_says_in_words_what_the_bot_waits_for_never_its_note(
    customer_factory: Factory, sender: RecordingSender, question: str, waiting: str
) -> None:
    ann = customer_factory("ann")
    await ann.send(question)
    await ann.send("/mydata")
    [message] = [m for m in sender.sent if m.delivery.file is not None]
    assert message.delivery.file is not None
    [case] = json.loads(message.delivery.file.text)["cases"]
    assert case["waiting_for_you"] == waiting
    assert case["your_message_waiting"] is None
    assert '\\"after\\"' not in message.delivery.file.text and "event" not in str(
        case["waiting_for_you"]
    )


@pytest.mark.parametrize("said", ["ok", "thanks", "Ok!", "yes"])
async def test_an_ok_after_a_command_is_acknowledged_never_a_question(
    customer_factory: Factory, app: Candor, said: str
) -> None:
    """(Found following the README: "ok" after /language was "I don't know that", and
    a second one handed the case over as a repeated question.)"""
    ann = customer_factory("ann")
    await ann.send("/status")
    for _ in range(2):
        [reply] = await ann.send(said)
        assert "Ask me anything else" in reply
        assert "don't know" not in reply
    case = await case_of(app, ann)
    assert case.state.value == "bot"  # not handed over
