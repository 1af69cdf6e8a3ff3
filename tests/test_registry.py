"""One list of commands: /help, the unknown-command reply, the Telegram menu and the
README all come from the registry; button payloads go through one codec; each
channel gets commands the way its people type them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.telegram.channel import menu
from bot import config as config_module
from bot.app import FEATURES, Candor
from bot.model import Address, Identity
from bot.registry import Feature, Registry, RegistryError, pack, render_commands
from bot.text import md_escape
from tests.conftest import (
    ROOT,
    Clock,
    Customer,
    RecordingSender,
    write_articles,
    write_config,
)

Factory = Callable[[str], Customer]


def listed(text: str) -> list[str]:
    return re.findall(r"(?<![\w\\])/([a-z][a-z0-9_]*)", text)


async def test_help_unknown_and_the_menu_list_exactly_the_public_commands(
    customer_factory: Factory, app: Candor
) -> None:
    public = [c.name for c in app.registry.public_commands()]
    assert "unmute" in public and "start" not in public
    ann = customer_factory("ann")
    await ann.send("hi")
    [helped] = await ann.send("/help")
    lines = helped.split("\n\n", 1)[1].splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [f"/{name}" for name in public]
    [unknown] = await ann.send("/frobnicate")
    assert listed(unknown.split("These work:", 1)[1]) == public
    assert [c.command for c in menu(app.registry)] == public


async def test_an_unknown_command_suggests_the_closest_one(
    customer_factory: Factory, app: Candor
) -> None:
    ann = customer_factory("ann")
    await ann.send("hi")
    [reply] = await ann.send("/stauts")
    assert "I don't know the command /stauts. Did you mean /status?" in reply
    [far] = await ann.send("/xyzzyplugh")
    assert "Did you mean" not in far


def test_the_readme_table_lists_the_registry_commands() -> None:
    """Every public command is in the README's table of what a customer can type,
    and the table names no command the bot does not have."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("What a customer can do:", 1)[1].split("\n\n", 2)[1]
    first_column = [row.split("|")[1] for row in table.splitlines() if row.startswith("| `/")]
    named = {name for cell in first_column for name in listed(cell)}
    registry = Registry(FEATURES)
    public = {c.name for c in registry.public_commands()}
    assert named == public


def test_button_payloads_round_trip_and_forgeries_are_refused() -> None:
    registry = Registry(FEATURES)
    route, fields = registry.route(pack("rate", 4)) or (None, ())
    assert route is not None and route.kind == "rate" and fields == (4,)
    assert registry.route(pack("idea", "vote", 12))[1] == ("vote", 12)  # type: ignore[index]
    assert registry.route(pack("article", "free-trial"))[1] == ("free-trial",)  # type: ignore[index]
    for forged in (
        "rate:x",
        "rate:²",
        "rate:" + "9" * 5000,
        "rate:4:5",
        "rate",
        "idea:vote",
        "nosuch:1",
        "article:../../etc",
        "",
        ":",
        "desk:claim:1",  # a desk's button, pressed by a customer
    ):
        assert registry.route(forged) is None, forged
    assert registry.route("desk:claim:12", desk=True) is not None
    with pytest.raises(RegistryError):
        pack("rate", "a:b")
    with pytest.raises(RegistryError):
        pack("article", "x" * 70)


def test_two_features_cannot_declare_the_same_command() -> None:
    one, two = Feature("one"), Feature("two")

    async def handler(turn: object, args: str) -> None: ...

    one.command("status", help="a")(handler)
    two.command("stat", aliases=("status",), help="b")(handler)
    with pytest.raises(RegistryError, match="status"):
        Registry([one, two])


async def test_a_slack_customer_is_never_told_to_type_a_slash_command(app: Candor) -> None:
    slack = RecordingSender("slack")
    app.outbox.register(slack)
    ann = Customer(app, slack, "ann")
    ann.identity = Identity("slack", "T1", "U1")
    ann.address = Address("slack", "ann", private=True)  # a DM; replies recorded by chat
    replies = await ann.send("what is the capital of peru")  # "type /human or press…"
    replies += await ann.send("/help")
    replies += await ann.send("I typed /human and nothing happened")  # quoted back below
    replies += await ann.send("/status")
    replies += await ann.send("/link")  # "send `/link CODE` to me"
    [unknown] = await ann.send("/frobnicate")  # the adapter turns "!frobnicate" into this
    assert unknown.startswith("I don't know the command !frobnicate.")
    replies.append(unknown)
    names = app.registry.names()
    for text in replies:
        typed = [n for n in listed(text) if n in names]
        assert typed == [], (typed, text)
    assert any("!human" in text for text in replies)
    assert any("I typed \\/human and nothing happened" in text for text in replies)


def test_rendering_changes_only_the_cores_own_commands() -> None:
    names = {"human", "status"}
    said = "Type /human or (/status). " + md_escape("they wrote /human") + " a/human /other"
    said += " Send `/status` or https://x.example/human, see [the page](/status),"
    said += " /human-resources or /status/page."
    assert render_commands(said, "!", names) == (
        "Type !human or (!status). they wrote \\/human a/human /other"
        " Send `!status` or https://x.example/human, see [the page](/status),"
        " /human-resources or /status/page."
    )
    assert render_commands(said, "/", names) == said


async def test_an_article_that_says_type_a_command_is_rendered_for_slack(
    tmp_path: Path, clock: Clock
) -> None:
    folder = write_articles(
        tmp_path / "kb",
        {
            "cancel": (
                "Cancelling",
                ["how do I cancel", "cancel my plan"],
                "Type /human and a person cancels it for you; /status shows where it is.",
                False,
            )
        },
    )
    config = config_module.load(write_config(tmp_path, folder))
    async with Candor(config, clock=clock) as app:
        slack, terminal = RecordingSender("slack"), RecordingSender("test")
        app.outbox.register(slack)
        app.outbox.register(terminal)
        on_slack = Customer(app, slack, "ann")
        on_slack.identity = Identity("slack", "T1", "U1")
        on_slack.address = Address("slack", "ann")
        [answer] = await on_slack.send("how do I cancel")
        assert "Type !human and a person cancels it for you; !status shows" in answer
        [elsewhere] = await Customer(app, terminal, "bob").send("how do I cancel")
        assert "Type /human and a person cancels it for you; /status shows" in elsewhere


async def test_each_report_section_is_its_features_and_a_new_one_joins(
    app: Candor, clock: Clock
) -> None:
    from bot.report import ReportSection, render_report, report_from

    titles = [section.title for section in app.registry.report_sections]
    assert titles == [
        "Cases",
        "Handovers by reason",
        "Times (medians)",
        "Ratings",
        "Top unanswered questions",
        "Top ideas",
        "Feedback",
        "Replies not getting through",
        "Per agent",
        "Per channel",
        "Per language",
        "Weekly trend",
    ]
    extra = Feature("events")
    extra.report_section(
        ReportSection(
            "Events",
            99,
            lambda data: {"events": len(data.events)},
            lambda report: ["Events", f"  {report['events']} in all"],
        )
    )
    sections = Registry([*FEATURES, extra]).report_sections
    report = await report_from(app.store, None, clock.now, sections)
    assert report["events"] == 0 and report["cases_opened"] == 0
    text = render_report(report, sections)
    assert text.index("Feedback") < text.index("Events\n  0 in all")
