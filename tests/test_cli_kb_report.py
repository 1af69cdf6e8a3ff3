"""`candor kb` and `candor report` from the command line: exit codes as the README
promises them (2 for a usage error, a missing folder or file named on the command
line included; 1 for a failure of the work), `kb check` reading only articles, and
the report's period (`--since`, `--until`) applied to every section."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import EXIT_USAGE, main
from bot.knowledge.articles import article_files
from bot.model import Address, CaseState, EventKind, Identity
from bot.report import report_command
from bot.report_csv import COLUMNS
from bot.store import SQLiteStore

REPO = Path(__file__).resolve().parent.parent

ARTICLE = """+++
id = "{id}"
title = "{title}"
questions = ["{question}"]
+++
{answer}
"""

BROKEN = "no front matter at all\n"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- exit codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["kb", "check", "--knowledge", "{missing}"],
        ["kb", "ask", "anything", "--knowledge", "{missing}"],
        ["kb", "eval", "{eval}", "--knowledge", "{missing}"],
    ],
    ids=["check", "ask", "eval"],
)
def test_a_missing_knowledge_folder_is_a_usage_error_for_every_kb_command(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent"
    eval_file = _write(tmp_path, "eval.jsonl", '{"text": "hi", "article": null}\n')
    args = [a.format(missing=missing, eval=eval_file) for a in argv]
    assert main(args) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == f"candor: the knowledge folder {missing} does not exist\n"


def test_a_missing_eval_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.jsonl"
    assert main(["kb", "eval", str(missing), "--knowledge", str(REPO / "knowledge")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("candor: cannot read ") and str(missing) in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_broken_eval_line_and_a_broken_article_are_failures_of_the_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _write(tmp_path, "bad.jsonl", "not json\n")
    assert main(["kb", "eval", str(bad), "--knowledge", str(REPO / "knowledge")]) == 1
    assert "bad.jsonl:1: not JSON" in capsys.readouterr().err
    folder = tmp_path / "kb"
    _write(folder, "broken.md", BROKEN)
    assert main(["kb", "check", "--knowledge", str(folder)]) == 1


def test_the_readme_states_the_exit_codes_once_with_missing_files_as_usage_errors() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.count("Exit codes:") == 1
    rule = " ".join(readme[readme.index("Exit codes:") :].split("\n\n")[0].split())
    assert "2 a usage or configuration error" in rule
    assert "does not exist" in rule


# -- which files are articles ------------------------------------------------------------


def test_kb_check_skips_hidden_and_virtual_environment_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = ARTICLE.format(id="hours", title="Hours", question="when are you open", answer="9-5")
    _write(tmp_path, "hours.md", good)
    _write(tmp_path, "more/prices.md", good.replace("hours", "prices").replace("open", "cheap"))
    # what `--knowledge .` finds in a project folder: none of it is an article
    _write(tmp_path, ".venv/pyvenv.cfg", "home = /usr/bin\n")
    _write(tmp_path, ".venv/lib/python3.11/site-packages/pkg/LICENSE.md", BROKEN)
    _write(tmp_path, "venv/pyvenv.cfg", "home = /usr/bin\n")
    _write(tmp_path, "venv/lib/LICENSE.md", BROKEN)
    _write(tmp_path, "env/lib/site-packages/pkg/LICENSE.md", BROKEN)
    _write(tmp_path, "web/node_modules/pkg/README.md", BROKEN)
    _write(tmp_path, "web/node_modules/pkg/CHANGELOG.md", BROKEN)
    _write(tmp_path, ".git/info/notes.md", BROKEN)
    _write(tmp_path, "README.md", BROKEN)
    assert article_files(tmp_path) == [tmp_path / "hours.md", tmp_path / "more/prices.md"]
    assert main(["kb", "check", "--knowledge", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.endswith(f"2 articles checked in {tmp_path}: 0 errors, 0 warnings\n")


def test_the_shipped_knowledge_folder_reads_the_same_files() -> None:
    folder = REPO / "knowledge"
    expected = sorted(p for p in folder.rglob("*.md") if p.is_file() and p.name != "README.md")
    assert expected and article_files(folder) == expected


# -- the report's period -----------------------------------------------------------------

START = datetime(2026, 11, 1, tzinfo=UTC)


async def _database(path: Path) -> None:
    """Ideas with votes in October and in November 2026, cases opened in both."""
    store = SQLiteStore(path)
    await store.open()
    try:
        async with store.transaction() as tx:
            people = []
            for name in ("ann", "bob", "cem", "dan"):
                found, _ = await tx.customers.for_identity(
                    Identity("test", "w", name), name, Address("test", name), START
                )
                people.append(found.id)
            october = START - timedelta(days=10)
            old = await tx.ideas.add(people[0], "Dark mode", october)
            new = await tx.ideas.add(people[1], "Export to CSV", START + timedelta(days=2))
            for voter in people:  # four votes for dark mode, all in October
                await tx.ideas.vote(old, voter, october)
            for voter in people[:2]:  # two for CSV export, in November
                await tx.ideas.vote(new, voter, START + timedelta(days=3))
            await tx.ideas.vote(new, people[2], START + timedelta(days=40))  # December
    finally:
        await store.close()


async def _report(path: Path, *args: str | None, now: datetime) -> dict[str, object]:
    since, until = args
    out = io.StringIO()
    assert await report_command(path, since, True, out, now=now, until=until) == 0
    result: dict[str, object] = json.loads(out.getvalue())
    return result


async def test_top_ideas_count_only_the_votes_of_the_period(tmp_path: Path) -> None:
    db = tmp_path / "candor.sqlite3"
    await _database(db)
    now = START + timedelta(days=60)
    everything = await _report(db, None, None, now=now)
    assert everything["top_ideas"] == [
        {"text": "Dark mode", "votes": 4, "state": "open"},
        {"text": "Export to CSV", "votes": 3, "state": "open"},
    ]
    november = await _report(db, "2026-11-01", "2026-12-01", now=now)
    assert november["top_ideas"] == [{"text": "Export to CSV", "votes": 2, "state": "open"}]
    assert november["since"] == "2026-11-01T00:00:00+00:00"
    assert november["until"] < "2026-12-01" and november["until"] > "2026-11-30T23:59"
    since_november = await _report(db, "2026-11-01", None, now=now)
    assert since_november["top_ideas"] == [{"text": "Export to CSV", "votes": 3, "state": "open"}]


async def test_until_is_not_included(tmp_path: Path) -> None:
    db = tmp_path / "candor.sqlite3"
    await _database(db)
    now = START + timedelta(days=60)
    # CSV export was suggested (its author's vote) at 2026-11-03 00:00 and voted for
    # at 2026-11-04 00:00: a period ending at one of those instants leaves it out
    before = await _report(db, "2026-11-01", "2026-11-04", now=now)
    assert before["top_ideas"] == [{"text": "Export to CSV", "votes": 1, "state": "open"}]
    assert (await _report(db, "2026-11-01", "2026-11-03", now=now))["top_ideas"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2027-01-01"], "--since 2027-01-01: that is in the future"),
        (
            ["--since", "2026-11-10", "--until", "2026-11-01"],
            "--since 2026-11-10 is not before --until 2026-11-01",
        ),
        (
            ["--since", "2026-11-01", "--until", "2026-11-01"],
            "--since 2026-11-01 is not before --until 2026-11-01",
        ),
        (["--until", "next week"], "--until: expected a date like 2026-11-01"),
    ],
)
def test_a_backwards_or_future_period_is_refused_as_a_usage_error(
    args: list[str],
    message: str,
    tmp_path: Path,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["report", "--config", str(config_path), *args]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"candor: {message}") and len(err.splitlines()) == 1


def test_report_help_says_whether_until_is_included(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--until DATE" in text and "NOT included" in text
    assert "--since DATE" in text and "included" in text


# -- the report as CSV ---------------------------------------------------------------------


async def _cases(path: Path) -> list[int]:
    """Three cases on 2 November 2026: one the bot answered and an agent closed, one
    handed over (10:05), claimed by "=Maria" (10:09), answered (10:12), resolved
    (10:30) and rated 4, and one on 5 November, still with the bot. The customers'
    names are formulas and markup: none of that may reach the CSV."""
    store = SQLiteStore(path)
    await store.open()
    day = START + timedelta(days=1, hours=10)
    ids = []
    try:
        async with store.transaction() as tx:
            for n, name in enumerate(("=HYPERLINK(evil)", "+bob <b>", "@cem")):
                found, _ = await tx.customers.for_identity(
                    Identity("telegram", "w", str(n)), name, Address("telegram", str(n)), day
                )
                opened = day + timedelta(days=3 * (n == 2))
                case = await tx.cases.new(found.id, opened)
                ids.append(case.id)
                await tx.timeline.append(case.id, EventKind.CUSTOMER, "customer", name, opened)
            await tx.customers.set_language(found.id, "de", False)
            t = tx.timeline.append
            await t(ids[0], EventKind.ANSWER, "bot", "Free trial", day)
            await t(ids[0], EventKind.STATE, "Jonas", "resolved by Jonas", day)
            await t(ids[1], EventKind.UNKNOWN, "bot", "said it did not know", day)
            await t(ids[1], EventKind.HANDOVER, "bot", "=the reason", day + timedelta(minutes=5))
            await t(ids[1], EventKind.CLAIM, "=Maria", "", day + timedelta(minutes=9))
            await t(ids[1], EventKind.AGENT, "=Maria", "hi", day + timedelta(minutes=12))
            await t(ids[1], EventKind.RATING, "customer", "4", day, {"score": 4})
            for n, minutes in ((0, 1), (1, 30)):
                case = await tx.cases.get(ids[n])
                assert case is not None
                done = day + timedelta(minutes=minutes)
                await tx.cases.update(replace(case, state=CaseState.RESOLVED, resolved_at=done))
    finally:
        await store.close()
    return ids


async def test_the_csv_has_a_row_per_case_and_no_customer_words(tmp_path: Path) -> None:
    db = tmp_path / "candor.sqlite3"
    ids = await _cases(db)
    out = io.StringIO()
    now = START + timedelta(days=30)
    assert await report_command(db, None, False, out, now=now, csv_to="-") == 0
    printed = out.getvalue()
    assert not printed.startswith("\ufeff")  # no byte-order mark on the command line
    assert "\r\n" in printed
    rows = list(csv.DictReader(io.StringIO(printed)))
    assert list(rows[0]) == [name for name, _ in COLUMNS]
    assert [int(r["case"]) for r in rows] == ids
    alone, handed, open_ = rows
    assert (alone["bot_alone"], alone["state"], alone["resolution_s"]) == ("1", "resolved", "60")
    assert handed == {
        **handed,
        "opened_at": "2026-11-02T10:00:00+00:00",
        "channel": "telegram",
        "language": "",
        "state": "resolved",
        "handed_over_at": "2026-11-02T10:05:00+00:00",
        "handover_reason": "'=the reason",  # a formula neutralised
        "handovers": "1",
        "first_agent": "'=Maria",
        "claimed_at": "2026-11-02T10:09:00+00:00",
        "first_reply_at": "2026-11-02T10:12:00+00:00",
        "resolved_at": "2026-11-02T10:30:00+00:00",
        "wait_to_claim_s": "240",
        "first_reply_s": "420",
        "resolution_s": "1800",
        "rating": "4",
        "bot_alone": "0",
        "unanswered": "1",
        "agent_replies": "1",
    }
    assert (open_["state"], open_["language"], open_["resolved_at"], open_["bot_alone"]) == (
        "bot",
        "de",
        "",
        "0",
    )
    for words in ("HYPERLINK", "bob", "<b>", "@cem", "hi", "Free trial"):
        assert words not in printed  # no customer's name or words, no reply's text


async def test_the_csv_to_a_file_with_until(tmp_path: Path) -> None:
    db = tmp_path / "candor.sqlite3"
    ids = await _cases(db)
    target = tmp_path / "cases.csv"
    now = START + timedelta(days=30)
    out = io.StringIO()
    assert (
        await report_command(db, None, False, out, now=now, until="2026-11-05", csv_to=str(target))
        == 0
    )
    assert out.getvalue() == ""
    raw = target.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    assert [int(r["case"]) for r in rows] == ids[:2]  # the third opened on 5 November


def test_csv_from_the_command_line_and_its_help(
    tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["report", "--config", str(config_path), "--csv", "--json"])
    assert refused.value.code == EXIT_USAGE
    assert "not allowed with" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = capsys.readouterr().out
    for name, _ in COLUMNS:
        assert f"\n  {name} " in text


async def test_a_csv_file_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    db = tmp_path / "candor.sqlite3"
    await _cases(db)
    with pytest.raises(ValueError, match=r"^--csv .*nowhere.*: cannot write it \("):
        await report_command(
            db, None, False, io.StringIO(), csv_to=str(tmp_path / "nowhere" / "cases.csv")
        )
    with pytest.raises(ValueError, match=r"cannot write it"):
        await report_command(db, None, False, io.StringIO(), csv_to=str(tmp_path))  # a folder


def test_the_readme_documents_every_csv_column() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Reports.**") : readme.index("## The dashboard")]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {
        name
        for line in table
        for name in line.split("|")[1].replace("`", "").replace(",", " ").split()
    }
    assert documented == {name for name, _ in COLUMNS}


def test_csv_on_the_command_line_prints_the_rows(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import config as config_module

    ids = asyncio.run(_cases(config_module.load(config_path).storage.path))
    assert main(["report", "--config", str(config_path), "--csv", "--until", "2026-11-05"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [int(r["case"]) for r in rows] == ids[:2]
