"""Language detection (issue 18): how often a customer's message is read as its
language, how often it is left unclear (the language stays), how often it is read
as another one (a wrong switch), and what it costs per message.

    .venv/bin/python benchmarks/language_detect_bench.py [--json]

It reads `tests/data/customer_questions_languages.jsonl` (lines {"text", "article",
"lang"}) when it is there, else a built-in set of customer questions per language
(below), and times `Detector.read` among the five shipped languages: the loading
of the models (once per process), then each message (median, p99, max), with the
process's peak memory. Short texts ("ok", "👍", a number) and mixed-language ones
must never switch: they are counted apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.i18n.detect import Detector  # noqa: E402

LANGUAGES = ("en", "de", "es", "fr", "pt")
DATA = ROOT / "tests" / "data" / "customer_questions_languages.jsonl"

BUILT_IN = {
    "en": [
        "how much does the team plan cost per month",
        "can I pay once a year instead of monthly",
        "is there a discount for nonprofits",
        "how do I cancel my subscription",
        "do you offer a free trial without a credit card",
        "can we sign a custom contract with our legal team",
        "where can I find your security documentation",
        "what happens to my data when I cancel",
        "I was charged twice this month",
        "can I switch from monthly to annual billing",
    ],
    "de": [
        "Was kostet der Team-Tarif im Monat?",
        "Kann ich einmal im Jahr statt monatlich bezahlen?",
        "Gibt es einen Rabatt für gemeinnützige Vereine?",
        "Wie kündige ich mein Abo?",
        "Gibt es eine kostenlose Testphase ohne Kreditkarte?",
        "Können wir einen eigenen Vertrag mit unserer Rechtsabteilung abschließen?",
        "Wo finde ich Ihre Unterlagen zur Datensicherheit?",
        "Was passiert mit meinen Daten, wenn ich kündige?",
        "Mir wurde diesen Monat doppelt abgebucht",
        "Kann ich von monatlicher auf jährliche Zahlung wechseln?",
    ],
    "es": [
        "¿Cuánto cuesta el plan Team al mes?",
        "¿Puedo pagar una vez al año en lugar de cada mes?",
        "¿Tenéis descuento para organizaciones sin ánimo de lucro?",
        "¿Cómo cancelo mi suscripción?",
        "¿Hay una prueba gratuita sin tarjeta de crédito?",
        "¿Podemos firmar un contrato propio con nuestro equipo legal?",
        "¿Dónde encuentro la documentación de seguridad?",
        "¿Qué pasa con mis datos si cancelo?",
        "Me habéis cobrado dos veces este mes",
        "¿Puedo pasar de pago mensual a anual?",
    ],
    "fr": [
        "Combien coûte l'offre Team par mois ?",
        "Est-ce que je peux payer une fois par an au lieu de chaque mois ?",
        "Avez-vous une remise pour les associations ?",
        "Comment résilier mon abonnement ?",
        "Y a-t-il un essai gratuit sans carte bancaire ?",
        "Pouvons-nous signer un contrat sur mesure avec notre service juridique ?",
        "Où trouver votre documentation sur la sécurité ?",
        "Que deviennent mes données si je résilie ?",
        "J'ai été prélevé deux fois ce mois-ci",
        "Puis-je passer d'un paiement mensuel à annuel ?",
    ],
    "pt": [
        "Quanto custa o plano Team por mês?",
        "Posso pagar uma vez por ano em vez de todo mês?",
        "Vocês têm desconto para ONGs?",
        "Como cancelo minha assinatura?",
        "Tem teste grátis sem cartão de crédito?",
        "Podemos assinar um contrato próprio com o nosso jurídico?",
        "Onde encontro a documentação de segurança?",
        "O que acontece com meus dados se eu cancelar?",
        "Fui cobrado duas vezes este mês",
        "Posso mudar do pagamento mensal para o anual?",
    ],
}
NEVER_SWITCH = ["ok", "OK!", "👍", "thanks", "12345", "#4711", "abc-123", "ja", "no", "merci",
                "I want to cancel mein Abo bitte",
                "Hallo, the price list s'il vous plaît"]  # fmt: skip


def questions() -> tuple[str, list[tuple[str, str]]]:
    if DATA.exists():
        rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
        return str(DATA.relative_to(ROOT)), [(r["text"], r.get("lang", "en")) for r in rows]
    return "built-in set", [(text, lang) for lang, texts in BUILT_IN.items() for text in texts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    source, asked = questions()
    detector = Detector(LANGUAGES)
    started = time.perf_counter()
    detector.warm()
    load_ms = (time.perf_counter() - started) * 1000
    by_language: dict[str, dict[str, int]] = {}
    times: list[float] = []
    for text, language in asked:
        started = time.perf_counter()
        read = detector.read(text).language
        times.append((time.perf_counter() - started) * 1000)
        counts = by_language.setdefault(language, {"right": 0, "unclear": 0, "wrong": 0})
        counts["right" if read == language else "unclear" if not read else "wrong"] += 1
    switched = [text for text in NEVER_SWITCH if detector.read(text).language]
    times.sort()
    figures = {
        "source": source,
        "messages": len(asked),
        "load_ms": round(load_ms, 1),
        "median_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 3),
        "max_ms": round(times[-1], 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "by_language": {
            language: {k: round(v / sum(c.values()), 3) for k, v in c.items()}
            | {"n": sum(c.values())}
            for language, c in sorted(by_language.items())
        },
        "short_or_mixed_switched": switched,
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    print(f"questions: {figures['messages']} from {source}")
    print(f"detector load (5 languages, models preloaded): {figures['load_ms']} ms")
    print(f"per message: median {figures['median_ms']} ms, p99 {figures['p99_ms']} ms,"
          f" max {figures['max_ms']} ms; peak RSS {figures['peak_rss_mb']} MB")  # fmt: skip
    print("language  n    right  unclear  wrong")
    for language, c in figures["by_language"].items():  # type: ignore[union-attr]
        right, unclear, wrong = c["right"], c["unclear"], c["wrong"]
        print(f"{language:<8}  {c['n']:<4} {right:>5.0%}  {unclear:>7.0%}  {wrong:>5.0%}")
    print(f"short or mixed texts that switched: {switched or 'none'} (of {len(NEVER_SWITCH)})")


if __name__ == "__main__":
    main()
