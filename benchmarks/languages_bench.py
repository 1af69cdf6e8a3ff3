"""The knowledge base per language (issue 18): what a question in German, Spanish,
French or Portuguese gets, and what five languages cost to load.

    .venv/bin/python benchmarks/languages_bench.py quality [--held-out FILE.jsonl]
        [--without stopwords|stems]
    .venv/bin/python benchmarks/languages_bench.py cost

quality: the shipped English articles, eight of them translated below (title and
questions only: the matcher reads nothing else) into de, es, fr, pt, in a temporary
folder; then DEV's questions (mine, for development: asked about translated
articles, about untranslated ones, and out of scope) decided per language, two ways
for an article missing in the customer's language:

- indexed (what Candor does, bot/knowledge/translated.py): the language's index
  holds the English articles it has no translation of, read with its analysis;
- english-second: the language's index holds its translations only; when it says
  "unknown", the English index decides, and its answer or options stand if they
  are untranslated articles.

With --held-out FILE (helper Q's tests/data/customer_questions_languages.jsonl and
the writers' knowledge/<lang>/ once merged: run it with --knowledge knowledge), the
same figures on that file instead: the held-out measure, never tuned on.

cost: the shipped knowledge base with a copy of each article in each of de, es, fr,
pt (38 x 5 = 190 articles: the shipped size in five languages; the copies are the
English text, which costs what a translation of the same length costs), loaded in a
process of its own: the load time and the resident memory, against English only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import Decision, KnowledgeBase, languages  # noqa: E402
from bot.knowledge.articles import Article, body_hash, load_articles  # noqa: E402
from bot.knowledge.tools import Expected, accepted, read_eval_rows  # noqa: E402

LANGUAGES = ("de", "es", "fr", "pt")

# id -> language -> (title, questions)
TRANSLATIONS: dict[str, dict[str, tuple[str, list[str]]]] = {
    "pricing-plans": {
        "de": (
            "Pläne und Preise",
            [
                "Was kostet das?",
                "welche Tarife gibt es",
                "Preisliste",
                "wie teuer ist der Business-Plan",
                "Preise pro Nutzer",
            ],
        ),
        "es": (
            "Planes y precios",
            [
                "¿Cuánto cuesta?",
                "¿qué planes tienen?",
                "lista de precios",
                "precio del plan Business",
                "precio por usuario",
            ],
        ),
        "fr": (
            "Offres et tarifs",
            [
                "combien ça coûte",
                "quels sont vos tarifs",
                "grille tarifaire",
                "prix de l'offre Business",
                "prix par utilisateur",
            ],
        ),
        "pt": (
            "Planos e preços",
            [
                "quanto custa",
                "quais planos vocês têm",
                "tabela de preços",
                "preço do plano Business",
                "preço por usuário",
            ],
        ),
    },
    "cancellation": {
        "de": (
            "Abo kündigen",
            [
                "wie kann ich kündigen",
                "Abonnement kündigen",
                "Vertrag beenden",
                "Kündigungsfrist",
                "Konto schließen",
            ],
        ),
        "es": (
            "Cancelar la suscripción",
            [
                "¿cómo cancelo mi suscripción?",
                "darme de baja",
                "cancelación del contrato",
                "cerrar mi cuenta",
                "plazo de cancelación",
            ],
        ),
        "fr": (
            "Résilier l'abonnement",
            [
                "comment résilier",
                "annuler mon abonnement",
                "mettre fin au contrat",
                "fermer mon compte",
                "préavis de résiliation",
            ],
        ),
        "pt": (
            "Cancelar a assinatura",
            [
                "como cancelar a assinatura",
                "cancelamento do contrato",
                "encerrar minha conta",
                "quero cancelar",
                "prazo de cancelamento",
            ],
        ),
    },
    "refunds": {
        "de": (
            "Rückerstattung",
            [
                "bekomme ich mein Geld zurück",
                "Rückerstattung beantragen",
                "Geld zurück nach Kündigung",
                "Erstattung",
                "zu viel bezahlt",
            ],
        ),
        "es": (
            "Reembolsos",
            [
                "¿me devuelven el dinero?",
                "pedir un reembolso",
                "devolución del pago",
                "reembolso tras cancelar",
                "cobro duplicado",
            ],
        ),
        "fr": (
            "Remboursements",
            [
                "puis-je être remboursé",
                "demander un remboursement",
                "récupérer mon argent",
                "remboursement après résiliation",
                "payé deux fois",
            ],
        ),
        "pt": (
            "Reembolsos",
            [
                "posso pedir reembolso",
                "devolução do dinheiro",
                "quero meu dinheiro de volta",
                "reembolso após cancelar",
                "cobrança em dobro",
            ],
        ),
    },
    "invoices": {
        "de": (
            "Rechnungen",
            [
                "wo finde ich meine Rechnungen",
                "Rechnung herunterladen",
                "Rechnung mit USt-IdNr",
                "Rechnungsadresse ändern",
                "Quittung",
            ],
        ),
        "es": (
            "Facturas",
            [
                "¿dónde están mis facturas?",
                "descargar la factura",
                "factura con NIF",
                "cambiar los datos de facturación",
                "recibo",
            ],
        ),
        "fr": (
            "Factures",
            [
                "où sont mes factures",
                "télécharger une facture",
                "facture avec numéro de TVA",
                "changer l'adresse de facturation",
                "reçu",
            ],
        ),
        "pt": (
            "Faturas",
            [
                "onde estão minhas faturas",
                "baixar a fatura",
                "fatura com NIF",
                "alterar dados de faturação",
                "recibo",
            ],
        ),
    },
    "free-trial": {
        "de": (
            "Kostenlose Testphase",
            [
                "gibt es eine kostenlose Testphase",
                "wie lange dauert die Testphase",
                "kostenlos ausprobieren",
                "Test ohne Kreditkarte",
                "Probezeit",
            ],
        ),
        "es": (
            "Prueba gratuita",
            [
                "¿hay una prueba gratuita?",
                "¿cuánto dura la prueba?",
                "probar gratis",
                "prueba sin tarjeta",
                "periodo de prueba",
            ],
        ),
        "fr": (
            "Essai gratuit",
            [
                "y a-t-il un essai gratuit",
                "durée de l'essai",
                "essayer gratuitement",
                "essai sans carte bancaire",
                "période d'essai",
            ],
        ),
        "pt": (
            "Teste grátis",
            [
                "tem teste grátis",
                "quanto tempo dura o teste",
                "experimentar de graça",
                "teste sem cartão",
                "período de avaliação",
            ],
        ),
    },
    "payment-methods": {
        "de": (
            "Zahlungsarten und Währungen",
            [
                "wie kann ich bezahlen",
                "Zahlung per Rechnung",
                "Kreditkarte oder Überweisung",
                "in Euro bezahlen",
                "Lastschrift",
            ],
        ),
        "es": (
            "Métodos de pago y monedas",
            [
                "¿cómo puedo pagar?",
                "pago con tarjeta",
                "transferencia bancaria",
                "pagar en euros",
                "formas de pago",
            ],
        ),
        "fr": (
            "Moyens de paiement et devises",
            [
                "comment payer",
                "paiement par carte",
                "virement bancaire",
                "payer en euros",
                "prélèvement",
            ],
        ),
        "pt": (
            "Formas de pagamento e moedas",
            [
                "como posso pagar",
                "pagamento com cartão",
                "transferência bancária",
                "pagar em euros",
                "boleto",
            ],
        ),
    },
    "support-hours": {
        "de": (
            "Supportzeiten",
            [
                "wann ist der Support erreichbar",
                "Öffnungszeiten",
                "wie schnell antwortet ihr",
                "Support am Wochenende",
                "Reaktionszeit",
            ],
        ),
        "es": (
            "Horario de soporte",
            [
                "¿cuál es el horario de soporte?",
                "horario de atención",
                "¿cuánto tardan en responder?",
                "soporte el fin de semana",
                "tiempo de respuesta",
            ],
        ),
        "fr": (
            "Horaires du support",
            [
                "quels sont les horaires du support",
                "heures d'ouverture",
                "délai de réponse",
                "support le week-end",
                "quand répondez-vous",
            ],
        ),
        "pt": (
            "Horário do suporte",
            [
                "qual o horário do suporte",
                "horário de atendimento",
                "quanto tempo para responder",
                "suporte no fim de semana",
                "tempo de resposta",
            ],
        ),
    },
    "talk-to-person": {
        "de": (
            "Mit einem Menschen sprechen",
            [
                "ich möchte mit einem Menschen sprechen",
                "Mitarbeiter",
                "echte Person",
                "Anruf",
                "Support kontaktieren",
            ],
        ),
        "es": (
            "Hablar con una persona",
            [
                "quiero hablar con una persona",
                "un agente humano",
                "hablar con alguien",
                "llamar por teléfono",
                "contactar con soporte",
            ],
        ),
        "fr": (
            "Parler à quelqu'un",
            [
                "je veux parler à quelqu'un",
                "un conseiller",
                "une vraie personne",
                "appeler",
                "contacter le support",
            ],
        ),
        "pt": (
            "Falar com uma pessoa",
            [
                "quero falar com uma pessoa",
                "atendente humano",
                "falar com alguém",
                "ligar por telefone",
                "contatar o suporte",
            ],
        ),
    },
}

# language -> (question, the article that answers it or None); not the articles' words
DEV: dict[str, list[tuple[str, str | None]]] = {
    "de": [
        ("Wie viel kostet euer Business-Tarif im Monat?", "pricing-plans"),
        ("Ich will mein Abo kündigen, wie geht das?", "cancellation"),
        ("Kann ich eine Erstattung bekommen, wenn ich jetzt kündige?", "refunds"),
        ("Wo kann ich die Rechnung vom letzten Monat runterladen?", "invoices"),
        ("Kann man das erst mal kostenlos testen?", "free-trial"),
        ("Kann ich per Überweisung zahlen?", "payment-methods"),
        ("Wann seid ihr erreichbar?", "support-hours"),
        ("Ich möchte bitte mit einem Mitarbeiter sprechen", "talk-to-person"),
        ("Seid ihr SOC 2 zertifiziert?", "security-compliance"),
        ("Gibt es ein SLA mit Uptime-Garantie?", "sla-uptime"),
        ("Wie ist das Wetter morgen in Berlin?", None),
        ("Könnt ihr mir bei meiner Steuererklärung helfen?", None),
        ("Ich suche einen Job als Entwickler", None),
    ],
    "es": [
        ("¿Cuánto cuesta el plan Business al mes?", "pricing-plans"),
        ("Quiero cancelar mi suscripcion", "cancellation"),
        ("Si cancelo ahora, ¿me devuelven el dinero?", "refunds"),
        ("No encuentro la factura del mes pasado", "invoices"),
        ("¿Se puede probar gratis antes de pagar?", "free-trial"),
        ("¿Aceptan transferencia bancaria?", "payment-methods"),
        ("¿En qué horario atienden?", "support-hours"),
        ("Necesito hablar con una persona real", "talk-to-person"),
        ("¿Tienen certificación SOC 2?", "security-compliance"),
        ("¿Ofrecen un SLA de uptime?", "sla-uptime"),
        ("¿Qué tiempo hará mañana en Madrid?", None),
        ("¿Me recomiendas un restaurante?", None),
        ("Busco trabajo de programador", None),
    ],
    "fr": [
        ("Combien coûte l'offre Business par mois ?", "pricing-plans"),
        ("Je voudrais résilier mon abonnement", "cancellation"),
        ("Est-ce que je peux être remboursé si j'annule ?", "refunds"),
        ("Où télécharger la facture du mois dernier ?", "invoices"),
        ("On peut essayer gratuitement ?", "free-trial"),
        ("Vous acceptez les virements ?", "payment-methods"),
        ("Quelles sont vos heures d'ouverture ?", "support-hours"),
        ("Je veux parler à un conseiller", "talk-to-person"),
        ("Êtes-vous certifiés SOC 2 ?", "security-compliance"),
        ("Avez-vous un SLA avec une garantie d'uptime ?", "sla-uptime"),
        ("Quel temps fera-t-il demain à Paris ?", None),
        ("Pouvez-vous m'aider pour ma déclaration d'impôts ?", None),
        ("Je cherche un emploi de développeur", None),
    ],
    "pt": [
        ("Quanto custa o plano Business por mês?", "pricing-plans"),
        ("Quero cancelar minha assinatura", "cancellation"),
        ("Se eu cancelar agora, recebo o dinheiro de volta?", "refunds"),
        ("Onde baixo a fatura do mês passado?", "invoices"),
        ("Dá para testar de graça?", "free-trial"),
        ("Vocês aceitam transferência bancária?", "payment-methods"),
        ("Qual é o horário de atendimento?", "support-hours"),
        ("Preciso falar com um atendente", "talk-to-person"),
        ("Vocês têm certificação SOC 2?", "security-compliance"),
        ("Existe um SLA de uptime?", "sla-uptime"),
        ("Como vai estar o tempo amanhã em Lisboa?", None),
        ("Pode me ajudar com meu imposto de renda?", None),
        ("Estou procurando emprego de programador", None),
    ],
}


# questions mixing in an English word, as customers do ("Kann ich einen Refund bekommen?")
MIXED: dict[str, list[tuple[str, str | None]]] = {
    "de": [
        ("Kann ich einen Refund bekommen?", "refunds"),
        ("Wo ist meine Invoice?", "invoices"),
        ("Wie lange ist der Trial?", "free-trial"),
        ("Ich will canceln", "cancellation"),
    ],
    "es": [("¿Puedo pedir un refund?", "refunds"), ("¿Dónde está mi invoice?", "invoices")],
    "fr": [
        ("Je peux avoir un refund ?", "refunds"),
        ("Le free trial dure combien ?", "free-trial"),
    ],
    "pt": [("Posso ter um refund?", "refunds"), ("Quanto tempo dura o trial?", "free-trial")],
}


def with_english_questions() -> None:
    """Each translation indexed with its English article's questions too (measured,
    not shipped: --with-english-questions)."""
    from bot.knowledge import translated

    plain = translated.Languages.of.__func__  # type: ignore[attr-defined]

    def of(
        cls: type[translated.Languages],
        base: translated.LanguageIndex,
        translations: list[Article],
        configured: tuple[str, ...] = (),
    ) -> translated.Languages:
        english = {a.id: a for a in base.articles}
        merged = [replace(a, questions=a.questions + english[a.id].questions) for a in translations]
        return plain(cls, base, merged, configured)  # type: ignore[no-any-return]

    translated.Languages.of = classmethod(of)  # type: ignore[method-assign,assignment]


def translated_folder(target: Path, source: Path) -> Path:
    """The shipped articles, and TRANSLATIONS in their language folders."""
    shutil.copytree(source, target)
    english = {a.id: a for a in load_articles(source)[0]}
    for article_id, by_language in TRANSLATIONS.items():
        for language, (title, questions) in by_language.items():
            front = (
                f"id = {json.dumps(article_id)}\ntitle = {json.dumps(title, ensure_ascii=False)}\n"
                f"questions = {json.dumps(questions, ensure_ascii=False)}\n"
                f'original = "{body_hash(english[article_id].body)}"\n'
            )
            path = target / language / f"{article_id}.md"
            path.parent.mkdir(exist_ok=True)
            path.write_text(f"+++\n{front}+++\n({language}) {english[article_id].body}\n", "utf-8")
    return target


def english_second(kb: KnowledgeBase) -> Callable[[str, str], Decision]:
    """Decide in the language's own translations; on "unknown", the English index's
    decision if it is about articles with no translation."""
    own: dict[str, KnowledgeBase] = {}

    def decide(text: str, language: str) -> Decision:
        if language not in own:  # the translations and their English articles only
            translated = kb.articles(language)
            ids = {a.id for a in translated}
            english = [a for a in kb.articles() if a.id in ids]
            own[language] = KnowledgeBase.of([*english, *translated])
        decision = own[language].decide(text, language)
        if decision.kind != "unknown":
            return decision
        english_decision = kb.decide(text, "en")
        translated_ids = {a.id for a in kb.articles(language)}
        if english_decision.kind != "unknown" and all(
            c.article.id not in translated_ids for c in english_decision.candidates
        ):
            return english_decision
        return decision

    return decide


def figures(
    decide: Callable[[str, str], Decision], rows: list[tuple[str, Expected, str]]
) -> dict[str, dict[str, float]]:
    by: dict[str, dict[str, int]] = {}
    for text, expected, language in rows:
        d = decide(text, language)
        right = accepted(expected)
        ids = [c.article.id for c in d.candidates]
        tally = by.setdefault(
            language,
            {
                "in": 0,
                "oos": 0,
                "right": 0,
                "offered": 0,
                "wrong": 0,
                "oos_answered": 0,
                "oos_menu": 0,
            },
        )
        if right:
            tally["in"] += 1
            if d.kind == "answer":
                tally["right" if ids[0] in right else "wrong"] += 1
            elif d.kind == "clarify" and any(a in ids for a in right):
                tally["offered"] += 1
        else:
            tally["oos"] += 1
            tally["oos_answered"] += d.kind == "answer"
            tally["oos_menu"] += d.kind == "clarify"
    out = {}
    for language, t in sorted(by.items()):
        n, m = max(1, t["in"]), max(1, t["oos"])
        out[language] = {
            "in_scope": t["in"],
            "right_or_offered": round((t["right"] + t["offered"]) / n, 3),
            "answered_correct": round(t["right"] / n, 3),
            "answered_wrong": round(t["wrong"] / n, 3),
            "out_of_scope": t["oos"],
            "oos_answered": round(t["oos_answered"] / m, 3),
            "oos_clarified": round(t["oos_menu"] / m, 3),
        }
    return out


def quality(held_out: Path | None, knowledge: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if held_out is None:
            folder = translated_folder(Path(tmp) / "kb", ROOT / "knowledge")
            rows = [(t, a, lang) for lang, qs in DEV.items() for t, a in qs]
            mixed = [(t, a, lang) for lang, qs in MIXED.items() for t, a in qs]
        else:
            folder = knowledge or ROOT / "knowledge"
            rows = [(t, e, lang or "en") for t, e, lang in read_eval_rows(held_out)]
            mixed = []
        kb = KnowledgeBase.load(folder)
        untranslated = KnowledgeBase.load(ROOT / "knowledge")
        for name, decide in (
            ("indexed", kb.decide),
            ("english-second", english_second(kb)),
            # no translation at all: the language's analysis over the English articles
            ("nothing translated", untranslated.decide),
            # before issue 18: every question on the English index
            ("english index", lambda text, _: untranslated.decide(text, "en")),
        ):
            print(f"{name}:")
            for language, f in figures(decide, rows).items():
                print(f"  {language}: {json.dumps(f)}")
            for language, f in figures(decide, mixed).items():
                print(f"  {language}, mixed with English words: {json.dumps(f)}")


def _load(folder: str) -> None:
    """In its own process: load time and resident memory of one knowledge base."""
    before = _resident_mib()
    started = time.perf_counter()
    kb = KnowledgeBase.load(Path(folder))
    took = time.perf_counter() - started
    after = _resident_mib()
    latencies = []
    for language in kb.languages():
        for text in ("how much does it cost", "Was kostet das?", "cancel my subscription"):
            t0 = time.perf_counter()
            kb.rank(text, 5, language)
            latencies.append((time.perf_counter() - t0) * 1000)
    print(
        json.dumps(
            {
                "articles": sum(len(kb.articles(lang)) for lang in kb.languages()),
                "languages": kb.languages(),
                "load_s": round(took, 3),
                "rss_before_mib": round(before, 1),
                "rss_after_mib": round(after, 1),
                "index_mib": round(after - before, 1),
                "rank_p50_ms": round(statistics.median(latencies), 3),
            }
        )
    )


def _resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cost() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        five = Path(tmp) / "five"
        shutil.copytree(ROOT / "knowledge", five)
        english = load_articles(ROOT / "knowledge")[0]
        for language in LANGUAGES:
            (five / language).mkdir()
            for a in english:
                assert a.path is not None
                text = a.path.read_text("utf-8").replace(
                    "+++\n", f'+++\noriginal = "{body_hash(a.body)}"\n', 1
                )
                (five / language / a.path.name).write_text(text, "utf-8")
        for name, folder in (("English only", ROOT / "knowledge"), ("five languages", five)):
            runs = []
            for _ in range(3):
                done = subprocess.run(
                    [sys.executable, __file__, "_load", str(folder)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(json.loads(done.stdout))
            best = min(runs, key=lambda r: r["load_s"])
            print(f"{name}: {json.dumps(best)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["quality", "cost", "_load"])
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--held-out", type=Path)
    parser.add_argument("--knowledge", type=Path)
    parser.add_argument(
        "--with-english-questions",
        action="store_true",
        help="index each translation with its English article's questions too",
    )
    parser.add_argument(
        "--without",
        choices=["stopwords", "stems"],
        help="quality without the other languages' stop words, or their stems (ablation)",
    )
    args = parser.parse_args()
    if args.without == "stopwords":
        for language in list(languages.STOPWORDS):
            languages.STOPWORDS[language] = frozenset()
    elif args.without == "stems":
        languages.SNOWBALL.clear()
    languages.analysis_for.cache_clear()
    if args.with_english_questions:
        with_english_questions()
    if args.what == "quality":
        quality(args.held_out, args.knowledge)
    elif args.what == "cost":
        cost()
    else:
        _load(args.folder)


if __name__ == "__main__":
    main()
