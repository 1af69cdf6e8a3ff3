"""The static embedding and its fusion with the lexical matcher (issue 17)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.config import KnowledgeSettings
from bot.knowledge import Article, KnowledgeBase, Thresholds
from bot.knowledge.embedding import MODEL, EmbeddingMissing, StaticEncoder, basic_words
from bot.knowledge.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent


def art(id: str, title: str, questions: list[str], body: str) -> Article:
    return Article(id=id, title=title, questions=tuple(questions), tags=(), body=body)


ARTICLES = [
    art(
        "pricing",
        "Pricing",
        ["What are the subscription fees?", "What is the price of a plan?"],
        "Plans start at 10 EUR per seat and month.",
    ),
    art(
        "refunds",
        "Refunds",
        ["Can I get my money back?", "How do refunds work?"],
        "We refund within 14 days.",
    ),
    art(
        "login",
        "Signing in",
        ["I cannot sign in", "Reset my password"],
        "Use the reset link on the sign-in page.",
    ),
    art(
        "export",
        "Exporting data",
        ["How do I export my data?", "Download all records as CSV"],
        "Settings, then Export.",
    ),
    art(
        "delete",
        "Closing the account",
        ["Delete my account", "Remove my organisation"],
        "Write to us and we close it.",
    ),
]

QUESTIONS = [
    "how much is it",
    "what will I pay monthly",
    "refund please",
    "i cant sign in to my acount",
    "export my data as csv",
    "delete everything",
    "whats the wether in paris",
    "price of a plan for 12 seats",
    "",
    "!!!",
]


@pytest.fixture(scope="module")
def encoder() -> StaticEncoder:
    return StaticEncoder.shipped()


# ------------------------------------------------------------------ the encoder


def test_the_same_text_gives_the_same_vector_in_any_load(encoder: StaticEncoder) -> None:
    again = StaticEncoder.load(MODEL)  # a second, independent load of the shipped files
    for text in QUESTIONS:
        first = encoder.encode(text)
        assert first.dtype == np.float32 and first.shape == (encoder.dims,)
        assert np.array_equal(first, encoder.encode(text))
        assert np.array_equal(first, again.encode(text))


def test_vectors_are_unit_length_or_zero_for_nothing_known(encoder: StaticEncoder) -> None:
    assert np.linalg.norm(encoder.encode("How do I get a refund?")) == pytest.approx(1.0, abs=1e-5)
    assert not encoder.encode("").any()
    assert not encoder.encode("   \n\t ").any()
    assert not encoder.encode("\x00\x01\u200b").any()  # control and format characters only


@pytest.mark.parametrize(
    "text",
    [
        "x" * 1_000_000,  # one huge "word": longer than any the teacher reads
        "refund " * 200_000,  # a huge text: only its first pieces are looked at
        "\ud800 lone surrogate \udfff",
        "Ünïcödé façade naïve Ωμέγα русский 日本語のテキスト 🎉👍🏽 مرحبا",
        "e\u0301\u0301\u0301 combining marks, \u202eright-to-left override",
        "\ufffd\ufeff\x7f\x1b[31m",
        "𓀀𓀁 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ],
)
def test_odd_input_never_fails(encoder: StaticEncoder, text: str) -> None:
    vector = encoder.encode(text)
    assert vector.shape == (encoder.dims,) and np.isfinite(vector).all()
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5) or not vector.any()


def test_unknown_words_are_cut_into_known_pieces(encoder: StaticEncoder) -> None:
    vocab = (MODEL / "vocab.txt").read_text(encoding="utf-8").split("\n")
    pieces = [vocab[i] for i in encoder.piece_ids("unaffable Northwindly")]
    assert pieces[:3] == ["una", "##ffa", "##ble"]
    assert "".join(p.removeprefix("##") for p in pieces) == "unaffablenorthwindly"
    assert encoder.encode("zqxjkvbw").any()  # made of pieces, however meaningless


def test_basic_words_split_like_bert() -> None:
    # "€" is a symbol, not punctuation, for BERT: it stays in its word
    said = ["don", "'", "t", "panic", ":", "it", "'", "s", "5€", "!"]
    assert basic_words("Don't PANIC: it's 5€!") == said
    assert basic_words("Café  naïve") == ["cafe", "naive"]
    assert basic_words("日本") == ["日", "本"]


# ------------------------------------------------------------------ the matcher


def test_meaning_finds_what_no_shared_word_does() -> None:
    """'what will I pay monthly' shares no word with the pricing article: words alone
    rank another article first, meaning ranks pricing first. (With the default
    thresholds a question sharing no word at all still scores below clarify_score unless
    its meaning part is very high: meaning is W_SEMANTIC of the score.)"""
    words_only = KnowledgeBase.of(ARTICLES, semantic="off")
    fused = KnowledgeBase.of(ARTICLES, semantic="static")
    for question in ("what will I pay monthly", "what does it cost me each month"):
        assert words_only.rank(question)[0].article.id != "pricing"
        ranked = fused.rank(question)
        assert ranked[0].article.id == "pricing"
        assert ranked[0].semantic is not None and ranked[0].semantic > 3 * ranked[0].lexical
        assert ranked[0].score > ranked[1].score
        assert ranked[0].semantic - (ranked[1].semantic or 0.0) > 0.3  # by meaning, clearly
    assert fused.rank("I forgot my login credentials")[0].article.id == "login"
    # and a question about something else is still not answered
    assert fused.decide("whats the weather in paris").kind == "unknown"


def test_score_parts_are_on_each_candidate() -> None:
    from bot.knowledge import matcher

    for candidate in KnowledgeBase.of(ARTICLES, semantic="static").rank(
        "price of a plan for 12 seats"
    ):
        assert candidate.semantic is not None
        expected = (
            1 - matcher.W_SEMANTIC
        ) * candidate.lexical + matcher.W_SEMANTIC * candidate.semantic
        assert candidate.score == pytest.approx(min(1.0, expected))
        assert "meaning" in candidate.why
    for candidate in KnowledgeBase.of(ARTICLES, semantic="off").rank("price of a plan"):
        assert candidate.semantic is None and candidate.score == candidate.lexical


# The words-only matcher's ranking before the semantic part was added (main at 5dbe8d2),
# for the articles and questions above: "off" must give exactly this.
WORDS_ONLY = {
    "how much is it": [
        ["refunds", 0.363765],
        ["export", 0.299553],
        ["delete", 0.052174],
        ["pricing", 0.048],
    ],
    "what will I pay monthly": [
        ["refunds", 0.0949],
        ["delete", 0.064],
        ["login", 0.060229],
        ["pricing", 0.057143],
    ],
    "refund please": [
        ["refunds", 0.699792],
        ["delete", 0.062967],
        ["pricing", 0.061538],
        ["login", 0.043774],
    ],
    "i cant sign in to my acount": [
        ["login", 0.410188],
        ["delete", 0.404445],
        ["export", 0.08],
        ["pricing", 0.061538],
    ],
    "export my data as csv": [
        ["export", 0.67094],
        ["delete", 0.070588],
        ["login", 0.068966],
        ["refunds", 0.064516],
    ],
    "delete everything": [
        ["delete", 0.224116],
        ["export", 0.122869],
        ["pricing", 0.09218],
        ["login", 0.074394],
    ],
    "whats the wether in paris": [
        ["login", 0.097548],
        ["pricing", 0.090909],
        ["delete", 0.077419],
        ["export", 0.074074],
    ],
    "price of a plan for 12 seats": [
        ["pricing", 0.398822],
        ["login", 0.09697],
        ["delete", 0.072727],
        ["export", 0.065116],
    ],
    "": [],
    "!!!": [],
}


def test_a_win_that_meaning_alone_carries_is_offered_not_answered() -> None:
    """Words rank another article first, meaning carries pricing to the top: even
    with thresholds that would answer anything, the bot offers it (a menu), since a
    meaning-only winner is where the fused matcher's wrong answers came from. When
    words single the winner out as well it answers."""
    anything = Thresholds(answer_score=0.0, answer_margin=0.0, clarify_score=0.0)
    fused = KnowledgeBase.of(ARTICLES, anything, semantic="static")
    question = "what does it cost me each month"
    ranked = fused.rank(question)
    assert ranked[0].article.id == "pricing" and ranked[0].words_lead < 0
    decision = fused.decide(question)
    assert decision.kind == "clarify"
    assert "pricing" in [c.article.id for c in decision.candidates]
    agreed = fused.decide("what is the price of a plan")
    assert agreed.kind == "answer" and agreed.candidates[0].article.id == "pricing"
    assert agreed.candidates[0].words_lead >= anything.words_margin
    # words alone decide as they always did: the thresholds only
    assert KnowledgeBase.of(ARTICLES, anything).decide(question).kind == "answer"


def test_words_barely_ahead_is_not_enough_with_meaning_fused_in() -> None:
    """The winner leads on words, but by less than words_margin: a menu, however
    high the fused score; with the margin lowered it is answered."""
    anything = Thresholds(answer_score=0.0, answer_margin=0.0, clarify_score=0.0)
    fused = KnowledgeBase.of(ARTICLES, anything, semantic="static")
    close = [
        q
        for q in QUESTIONS
        if (ranked := fused.rank(q)) and 0 <= ranked[0].words_lead < anything.words_margin
    ]
    assert close, "no question of QUESTIONS has its words barely ahead"
    for question in close:
        lead = fused.rank(question)[0].words_lead
        assert fused.decide(question).kind == "clarify", question
        looser = KnowledgeBase.of(ARTICLES, replace(anything, words_margin=lead), semantic="static")
        assert looser.decide(question).kind == "answer", question


def test_semantic_off_ranks_as_the_words_only_matcher_did() -> None:
    matcher = Matcher(ARTICLES, semantic="off")
    got = {
        q: [[ARTICLES[s.index].id, round(s.score, 6)] for s in matcher.rank(q, 4)]
        for q in QUESTIONS
    }
    assert got == WORDS_ONLY


def test_semantic_off_keeps_the_words_only_thresholds() -> None:
    assert KnowledgeBase.of(ARTICLES, semantic="off").thresholds == Thresholds.measured("off")
    assert Thresholds.measured("off") == Thresholds(0.40, 0.14, 0.20, 0.30, 3)
    assert KnowledgeBase.of(ARTICLES, semantic="static").thresholds == Thresholds.measured("static")
    assert Thresholds.measured("static") == Thresholds(
        0.44, 0.0, 0.22, 0.30, 3, learned_probability=1
    )
    assert KnowledgeBase.of(ARTICLES).thresholds == Thresholds.measured("off")  # the default


def test_the_config_switches_it() -> None:
    assert KnowledgeSettings().semantic == "off"  # until it is no riskier than words alone
    assert KnowledgeSettings(semantic="off").semantic == "off"
    with pytest.raises(ValueError, match="semantic"):
        KnowledgeSettings(semantic="neural")


# ------------------------------------------------------------------ the shipped file


def test_the_shipped_files_are_the_recorded_ones() -> None:
    recorded = dict(
        reversed(line.split("  ")) for line in (MODEL / "SHA256SUMS").read_text().splitlines()
    )
    assert set(recorded) == {"static.npz", "vocab.txt"}
    for name, digest in recorded.items():
        assert hashlib.sha256((MODEL / name).read_bytes()).hexdigest() == digest, name
    script = (ROOT / "benchmarks" / "distill_static.py").read_text()
    assert recorded["static.npz"] in script  # the script's docstring records the output
    assert (MODEL / "NOTICE").is_file() and "Apache License" in (MODEL / "LICENSE").read_text()


@pytest.mark.parametrize("damage", ["missing", "changed", "truncated"])
def test_a_damaged_embedding_is_refused_saying_what_to_do(tmp_path: Path, damage: str) -> None:
    for name in ("static.npz", "vocab.txt", "SHA256SUMS"):
        (tmp_path / name).write_bytes((MODEL / name).read_bytes())
    npz = tmp_path / "static.npz"
    if damage == "missing":
        npz.unlink()
    elif damage == "changed":
        npz.write_bytes(npz.read_bytes().replace(b"vectors", b"vectorz"))
    else:
        npz.write_bytes(npz.read_bytes()[:1000])
        (tmp_path / "SHA256SUMS").write_text(
            (tmp_path / "SHA256SUMS")
            .read_text()
            .replace(
                hashlib.sha256((MODEL / "static.npz").read_bytes()).hexdigest(),
                hashlib.sha256(npz.read_bytes()).hexdigest(),
            )
        )
    with pytest.raises(EmbeddingMissing, match='semantic = "off"'):
        StaticEncoder.load(tmp_path)


def test_the_package_declares_the_model_as_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"bot.knowledge" = ["model/*"]' in pyproject


def test_nothing_imports_torch_at_run_time() -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from bot.knowledge import KnowledgeBase\n"
        "kb = KnowledgeBase.load(Path('knowledge'), semantic='static')\n"
        "kb.decide('how much is the team plan?')\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'transformers', 'tokenizers', 'safetensors', 'huggingface_hub'))\n"
        "print(heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
