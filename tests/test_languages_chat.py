"""Issue 18 end to end in the terminal chat (`candor chat`): a customer who writes
German, Spanish, French or Portuguese hears every word the bot itself says in that
language: the greeting, an answer (the English article, with a line saying so),
/status and a handover. Asserted on known translated phrases, and that no English
sentence of the catalog appears untranslated."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR
from tests.conftest import ARTICLES, ROOT, candor_command, write_articles, write_config

# The customer's words, and phrases of the bot's that must come back in their language.
CONVERSATIONS = {
    "de": (
        ["Hallo", "Was kostet das?", "/status", "/human", "1"],
        [
            "Ich bin Candor, der Support-",
            "Quelle: der Artikel „Plans and prices“",
            "Dieser Artikel ist auf Englisch",
            "offen, wird vom Bot bearbeitet",
            "Wie es weitergeht:",
            "Das gebe ich an eine Person weiter:",
            "[1] Absenden",
            "Sie sind Nummer 1 in der Warteschlange.",
        ],
    ),
    "es": (
        ["Hola", "¿Cuánto cuesta?", "/status", "/human", "1"],
        [
            "Soy Candor, el ",
            "Fuente: el artículo «Plans and prices»",
            "Este artículo está en inglés",
            "abierto, lo lleva el bot",
            "Qué pasa ahora:",
            "Esto es lo que le pasaré a una persona:",
            "[1] Enviar",
            "Eres el número 1 en la cola.",
        ],
    ),
    "fr": (
        ["Bonjour", "Combien ça coûte ?", "/status", "/human", "1"],
        [
            "Je suis Candor, le ",
            "Source : l'article « Plans and prices »",
            "Cet article est en anglais",
            "ouvert, pris en charge par le bot",
            "La suite :",
            "Voici ce que je vais transmettre à une personne :",
            "[1] Envoyer",
            "Vous êtes numéro 1 dans la file.",
        ],
    ),
    "pt": (
        ["Olá", "Quanto custa?", "/status", "/human", "1"],
        [
            "Sou Candor, o ",
            "Fonte: o artigo “Plans and prices”",
            "Este artigo está em inglês",
            "aberto, com o bot",
            "O que acontece agora:",
            "Isto é o que vou passar para uma pessoa:",
            "[1] Enviar",
            "Você é o número 1 na fila.",
        ],
    ),
}
# The English article answers the question in each language too (until the
# knowledge base has the article in the customer's language).
QUESTIONS = ["was kostet das", "cuánto cuesta", "combien ça coûte", "quanto custa"]


def english_fragments(language: str) -> list[str]:
    """Pieces of the catalog's English sentences (between placeholders, long enough
    to be only the bot's) that the language's catalog says otherwise."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "candor.po").open("rb") as po:
        catalog = read_po(po)
    pieces = []
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or not message.string:
            continue
        for piece in re.split(r"\{[a-z_]*\}|\*\*", message.id):
            piece = piece.strip(" .,:;()“”")
            if len(piece) >= 16 and piece not in str(message.string):
                pieces.append(piece)
    return pieces


def five_languages(tmp_path: Path) -> Path:
    """A config speaking the five shipped languages, its pricing article asked in each."""
    articles = dict(ARTICLES)
    title, questions, body, handover = articles["pricing-plans"]
    articles["pricing-plans"] = (title, [*questions, *QUESTIONS], body, handover)
    knowledge = write_articles(tmp_path / "knowledge", articles)
    config = write_config(tmp_path, knowledge)
    text = config.read_text(encoding="utf-8").replace(
        'company = "Northwind Cloud"',
        'company = "Northwind Cloud"\nlanguages = ["en", "de", "es", "fr", "pt"]',
    )
    config.write_text(text, encoding="utf-8")
    return config


def chat_in(config: Path, lines: list[str], lang: str) -> str:
    """`candor chat` as "ana" with the terminal's LANG (the console's hint at the
    customer's language, as Telegram's app language is)."""
    env = {**os.environ, "LC_ALL": "", "LC_MESSAGES": "", "LANG": lang}
    result = subprocess.run(
        [*candor_command(), "chat", "--config", str(config), "--as", "ana"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.mark.parametrize("language", sorted(CONVERSATIONS))
def test_every_bot_line_is_in_the_customers_language(tmp_path: Path, language: str) -> None:
    said, expected = CONVERSATIONS[language]
    out = chat_in(five_languages(tmp_path), said, f"{language}_XX.UTF-8")
    for phrase in expected:
        assert phrase in out, f"{phrase!r} not in:\n{out}"
    assert "Team is $8 per user" in out  # the article's own words, as written
    untranslated = [piece for piece in english_fragments(language) if piece in out]
    assert untranslated == [], out


def test_without_a_hint_the_first_words_settle_the_language(tmp_path: Path) -> None:
    """A terminal in no language: the opening is in the default (nothing is known
    yet); from the customer's first words on, every line is in theirs."""
    said, expected = CONVERSATIONS["fr"]
    out = chat_in(five_languages(tmp_path), said, "C.UTF-8")
    opening, rest = out.split("Candor: ", 2)[1:]
    assert "I'm Candor, the support bot of Northwind Cloud" in opening
    for phrase in expected[1:]:
        assert phrase in rest, f"{phrase!r} not in:\n{rest}"
    assert [piece for piece in english_fragments("fr") if piece in rest] == []


# The shipped knowledge base has every article in each language: the answer is the
# article in the customer's language, with no line saying it is in English.
SHIPPED = {
    "de": ("Was kostet der Team-Plan pro Monat?", "„Pläne und Preise“", "auf Englisch"),
    "es": ("¿Cuánto cuesta el plan Team al mes?", "«Planes y precios»", "está en inglés"),
    "fr": ("Combien coûte l'offre Team par mois ?", "« Offres et tarifs »", "en anglais"),
    "pt": ("Quanto custa o plano Team por mês?", "“Planos e preços”", "em inglês"),
}


@pytest.mark.parametrize("language", sorted(SHIPPED))
def test_the_shipped_articles_answer_in_the_customers_language(
    tmp_path: Path, language: str
) -> None:
    question, title, english_line = SHIPPED[language]
    config = write_config(tmp_path, ROOT / "knowledge")
    text = config.read_text(encoding="utf-8").replace(
        'company = "Northwind Cloud"',
        'company = "Northwind Cloud"\nlanguages = ["en", "de", "es", "fr", "pt"]',
    )
    config.write_text(text, encoding="utf-8")
    out = chat_in(config, [question], f"{language}_XX.UTF-8")
    assert title in out, out
    assert english_line not in out, out
