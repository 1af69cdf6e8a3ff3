"""The knowledge base: loading articles, the three-way decision, and `candor kb`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, Thresholds, load_articles, parse_article
from bot.knowledge.analysis import content_words, fold, stem
from tests.conftest import ARTICLES, candor_command, write_articles

GOOD = '+++\ntitle = "Plans"\nquestions = ["how much"]\n+++\nTeam is $8.\n'


def kb_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*candor_command(), "kb", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_an_article_defaults_its_id_to_the_file_name() -> None:
    article, problems = parse_article(Path("plans.md"), GOOD)
    assert problems == []
    assert article is not None
    assert (article.id, article.title, article.questions, article.body) == (
        "plans",
        "Plans",
        ("how much",),
        "Team is $8.",
    )


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty"),
        ("no front matter\n", 1, "front matter missing"),
        ('+++\ntitle = "x"\n', 1, "never closed"),
        ('+++\ntitle = "x"\nsize = big\n+++\nbody\n', 3, "not valid TOML"),
        ('+++\nquestions = ["a"]\n+++\nbody\n', 1, "title is missing"),
        ('+++\ntitle = "x"\nquestions = "a"\n+++\nbody\n', 1, "list of strings"),
        ('+++\ntitle = "x"\nhandover = "yes"\n+++\nbody\n', 1, "true or false"),
        ('+++\nid = "Bad Id!"\ntitle = "x"\n+++\nbody\n', 1, "lower-case"),
        ('\n+++\ntitle = "x"\n+++\n\n', 5, "answer"),
    ],
)
def test_a_broken_article_is_refused_with_its_line(text: str, line: int, words: str) -> None:
    article, problems = parse_article(Path("a.md"), text)
    assert article is None
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 1
    assert errors[0].line == line and words in errors[0].message


def test_a_broken_file_is_skipped_and_the_rest_still_load(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", ARTICLES)
    (folder / "broken.md").write_text('+++\ntitle = "x"\nsize = big\n+++\nx\n', encoding="utf-8")
    (folder / "latin1.md").write_bytes(b'+++\ntitle = "caf\xe9"\n+++\nx\n')
    (folder / "zz-copy.md").write_text(
        '+++\nid = "refunds"\ntitle = "Again"\n+++\nbody\n', encoding="utf-8"
    )
    kb = KnowledgeBase.load(folder)
    assert sorted(a.id for a in kb.articles()) == ["free-trial", "pricing-plans", "refunds"]
    assert kb.get("refunds") is not None and kb.get("refunds").title == "Refunds"  # type: ignore[union-attr]
    messages = " | ".join(str(p) for p in kb.problems)
    assert "broken.md:3" in messages
    assert "latin1.md:1" in messages and "UTF-8" in messages
    assert "duplicate id 'refunds'" in messages


def test_a_missing_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    articles, problems = load_articles(tmp_path / "nowhere")
    assert articles == [] and "does not exist" in problems[0].message
    kb = KnowledgeBase.load(tmp_path / "nowhere")
    assert kb.decide("how much does it cost").kind == "unknown"


def test_normalisation_folds_case_accents_and_width() -> None:
    assert fold("ＰＲＩＣＥ Café Don’t") == "price cafe dont"
    assert content_words("What is the PRICE of the plans?") == ["price", "plans"]
    assert stem("subscriptions") == stem("subscription")


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase.load(write_articles(tmp_path / "kb", ARTICLES))


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("how much does it cost?", "pricing-plans"),
        ("HOW MUCH DOES IT COST", "pricing-plans"),
        ("how much dose it cots", "pricing-plans"),  # typos
        ("what are your prices", "pricing-plans"),  # another word form
        ("can I get my money back", "refunds"),
        ("is there a free triall", "free-trial"),
    ],
)
def test_a_clear_question_is_answered_with_the_right_article(
    kb: KnowledgeBase, question: str, article: str
) -> None:
    decision = kb.decide(question)
    assert decision.kind == "answer", decision
    assert [c.article.id for c in decision.candidates] == [article]


@pytest.mark.parametrize(
    "question",
    ["what is the weather in Paris", "write me a poem about cats", "", "???", "🙂🙂", "x" * 5000],
)
def test_a_question_nobody_wrote_about_is_not_answered(kb: KnowledgeBase, question: str) -> None:
    assert kb.decide(question).kind == "unknown"


def test_two_close_articles_make_it_ask_which_was_meant(tmp_path: Path) -> None:
    folder = write_articles(
        tmp_path / "kb",
        {
            "billing-annual": (
                "Paying yearly",
                ["can I pay yearly", "annual billing"],
                "Yes.",
                False,
            ),
            "billing-monthly": (
                "Paying monthly",
                ["can I pay monthly", "monthly billing"],
                "Yes.",
                False,
            ),
            "free-trial": ARTICLES["free-trial"],
        },
    )
    decision = KnowledgeBase.load(folder).decide("billing?")
    assert decision.kind == "clarify"
    assert {c.article.id for c in decision.candidates} == {"billing-annual", "billing-monthly"}


def test_thresholds_decide_between_answer_clarify_and_unknown(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", ARTICLES)
    strict = KnowledgeBase.load(folder, Thresholds(answer_score=1.0, clarify_score=0.3))
    assert strict.decide("how much does it cost").kind == "clarify"
    nothing = KnowledgeBase.load(folder, Thresholds(answer_score=1.0, clarify_score=1.0))
    assert nothing.decide("how much does it cost").kind == "unknown"
    with pytest.raises(ValueError, match="clarify_score"):
        Thresholds(answer_score=0.2, clarify_score=0.5)


def test_a_changed_file_is_noticed_and_reloaded(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", ARTICLES)
    kb = KnowledgeBase.load(folder)
    assert not kb.changed_on_disk()
    (folder / "invoices.md").write_text(
        '+++\ntitle = "Invoices"\nquestions = ["where is my invoice"]\n+++\nIn Settings.\n',
        encoding="utf-8",
    )
    assert kb.changed_on_disk()
    fresh = kb.reloaded()
    assert fresh.decide("where is my invoice").candidates[0].article.id == "invoices"
    assert not fresh.changed_on_disk()


def test_kb_check_reports_errors_with_file_and_line_and_exit_1(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", ARTICLES)
    ok = kb_run("check", "--knowledge", str(folder))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "3 articles checked" in ok.stdout and "0 errors" in ok.stdout
    (folder / "twin.md").write_text(
        '+++\ntitle = "Twin"\nquestions = ["Is there a FREE trial?"]\n+++\nbody\n',
        encoding="utf-8",
    )
    (folder / "bad.md").write_text('+++\ntitle = "Bad"\n+++\n', encoding="utf-8")
    bad = kb_run("check", "--knowledge", str(folder))
    assert bad.returncode == 1
    assert f"{folder / 'bad.md'}:4: error:" in bad.stdout
    assert "twin.md:1: error: the question “Is there a FREE trial?” is also in 'free-trial'" in (
        bad.stdout
    )


def test_kb_ask_explains_the_decision(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", ARTICLES)
    human = kb_run("ask", "how much does it cost", "--knowledge", str(folder))
    assert human.returncode == 0
    assert "decision: answer with “Plans and prices”" in human.stdout
    assert "*1." in human.stdout and "pricing-plans" in human.stdout
    result = json.loads(
        kb_run("ask", "weather in paris", "--knowledge", str(folder), "--json").stdout
    )
    assert result["decision"] == "unknown" and result["articles"] == []
    assert all({"article", "score", "why"} <= set(c) for c in result["candidates"])


def test_kb_eval_measures_each_outcome(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", ARTICLES)
    questions = tmp_path / "eval.jsonl"
    rows = [
        {"text": "how much does it cost", "article": "pricing-plans"},  # right
        {"text": "how much does it cost", "article": "free-trial"},  # wrong on purpose
        {"text": "is there a free trial", "article": "free-trial"},  # right
        {"text": "weather in paris", "article": None},  # refused
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    done = kb_run("eval", str(questions), "--knowledge", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["questions"] == 4 and result["in_scope"] == 3 and result["out_of_scope"] == 1
    assert result["answered_correct"] == pytest.approx(2 / 3, abs=1e-3)
    assert result["answered_wrong"] == pytest.approx(1 / 3, abs=1e-3)
    assert result["oos_refused"] == 1.0 and result["oos_answered"] == 0.0
    assert result["p99_ms"] >= result["p50_ms"] > 0
    table = kb_run("eval", str(questions), "--knowledge", str(folder))
    assert "answered WRONGLY" in table.stdout and "33.3%" in table.stdout
    assert "'how much does it cost' → pricing-plans (expected free-trial)" in table.stdout


def test_kb_eval_names_a_bad_line_and_unknown_articles(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", ARTICLES)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "hi", "article": null}\nnot json\n', encoding="utf-8")
    result = kb_run("eval", str(broken), "--knowledge", str(folder))
    assert result.returncode == 1 and f"{broken}:2: not JSON" in result.stderr
    stale = tmp_path / "stale.jsonl"
    stale.write_text('{"text": "hi", "article": "gone"}\n', encoding="utf-8")
    result = kb_run("eval", str(stale), "--knowledge", str(folder))
    assert result.returncode == 1 and "do not exist: gone" in result.stderr
    missing = kb_run("eval", str(tmp_path / "none.jsonl"), "--knowledge", str(folder))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert "Traceback" not in result.stderr + missing.stderr
