"""`candor kb` and `candor report` from the command line: exit codes as the README
promises them (2 for a usage error, a missing folder or file named on the command
line included; 1 for a failure of the work), `kb check` reading only articles, and
the report's period (`--since`, `--until`) applied to every section."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import EXIT_USAGE, main
from bot.knowledge.articles import article_files
from bot.model import Address, Identity
from bot.report import report_command
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
