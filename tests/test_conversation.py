"""What customers met before conversation states were explicit, each held now:
the introduction, the handover offer, rating comments, unanswered questions, a
resolved case and a new topic, greetings, and triggers that respect negation.
Real engine, real SQLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.app import Candor
from bot.model import CaseState, Conversation, EventKind, InboundKind
from bot.report import build_report
from tests.conftest import (
    Agent,
    Clock,
    Customer,
    RecordingDesk,
    RecordingSender,
    case_of,
    handed_over,
)

Factory = Callable[[str], Customer]


async def resolved(app: Candor, who: Customer, question: str = "is there a free trial") -> int:
    """`who` asks, hands over, and Maria resolves the case; returns its number."""
    await who.send(question)
    await handed_over(who)
    case = await case_of(app, who)
    await Agent(app, "maria").say("/resolve", case.id)
    return case.id


# 1 -----------------------------------------------------------------------------------------


async def test_a_new_customers_first_question_is_told_it_is_a_bot_and_answered(
    customer_factory: Factory, app: Candor
) -> None:
    """Slack and Telegram webhooks have no /start: the first message is the question."""
    [reply] = await customer_factory("ann").send("how much does it cost?")
    case = await case_of(app, customer_factory("ann"))
    assert "**bot**" in reply and "not a person" in reply and f"#{case.id}" in reply
    assert reply.index("not a person") < reply.index("$8 per user")  # then the answer
    [later] = await customer_factory("ann").send("is there a free trial")
    assert "not a person" not in later and "14 days" in later  # said once


async def test_a_new_customers_first_command_or_file_also_says_it(
    customer_factory: Factory, app: Candor
) -> None:
    [status] = await customer_factory("bob").send("/status")
    assert "not a person" in status and "**Case #1**" in status


# 2 -----------------------------------------------------------------------------------------


async def test_a_question_while_the_summary_is_shown_is_answered_not_added(
    customer_factory: Factory, app: Candor, desk: RecordingDesk
) -> None:
    ann = customer_factory("ann")
    await ann.send("how much does it cost?")
    shown = await ann.send("/human")
    assert "This is what I will pass on" in shown[-1]
    [answer] = await ann.send("is there a free trial")
    assert "14 days" in answer and "Added" not in answer
    case = await case_of(app, ann)
    assert case.conversation is Conversation.AWAITING_SUMMARY_CHOICE  # the offer stays open
    await ann.press("handover:send")
    case = await case_of(app, ann)
    assert case.state is CaseState.WAITING
    assert "They added" not in case.summary and "free trial" not in case.summary


async def test_only_after_add_something_does_text_go_into_the_summary(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send("/human")
    await ann.press("handover:add")
    assert (await case_of(app, ann)).conversation is Conversation.ADDING_TO_SUMMARY
    [shown] = await ann.send("it is about invoice 42")
    assert "They added: “it is about invoice 42”" in shown
    [answer] = await ann.send("is there a free trial")  # added once; now a question again
    assert "14 days" in answer


# 3 -----------------------------------------------------------------------------------------


async def test_after_a_rating_a_question_is_answered_and_a_comment_is_passed_on(
    customer_factory: Factory, app: Candor, desk: RecordingDesk
) -> None:
    ann = customer_factory("ann")
    await resolved(app, ann)
    [thanks] = await ann.press("rate:4")
    assert "Anything to add?" in thanks
    [answer] = await ann.send("how much does it cost?")
    assert "passed that on" not in answer
    assert "something new" in answer  # another topic than the resolved case's: it asks
    [answer] = await ann.press("reopen:new")
    assert "$8 per user" in answer
    case = await case_of(app, ann)
    events = await app.store.events_of(case.id)
    assert not [e for e in events if e.kind is EventKind.RATING and e.data.get("comment")]


async def test_a_rating_comment_is_only_an_answer_to_anything_to_add(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    number = await resolved(app, ann)
    await ann.press("rate:2")
    [passed] = await ann.send("the wait was far too long")
    assert "passed that on" in passed
    assert any("the wait was far too long" in m.text for m in desk.sent)
    [again] = await ann.send("the wait was far too long, really")  # not asked any more
    assert "passed that on" not in again
    events = await app.store.events_of(number)
    comments = [e for e in events if e.kind is EventKind.RATING and e.data.get("comment")]
    assert [c.text for c in comments] == ["the wait was far too long"]


# 4 -----------------------------------------------------------------------------------------


async def test_the_second_unanswered_question_in_a_row_is_recorded_as_unanswered(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    await ann.send("what is the capital of peru")
    shown = await ann.send("who won the football")
    assert "This is what I will pass on" in shown[-1]
    assert "could not answer 2 questions" in shown[-1]
    case = await case_of(app, ann)
    unknown = [e for e in await app.store.events_of(case.id) if e.kind is EventKind.UNKNOWN]
    assert len(unknown) == 2
    report = await build_report(app.config.storage.path, None, clock.now)
    asked = {row["question"] for row in report["top_unanswered"]}
    assert asked == {"what is the capital of peru", "who won the football"}


# 5 -----------------------------------------------------------------------------------------


async def test_a_new_topic_after_a_resolved_case_asks_and_opens_a_new_case(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    first = await resolved(app, ann)
    clock.advance(hours=2)
    [asked] = await ann.send("how much does it cost?")
    assert f"about your case #{first}" in asked and "something new" in asked
    assert (await case_of(app, ann)).id == first  # nothing decided yet
    [answer] = await ann.press("reopen:new")
    assert "$8 per user" in answer  # the held question, answered on the new case
    case = await case_of(app, ann)
    assert case.id != first and case.state is CaseState.BOT
    said = [e.text for e in await app.store.events_of(case.id) if e.kind is EventKind.CUSTOMER]
    assert "how much does it cost?" in said
    old = next(c for c in await app.store.cases_of(case.customer_id) if c.id == first)
    assert old.state is CaseState.RESOLVED


async def test_the_same_topic_after_a_resolved_case_reopens_it_without_asking(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    first = await resolved(app, ann, "is there a free trial for teams")
    clock.advance(hours=2)
    await ann.send("our trial for the team ended too early")
    case = await case_of(app, ann)
    assert case.id == first and case.state is CaseState.BOT


async def test_choosing_the_resolved_case_reopens_it_with_the_question(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    first = await resolved(app, ann)
    clock.advance(hours=1)
    await ann.send("how much does it cost?")
    [answer] = await ann.press("reopen:same")
    assert "$8 per user" in answer
    case = await case_of(app, ann)
    assert case.id == first and case.state is CaseState.BOT
    [stale] = await ann.press("reopen:new")  # the question was settled
    assert "settled already" in stale


# 6 -----------------------------------------------------------------------------------------


async def test_a_returning_customer_without_a_subject_is_welcomed_back(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    await handed_over(ann)  # straight to a person: the case has no subject
    clock.advance(hours=3)
    [hello] = await ann.send("", kind=InboundKind.START)
    assert "Welcome back" in hello and "still open" in hello
    assert "not a person" not in hello  # not the first-time introduction
    assert "waiting for a person" in hello


async def test_hi_again_only_after_the_customer_has_asked_something(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send("hi")
    [second] = await ann.send("hello")
    assert "again" not in second
    await ann.send("is there a free trial")
    [third] = await ann.send("hi")
    assert "Hi again" in third


# 7 -----------------------------------------------------------------------------------------


async def test_never_wanting_a_person_is_not_a_request_for_one(
    customer_factory: Factory, app: Candor, sender: RecordingSender
) -> None:
    ann = customer_factory("ann")
    await ann.send("hello")
    [reply] = await ann.send("I never want to talk to a real person, just tell me the price")
    assert "This is what I will pass on" not in reply
    assert (await case_of(app, ann)).pending_reason == ""


async def test_asking_whether_a_plan_is_useless_is_not_frustration(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send("hello")
    [reply] = await ann.send("is the free plan useless for a team of 10?")
    assert "frustrating" not in reply and "This is what I will pass on" not in reply
    [angry] = await ann.send("this bot is useless")
    assert "frustrating" in angry


# what a review of the redesign found --------------------------------------------------------


async def test_a_message_instead_of_the_reopen_choice_loses_nothing(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    await resolved(app, ann)
    clock.advance(hours=2)
    [asked] = await ann.send("how much does it cost?")
    assert "something new" in asked
    replies = await ann.send("another thing: can I get a refund?")  # not a plain "no"
    assert "$8 per user" in replies[0]  # the question that waited, answered first
    assert any("Refunds" in reply for reply in replies[1:]), replies  # then this one
    case = await case_of(app, ann)
    said = [e.text for e in await app.store.events_of(case.id) if e.kind is EventKind.CUSTOMER]
    assert said[:2] == ["how much does it cost?", "another thing: can I get a refund?"]


async def test_a_button_pressed_instead_of_the_reopen_choice_loses_nothing(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    await resolved(app, ann)
    clock.advance(hours=2)
    await ann.send("how much does it cost?")
    replies = await ann.press("rate:5")  # the old rating buttons, still on screen
    assert "$8 per user" in replies[0]
    [stale] = await ann.press("reopen:new")
    assert "settled already" in stale


async def test_a_mute_until_writing_ends_on_a_turn_that_asks_about_the_old_case(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    await resolved(app, ann)
    await ann.send("/mute")
    clock.advance(hours=2)
    await ann.send("how much does it cost?")  # asks about case #1 or new: it is writing
    customer = await app.store.customer_by_identity(ann.identity)
    assert customer is not None
    async with app.store.transaction() as tx:
        assert (await tx.notices.quiet_of(customer.id))[1] is False


async def test_asking_for_a_person_after_a_rating_is_not_a_comment(
    customer_factory: Factory, app: Candor, desk: RecordingDesk
) -> None:
    ann = customer_factory("ann")
    await resolved(app, ann)
    await ann.press("rate:3")
    [shown] = await ann.send("/human")
    assert "This is what I will pass on" in shown
    await ann.send("/human")  # sends it
    case = await case_of(app, ann)
    assert case.state is CaseState.WAITING
    for words in ("I still need help with my invoice", "I need a person please"):
        ben = customer_factory(f"ben-{len(words)}")
        await resolved(app, ben)
        await ben.press("rate:2")
        reply = await ben.send(words)
        assert not any("passed that on" in r for r in reply), (words, reply)


async def test_hi_after_a_resolved_case_welcomes_back_and_keeps_it_resolved(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: Clock
) -> None:
    ann = customer_factory("ann")
    first = await resolved(app, ann)
    clock.advance(hours=3)
    [hello] = await ann.send("hi")
    assert "Welcome back" in hello and f"#{first}" in hello and "was resolved" in hello
    assert "not a person" not in hello
    assert (await case_of(app, ann)).state is CaseState.RESOLVED


async def test_a_redeemed_link_code_is_not_introduced_with_a_case_about_to_go(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send("is there a free trial")
    [code] = await ann.send("/link")
    typed = code.split("**")[1]
    other = customer_factory("ann-on-another-channel")
    [asked] = await other.send(f"/link {typed}")
    assert asked.startswith("Join your") and "not a person" not in asked


def test_an_article_id_too_long_for_a_button_is_left_out_of_the_buttons() -> None:
    """Article ids may be 64 characters; a button's payload may be 64 bytes in all."""
    from bot.features.answers import article_buttons
    from bot.knowledge import Candidate, KnowledgeBase, parse_article

    articles = [
        parse_article(
            Path(f"{article_id}.md"),
            f'+++\ntitle = "{title}"\nquestions = ["{title}"]\n+++\nBody.\n',
        )[0]
        for article_id, title in (("a" + "-long" * 12, "Long"), ("short", "Short"))
    ]
    assert all(article is not None for article in articles)
    kb = KnowledgeBase.of([a for a in articles if a is not None])
    options = [Candidate(article, 0.5, "") for article in kb.articles()]
    buttons = article_buttons(options)
    assert [b.label for b in buttons] == ["Short"]
    assert all(len(b.payload.encode()) <= 64 for b in buttons)
