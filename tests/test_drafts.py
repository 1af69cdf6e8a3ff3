"""The knowledge base learns from agents: /article writes a draft that answers
nobody until it is moved into the knowledge folder; /teach adds an example to an
article. Real engine, real SQLite, the terminal desk, the fake clock."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import Candor
from bot.cli import main
from bot.knowledge.articles import load_articles, parse_article
from bot.knowledge.drafts import DraftError, with_question, write_draft
from bot.knowledge.tools import kb_check
from bot.report import build_report, render_report
from tests.conftest import Agent, Clock, Customer, RecordingDesk, case_of, handed_over

Factory = Callable[[str], Customer]
QUESTION = "can I pay by SEPA direct debit"
REPLY = "Yes: SEPA direct debit works on yearly plans; choose it under Billing → Payment."


async def _handed_over_with_reply(
    ann: Customer, maria: Agent, app: Candor, question: str = QUESTION, reply: str = REPLY
) -> int:
    [unknown] = await ann.send(question)
    assert "Northwind" in unknown or "know" in unknown.lower()  # not answered
    await handed_over(ann)
    case = await case_of(app, ann)
    await maria.say(f"/claim {case.id}")
    await ann.send("hello?")  # a later message is not the case's question
    await maria.say(reply, case.id)
    return case.id


async def test_article_writes_a_draft_that_answers_nobody_until_it_is_moved_in(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
    clock: Clock,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _handed_over_with_reply(ann, maria, app)
    await maria.say("/article", case)
    told = desk.sent[-1].text
    assert "Draft article **can-i-pay-by-sepa-direct-debit**" in told
    draft = knowledge_dir / "drafts" / "can-i-pay-by-sepa-direct-debit.md"
    article, problems = parse_article(draft, draft.read_text(encoding="utf-8"))
    assert article is not None and not [p for p in problems if p.severity == "error"]
    assert article.questions[0] == QUESTION and article.body == REPLY
    assert article.title == "Can I pay by SEPA direct debit"
    out = io.StringIO()
    assert kb_check(knowledge_dir, out) == 0
    assert "1 draft checked" in out.getvalue() and "0 errors" in out.getvalue()

    app.reload_knowledge()  # a reload reads the knowledge folder, never its drafts
    bob = customer_factory("bob")
    clock.advance(minutes=1)
    assert all("SEPA direct debit works" not in t for t in await bob.send(QUESTION))
    capsys.readouterr()
    args = ["kb", "drafts", "--config", str(config_path), "--json"]
    assert await asyncio.to_thread(main, args) == 0
    [listed] = json.loads(capsys.readouterr().out)["drafts"]
    assert (listed["id"], listed["question"]) == ("can-i-pay-by-sepa-direct-debit", QUESTION)
    assert (listed["asked"], listed["unanswered"]) == (2, 2)  # Ann's and Bob's
    report = render_report(await build_report(app.config.storage.path, None, clock.now))
    unanswered = report.split("Top unanswered questions")[1].split("\n\n")[0]
    assert "can i pay by sepa direct debit" in unanswered
    assert "/article N turns an agent's reply" in unanswered
    assert "`candor kb drafts` lists the drafts" in unanswered

    os.replace(draft, knowledge_dir / draft.name)  # a person moves it in
    app.reload_knowledge()
    cat = customer_factory("cat")
    assert any("SEPA direct debit works on yearly plans" in t for t in await cat.send(QUESTION))

    await maria.say("/article", case)  # the same again: a new name, nothing overwritten
    assert "**can-i-pay-by-sepa-direct-debit-2**" in desk.sent[-1].text
    assert (knowledge_dir / draft.name).read_text(encoding="utf-8").count(REPLY) == 1


async def test_the_agent_names_another_question_and_a_case_with_no_reply_is_refused(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    await ann.send(QUESTION)
    await handed_over(ann)
    case = (await case_of(app, ann)).id
    await maria.say(f"/article {case}")
    assert "has no reply from a person yet" in desk.sent[-1].text
    assert not (knowledge_dir / "drafts").exists() or not list(
        (knowledge_dir / "drafts").glob("*.md")
    )
    await maria.say("We take SEPA on yearly plans.", case)
    await maria.say(f"/article {case} ../../etc/passwd <b>SEPA</b> for yearly plans?")
    written = list((knowledge_dir / "drafts").glob("*.md"))
    assert [p.name for p in written] == ["etc-passwd-b-sepa-b-for-yearly-plans.md"]
    assert '"../../etc/passwd <b>SEPA</b> for yearly plans?"' in written[0].read_text("utf-8")
    assert "\\<b\\>SEPA" in desk.sent[-1].text  # escaped on the desk
    await maria.say(f"/article {case} " + "why " * 50_000)  # a huge question: cut, written
    assert "Draft article **why-why-why" in desk.sent[-1].text
    [huge] = [p for p in (knowledge_dir / "drafts").glob("why-*.md")]
    article, _ = parse_article(huge, huge.read_text("utf-8"))
    assert article is not None and len(article.questions[0]) <= 1000
    assert len(article.title) <= 82 and len(desk.sent[-1].text) < 1000


async def test_a_read_only_knowledge_folder_gets_a_clear_answer(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: a read-only folder is writable anyway")
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _handed_over_with_reply(ann, maria, app)
    os.chmod(knowledge_dir, 0o555)
    try:
        await maria.say("/article", case)
    finally:
        os.chmod(knowledge_dir, 0o755)
    told = desk.sent[-1].text
    assert f"No draft for case #{case}" in told and "cannot be made" in told
    assert not (knowledge_dir / "drafts").exists()


async def test_a_drafts_path_that_is_no_folder_gets_a_clear_answer(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _handed_over_with_reply(ann, maria, app)
    (knowledge_dir / "drafts").write_text("not a folder", encoding="utf-8")
    await maria.say("/article", case)
    told = desk.sent[-1].text
    assert f"No draft for case #{case}" in told and "drafts is not a folder" in told
    assert (knowledge_dir / "drafts").read_text(encoding="utf-8") == "not a folder"


def test_a_huge_reply_is_refused_and_weird_text_is_written_safely(tmp_path: Path) -> None:
    with pytest.raises(DraftError, match="too long"):
        write_draft(tmp_path, "why", "x" * 600_000, [], "note")
    assert list((tmp_path / "drafts").iterdir()) == []  # no temporary file left behind
    weird = 'a "quoted" \\ back\x00slash\u202e ünïcode +++\n\u0007 #12 ☃'
    written = write_draft(tmp_path, weird, "+++\nbody with a fence\n\x7f", ["a-quoted"], "n")
    article, _ = parse_article(written.path, written.path.read_text("utf-8"))
    assert article is not None
    assert article.id == "a-quoted-back-slash-unicode-12"
    assert article.questions == ('a "quoted" \\ back slash\u202e ünïcode +++ #12 ☃',)
    assert article.body == "+++\nbody with a fence"


async def test_teach_adds_the_question_and_the_article_then_answers_it(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
    clock: Clock,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    question = "we bought the wrong plan, give us our cash back"
    case = await _handed_over_with_reply(ann, maria, app, question, "Refunded, sorry.")
    before = (knowledge_dir / "refunds.md").read_bytes()
    trial = (knowledge_dir / "free-trial.md").read_bytes()
    await maria.say(f"/teach refundz {case}")
    assert "There is no article 'refundz'. Did you mean: refunds" in desk.sent[-1].text
    await maria.say(f"/teach ../refunds {case}")
    assert "There is no article" in desk.sent[-1].text
    await maria.say(f"/teach refunds {case}")
    told = desk.sent[-1].text
    assert "Added “we bought the wrong plan, give us our cash back” as an example to" in told
    assert "**refunds**, its English version" in told and "reload" in told
    after = (knowledge_dir / "refunds.md").read_bytes()
    assert after.replace(b', "we bought the wrong plan, give us our cash back"', b"") == before
    await maria.say(f"/teach refunds {case}")  # again, before any reload: the file says
    assert "already an example of refunds" in desk.sent[-1].text
    await maria.say(f"/teach free-trial {case} can I get a refund")  # another article's
    assert "“can I get a refund” is already an example of refunds" in desk.sent[-1].text
    await maria.say(f"/teach free-trial {case} ?!")
    assert "Nothing was added: the question has no words to add" in desk.sent[-1].text
    assert (knowledge_dir / "free-trial.md").read_bytes() == trial
    app.reload_knowledge()
    assert (knowledge_dir / "refunds.md").read_bytes() == after
    bob = customer_factory("bob")
    clock.advance(minutes=1)
    assert any("We refund unused months" in t for t in await bob.send(question))


def test_with_question_keeps_everything_else_byte_for_byte() -> None:
    multi = '+++\nid = "x"\ntitle = "X"\nquestions = [\n  "a ] #",  # c ]\n  "b"\n]\n+++\nBody\n'
    assert with_question(multi, "new") == multi.replace('  "b"\n', '  "b",\n  "new",\n')
    inline = '+++\ntitle = "X"\nquestions = []\n+++\nBody'
    assert with_question(inline, 'say "hi"') == inline.replace("[]", '["say \\"hi\\""]')
    none = '+++\ntitle = "X"\n+++\nBody'
    assert with_question(none, "q") == '+++\nquestions = ["q"]\ntitle = "X"\n+++\nBody'


def test_the_loader_never_reads_drafts(knowledge_dir: Path) -> None:
    write_draft(knowledge_dir, "is there a free trial", "Drafted trial.", [], "n")
    articles, problems = load_articles(knowledge_dir)
    assert sorted(a.id for a in articles) == ["free-trial", "pricing-plans", "refunds"]
    assert problems == []


def test_a_broken_draft_is_an_error_of_the_drafts_alone(knowledge_dir: Path) -> None:
    drafts = knowledge_dir / "drafts"
    drafts.mkdir()
    (drafts / "broken.md").write_text("no front matter\n", encoding="utf-8")
    (drafts / "refunds.md").write_text(
        '+++\ntitle = "Refunds again"\nquestions = ["money back"]\n+++\nNo.\n', "utf-8"
    )
    out = io.StringIO()
    assert kb_check(knowledge_dir, out) == 1
    text = out.getvalue()
    live, drafted = text.split("Drafts (never answered from")
    assert "3 articles checked" in live and "0 errors" in live
    assert "broken.md:1: error: front matter missing" in drafted
    assert "id 'refunds' is a live article's" in drafted
    assert "1 draft checked" in drafted and "2 errors" in drafted
    (drafts / "broken.md").unlink()
    (drafts / "refunds.md").rename(drafts / "money.md")
    text = (drafts / "money.md").read_text("utf-8").replace("+++\n", '+++\nid = "money"\n', 1)
    (drafts / "money.md").write_text(text, "utf-8")
    out = io.StringIO()
    assert kb_check(knowledge_dir, out) == 0  # a warning only
    assert "its question “money back” is answered already, by 'refunds'" in out.getvalue()
    assert sorted(a.id for a in load_articles(knowledge_dir)[0]) == [
        "free-trial",
        "pricing-plans",
        "refunds",
    ]


async def test_the_reply_receipt_offers_make_an_article_and_pressing_it_writes_one(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _handed_over_with_reply(ann, maria, app)
    receipt = next(m for m in reversed(desk.sent) if m.text.startswith("✓ Delivered"))
    assert [(b.label, b.payload) for b in receipt.buttons] == [
        ("Make an article", f"desk:article:{case}")
    ]
    await maria.press(f"desk:article:{case}")
    assert "Draft article **can-i-pay-by-sepa-direct-debit**" in desk.sent[-1].text
    assert (knowledge_dir / "drafts" / "can-i-pay-by-sepa-direct-debit.md").is_file()
    await agent_factory("nobody").press(f"desk:article:{case}")  # not an agent: refused
    assert "you are not one of them" in desk.sent[-1].text
    assert len(list((knowledge_dir / "drafts").glob("*.md"))) == 1


def test_a_drafts_question_and_title_keep_no_address_link_or_long_number(tmp_path: Path) -> None:
    question = (
        "refund to DE89 3704 0044 0532 0130 00 for ann.lee+shop@example.co.uk,"
        " card 4111-1111-1111-1111, see https://example.com/x?me=ann, call +49 170 1234567"
    )
    written = write_draft(tmp_path, question, "Refunds take 5 days.", [], "n")
    text = written.path.read_text("utf-8")
    for private in ("DE89", "0532", "ann.lee", "example.co.uk", "4111", "me=ann", "1234567"):
        assert private not in text and private not in written.article_id
    assert written.question == (
        "refund to [number] for [e-mail], card [number], see [link] call +[number]"
    )


async def test_the_desk_help_names_article_and_teach(
    agent_factory: Callable[[str], Agent], desk: RecordingDesk
) -> None:
    await agent_factory("maria").say("/help")
    assert (
        "/article [N] [QUESTION]: turn the case's question and your last reply"
        in desk.sent[-1].text
    )
    assert (
        "/teach ARTICLE_ID [N] [QUESTION]: add the case's question as an example"
        in desk.sent[-1].text
    )


def test_kb_drafts_without_a_config_lists_the_drafts_uncounted(
    knowledge_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kb", "drafts", "--knowledge", str(knowledge_dir)]) == 0
    assert "No drafts in" in capsys.readouterr().out
    write_draft(knowledge_dir, "do you take SEPA", "We do.", [], "n")
    assert main(["kb", "drafts", "--knowledge", str(knowledge_dir)]) == 0
    captured = capsys.readouterr()
    assert "do-you-take-sepa: not counted  “do you take SEPA”" in captured.out
    assert "listed without counts" in captured.err


async def test_a_reopened_case_gives_the_question_of_its_latest_handover(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
    clock: Clock,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    case = await _handed_over_with_reply(ann, maria, app)
    await maria.say("/resolve", case)
    clock.advance(hours=1)
    await ann.send("do you have an office in Lisbon")
    assert (await case_of(app, ann)).id == case  # reopened, and back with maria (on duty)
    await maria.say("Yes, in Alfama.", case)
    await maria.say("/article", case)
    [draft] = (knowledge_dir / "drafts").glob("*.md")
    article, _ = parse_article(draft, draft.read_text("utf-8"))
    assert article is not None
    assert (article.questions, article.body) == (
        ("do you have an office in Lisbon",),
        "Yes, in Alfama.",
    )
