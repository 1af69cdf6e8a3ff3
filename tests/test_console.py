"""`candor chat` end to end: a real process, piped input, the real database."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, candor_command, write_config


def chat(
    config: Path, name: str, text: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*candor_command(), "chat", "--config", str(config), "--as", name],
        input=text,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def rows(config: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    con = sqlite3.connect(config.parent / "candor.sqlite3")
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_piped_conversation_greets_answers_and_shows_status(config_path: Path) -> None:
    result = chat(config_path, "ann", "hi\nhow much does it cost?\n/status\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    number = re.search(r"Your case number is #(\d+)", out)
    assert number, out
    assert "support bot of Northwind Cloud, not a person" in out
    assert "$8 per user" in out and "Source: the article “Plans and prices”" in out
    assert f"Case #{number.group(1)}: open, handled by the bot" in out
    assert "What happens next:" in out
    assert result.stderr == ""
    [(subject, state)] = rows(config_path, "SELECT subject, state FROM cases")
    assert (subject, state) == ("how much does it cost?", "bot")
    pending = rows(config_path, "SELECT count(*) FROM outbox WHERE state <> 'sent'")
    assert pending == [(0,)]


def test_human_puts_the_case_in_waiting(config_path: Path) -> None:
    result = chat(config_path, "ann", "/human\n1\n/status\n")  # 1: "Send it"
    assert result.returncode == 0, result.stderr
    assert "This is what I will pass on to a person" in result.stdout
    assert "[1] Send it" in result.stdout
    assert "number 1 in the queue" in result.stdout
    assert "waiting for a person" in result.stdout
    assert rows(config_path, "SELECT state, handover_reason FROM cases") == [
        ("waiting", "the customer asked for a person")
    ]


def test_coming_back_later_finds_the_same_case(config_path: Path) -> None:
    first = chat(config_path, "ann", "is there a free trial?\n")
    number = re.search(r"#(\d+)", first.stdout)
    assert number
    second = chat(config_path, "ann", "")
    assert f"Welcome back, ann. Your case #{number.group(1)} is still open" in second.stdout
    assert "is there a free trial?" in second.stdout  # what it is about, not asked again
    other = chat(config_path, "bob", "")
    assert f"#{number.group(1)}" not in other.stdout
    assert rows(config_path, "SELECT count(*) FROM cases") == [(2,)]


def test_bad_input_never_gives_a_traceback(config_path: Path) -> None:
    lines = [
        "",
        "x" * 100_000,
        "\x01\x02\x1b[2J control",
        "\u202eright to left override",
        "مرحبا، كم السعر؟",
        "🙂🙂🙂",
        "/nosuchcommand",
        "<script>alert(1)</script>",
        "7",
    ]
    result = chat(config_path, "eve", "\n".join(lines) + "\n")
    assert result.returncode == 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "I don't know the command /nosuchcommand" in result.stdout
    # every non-empty line got exactly one reply, plus the greeting at the start
    assert result.stdout.count("Candor: ") == 1 + len([line for line in lines if line])


def test_a_wrong_config_is_refused_naming_the_key(tmp_path: Path, knowledge_dir: Path) -> None:
    config = write_config(tmp_path, knowledge_dir, "[cases]\nreopen_windw_hours = 3\n")
    result = chat(config, "ann", "")
    assert result.returncode == 2
    assert "reopen_windw_hours" in result.stderr and "unknown key" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_reply_committed_before_a_kill_is_delivered_once_after_restart(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    """SIGKILL after the message is committed, before its reply is delivered
    (delivery held back with [outbox] paused): after a restart the message is on
    the case and the reply is shown exactly once."""
    held = write_config(tmp_path, knowledge_dir, outbox="paused = true")
    process = subprocess.Popen(
        [*candor_command(), "chat", "--config", str(held), "--as", "ann"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdin is not None
    process.stdin.write("is there a free trial?\n")
    process.stdin.flush()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if rows(held, "SELECT count(*) FROM events WHERE text = 'is there a free trial?'") == [
                (1,)
            ]:
                break
        except sqlite3.OperationalError:
            pass  # the database is still being created
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("the message was never committed")
    os.kill(process.pid, signal.SIGKILL)
    out, _ = process.communicate(timeout=10)
    assert "14 days" not in out  # the reply was held back, not shown
    assert rows(held, "SELECT count(*) FROM outbox WHERE state = 'pending'") == [(2,)]

    free = write_config(tmp_path, knowledge_dir)  # same database, delivery on
    result = chat(free, "ann", "")
    assert result.stdout.count("The trial lasts 14 days") == 1
    assert rows(free, "SELECT count(*) FROM outbox WHERE state = 'pending'") == [(0,)]
    again = chat(free, "ann", "")
    assert "The trial lasts 14 days" not in again.stdout
    [(text,)] = rows(free, "SELECT text FROM events WHERE kind = 'customer'")
    assert text == "is there a free trial?"


def desk(config: Path, agent: str, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*candor_command(), "desk", "--config", str(config), "--as", agent],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_both_roles_on_one_machine_chat_and_desk(config_path: Path) -> None:
    """The README walk-through: a question the bot cannot answer, handed over,
    claimed and answered on the terminal desk, resolved, rated."""
    first = chat(
        config_path,
        "ann",
        "what is the capital of peru\nwho won the football yesterday\n1\n",
    )
    assert "That's twice now I couldn't help" in first.stdout
    assert "number 1 in the queue" in first.stdout
    number = re.search(r"case #(\d+) is with the people", first.stdout)
    assert number, first.stdout
    case = number.group(1)

    agent = desk(
        config_path,
        "maria",
        f"/claim {case}\nLima, and I'll check the football for you\n/note likes football\n"
        f"/resolve\n",
    )
    assert agent.returncode == 0, agent.stderr
    assert f"[#{case}] **Case #{case}** · ann" not in agent.stdout  # markup is rendered
    assert f"[#{case}] Case #{case} · ann · on console · waiting" in agent.stdout
    assert "the bot could not answer 2 times in a row" in agent.stdout
    assert "“what is the capital of peru”" in agent.stdout
    assert f"Maria claimed case #{case}" in agent.stdout
    assert "Note saved" in agent.stdout
    assert f"Case #{case} resolved by Maria" in agent.stdout

    back = chat(config_path, "ann", "5\nvery quick, thank you\n/status\n")
    out = back.stdout
    assert "Maria from support has your case" in out
    assert "Maria (support): Lima, and I'll check the football for you" in out
    assert "likes football" not in out  # internal notes never reach the customer
    assert "How did we do?" in out and "[5] 5" in out
    assert "5 out of 5" in out and "passed that on" in out
    assert f"Case #{case}: resolved" in out
    receipts = rows(config_path, "SELECT text FROM outbox WHERE text LIKE '✓ Delivered%'")
    assert len(receipts) == 1
    unsent = "SELECT count(*) FROM outbox WHERE channel = 'console' AND state <> 'sent'"
    assert rows(config_path, unsent) == [(0,)]


def test_desk_refuses_someone_who_is_not_an_agent(config_path: Path) -> None:
    result = desk(config_path, "mallory", "/cases\n")
    assert result.returncode == 2
    assert "--as mallory: not an agent" in result.stderr


def test_report_after_a_chat(config_path: Path) -> None:
    import json

    chat(config_path, "ann", "what is the weather in paris\n/human\n1\n")
    done = subprocess.run(
        [*candor_command(), "report", "--config", str(config_path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["cases_opened"] == 1
    assert figures["top_unanswered"][0]["question"] == "what is the weather in paris"
    text = subprocess.run(
        [*candor_command(), "report", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Top unanswered questions" in text.stdout
    bad = subprocess.run(
        [*candor_command(), "report", "--config", str(config_path), "--since", "yesterday"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--since: expected a date" in bad.stderr


def test_a_forgotten_customer_s_export_file_goes_with_them(config_path: Path) -> None:
    """/mydata saves the export as a file; /forget removes it (and only theirs)."""
    exports = config_path.parent / "exports"
    for name in ("ann", "bob"):
        result = chat(config_path, name, "hi, my card ends in 4242\n/mydata\n")
        assert result.returncode == 0, result.stderr
        [saved] = (exports / name).glob("candor-data-*.json")
        assert "4242" in saved.read_text(encoding="utf-8")
        assert f"[file saved: {saved}]" in result.stdout
    result = chat(config_path, "ann", "/forget\n1\n")  # 1: "Yes, erase everything"
    assert result.returncode == 0, result.stderr
    assert "Done: everything I stored about you is erased" in result.stdout
    assert not (exports / "ann").exists()
    assert [p.name for p in exports.iterdir()] == ["bob"]
    [kept] = (exports / "bob").glob("candor-data-*.json")
    assert "4242" in kept.read_text(encoding="utf-8")
