"""`/link`: both sides say yes, each shown which account joins which, before
anything of one is the other's (issue 14, findings 10 and 15)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from bot.app import Candor
from bot.model import Identity, Outbound
from bot.registry import unbind
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


def code_in(reply: str) -> str:
    found = re.search(r"Your code is \*\*([A-Z0-9]{4}-[A-Z0-9]{4})\*\*", reply)
    assert found is not None, reply
    return found.group(1)


def last_to(sender: RecordingSender, who: Customer) -> Outbound:
    return [m for m in sender.sent if m.address.chat_id == who.name][-1]


def button(message: Outbound, label: str) -> str:
    [payload] = [b.payload for b in message.buttons if b.label.startswith(label)]
    return payload


async def mydata(who: Customer, sender: RecordingSender) -> str:
    """What /mydata shows and sends them, all of it as one text."""
    shown = await who.send("/mydata")
    [file] = [m for m in sender.sent if m.address.chat_id == who.name and m.delivery.file]
    sender.sent.remove(file)  # the next /mydata finds its own file
    assert file.delivery.file is not None
    return "\n".join(shown) + json.dumps(json.loads(file.delivery.file.text))


async def ann_and_mallory(
    customer_factory: Factory, app: Candor
) -> tuple[Customer, Customer, Agent, int]:
    """Ann's case, with her contract number, is with Maria; Mallory, on another
    workspace, has a code of his own and gets Ann to send it."""
    ann, mallory = customer_factory("ann"), customer_factory("mallory")
    mallory.identity = Identity("test", "evil-inc", "mallory")
    await ann.send("my contract ZX-9917 is billed twice")
    await handed_over(ann)
    maria = Agent(app, "maria")
    case = (await case_of(app, ann)).id
    await maria.press(f"desk:claim:{case}")
    await mallory.send("hello")
    return ann, mallory, maria, case


async def test_a_code_from_someone_else_joins_nothing_before_both_said_yes(
    customer_factory: Factory, app: Candor, sender: RecordingSender, desk: RecordingDesk
) -> None:
    ann, mallory, maria, case = await ann_and_mallory(customer_factory, app)
    [given] = await mallory.send("/link")
    heard = len(sender.texts("mallory"))
    [asked] = await ann.send(f"/link {code_in(given)}")
    # Ann is shown which account joins which, and warned
    assert "Join your Test account “Ann” with the Test account “Mallory”?" in asked
    assert "share cases and history" in asked and "someone else gave you" in asked
    prompt = last_to(sender, ann)
    assert [b.label for b in prompt.buttons] == ["Yes, join them", "No"]
    assert len(sender.texts("mallory")) == heard, "Mallory hears nothing of Ann yet"

    async def nothing_of_ann_reaches_mallory(reply: str) -> None:
        assert "ZX-9917" not in await mydata(mallory, sender)
        seen = len(sender.texts("mallory"))
        await maria.say(reply, case=case)
        assert reply in sender.texts("ann")[-1]
        assert not [t for t in sender.texts("mallory")[seen:] if reply in t]
        a = await app.store.customer_by_identity(ann.identity)
        m = await app.store.customer_by_identity(mallory.identity)
        assert a is not None and m is not None and a.id != m.id

    await nothing_of_ann_reaches_mallory("We are looking at ZX-9917 now.")
    [waiting] = await ann.press(button(prompt, "Yes"))  # fooled: she says yes
    assert "Now say yes on the Test account “Mallory” too" in waiting
    ask = last_to(sender, mallory)
    assert "Your /link code was entered on the Test account “Ann”" in ask.text
    assert "if you gave your code to someone else, say no" in ask.text
    assert ask.case_id == (await case_of(app, mallory)).id  # an update on his own case
    await nothing_of_ann_reaches_mallory("The refund for ZX-9917 is on its way.")
    # only when Mallory says yes too is it one customer (his own doing, and Ann's)
    [linked] = await mallory.press(button(ask, "Yes"))
    assert "Linked" in linked


async def test_a_no_from_the_one_who_entered_the_code_joins_nothing(
    customer_factory: Factory, app: Candor, sender: RecordingSender, desk: RecordingDesk
) -> None:
    ann, mallory, maria, case = await ann_and_mallory(customer_factory, app)
    [given] = await mallory.send("/link")
    await ann.send(f"/link {code_in(given)}")
    prompt = last_to(sender, ann)
    [declined] = await ann.press(button(prompt, "No"))
    assert "nothing was joined" in declined
    told = len(sender.texts("mallory"))
    # nor does a yes forged later, by either, join anything
    [stale] = await ann.press(button(prompt, "Yes"))
    assert "Nothing was joined" in stale
    [refused] = await mallory.press(button(prompt, "Yes"))  # Ann's button: not his
    assert "for someone else" in refused
    packed, _ = unbind(button(prompt, "Yes"))
    [forged] = await mallory.press(await mallory.own(packed))  # forged as his own
    assert "Nothing was joined" in forged
    assert len(sender.texts("mallory")) == told + 2  # only the answers to his own presses
    a = await app.store.customer_by_identity(ann.identity)
    m = await app.store.customer_by_identity(mallory.identity)
    assert a is not None and m is not None and a.id != m.id
    assert [c.id for c in await app.store.cases_of(a.id)] == [case]
    assert "ZX-9917" not in await mydata(mallory, sender)
    await maria.say("Still on it.", case=case)
    assert "Still on it." in sender.texts("ann")[-1]
    assert not [t for t in sender.texts("mallory") if "Still on it." in t]


async def test_a_stolen_code_entered_by_someone_else_needs_the_owner_s_yes(
    customer_factory: Factory, app: Candor, sender: RecordingSender, desk: RecordingDesk
) -> None:
    ann, mallory, _, _ = await ann_and_mallory(customer_factory, app)
    [given] = await ann.send("/link")
    await mallory.send(f"/link {code_in(given)}")
    await mallory.press(button(last_to(sender, mallory), "Yes"))
    ask = last_to(sender, ann)
    assert "Join your Test account “Ann” with it?" in ask.text
    assert "entered on the Test account “Mallory”" in ask.text
    [declined] = await ann.press(button(ask, "No"))
    assert "nothing was joined" in declined
    assert "did not confirm, so nothing was joined" in sender.texts("mallory")[-1]
    a = await app.store.customer_by_identity(ann.identity)
    m = await app.store.customer_by_identity(mallory.identity)
    assert a is not None and m is not None and a.id != m.id
    assert "ZX-9917" not in await mydata(mallory, sender)


async def test_a_link_not_confirmed_in_time_lapses_with_nothing_joined(
    customer_factory: Factory, app: Candor, sender: RecordingSender, clock: Clock
) -> None:
    ann, other = customer_factory("ann"), customer_factory("ann-elsewhere")
    [given] = await ann.send("/link")
    await other.send(f"/link {code_in(given)}")
    await other.press(button(last_to(sender, other), "Yes"))
    ask = last_to(sender, ann)
    clock.advance(minutes=31)
    [late] = await ann.press(button(ask, "Yes"))
    assert "Nothing was joined" in late and "expired" in late
    a = await app.store.customer_by_identity(ann.identity)
    b = await app.store.customer_by_identity(other.identity)
    assert a is not None and b is not None and a.id != b.id


async def test_wrong_codes_are_still_counted_after_forget(
    customer_factory: Factory, app: Candor, clock: Clock
) -> None:
    guesser = customer_factory("guesser")
    for n in range(5):
        [reply] = await guesser.send(f"/link AAAA-AAA{n}")
        assert "wrong" in reply
    await guesser.send("/forget")
    [erased] = await guesser.press("forget:yes")
    assert "erased" in erased
    [stopped] = await guesser.send("/link AAAA-AAAZ")  # back, as someone new
    assert "Too many wrong codes" in stopped
    clock.advance(minutes=61)  # the tries count for an hour, and are then dropped
    [again] = await guesser.send("/link AAAA-AAAZ")
    assert "wrong or has expired" in again
