"""`candor kb eval` counts menus (and one-option menus) and accepts several right
articles for a question; `candor kb ask` shows the named parts of each score."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, Thresholds, load_articles, parse_article
from bot.knowledge.articles import Article
from bot.knowledge.base import Candidate, _parts
from bot.knowledge.parts import ScorePart, points_by_kind
from bot.knowledge.tools import _parts_line, evaluate, kb_ask, kb_eval, read_eval, summary
from tests.conftest import ARTICLES, write_articles
from tests.test_knowledge import kb_run

# never answers: every question with a candidate gets a menu of up to 3 options
MENUS = Thresholds(answer_score=1.0, answer_margin=1.0, clarify_score=0.0, clarify_spread=1.0)


def knowledge(tmp_path: Path, thresholds: Thresholds | None = None) -> KnowledgeBase:
    articles, problems = load_articles(write_articles(tmp_path / "kb", ARTICLES))
    assert problems == []
    return KnowledgeBase.of(articles, thresholds)


def write_rows(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_menus_and_one_option_menus_are_counted(tmp_path: Path) -> None:
    pairs = [
        ("how much does it cost", "pricing-plans"),
        ("is there a free trial", "free-trial"),
        ("refund policy", "refunds"),
        ("how much does it cost", "refunds"),
    ]
    many = summary(evaluate(knowledge(tmp_path / "a", MENUS), pairs, progress=False))
    assert many["asked_back"] == 1.0 and many["answered_correct"] == 0.0
    assert many["one_option_menus"] == 0.0  # three articles, all offered
    assert many["menu_sizes"] == {"3": 4}
    one = Thresholds(
        answer_score=1.0, answer_margin=1.0, clarify_score=0.0, clarify_spread=1.0, max_options=1
    )
    single = summary(evaluate(knowledge(tmp_path / "b", one), pairs, progress=False))
    assert single["asked_back"] == 1.0 and single["one_option_menus"] == 1.0
    assert single["menu_sizes"] == {"1": 4}
    # the one option is the best article: the right one, but for the last question
    assert single["clarified"] == 0.75 and single["clarified_without"] == 0.25
    answering = summary(evaluate(knowledge(tmp_path / "c"), pairs[:3], progress=False))
    assert answering["answered_correct"] == 1.0
    assert answering["asked_back"] == 0.0 and answering["menu_sizes"] == {}


def test_the_table_shows_the_menus(tmp_path: Path) -> None:
    questions = write_rows(
        tmp_path / "q.jsonl",
        [{"text": "how much does it cost", "article": "pricing-plans"}],
    )
    out = io.StringIO()
    assert kb_eval(knowledge(tmp_path, MENUS), questions, False, out) == 0
    lines = out.getvalue().splitlines()
    assert any(line.split()[:5] == ["asked", "back", "in", "all", "(a"] for line in lines)
    assert any("a menu of one option" in line and "0.0%" in line for line in lines)
    assert any("asked back in all" in line and "100.0%" in line for line in lines)


def test_also_names_more_articles_that_answer_rightly(tmp_path: Path) -> None:
    questions = write_rows(
        tmp_path / "q.jsonl",
        [
            # two asks in one: either article is a right answer, either offered helps
            {"text": "how much does it cost", "article": "free-trial", "also": ["pricing-plans"]},
            {"text": "how much does it cost", "article": "free-trial"},
            {"text": "weather in paris", "article": None},
        ],
    )
    pairs = read_eval(questions)
    assert pairs[0] == ("how much does it cost", ("free-trial", "pricing-plans"))
    assert pairs[1:] == [("how much does it cost", "free-trial"), ("weather in paris", None)]
    result = summary(evaluate(knowledge(tmp_path), pairs, progress=False))
    assert result["answered_correct"] == 0.5 and result["answered_wrong"] == 0.5
    out = io.StringIO()
    kb_eval(knowledge(tmp_path), questions, False, out)
    assert "→ pricing-plans (expected free-trial)" in out.getvalue()
    assert "expected free-trial or pricing-plans" not in out.getvalue()


@pytest.mark.parametrize(
    "row",
    [
        {"text": "hi", "article": "refunds", "also": "pricing-plans"},
        {"text": "hi", "article": "refunds", "also": [3]},
        {"text": "hi", "article": "refunds", "also": [""]},
        {"text": "hi", "article": None, "also": ["refunds"]},
    ],
)
def test_a_bad_also_is_named_with_its_line(tmp_path: Path, row: dict[str, object]) -> None:
    folder = write_articles(tmp_path / "kb", ARTICLES)
    bad = write_rows(tmp_path / "bad.jsonl", [{"text": "ok", "article": None}, row])
    result = kb_run("eval", str(bad), "--knowledge", str(folder))
    assert result.returncode == 1
    assert f'{bad}:2: "also" must be a list of article ids' in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_article_in_also_is_refused(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", ARTICLES)
    stale = write_rows(
        tmp_path / "stale.jsonl", [{"text": "hi", "article": "refunds", "also": ["gone"]}]
    )
    result = kb_run("eval", str(stale), "--knowledge", str(folder))
    assert result.returncode == 1 and "do not exist: gone" in result.stderr


def test_kb_eval_json_has_the_menu_figures(tmp_path: Path) -> None:
    folder = write_articles(tmp_path / "kb", ARTICLES)
    questions = write_rows(
        tmp_path / "q.jsonl", [{"text": "how much does it cost", "article": "pricing-plans"}]
    )
    done = kb_run("eval", str(questions), "--knowledge", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["answered_correct"] == 1.0
    assert result["asked_back"] == 0.0 and result["one_option_menus"] == 0.0
    assert result["menu_sizes"] == {}


def test_kb_ask_shows_the_lexical_parts_of_each_score_when_meaning_is_off(
    tmp_path: Path,
) -> None:
    articles, _ = load_articles(write_articles(tmp_path / "kb", ARTICLES))
    kb = KnowledgeBase.of(articles, semantic="off")
    out = io.StringIO()
    assert kb_ask(kb, "how much does it cost", True, out) == 0
    candidates = json.loads(out.getvalue())["candidates"]
    assert candidates
    for c in candidates:
        parts = c["parts"]
        assert [p["name"] for p in parts["detail"]] == ["words", "spelling", "closest question"]
        assert {p["kind"] for p in parts["detail"]} == {"lexical"}
        assert parts["semantic"] is None
        # the parts add up to the score (it is capped at 1)
        assert min(1.0, parts["lexical"]) == pytest.approx(c["score"], abs=1e-3)
        for p in parts["detail"]:
            assert p["points"] == pytest.approx(p["signal"] * p["weight"], abs=1e-3)
    text = io.StringIO()
    kb_ask(kb, "how much does it cost", False, text)
    shown = text.getvalue()
    assert "lexical only: this matcher has no semantic part" in shown
    assert "lexical 0." in shown and "words 0." in shown and "closest question " in shown


def test_kb_ask_shows_the_meaning_beside_the_words(tmp_path: Path) -> None:
    articles, _ = load_articles(write_articles(tmp_path / "kb", ARTICLES))
    kb = KnowledgeBase.of(articles, semantic="static")
    out = io.StringIO()
    assert kb_ask(kb, "how much does it cost", True, out) == 0
    candidates = json.loads(out.getvalue())["candidates"]
    assert candidates
    for c in candidates:
        parts = c["parts"]
        names = [p["name"] for p in parts["detail"]]
        assert names == ["words", "spelling", "closest question", "meaning"]
        assert parts["semantic"] is not None  # 0 when the meaning is no closer than chance
        # lexical (scaled down to its share) and meaning add up to the fused score
        assert parts["lexical"] + parts["semantic"] == pytest.approx(c["score"], abs=1e-3)
    assert candidates[0]["parts"]["semantic"] > 0  # the pricing article means what was asked
    text = io.StringIO()
    kb_ask(kb, "how much does it cost", False, text)
    shown = text.getvalue()
    assert "lexical only" not in shown and "semantic 0." in shown and "meaning 0." in shown


@dataclass(frozen=True)
class _Fused:
    """A matcher result that carries its own parts, as a fused matcher's would."""

    coverage: float
    shape: float
    closeness: float
    parts: tuple[ScorePart, ...]


def test_a_result_with_its_own_parts_shows_the_semantic_part() -> None:
    given = (
        ScorePart("words", "lexical", 0.8, 0.25),
        ScorePart("meaning", "semantic", 0.6, 0.5),
    )
    parts = _parts(_Fused(0.1, 0.2, 0.3, given))  # type: ignore[arg-type]
    assert parts == given
    assert [p.name for p in _parts(_Fused(0.1, 0.2, 0.3, ()))] == [  # type: ignore[arg-type]
        "words",
        "spelling",
        "closest question",
    ]
    assert points_by_kind(parts) == pytest.approx({"lexical": 0.2, "semantic": 0.3})
    article = knowledge_articles()[0]
    line = _parts_line(Candidate(article, 0.5, "", parts))
    assert line == "lexical 0.200 (words 0.80×0.25); semantic 0.300 (meaning 0.60×0.50)"


def knowledge_articles() -> list[Article]:
    return [parse_article(Path("a.md"), '+++\ntitle = "A"\n+++\nbody\n')[0]]  # type: ignore[list-item]
