"""Intake that nothing stops: input the platforms let through but no UTF-8 can carry
(lone surrogates), outbox rows this Candor cannot read, and what the log keeps of
customers' words. Real engine, real SQLite."""

from __future__ import annotations

import itertools
import logging
import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Candor
from bot.model import Address, Attachment, Identity, Inbound, InboundKind
from bot.text import ident, well_formed, words
from tests.conftest import Agent, RecordingSender
from tests.test_console import chat

_people = itertools.count()

# Every code point, lone surrogates included, and a few that break naive code.
weird_char = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),
    st.sampled_from(["\ud83d", "\ude00", "\u0301", "\u202e", "\x00", "\ufeff"]),
)
weird = st.text(weird_char, max_size=40)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=weird,
    name=weird,
    payload=weird,
    user=weird,
    caption=weird,
    kind=st.sampled_from(list(InboundKind)),
)
async def test_any_unicode_anywhere_in_an_inbound_is_kept_and_answered(
    app: Candor,
    sender: RecordingSender,
    text: str,
    name: str,
    payload: str,
    user: str,
    caption: str,
    kind: InboundKind,
) -> None:
    chat = f"u{next(_people)}"
    inbound = Inbound(
        f"k-{chat}-\ud800",
        Identity("test", "w\udc00", f"{chat}{user}"),
        Address("test", chat, private=True),  # a private chat, as the Customer driver's
        kind,
        text=text,
        payload=payload,
        display_name=name,
        attachments=(Attachment("photo", "ref\ud800", caption, caption),)
        if kind is InboundKind.ATTACHMENT
        else (),
    )
    receipt = await app.engine.receive(inbound)  # returns: it never raises for input
    await app.outbox.deliver_due()
    assert not receipt.duplicate
    assert sender.texts(chat), "the customer got no answer"
    again = await app.engine.receive(inbound)  # a redelivery is recognised
    assert again.duplicate


def test_well_formed_drops_lone_surrogates_and_keeps_pairs_and_ids_apart() -> None:
    assert words("a\ud83d\ude00b\ud800c") == "a😀bc"
    assert words("héllo") == "héllo"
    assert ident("U\ud800") != ident("U\ud801")
    assert ident("U\ud800").encode("utf-8")
    inbound = Inbound("k", Identity("t", "", "u"), Address("t", "c"), text="fine")
    assert well_formed(inbound) is inbound  # nothing to do costs nothing


async def test_a_desk_action_that_fails_leaves_the_agents_words_out_of_the_log(
    app: Candor, sender: RecordingSender, monkeypatch: Any, caplog: Any
) -> None:
    async def broken(tx: object, inbound: Inbound, now: object) -> list[object]:
        raise ValueError(f"cannot parse {inbound.text!r}")  # as a parser would say it

    monkeypatch.setattr(app.dialog, "handle_desk", broken)
    caplog.set_level(logging.INFO)
    await Agent(app, "maria").say("/note PRIVATE card 4242", 1)
    shown = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any("dropped after an error" in line for line in shown), shown
    assert not any("4242" in line for line in shown), shown


async def test_a_failing_turn_logs_no_customer_words_at_info(
    app: Candor, sender: RecordingSender, monkeypatch: Any, caplog: Any
) -> None:
    async def broken(tx: object, inbound: Inbound, *args: object) -> list[object]:
        raise ValueError(f"bad input: {inbound.text!r}")  # as a parser would say it

    monkeypatch.setattr(app.dialog, "handle", broken)
    caplog.set_level(logging.DEBUG)
    inbound = Inbound(
        "k1", Identity("test", "w", "ann"), Address("test", "ann"), text="my card ending 4242"
    )
    await app.engine.receive(inbound)
    await app.outbox.deliver_due()
    assert any("something went wrong" in t for t in sender.texts("ann"))
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert loud and not any("4242" in _rendered(r) for r in loud)
    assert any("4242" in _rendered(r) for r in caplog.records)  # DEBUG has it all


def _rendered(record: logging.LogRecord) -> str:
    shown = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        shown += logging.Formatter().formatException(record.exc_info)
    return shown


# -- an outbox row this Candor cannot read (finding 25) ----------------------------------


def test_candor_chat_survives_outbox_rows_it_cannot_read(config_path: Path) -> None:
    first = chat(config_path, "ann", "hi\n")
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(config_path.parent / "candor.sqlite3") as db:
        (customer,) = db.execute("SELECT customer_id FROM identities").fetchone()
        for cause, buttons in (
            ("hologram", "[]"),  # a newer Candor's cause
            ("reply", '[["Yes", "x:y"'),  # damaged
            ("reply", '{"Yes": 1}'),  # the wrong shape
        ):
            db.execute(
                "INSERT INTO outbox (id, channel, address, customer_id, cause, text, buttons,"
                " meta, created_at) VALUES ((SELECT max(id) + 1 FROM outbox), 'console',"
                " '[\"console\", \"ann\", \"\"]', ?, ?, 'from the future', ?, '{}', 0)",
                (customer, cause, buttons),
            )
        # and one whose address is damaged: it must not stop the query for the others
        db.execute(
            "INSERT INTO outbox (id, channel, address, customer_id, cause, text, buttons,"
            " meta, created_at) VALUES ((SELECT max(id) + 1 FROM outbox), 'console',"
            " '[\"console\", \"ann\"', ?, 'reply', 'damaged address', '[]', '{}', 0)",
            (customer,),
        )
    second = chat(config_path, "ann", "how much does it cost?\n")
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr
    assert "$8 per user" in second.stdout
    assert "from the future" not in second.stdout
    with sqlite3.connect(config_path.parent / "candor.sqlite3") as db:
        refused = db.execute(
            "SELECT state, error FROM outbox WHERE text = 'from the future' ORDER BY id"
        ).fetchall()
    assert [state for state, _ in refused] == ["failed"] * 3
    assert "unknown cause 'hologram'" in refused[0][1]
    assert all("cannot read" in error for _, error in refused)
    log = (config_path.parent / "candor.log").read_text(encoding="utf-8")
    assert "unknown cause 'hologram'" in log
