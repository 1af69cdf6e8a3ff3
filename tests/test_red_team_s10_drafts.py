"""Red team, session 10: agents' drafts (/article, the "Make an article" button),
/teach, `kb check`'s drafts section and `kb drafts`. Real engine, real SQLite, the
terminal desk, the fake clock; files read back as the loader reads them."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import Candor
from bot.cli import main
from bot.knowledge.articles import body_hash, load_articles, parse_article
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.drafts import draft_counts, load_drafts, write_draft
from bot.knowledge.tools import kb_check
from bot.model import Event, EventKind
from tests.conftest import (
    Agent,
    Clock,
    Customer,
    RecordingDesk,
    case_of,
    handed_over,
    write_config,
)

Factory = Callable[[str], Customer]


@pytest.fixture
def config_path(tmp_path: Path, knowledge_dir: Path) -> Path:
    path = write_config(tmp_path, knowledge_dir)  # German is spoken too
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[storage]", 'languages = ["en", "de"]\n[storage]', 1), "utf-8")
    return path


IBAN = "DE89 3704 0044 0532 0130 00"
MAIL = "ann.lee@example.org"


async def _case_with_reply(
    ann: Customer, maria: Agent, app: Candor, question: str, reply: str
) -> int:
    await ann.send(question)
    await handed_over(ann)
    case = (await case_of(app, ann)).id
    await maria.say(f"/claim {case}")
    await maria.say(reply, case)
    return case


# -- finding 1: /teach wrote the customer's e-mail and IBAN into a live article ---------


async def test_teach_keeps_no_address_or_long_number_in_the_live_article(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    question = f"send my money back to {IBAN}, I am {MAIL}"
    case = await _case_with_reply(ann, maria, app, question, "Done, refunded.")
    await maria.say(f"/teach refunds {case}")
    told = desk.sent[-1].text
    assert "Added" in told and "**refunds**" in told
    text = (knowledge_dir / "refunds.md").read_text("utf-8")
    for private in ("DE89", "0532", "ann.lee", "example.org"):
        assert private not in text and private not in told
    [refunds] = [a for a in load_articles(knowledge_dir)[0] if a.id == "refunds"]
    assert refunds.questions[-1] == "send my money back to [number], I am [e-mail]"


# -- finding 2: an agent's reply holding a customer's address passed kb check silently ---


def test_kb_check_warns_of_an_address_or_long_number_in_a_drafts_answer(
    knowledge_dir: Path,
) -> None:
    reply = f"Hi Ann, we refunded 49 EUR to {IBAN}; the receipt went to {MAIL}."
    write_draft(knowledge_dir, "refund to my bank account", reply, [], "n")
    out = io.StringIO()
    assert kb_check(knowledge_dir, out) == 0  # a warning: the agent may mean a shop's address
    drafted = out.getvalue().split("Drafts (never answered from")[1]
    assert "looks personal (an e-mail address, a long number)" in drafted
    assert "1 draft checked" in drafted and "1 warning" in drafted
    clean = knowledge_dir / "drafts" / "refund-to-my-bank-account.md"
    clean.write_text(clean.read_text("utf-8").replace(reply, "Refunds take 5 days."), "utf-8")
    out = io.StringIO()
    assert kb_check(knowledge_dir, out) == 0
    assert "looks personal" not in out.getvalue()


# -- finding 3: a dangling link in drafts/ blocked its name for good ---------------------


async def test_a_dangling_link_in_drafts_does_not_block_the_draft(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _case_with_reply(ann, maria, app, "do you take SEPA", "We do, yearly.")
    drafts = knowledge_dir / "drafts"
    drafts.mkdir()
    os.symlink(knowledge_dir / "gone.md", drafts / "do-you-take-sepa.md")
    await maria.say(f"/article {case}")  # was: "appeared meanwhile: try again", forever
    told = desk.sent[-1].text
    assert "Draft article **do-you-take-sepa-2**" in told, told
    assert (drafts / "do-you-take-sepa.md").is_symlink()  # left as it was
    assert not (knowledge_dir / "gone.md").exists()  # nothing written through it


# -- finding 4: a draft's name could be a live file's whose id differs -------------------


def test_a_drafts_file_name_is_never_a_live_files(knowledge_dir: Path) -> None:
    live = knowledge_dir / "do-you-take-sepa.md"
    live.write_text('+++\nid = "sepa"\ntitle = "SEPA"\nquestions = ["sepa"]\n+++\nYes.\n', "utf-8")
    before = live.read_bytes()
    written = write_draft(knowledge_dir, "do you take SEPA", "We do.", ["sepa"], "n")
    assert written.path.name != live.name  # moved in as it is, it would replace sepa.md
    assert live.read_bytes() == before


# -- finding 5: /teach took another article's question without a word -------------------


async def test_teach_warns_when_another_article_answers_the_question_now(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
    clock: Clock,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _case_with_reply(ann, maria, app, "my invoice looks odd", "It is $8.")
    await maria.say(f"/teach refunds {case} how much does the cost come to")
    told = desk.sent[-1].text
    assert "Added" in told  # the agent may mean it: added, and told what it does
    assert "answered (or offered) by **pricing-plans** now" in told and "candor kb check" in told
    app.reload_knowledge()
    clock.advance(minutes=1)
    shown = await customer_factory("bob").send("how much does it cost")
    assert not any("Team is $8" in t for t in shown)  # pricing's own example: a menu now
    await maria.say(f"/teach refunds {case} refund for the wrong plan")  # no rival: no warning
    assert "Added" in desk.sent[-1].text and "answered by" not in desk.sent[-1].text


# -- finding 6: with no drafts, every message of the store was still matched ------------


def test_no_drafts_match_no_messages(knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    articles, _ = load_articles(knowledge_dir)
    at = Clock().now
    events = [
        Event(n, n, at, EventKind.CUSTOMER, "customer", f"question number {n} about sepa")
        for n in range(2000)
    ]
    decided: list[str] = []
    real = KnowledgeBase.decide

    def counted(self: KnowledgeBase, text: str, *more: object, **named: object) -> object:
        decided.append(text)
        return real(self, text, *more, **named)  # type: ignore[arg-type]

    monkeypatch.setattr(KnowledgeBase, "decide", counted)
    assert draft_counts(articles, [], events) == []  # the dashboard, `kb drafts`: 2 s here
    assert decided == []
    write_draft(knowledge_dir, "can I pay by sepa", "Yes, yearly.", [], "n")
    [row] = draft_counts(articles, load_drafts(knowledge_dir)[0], events)
    assert row.draft.id == "can-i-pay-by-sepa" and len(decided) == 2000  # each once


async def test_kb_drafts_counts_a_period_and_reads_no_database_without_drafts(
    customer_factory: Factory,
    knowledge_dir: Path,
    clock: Clock,
    config_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every event ever was read into memory and matched (0.3 ms a distinct message
    here: a million, five minutes): a period bounds it; with no drafts, nothing."""
    for name in ("ann", "bob", "cat"):
        await customer_factory(name).send("can I pay by SEPA")
        clock.advance(days=2)
    write_draft(knowledge_dir, "can I pay by SEPA", "Yes, on yearly plans.", [], "n")
    args = ["kb", "drafts", "--config", str(config_path), "--json"]
    counts = []
    for since in ([], ["--since", f"{clock.now - timedelta(days=3):%Y-%m-%d}"]):
        assert await asyncio.to_thread(main, [*args, *since]) == 0
        counts.append(json.loads(capsys.readouterr().out)["drafts"][0]["asked"])
    assert counts == [3, 1]
    assert await asyncio.to_thread(main, [*args, "--since", "yesterday"]) == 2
    assert "--since" in capsys.readouterr().err
    (tmp_path / "fresh").mkdir()  # a config whose database was never made
    fresh = ["kb", "drafts", "--config", str(write_config(tmp_path / "fresh", knowledge_dir))]
    assert await asyncio.to_thread(main, fresh) == 0
    assert "without counts" in capsys.readouterr().err  # it was looked for
    (knowledge_dir / "drafts" / "can-i-pay-by-sepa.md").unlink()
    assert await asyncio.to_thread(main, fresh) == 0
    out, err = capsys.readouterr()
    assert "No drafts in" in out and "without counts" not in err  # not looked for


# -- finding 10: /teach replaced a linked article with a copy ---------------------------


async def test_teach_on_a_linked_article_changes_the_file_it_links_to(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"  # articles kept elsewhere (a checkout), linked in
    shared.mkdir()
    (knowledge_dir / "refunds.md").rename(shared / "refunds.md")
    (knowledge_dir / "refunds.md").symlink_to(shared / "refunds.md")
    app.reload_knowledge()
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _case_with_reply(ann, maria, app, "money back for a wrong plan", "Refunded.")
    await maria.say(f"/teach refunds {case}")
    assert "Added" in desk.sent[-1].text, desk.sent[-1].text
    assert (knowledge_dir / "refunds.md").is_symlink()  # still the link, not a copy
    assert "money back for a wrong plan" in (shared / "refunds.md").read_text("utf-8")


# -- finding 12: a bidirectional control in the question reversed the draft's title ------


def test_a_drafts_title_has_no_bidirectional_control(tmp_path: Path) -> None:
    question = "refund \u202egnissim\u202c \u2067for my \u2069plan"
    written = write_draft(tmp_path, question, "Refunds take 5 days.", [], "n")
    article, _ = parse_article(written.path, written.path.read_text("utf-8"))
    assert article is not None
    assert article.title == "Refund gnissim for my plan"  # a menu's button, shown as is


# -- finding 13: a draft was readable by the bot's user alone (0600) -------------------


def test_a_draft_is_as_readable_as_its_folder(tmp_path: Path) -> None:
    (tmp_path / "drafts").mkdir(mode=0o755)
    os.chmod(tmp_path / "drafts", 0o755)  # (whatever the umask)
    written = write_draft(tmp_path, "do you take SEPA", "We do.", [], "n")
    assert written.path.stat().st_mode & 0o777 == 0o644  # the person who checks it reads it


# -- checked and found fine ----------------------------------------------------------------


def test_front_matter_breakers_in_question_and_reply_are_written_as_text(tmp_path: Path) -> None:
    question = 'a """triple""" \'\'\'q\'\'\' +++ --- \x00 \ud800 \r\n\u2028 line [x] = "y"'
    reply = '+++\n---\n"""\r\nid = "evil"\n\x00\ud83d\u2029end\n' + "ü" * 100_000
    written = write_draft(tmp_path, question, reply, [], "n\n+++\nid = 'x'")
    text = written.path.read_text("utf-8")
    article, problems = parse_article(written.path, text)
    assert article is not None and not [p for p in problems if p.severity == "error"]
    assert article.id == written.article_id == "a-triple-q-line-x-y"
    assert article.questions == ('a """triple""" \'\'\'q\'\'\' +++ --- line [x] = "y"',)
    assert article.body.startswith('+++\n---\n"""\nid = "evil"\n') and "\x00" not in text


async def test_teach_on_a_translation_leaves_kb_check_as_it_was(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    (knowledge_dir / "de").mkdir()
    english = "We refund unused months on annual plans."
    (knowledge_dir / "de" / "refunds.md").write_text(
        f'+++\nid = "refunds"\ntitle = "Erstattungen"\noriginal = "{body_hash(english)}"\n'
        'questions = ["Geld zurück"]\nhandover = true\n+++\nSie erhalten Geld zurück.\n',
        encoding="utf-8",
    )
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _case_with_reply(ann, maria, app, "money back for a wrong plan", "Refunded.")
    before = io.StringIO()
    kb_check(knowledge_dir, before)
    await maria.say(f"/teach refunds {case}")  # an English customer: the English article
    assert "its English version" in desk.sent[-1].text
    after = io.StringIO()
    assert kb_check(knowledge_dir, after) == 0
    assert "changed after this translation" not in after.getvalue()
    assert before.getvalue().count("warning") == after.getvalue().count("warning")


async def test_article_from_a_customer_or_a_forged_button_writes_nothing(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _case_with_reply(ann, maria, app, "do you take SEPA", "We do.")
    for typed in ("/article", f"!article {case}", f"/teach refunds {case}"):
        replies = await ann.send(typed)  # with her agent: passed on, as her words are
        assert not any("Draft" in r or "example" in r for r in replies)
    bob = customer_factory("bob")  # with the bot: a customer's command it does not know
    assert not any("Draft" in r for r in await bob.send("/article 1"))
    await maria.press("desk:article:99999")
    assert "There is no case #99999" in desk.sent[-1].text
    await maria.press("desk:article:x")
    await maria.press("desk:article:" + "9" * 40)  # beyond SQLite's integers
    await maria.say("/article " + "9" * 40 + " a question")
    assert "Which case?" in desk.sent[-1].text or "no case" in desk.sent[-1].text
    await maria.say(f"/teach *ref_unds* {case}")  # escaped once: shown as typed
    assert "There is no article '\\*ref\\_unds\\*'. Did you mean: refunds" in desk.sent[-1].text
    await maria.press("desk:teach:" + str(case))  # no id: asked for one
    assert "Which article?" in desk.sent[-1].text
    assert not (knowledge_dir / "drafts").exists() or not list(
        (knowledge_dir / "drafts").glob("*.md")
    )
    refunds = next(a for a in load_articles(knowledge_dir)[0] if a.id == "refunds")
    assert "do you take SEPA" not in refunds.questions


async def test_article_on_an_erased_customers_case_writes_none_of_their_words(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _case_with_reply(ann, maria, app, "do you take SEPA from Ann Lee", "We do.")
    await ann.send("/forget")
    await ann.press("forget:yes")
    await maria.say(f"/article {case}")
    assert "no question from the customer" in desk.sent[-1].text, desk.sent[-1].text
    drafts = knowledge_dir / "drafts"
    assert not drafts.exists() or not any(
        "Ann Lee" in p.read_text("utf-8") for p in drafts.iterdir()
    )


async def test_a_complaint_after_the_unanswered_question_is_not_the_drafts_question(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    await ann.send("can I pay by SEPA direct debit")
    assert "pass on to a person" in (await ann.send("this is useless, you are useless"))[-1]
    await ann.press("handover:send")
    case = (await case_of(app, ann)).id
    await maria.say(f"/claim {case}")
    await maria.say("Yes, on yearly plans.", case)
    await maria.say(f"/article {case}")
    assert "“can I pay by SEPA direct debit”" in desk.sent[-1].text


# -- finding 8: "that did not answer my question" became the draft's question and title --


async def test_a_verdict_on_an_answer_is_not_the_drafts_question(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    await ann.send("my invoice shows the wrong VAT number")  # "I don't know"
    assert "Team is $8" in (await ann.send("what plans do you have"))[0]
    await ann.send("ok")
    assert "I don't know" in (await ann.send("that did not answer my question"))[0]
    shown = await handed_over(ann)
    assert "Needs: “my invoice shows the wrong VAT number”" in shown[0]  # the summary
    case = (await case_of(app, ann)).id
    await maria.say(f"/claim {case}")
    await maria.say("Fixed: the invoice now shows your VAT number.", case)
    await maria.say(f"/article {case}")
    told = desk.sent[-1].text
    assert "**my-invoice-shows-the-wrong-vat-number**" in told, told
    assert "that-did-not" not in told


# -- finding 9: a German customer's draft said "move it into the knowledge folder" -------


async def test_a_draft_in_another_language_says_it_is_a_translation(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    await ann.send("/language")
    await ann.press("lang:de")
    await ann.send("Kann ich per Lastschrift zahlen?")
    await ann.send("/human")
    await ann.press("handover:send")
    case = (await case_of(app, ann)).id
    await maria.say("Ja, bei Jahresplänen.", case)
    await maria.say(f"/article {case}")
    [draft] = (knowledge_dir / "drafts").glob("*.md")
    note = draft.read_text("utf-8").splitlines()[1]
    assert "move this file into knowledge/de/ (the customer wrote in de)" in note, note
    assert "English article it translates" in note
    bob = customer_factory("bob")  # an English customer's draft: the knowledge folder
    case = await _case_with_reply(bob, maria, app, "do you take SEPA", "We do.")
    await maria.say(f"/article {case}")
    text = (knowledge_dir / "drafts" / "do-you-take-sepa.md").read_text("utf-8")
    assert "move this file into the knowledge folder" in text.splitlines()[1]
