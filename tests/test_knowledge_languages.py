"""Articles per language and the matcher per language (issue 18): translations in
knowledge/<lang>/, their checks, each language's own index, and `kb` per language."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.cli import _kb_languages
from bot.knowledge import KnowledgeBase, load_articles
from bot.knowledge.articles import body_hash, missing_translations
from bot.knowledge.base import Thresholds
from bot.knowledge.languages import analysis_for
from bot.knowledge.tools import evaluate, kb_ask, kb_check, kb_eval, read_eval_rows, summary
from tests.conftest import candor_command

ENGLISH = {
    "pricing-plans": (
        "Plans and prices",
        ["how much does it cost", "what plans do you have", "price list"],
        "Team is 10 EUR a seat a month.",
    ),
    "cancellation": (
        "Cancelling your subscription",
        ["how do I cancel", "cancel my subscription", "end my contract"],
        "Cancel in Settings, Billing.",
    ),
    "invoices": (
        "Invoices",
        ["where are my invoices", "download an invoice", "invoice with a VAT number"],
        "Invoices are in Settings, Billing.",
    ),
    "free-trial": (
        "Free trial",
        ["is there a free trial", "how long is the trial", "try it for free"],
        "The trial lasts 14 days.",
    ),
    "security-compliance": (
        "Security and compliance",
        ["do you support SSO", "are you SOC 2 compliant", "security certifications"],
        "SSO with SAML; SOC 2 Type II.",
    ),
}

# (language, id) -> title, questions: customers' phrasings, as a writer would put them
TRANSLATED = {
    ("de", "pricing-plans"): ("Pläne und Preise", ["Was kostet das?", "welche Tarife gibt es"]),
    ("de", "cancellation"): ("Abo kündigen", ["wie kann ich kündigen", "Vertrag beenden"]),
    ("de", "invoices"): ("Rechnungen", ["wo finde ich meine Rechnung", "Rechnung herunterladen"]),
    ("de", "free-trial"): ("Kostenlose Testphase", ["gibt es eine kostenlose Testphase"]),
    ("es", "cancellation"): (
        "Cancelar la suscripción",
        ["¿Cómo cancelo mi suscripción?", "cancelación del contrato", "darme de baja"],
    ),
    ("es", "pricing-plans"): ("Planes y precios", ["¿Cuánto cuesta?", "¿Qué planes tienen?"]),
    ("fr", "free-trial"): ("Essai gratuit", ["y a-t-il un essai gratuit", "durée de l'essai"]),
    ("fr", "pricing-plans"): ("Offres et tarifs", ["combien ça coûte", "quels sont vos tarifs"]),
    ("pt", "invoices"): ("Faturas", ["onde estão minhas faturas", "faturação com NIF"]),
    ("pt", "cancellation"): ("Cancelamento", ["como cancelar a assinatura"]),
}


def article_text(meta: dict[str, Any], body: str) -> str:
    lines = [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in meta.items()]
    return "+++\n" + "\n".join(lines) + "\n+++\n" + body + "\n"


def write(path: Path, meta: dict[str, Any], body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(article_text(meta, body), encoding="utf-8")
    return path


def knowledge(folder: Path, translated: dict[tuple[str, str], tuple[str, list[str]]]) -> Path:
    for article_id, (title, questions, body) in ENGLISH.items():
        write(folder / f"{article_id}.md", {"title": title, "questions": questions}, body)
    for (language, article_id), (title, questions) in translated.items():
        english = ENGLISH[article_id][2]
        meta = {"title": title, "questions": questions, "original": body_hash(english)}
        write(folder / language / f"{article_id}.md", meta, f"({language}) {english}")
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return knowledge(tmp_path / "kb", TRANSLATED)


@pytest.fixture
def kb(folder: Path) -> KnowledgeBase:
    return KnowledgeBase.load(folder)


def check(folder: Path, languages: tuple[str, ...] = ("en",)) -> tuple[int, str]:
    out = io.StringIO()
    code = kb_check(folder, out, languages)
    return code, out.getvalue()


# --- the loader -----------------------------------------------------------------------


def test_translations_load_in_their_language_with_the_english_id(folder: Path) -> None:
    articles, problems = load_articles(folder)
    assert problems == []
    german = {a.id: a for a in articles if a.language == "de"}
    assert set(german) == {"pricing-plans", "cancellation", "invoices", "free-trial"}
    assert german["cancellation"].title == "Abo kündigen"
    assert german["cancellation"].original == body_hash(ENGLISH["cancellation"][2])
    assert [a.language for a in articles][: len(ENGLISH)] == ["en"] * len(ENGLISH)


def test_an_english_only_knowledge_base_loads_as_before(tmp_path: Path) -> None:
    folder = knowledge(tmp_path / "kb", {})
    write(folder / "billing" / "refunds.md", {"title": "Refunds", "questions": ["refund"]}, "Yes.")
    kb = KnowledgeBase.load(folder)
    assert kb.problems == []
    assert {a.language for a in kb.articles()} == {"en"}
    assert kb.get("refunds") is not None  # a folder that is not a language is English
    assert kb.languages() == ["en"]
    assert set(kb._languages.built) == {"en"}  # no other index is held


def test_the_hash_agrees_with_the_writers_command(tmp_path: Path) -> None:
    """The command the article writers compute `original` with (the brief's), on a
    file with Windows line ends, blank lines and odd Unicode around the body."""
    path = tmp_path / "a.md"
    path.write_bytes(
        '+++\r\ntitle = "x"\r\n+++\r\n\r\n  Prix : 10 € — “ok” 🙂\r\n\r\nLigne 2  \r\n\r\n'.encode()
    )
    writers = (
        "import sys,hashlib;t=open(sys.argv[1],encoding='utf-8').read().splitlines();"
        "e=[i for i,l in enumerate(t) if l.strip()=='+++'][1];"
        "print(hashlib.sha256('\\n'.join(t[e+1:]).strip().encode()).hexdigest()[:12])"
    )
    theirs = subprocess.run(
        [sys.executable, "-c", writers, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    (article,), _ = load_articles(tmp_path)
    assert body_hash(article.body) == theirs


def test_a_translation_of_no_english_article_is_an_error(folder: Path) -> None:
    write(folder / "de" / "roadmap.md", {"title": "Roadmap", "original": "0" * 12}, "Bald.")
    code, out = check(folder)
    assert code == 1
    assert "de/roadmap.md" in out and "has no English article" in out
    assert KnowledgeBase.load(folder).get("roadmap", "de") is None


def test_two_translations_of_one_id_in_one_language_are_an_error(folder: Path) -> None:
    meta = {"id": "invoices", "title": "Rechnungen 2", "original": body_hash("x")}
    write(folder / "de" / "rechnungen.md", meta, "Noch einmal.")
    code, out = check(folder)
    assert code == 1
    assert "a second de translation of 'invoices'" in out


def test_a_translation_older_than_its_english_article_is_a_warning(folder: Path) -> None:
    write(folder / "invoices.md", {"title": "Invoices", "questions": ["invoice"]}, "New text.")
    code, out = check(folder)
    assert code == 0
    stale = [line for line in out.splitlines() if "changed after this translation" in line]
    assert len(stale) == 2  # de and pt translate it
    assert all(body_hash("New text.") in line for line in stale)


@pytest.mark.parametrize(
    ("original", "words"),
    [(None, "original is missing"), ("xyz", "must be 12 hex digits"), (12, "12 hex digits")],
)
def test_a_missing_or_malformed_original_is_a_warning(
    folder: Path, original: object, words: str
) -> None:
    meta: dict[str, Any] = {"title": "Faturas", "questions": ["faturas"]}
    if original is not None:
        meta["original"] = original
    write(folder / "pt" / "invoices.md", meta, "As faturas.")
    code, out = check(folder)
    assert code == 0
    assert words in out and "warning" in out
    assert KnowledgeBase.load(folder).get("invoices", "pt") is not None  # still used


def test_an_original_in_an_english_article_is_ignored_with_a_warning(folder: Path) -> None:
    write(folder / "extra.md", {"title": "Extra", "original": "a" * 12}, "Body.")
    code, out = check(folder)
    assert code == 0 and "original is for translations only" in out


def test_a_translation_hands_over_as_its_english_article(folder: Path) -> None:
    meta = {"title": "Rechnungen", "handover": True, "original": body_hash("x")}
    write(folder / "de" / "invoices.md", meta, "Rechnungen.")
    kb = KnowledgeBase.load(folder)
    assert any("handover must be the English article's" in p.message for p in kb.problems)
    translated = kb.get("invoices", "de")
    assert translated is not None and translated.language == "de"
    assert translated.handover is False


def test_articles_missing_in_a_configured_language_are_warned_about(folder: Path) -> None:
    code, out = check(folder, ("en", "de", "es", "it"))
    assert code == 0
    missing = "1 of 5 articles have no de translation (answered in English): security-compliance"
    assert missing in out
    assert "3 of 5 articles have no es translation" in out
    assert "5 of 5 articles have no it translation" in out  # no folder at all
    assert "no fr translation" not in out  # fr is not configured
    assert "(de 4, en 5, es 2, fr 2, pt 2)" in out


def test_kb_check_takes_the_configured_languages_or_the_option() -> None:
    assert _kb_languages("de,fr", None) == ["en", "de", "fr"]
    assert _kb_languages(None, None) == ["en"]
    configured = SimpleNamespace(bot=SimpleNamespace(languages=["en", "DE", "pt"]))
    assert _kb_languages(None, configured) == ["en", "en", "de", "pt"]  # type: ignore[arg-type]
    before = SimpleNamespace(bot=SimpleNamespace())  # a config without the key yet
    assert _kb_languages(None, before) == ["en"]  # type: ignore[arg-type]


def test_a_bad_id_in_a_language_folder_is_refused_and_the_rest_loads(folder: Path) -> None:
    write(folder / "fr" / "bad.md", {"id": "Pas Bon!", "title": "x"}, "x")
    code, out = check(folder)
    assert code == 1 and "fr/bad.md" in out and "lower-case" in out
    kb = KnowledgeBase.load(folder)
    assert len(kb.articles("fr")) == 2


def test_an_empty_language_folder_answers_with_the_english_articles(folder: Path) -> None:
    (folder / "it").mkdir()
    kb = KnowledgeBase.load(folder)
    assert kb.problems == []
    decision = kb.decide("free trial", "it")
    assert decision.kind == "answer"
    assert decision.candidates[0].article.language == "en"
    assert "5 of 5 articles have no it translation" in check(folder, ("en", "it"))[1]


def test_missing_translations_of_an_english_only_base_say_nothing(tmp_path: Path) -> None:
    articles, _ = load_articles(knowledge(tmp_path / "kb", {}))
    assert missing_translations(tmp_path, articles, ["en"]) == []


# --- the matcher per language -----------------------------------------------------------


def answered(kb: KnowledgeBase, text: str, language: str) -> tuple[str, str] | None:
    decision = kb.decide(text, language)
    if decision.kind != "answer":
        return None
    best = decision.candidates[0].article
    return best.id, best.language


@pytest.mark.parametrize(
    ("language", "text", "article"),
    [
        ("de", "Was kostet das?", "pricing-plans"),
        ("de", "Ich möchte bitte mein Abo kündigen", "cancellation"),
        ("de", "Rechnungen herunterladen", "invoices"),  # a plural, stemmed
        ("de", "kuendigen", "cancellation"),  # ue for ü: close enough a spelling
        ("es", "cancelacion de la suscripcion", "cancellation"),  # accents left out
        ("es", "¿CANCELACIÓN?", "cancellation"),
        ("es", "cuanto cuesta", "pricing-plans"),
        ("fr", "l'essai gratuit", "free-trial"),  # an elision split off
        ("fr", "Combien ça coûte ?", "pricing-plans"),
        ("pt", "faturacao com nif", "invoices"),  # ção without its accent
        ("pt", "quero cancelar a minha assinatura", "cancellation"),
    ],
)
def test_each_language_answers_from_its_own_articles(
    kb: KnowledgeBase, language: str, text: str, article: str
) -> None:
    assert answered(kb, text, language) == (article, language)


def test_an_untranslated_article_is_found_through_its_english_words(kb: KnowledgeBase) -> None:
    decision = kb.decide("Habt ihr SSO und SOC 2?", "de")
    assert decision.kind in ("answer", "clarify")
    best = decision.candidates[0].article
    assert (best.id, best.language) == ("security-compliance", "en")
    assert kb.get("security-compliance", "de") == kb.get("security-compliance")


def test_a_question_in_another_language_is_not_answered(kb: KnowledgeBase) -> None:
    assert kb.decide("Wie ist das Wetter heute in Berlin?", "de").kind == "unknown"
    assert kb.decide("¿Dónde está la estación de tren?", "es").kind == "unknown"


def test_accents_are_folded_and_words_stemmed_per_language() -> None:
    spanish, german, portuguese = analysis_for("es"), analysis_for("de"), analysis_for("pt")
    assert spanish.words("¿Qué?") == spanish.words("que")
    assert spanish.words("CONTRASEÑA") == ["contrasena"]
    assert analysis_for("fr").words("Œuvre, cœur") == ["oeuvre", "coeur"]
    assert german.stem("kuendigung") == german.stem("kündigung") == german.stem("kundigung")
    assert spanish.stem("cancelación") == spanish.stem("cancelacion") == spanish.stem("cancelar")
    assert german.stem("Rechnungen".casefold()) == german.stem("rechnung")
    assert portuguese.stem("faturacao") == portuguese.stem("faturação".replace("çã", "ca"))
    assert portuguese.stem("faturacao") == portuguese.stem("fatura")


def test_stop_words_are_the_languages_own_and_keep_negations_and_question_words() -> None:
    german, french = analysis_for("de"), analysis_for("fr")
    assert german.content_words("Ich möchte bitte wissen, wann ich nicht zahlen muss") == [
        "wann",
        "nicht",
        "zahlen",
    ]
    assert french.content_words("Pourquoi l'essai n'est pas gratuit ?") == [
        "pourquoi",
        "essai",
        "pas",
        "gratuit",
    ]
    assert german.content_words("und der die das") == ["und", "der", "die", "das"]  # all left


def test_no_english_spelling_or_vocabulary_reads_another_language() -> None:
    german = analysis_for("de")
    assert german.words("u r trail plz") == ["u", "r", "trail", "plz"]
    assert analysis_for("en").words("u r trail") == ["you", "are", "trial"]
    assert german.vocabulary() == frozenset()


def test_the_language_defaults_to_english_and_odd_codes_fall_back_to_it(
    kb: KnowledgeBase,
) -> None:
    assert answered(kb, "how do I cancel", "en") == ("cancellation", "en")
    assert kb.decide("how do I cancel") == kb.decide("how do I cancel", "en")
    for odd in ("", "xx", "../de", "\u202eed"):
        assert kb.decide("how do I cancel", odd).candidates[0].article.language == "en"
    assert answered(kb, "Was kostet das?", "DE") == ("pricing-plans", "de")
    assert answered(kb, "Was kostet das?", "de-AT") == ("pricing-plans", "de")


def test_meaning_is_english_only_other_languages_match_on_words(folder: Path) -> None:
    kb = KnowledgeBase.load(folder, semantic="static")
    english = kb.rank("how much is it", 1)
    german = kb.rank("Was kostet das?", 1, "de")
    assert english[0].semantic is not None
    assert german[0].semantic is None and german[0].article.language == "de"
    assert kb.thresholds_for("de") == Thresholds.measured("off")
    assert kb.thresholds_for("en") == kb.thresholds


# --- kb eval and kb ask per language ----------------------------------------------------


def eval_file(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


ROWS = [
    {"text": "how do I cancel", "article": "cancellation"},
    {"text": "Was kostet das?", "article": "pricing-plans", "lang": "de"},
    {"text": "Wie wird das Wetter morgen in Berlin?", "article": None, "lang": "de"},
    {"text": "¿Cuánto cuesta?", "article": "pricing-plans", "lang": "es"},
]


def test_kb_eval_gives_the_figures_per_language(kb: KnowledgeBase, tmp_path: Path) -> None:
    out = io.StringIO()
    assert kb_eval(kb, eval_file(tmp_path, ROWS), True, out) == 0
    result = json.loads(out.getvalue())
    assert set(result["by_language"]) == {"en", "de", "es"}
    top = set(result) - {"by_language"}
    assert all(set(each) == top for each in result["by_language"].values())
    assert result["questions"] == 4
    assert result["by_language"]["de"]["questions"] == 2
    assert result["by_language"]["de"]["answered_correct"] == 1.0
    assert result["by_language"]["de"]["oos_refused"] == 1.0
    text = io.StringIO()
    kb_eval(kb, eval_file(tmp_path, ROWS), False, text)
    assert text.getvalue().splitlines()[0].split() == ["all", "de", "en", "es"]


def test_kb_eval_without_languages_has_no_by_language(kb: KnowledgeBase, tmp_path: Path) -> None:
    rows = read_eval_rows(eval_file(tmp_path, ROWS[:1]))
    assert rows == [("how do I cancel", "cancellation", None)]
    result = summary(evaluate(kb, [(t, e) for t, e, _ in rows], False))
    assert "by_language" not in result


@pytest.mark.parametrize("lang", ["xx", "", 3, "deutsch"])
def test_a_bad_lang_is_refused_with_its_line(tmp_path: Path, lang: object) -> None:
    path = eval_file(tmp_path, [ROWS[0], {"text": "x", "article": None, "lang": lang}])
    with pytest.raises(ValueError, match=r"questions.jsonl:2: \"lang\" must be"):
        read_eval_rows(path)


def test_kb_ask_in_a_language(kb: KnowledgeBase) -> None:
    out = io.StringIO()
    assert kb_ask(kb, "Habt ihr SSO und SOC 2?", True, out, "de") == 0
    payload = json.loads(out.getvalue())
    assert payload["language"] == "de"
    assert payload["candidates"][0]["article"] == "security-compliance"
    assert payload["candidates"][0]["language"] == "en"
    text = io.StringIO()
    kb_ask(kb, "Habt ihr SSO und SOC 2?", False, text, "de")
    assert "security-compliance  “Security and compliance”  (en)" in text.getvalue()


def test_the_command_line_asks_and_checks_per_language(folder: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*candor_command(), "kb", *args, "--knowledge", str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    asked = run("ask", "--language", "es", "--json", "¿Cuánto cuesta?")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["articles"] == ["pricing-plans"]
    unknown = run("ask", "--language", "klingon", "hello")
    assert unknown.returncode == 2 and "unknown language 'klingon'" in unknown.stderr
    checked = run("check", "--languages", "de,pt")
    assert checked.returncode == 0
    assert "no de translation" in checked.stdout and "no pt translation" in checked.stdout


# --- bad input ----------------------------------------------------------------------------


def test_odd_and_huge_unicode_in_a_translation_is_read_and_matched(folder: Path) -> None:
    questions = [
        "‮Was kostet das‬",  # right-to-left override
        "‏ما هو السعر؟",  # Arabic, right-to-left
        "Ｒｅｃｈｎｕｎｇ",  # full width
        "z\u0301\u0301\u0301ahlen\u200b",  # stacked accents, zero-width space
        "🙂" * 50,
        "Preis " * 2000,
    ]
    meta = {"title": "Preise ☃", "questions": questions, "original": body_hash("x")}
    write(folder / "de" / "pricing-plans.md", meta, "Preise.")
    kb = KnowledgeBase.load(folder)
    assert [p for p in kb.problems if p.severity == "error"] == []
    for text in [*questions, "‮", "\x00\x01", "?" * 10_000, "a" * 100_000, ""]:
        kb.decide(text, "de")  # never raises
    assert answered(kb, "Rechnung", "de") == ("invoices", "de")


def test_an_en_folder_holds_english_articles(tmp_path: Path) -> None:
    folder = knowledge(tmp_path / "kb", {})
    write(folder / "en" / "roadmap.md", {"title": "Roadmap", "questions": ["roadmap"]}, "Soon.")
    kb = KnowledgeBase.load(folder)
    assert kb.problems == [] and kb.languages() == ["en"]
    roadmap = kb.get("roadmap")
    assert roadmap is not None and roadmap.language == "en"


def test_a_folder_named_like_a_language_says_it_is_read_as_one(tmp_path: Path) -> None:
    folder = knowledge(tmp_path / "kb", {})
    write(folder / "hr" / "payroll.md", {"title": "Payroll", "questions": ["payroll"]}, "Monthly.")
    code, out = check(folder)
    assert code == 1
    assert "the folder hr/ is read as translations into 'hr'" in out


def test_configured_languages_are_indexed_at_load_and_after_a_reload(folder: Path) -> None:
    kb = KnowledgeBase.load(folder, languages=["en", "it"])
    assert set(kb._languages.built) == {"en", "de", "es", "fr", "pt", "it"}
    again = kb.reloaded()
    assert "it" in again._languages.built and again.configured == ("en", "it")
    lazy = KnowledgeBase.load(folder)
    assert "it" not in lazy._languages.built
    assert answered(lazy, "free trial", "it") == ("free-trial", "en")
    assert "it" in lazy._languages.built


def test_a_typo_is_corrected_only_into_the_languages_own_words(kb: KnowledgeBase) -> None:
    assert answered(kb, "Rechnugn herunterladen", "de") == ("invoices", "de")  # a typo
    # a real word one letter from an article's is not taken for it ("reise" is travel,
    # not "preise"), nor a German word for an untranslated English article's
    for word in ("Reise", "Securty"):
        assert all("shared" not in c.why for c in kb.rank(word, 3, "de")), word
    assert any("shared: secur" in c.why for c in kb.rank("Securty", 3, "en"))  # English: yes


def test_a_language_folder_in_capitals_is_that_language(tmp_path: Path) -> None:
    folder = knowledge(tmp_path / "kb", {})
    original = body_hash(ENGLISH["invoices"][2])
    meta = {"title": "Rechnungen", "questions": ["Rechnung"], "original": original}
    write(folder / "DE" / "invoices.md", meta, "Rechnungen.")
    kb = KnowledgeBase.load(folder)
    assert kb.problems == [] and kb.languages() == ["en", "de"]


def test_a_lang_key_says_where_a_translations_language_comes_from(folder: Path) -> None:
    write(folder / "extra.md", {"title": "Extra", "questions": ["x"], "lang": "de"}, "Body.")
    code, out = check(folder)
    assert code == 0
    assert "unknown key 'lang' (ignored): a translation's language is its folder's name" in out


def test_kb_eval_names_the_language_of_a_wrong_answer(kb: KnowledgeBase, tmp_path: Path) -> None:
    rows = [{"text": "Was kostet das?", "article": "invoices", "lang": "de"}]
    out = io.StringIO()
    kb_eval(kb, eval_file(tmp_path, rows), False, out)
    assert "[de] 'Was kostet das?' → pricing-plans (expected invoices)" in out.getvalue()
