"""On the customer's terms: /feedback, /mydata, /forget, and no unsolicited messages."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from bot.app import Candor
from bot.config import Config
from bot.model import Address, Cause, Delivery, Outbound, SentFile
from bot.registry import unbind
from tests.conftest import Agent, Customer, RecordingDesk, RecordingSender

Factory = Callable[[str], Customer]


async def test_feedback_is_recorded_posted_to_the_desk_and_thanked(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, config: Config
) -> None:
    ann = customer_factory("ann")
    [empty] = await ann.send("/feedback")
    assert "Write it after the command" in empty
    [thanks] = await ann.send("/feedback Acme's trial is 30 days <b>longer</b>")
    assert "Thank you" in thanks and "support team at Northwind Cloud" in thanks
    [notice] = [m for m in desk.sent if m.delivery.purpose == "feedback"]
    assert "Acme's trial is 30 days" in notice.text
    assert notice.cause is Cause.DESK and notice.address.thread_id == ""
    with sqlite3.connect(config.storage.path) as db:
        rows = db.execute("SELECT text FROM feedback").fetchall()
    assert rows == [("Acme's trial is 30 days <b>longer</b>",)]


async def test_mydata_shows_everything_and_sends_it_as_a_file(
    customer_factory: Factory, app: Candor, sender: RecordingSender, desk: RecordingDesk
) -> None:
    ann = customer_factory("ann")
    await ann.send("how much does it cost?")
    await ann.send("/feedback nice bot")
    await ann.send("/human")
    await ann.press("handover:send")
    maria = Agent(app, "maria")
    await maria.say("/note VIP, be quick", case=1)
    await maria.say("Hello Ann!", case=1)
    [shown] = await ann.send("/mydata")
    assert "What I store about you" in shown and "#1" in shown
    [message] = [m for m in sender.sent if m.delivery.file is not None]
    export = json.loads(message.delivery.file.text)
    assert message.delivery.file.name.endswith(".json")
    assert export["identities"] == [
        {
            "channel": "test",
            "workspace": "w",
            "user_id": "ann",
            "last_used": export["identities"][0]["last_used"],
        }
    ]
    texts = [e["text"] for case in export["cases"] for e in case["events"]]
    assert "how much does it cost?" in texts and "Hello Ann!" in texts
    assert not any("VIP" in t for t in texts)  # internal notes are not the customer's data
    assert export["feedback"][0]["text"] == "nice bot"
    assert export["preferences"] == {
        "notices_muted_until": None,
        "notices_muted_until_you_write": False,
        "quiet_hours": "",
        "community_places_offered": True,
    }


async def test_forget_erases_every_trace_after_confirmation(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, config: Config
) -> None:
    ann = customer_factory("ann-unique-id")
    bob = customer_factory("bob")
    await ann.send("my secret question about invoices")
    await ann.send("/feedback secret feedback")
    await ann.send("/human please, secret details")
    await ann.press("handover:send")
    await Agent(app, "maria").say("secret agent reply", case=1)
    await bob.send("how much does it cost?")
    [confirm] = await ann.send("/forget")
    assert "Erase everything now?" in confirm
    [kept] = await ann.press("forget:no")
    assert "Nothing was erased" in kept
    await ann.send("/forget")
    [done] = await ann.press("forget:yes")
    assert "everything I stored about you is erased" in done
    closed = [m for m in desk.sent if m.delivery.purpose == "forgotten"]
    assert closed and "closed" in closed[0].text

    with sqlite3.connect(config.storage.path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        everything = []
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                everything.append(" ".join(str(v) for v in row))
        dump = "\n".join(everything)
        assert "ann-unique-id" not in dump
        assert "secret" not in dump
        assert "Ann-Unique-Id" not in dump
        assert "how much does it cost?" in dump  # bob is untouched
        states = db.execute("SELECT state FROM cases ORDER BY id").fetchall()
        assert states[0] == ("resolved",)  # the anonymous count stays
    # writing again starts from nothing
    [greeting] = await ann.send("hello")
    assert "#3" in greeting or "case" in greeting.lower()


async def test_a_message_without_an_allowed_cause_never_leaves(
    app: Candor, sender: RecordingSender, desk: RecordingDesk, config: Config
) -> None:
    async with app.store.transaction() as tx:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        await tx.outbox.enqueue(
            Outbound(Address("test", "ann"), "Buy our new plan!", Cause.DESK), now
        )
        await tx.outbox.enqueue(Outbound(Address("test", "ann"), "Status?", Cause.CASE_UPDATE), now)
        await tx.outbox.enqueue(Outbound(Address("desk", "terminal"), "hi", Cause.REPLY), now)
    await app.outbox.deliver_due()
    assert sender.sent == [] and desk.sent == []
    with sqlite3.connect(config.storage.path) as db:
        rows = db.execute("SELECT state, error FROM outbox ORDER BY id").fetchall()
    assert [state for state, _ in rows] == ["failed", "failed", "failed"]
    assert all(error.startswith("refused:") for _, error in rows)


def test_exports_in_the_terminal_chat_are_saved_as_files(tmp_path: Path) -> None:
    import io

    from adapters.console.chat import ConsoleSender

    out = io.StringIO()
    console = ConsoleSender(out, "Candor", files=tmp_path / "exports")
    message = Outbound(
        Address("console", "ann"),
        "Here it is.",
        Cause.REPLY,
        delivery=Delivery(file=SentFile("../../candor-data-1.json", '{"a": 1}')),
    )
    import asyncio

    asyncio.run(console.send(message))
    saved = tmp_path / "exports" / "ann" / "candor-data-1.json"
    assert saved.read_text(encoding="utf-8") == '{"a": 1}'
    assert str(saved) in out.getvalue()


async def test_link_joins_two_channels_into_one_customer_and_case(
    customer_factory: Factory,
    app: Candor,
    desk: RecordingDesk,
    sender: RecordingSender,
    clock: object,
) -> None:
    import re

    from bot.model import Identity

    ann = customer_factory("ann")
    other = customer_factory("ann-elsewhere")
    other.identity = Identity("test", "other-workspace", "ann-elsewhere")
    await ann.send("how much does it cost?")
    await ann.send("/human")
    await ann.press("handover:send")
    await other.send("hello, my invoice is wrong")
    [given] = await ann.send("/link")
    code = re.search(r"\*\*([A-Z0-9]{4}-[A-Z0-9]{4})\*\*", given)
    assert code is not None
    [wrong] = await other.send("/link ABCD-EFGH")
    assert "wrong or has expired" in wrong
    [asked] = await other.send(f"/link {code.group(1).lower()}")
    assert "Join your Test account “Ann-Elsewhere” with the Test account “Ann”?" in asked
    [entered, _] = [m for m in sender.sent if m.address.chat_id == "ann-elsewhere"][-1].buttons
    [waiting] = await other.press(entered.payload)  # "Yes, join them"
    assert "Now say yes on the Test account “Ann” too" in waiting
    [ask, _] = [m for m in sender.sent if m.address.chat_id == "ann"][-1].buttons
    [linked] = await ann.press(ask.payload)
    assert "Linked" in linked and "#1" in linked and "Case #2's history" in linked
    assert linked in sender.texts("ann-elsewhere")  # told on both sides
    a = await app.store.customer_by_identity(ann.identity)
    b = await app.store.customer_by_identity(other.identity)
    assert a is not None and b is not None and a.id == b.id
    cases = await app.store.cases_of(a.id)
    assert [(c.id, c.state.value) for c in cases] == [(1, "waiting"), (2, "resolved")]
    texts = [e.text for e in await app.store.events_of(1)]
    assert texts.index("how much does it cost?") < texts.index("hello, my invoice is wrong")
    assert any(m.delivery.purpose == "linked" for m in desk.sent)
    # a code works once
    third = customer_factory("someone")
    [again] = await third.send(f"/link {code.group(1)}")
    assert "wrong or has expired" in again


async def test_link_codes_cannot_be_guessed(customer_factory: Factory, app: Candor) -> None:
    guesser = customer_factory("guesser")
    for n in range(5):
        [reply] = await guesser.send(f"/link AAAA-AAA{n}")
        assert "wrong" in reply
    [stopped] = await guesser.send("/link AAAA-AAAZ")
    assert "Too many wrong codes" in stopped


async def test_an_expired_link_code_does_not_work(
    customer_factory: Factory, app: Candor, clock: object
) -> None:
    import re

    ann = customer_factory("ann")
    [given] = await ann.send("/link")
    code = re.search(r"\*\*([A-Z0-9]{4}-[A-Z0-9]{4})\*\*", given)
    assert code is not None
    clock.advance(minutes=11)  # type: ignore[attr-defined]
    [late] = await customer_factory("ann-2").send(f"/link {code.group(1)}")
    assert "wrong or has expired" in late


async def test_a_returning_customer_hears_what_changed_while_away(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, clock: object
) -> None:
    from bot.model import InboundKind

    ann = customer_factory("ann")
    await ann.send("can I pay by purchase order?")
    await ann.send("/human")
    await ann.press("handover:send")
    clock.advance(hours=2)  # type: ignore[attr-defined]
    await Agent(app, "maria").say("Yes, POs are fine for yearly plans.", case=1)
    clock.advance(hours=20)  # type: ignore[attr-defined]
    [welcome] = await ann.send("", InboundKind.START)
    assert "Since you were last here: Maria from support took your case" in welcome
    assert "Yes, POs are fine for yearly plans." in welcome


async def test_incidents_tell_affected_customers_at_once_and_when_fixed(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, sender: RecordingSender
) -> None:
    maria = Agent(app, "maria")
    ann, bob, cem = customer_factory("ann"), customer_factory("bob"), customer_factory("cem")
    await bob.send("how much does it cost?")
    await maria.say("/incident Card payments fail | checkout and invoices | card payment, checkout")
    [declared] = [m for m in desk.sent if m.delivery.purpose == "incident"]
    assert "Incident #1 declared by Maria" in declared.text
    replies = await ann.send("my card payment keeps failing!!")
    assert "Known problem: Card payments fail" in replies[0]
    assert "It affects checkout and invoices" in replies[0]
    again = await ann.send("still cannot do the card payment")
    assert not any("Known problem" in r for r in again)  # told once
    [status] = await ann.send("/status")
    assert "Known problem: Card payments fail" in status
    await cem.send("is there a free trial")  # not about it: not subscribed
    await maria.say("/incident update 1 The payment provider is rolling back a change.")
    await maria.say("/incident resolve 1 Payments work again.")
    to_ann = [m.text for m in sender.sent if m.address.chat_id == "ann"]
    assert any("Update on **Card payments fail**" in t for t in to_ann)
    assert any("Fixed: Card payments fail" in t and "Payments work again." in t for t in to_ann)
    for other in ("bob", "cem"):
        assert not any("Card payments" in m.text for m in sender.sent if m.address.chat_id == other)
    [told] = [m for m in desk.sent if "resolved; told 1 subscribed customer." in m.text]
    assert told


async def test_an_incident_notice_to_someone_not_subscribed_is_refused(
    app: Candor, sender: RecordingSender, customer_factory: Factory, config: Config
) -> None:
    from datetime import UTC, datetime

    await customer_factory("ann").send("hello")
    async with app.store.transaction() as tx:
        now = datetime.now(UTC)
        number = await tx.incidents.open("Outage", "", ["outage"], "Maria", now)
        await tx.outbox.enqueue(
            Outbound(
                Address("test", "ann"),
                "We have an outage!",
                Cause.INCIDENT,
                customer_id=1,
                delivery=Delivery(incident=number),
            ),
            now,
        )
    await app.outbox.deliver_due()
    assert not any("outage" in m.text for m in sender.sent)
    with sqlite3.connect(config.storage.path) as db:
        [(error,)] = db.execute("SELECT error FROM outbox WHERE text LIKE 'We have%'").fetchall()
    assert "not subscribed" in error


async def test_ideas_are_voted_for_and_voters_hear_when_planned(
    customer_factory: Factory, app: Candor, desk: RecordingDesk, sender: RecordingSender
) -> None:
    ann, bob, cem = customer_factory("ann"), customer_factory("bob"), customer_factory("cem")
    [recorded] = await ann.send("/idea Export reports to CSV")
    assert "recorded as #1" in recorded
    assert any(m.delivery.purpose == "idea" and "Export reports" in m.text for m in desk.sent)
    [same] = await bob.send("/idea export reports to csv")
    assert "suggested that already" in same and "(2 now)" in same
    [listing] = await cem.send("/idea")
    assert "Export reports to CSV · 2 votes" in listing
    vote = next(m for m in sender.sent if m.address.chat_id == "cem" and m.buttons)
    assert unbind(vote.buttons[0].payload)[0] == "idea:vote:1"
    [voted] = await cem.press("idea:vote:1")
    assert "has 3 votes" in voted
    await Agent(app, "maria").say("/idea planned 1 Coming in the spring release.")
    for who in ("ann", "bob", "cem"):
        notices = [m for m in sender.sent if m.address.chat_id == who and m.cause is Cause.IDEA]
        assert len(notices) == 1 and "is planned" in notices[0].text
        assert "spring release" in notices[0].text


async def test_muted_notices_wait_and_come_together_but_replies_never_wait(
    customer_factory: Factory, app: Candor, sender: RecordingSender, clock: object
) -> None:
    ann = customer_factory("ann")
    maria = Agent(app, "maria")
    await maria.say("/incident Login is slow | sign-in | login")
    await ann.send("my login takes ages")
    [muted] = await ann.send("/mute 2h")
    assert "paused until" in muted
    await maria.say("/incident update 1 We found the cause.")
    await maria.say("/incident update 1 A fix is being tested.")
    notices = [m for m in sender.sent if m.cause is Cause.INCIDENT]
    assert notices == []
    [reply] = await ann.send("how much does it cost?")  # a reply is never held
    assert "Plans and prices" in reply
    clock.advance(hours=3)  # type: ignore[attr-defined]
    await app.outbox.deliver_due()
    [summary] = [m for m in sender.sent if m.cause is Cause.INCIDENT]
    assert summary.text.startswith("While your notices were paused:")
    assert "We found the cause." in summary.text and "A fix is being tested." in summary.text


async def test_unmute_releases_held_notices_at_once(
    customer_factory: Factory, app: Candor, sender: RecordingSender
) -> None:
    ann = customer_factory("ann")
    maria = Agent(app, "maria")
    await maria.say("/incident Login is slow | sign-in | login")
    await ann.send("my login takes ages")
    await ann.send("/mute 8h")
    await maria.say("/incident update 1 We found the cause.")
    assert [m for m in sender.sent if m.cause is Cause.INCIDENT] == []
    news, reply = await ann.send("/unmute")  # the held notice, older, comes first
    assert "We found the cause." in news and "Notices are on again" in reply


async def test_mute_until_writing_again_and_quiet_hours(
    customer_factory: Factory, app: Candor, sender: RecordingSender, clock: object
) -> None:
    ann = customer_factory("ann")
    maria = Agent(app, "maria")
    await maria.say("/incident Exports fail | exports | export")
    await ann.send("the export is broken")
    await ann.send("/mute")
    await maria.say("/incident update 1 Investigating.")
    assert [m for m in sender.sent if m.cause is Cause.INCIDENT] == []
    await ann.send("any news?")  # writing again ends the mute
    await app.outbox.deliver_due()
    [news] = [m for m in sender.sent if m.cause is Cause.INCIDENT]
    assert "Investigating." in news.text
    [bad] = await ann.send("/quiet lunchtime")
    assert "like /quiet 22:00-07:00" in bad
    [set_] = await ann.send("/quiet 09:00-12:00")  # the test clock is 10:00 UTC
    assert "Quiet hours set: 09:00-12:00" in set_
    await maria.say("/incident resolve 1 Exports work again.")
    assert len([m for m in sender.sent if m.cause is Cause.INCIDENT]) == 1
    clock.advance(hours=2, minutes=1)  # type: ignore[attr-defined]
    await app.outbox.deliver_due()
    fixed = [m for m in sender.sent if m.cause is Cause.INCIDENT]
    assert len(fixed) == 2 and "Exports work again." in fixed[-1].text


async def test_an_incident_can_match_the_questions_an_article_answers(
    customer_factory: Factory, app: Candor, sender: RecordingSender
) -> None:
    await Agent(app, "maria").say("/incident Price page is wrong | pricing | article:pricing-plans")
    [notice, answer] = await customer_factory("ann").send("how much does it cost?")
    assert "Known problem: Price page is wrong" in notice
    assert "Plans and prices" in answer
