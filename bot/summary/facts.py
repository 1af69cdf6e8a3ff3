"""The facts a customer's messages state, found by rules and labelled: plan, seats,
billing period, currency, amounts, dates, invoice and order numbers, company and
country, in the five shipped languages.

Rules, not guesses: a number is a fact only with what says what it is ("40 seats",
"€1,200", "invoice INV-2041"), so a phone number or a year alone is none. Each
message is read up to `READ` characters, and no pattern has a quantifier inside a
repeated group that could backtrack over a long input: every repetition is bounded;
a case is read up to `READ_IN_ALL` characters (its first messages).
Values are normalised (a date as 2026-03-01, an amount as €1,200, a country by its
English name), so the same fact said twice is one fact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TypeVar

from bot.i18n import N_

READ = 2_000  # characters of each message that are read
READ_IN_ALL = 30_000  # and of a whole case (its first messages): the work is bounded
MOST = 6  # values kept per label: the first ones said

# The labels in the order the summary lists them, with their English words (the
# desk's; `for_customer` shows them translated).
LABELS: dict[str, str] = {
    "plan": N_("Plan"),
    "seats": N_("Seats"),
    "billing": N_("Billing"),
    "currency": N_("Currency"),
    "amount": N_("Amount"),
    "date": N_("Date"),
    "invoice": N_("Invoice"),
    "order": N_("Order"),
    "company": N_("Company"),
    "country": N_("Country"),
}
# Values that are the bot's words, not the customer's (translated for them too).
BILLING = {"yearly": N_("yearly"), "monthly": N_("monthly"), "quarterly": N_("quarterly")}

Facts = dict[str, list[str]]
_T = TypeVar("_T")

_I = re.IGNORECASE

# -- plan ------------------------------------------------------------------------------

_PLAN_NAME = (
    r"(free|team|business|enterprise|gratis|kostenlos|buisness|bussiness|busines|enterprize)"
)
_PLAN_WORD = r"(plan|tier|package|subscription|tarif|paket|abo|abonnement|plano|formule|offre)"
_PLAN = re.compile(
    rf"\b{_PLAN_NAME}[\s-]?{_PLAN_WORD}\b|\b{_PLAN_WORD}\s(?:de\s|du\s|do\s)?{_PLAN_NAME}\b", _I
)
_PLAN_MOVE = re.compile(
    r"\b(?i:upgrade|move|switch|downgrade|change|go|upgraded|moved|switched|downgraded)"
    r"\s(?i:us\s|me\s|our\saccount\s)?(?i:to|from)\s(?i:the\s)?(Free|Team|Business|Enterprise)\b"
)
_PLAN_NAMED = re.compile(  # "on Business", "from Team to Business": named, capitalised
    r"\b(?i:on|for|from|to|auf|von)\s(?i:the\s)?(Free|Team|Business|Enterprise)\b"
    r"(?!\s(?i:day|days|hours|trip|class|email|account|card|members?|leads?|of))"
)
_PLAN_BEFORE = re.compile(  # "12 Business seats", "Enterprise or Business"
    r"\b(Free|Team|Business|Enterprise)\s(?=(?i:seats?|users?|licen[cs]es?|accounts?)\b"
    r"|(?i:or|and|oder|und|o|y|ou|e)\s(?:Free|Team|Business|Enterprise)\b)"
)
_PLAN_AFTER = re.compile(
    r"\b(?:Free|Team|Business|Enterprise)\s(?i:or|and|oder|und|o|y|ou|e)\s"
    r"(Free|Team|Business|Enterprise)\b"
)
_PLAN_CANON = {
    "gratis": "Free",
    "kostenlos": "Free",
    "buisness": "Business",
    "bussiness": "Business",
    "busines": "Business",
    "enterprize": "Enterprise",
}

# -- seats -----------------------------------------------------------------------------

_SEAT_WORD = (
    r"(seats?|seets|users?|licen[cs]es?|people|members|agents|named users|accounts"
    r"|employees|staff|volunteers|colleagues|of us|mitarbeiter(?:innen)?|mitarbeitende"
    r"|kolleg(?:en|innen)|empleados|colaboradores|employ[ée]s|collaborateurs|salari[ée]s"
    r"|funcion[áa]rios|utilizadores"
    r"|nutzer(?:innen)?|benutzer(?:innen)?|lizenzen|pl[äa]tze|arbeitspl[äa]tze|personen"
    r"|usuarios|licencias|puestos|asientos|plazas|personas"
    r"|utilisateurs|licences|si[èe]ges|postes|personnes"
    r"|usu[áa]rios|licen[çc]as|assentos|lugares|pessoas)"
)
_BETWEEN = (
    r"(?:(?:more|additional|extra|new|paid|active|full|team|business|enterprise|user"
    r"|weitere|zus[äa]tzliche|neue|m[áa]s|nuevos|nuevas|adicionales|suppl[ée]mentaires"
    r"|nouveaux|novos|adicionais|mais)\s){0,2}"
)
_SEATS = re.compile(
    rf"(?<![\d.,/:-])(\d{{1,5}})\s(?:to|or|and|a|à|o|ou|y|e|et|auf|bis|oder|und|-|–)\s"
    rf"(?=\d{{1,5}}\s?{_BETWEEN}{_SEAT_WORD}\b)"
    rf"|(?<![\d.,/:-])(\d{{1,5}})\s?{_BETWEEN}{_SEAT_WORD}\b"
    rf"|\b(?:seats?|users?|licen[cs]es?|pl[äa]tze|nutzer|lizenzen|usuarios|licencias"
    rf"|utilisateurs|licences|usu[áa]rios|licen[çc]as)\s?(?:to|auf|a|à|para|:)\s?(\d{{1,5}})\b",
    _I,
)

# -- billing period --------------------------------------------------------------------

_BILLING = (
    (
        "yearly",
        r"yearly|annual(?:ly)?|per\syear|every\syear|each\syear|/\s?year|/\s?yr"
        r"|j[äa]hrlich\w{0,2}|pro\sjahr|jahresabo\w{0,3}|jahresvertrag|jahreszahlung"
        r"|anual(?:es|mente)?|al\saño|por\saño|annuel(?:le)?(?:ment)?|par\san|à\sl'année"
        r"|por\sano|ao\sano",
    ),
    (
        "monthly",
        r"monthly|per\smonth|every\smonth|each\smonth|/\s?month|/\s?mo\b"
        r"|monatlich\w{0,2}|pro\smonat|monatsabo|mensual(?:es|mente)?|al\smes|por\smes"
        r"|mensuel(?:le)?(?:ment)?|par\smois|mensal(?:mente)?|por\smês|ao\smês",
    ),
    ("quarterly", r"quarterly|per\squarter|vierteljährlich|quartalsweise|trimestral|trimestriel"),
)
_BILLINGS = tuple((name, re.compile(rf"(?<!\w)(?:{words})(?!\w)", _I)) for name, words in _BILLING)

# -- money -----------------------------------------------------------------------------

_SYMBOLS = {"R$": "BRL", "US$": "USD", "$": "USD", "€": "EUR", "£": "GBP"}
_CODES = ("EUR", "USD", "GBP", "CHF", "BRL", "MXN", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN")
_WORDS = {
    "euro": "EUR",
    "euros": "EUR",
    "dollar": "USD",
    "dollars": "USD",
    "dólares": "USD",
    "dolares": "USD",
    "pound": "GBP",
    "pounds": "GBP",
    "libras": "GBP",
    "reais": "BRL",
    "franken": "CHF",
}
_SHOWN = {"EUR": "€", "USD": "$", "GBP": "£", "BRL": "R$"}
_NUM = r"\d{1,3}(?:[.,\u00a0 ]\d{3}){1,4}(?:[.,]\d{1,2})?|\d{1,9}(?:[.,]\d{1,2})?"
_SYM = r"R\$|US\$|\$|€|£"
_CODE = "|".join(_CODES)
_WORD = "|".join(sorted(_WORDS, key=len, reverse=True))
_AMOUNT = re.compile(
    rf"(?P<c1>{_SYM}|\b(?:{_CODE})\b)\s?(?P<n1>{_NUM})(?P<k1>\s?k\b)?(?![\d])"
    rf"|(?<![\d.,])(?P<n2>{_NUM})(?P<k2>\s?k)?\s?(?P<c2>{_SYM}|(?:{_CODE}|(?i:{_WORD}))\b)"
)
_CURRENCY = re.compile(rf"\b(?P<code>{_CODE})\b|(?<!\w)(?P<word>{_WORD})\b|(?P<sym>€|£)", _I)

# -- dates -----------------------------------------------------------------------------

_MONTHS = {
    1: "january jan januar jänner enero janvier janeiro",
    2: "february feb februar febrero février fevrier fevereiro",
    3: "march mar märz maerz marzo mars março",
    4: "april apr abril avril",
    5: "may mai mayo maio",
    6: "june jun juni junio juin junho",
    7: "july jul juli julio juillet julho",
    8: "august aug agosto août aout",
    9: "september sep sept septiembre septembre setembro",
    10: "october oct oktober okt octubre octobre outubro",
    11: "november nov noviembre novembre novembro",
    12: "december dec dezember dez diciembre décembre decembre dezembro",
}
_MONTH_OF = {word: n for n, words in _MONTHS.items() for word in words.split()}
_MONTH = "|".join(sorted(_MONTH_OF, key=len, reverse=True))
_DATE_ISO = re.compile(r"(?<![\d.-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])")
_DATE_NUM = re.compile(r"(?<![\d./-])(\d{1,2})([./])(\d{1,2})\2(\d{4}|\d{2})(?![\d./-])")
_DATE_DAY_MONTH = re.compile(
    rf"(?<![\d.,])(\d{{1,2}})(?:st|nd|rd|th|er|º|°|\.)?\s(?:of\s|de\s)?({_MONTH})\.?"
    rf"(?:,?\s(?:de\s)?(\d{{4}}))?(?!\w)",
    _I,
)
_DATE_MONTH_DAY = re.compile(
    rf"(?<!\w)({_MONTH})\.?\s(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s(\d{{4}}))?(?![\d])", _I
)

# -- invoice and order numbers ---------------------------------------------------------

_NUMBER_WORD = r"(?:\s?(?:no\.?|nr\.?|num\.?|number|nummer|n[º°o]\.?|número|numéro|numero|id|#))?"
_REFERENCE = r"\s?[:#]?\s?(?P<id>[A-Z]{0,6}[-/]?\d[\w/-]{1,24})"
_INVOICE = re.compile(
    rf"\b(?:invoice|rechnung|rechnungsnummer|factura|facture|fatura|nota\sfiscal)"
    rf"{_NUMBER_WORD}{_REFERENCE}",
    _I,
)
_INVOICE_BARE = re.compile(r"\b(?P<id>INV[-_]?\d{3,12}(?:[-/]\d{1,12}){0,3})\b")
_ORDER = re.compile(
    rf"\b(?:order|purchase\sorder|bestellung|bestellnummer|auftrag|auftragsnummer|pedido"
    rf"|orden\sde\scompra|commande|bon\sde\scommande|ordem\sde\scompra)"
    rf"{_NUMBER_WORD}{_REFERENCE}",
    _I,
)
_ORDER_BARE = re.compile(r"\b(?P<id>PO[-_ ]?\d{3,12}(?:[-/]\d{1,12}){0,3})\b")

# -- company and country ---------------------------------------------------------------

_NAME_WORD = r"[A-ZÄÖÜÉÁÍÓÚÇ0-9][\w&'.-]{0,30}"
_SUFFIX = (
    r"GmbH|AG|KG|SE|Ltd\.?|Limited|LLC|LLP|LP|Inc\.?|Corp\.?|Co\.?|S\.A\.|SA|SAS|SARL|S\.L\.|SL"
    r"|Ltda\.?|Lda\.?|UG|OHG|GbR|S\.p\.A\.|SpA"
    r"|B\.V\.|BV|plc|Oy|AB|ApS|S\.r\.l\.|Srl|e\.V\."
)
_COMPANY = re.compile(
    rf"(?<![\w&'.-])(?P<name>{_NAME_WORD}(?:\s(?:(?:&|et|und|y|e|de|da|do|del|des|du|di|of|von|van)\s)?{_NAME_WORD}){{0,3}})\s(?P<suffix>{_SUFFIX})"
    r"(?![\w])"
)
_COMPANY_CUE = re.compile(
    r"\b(?i:(?:our|my)\s(?:company|firm|organi[sz]ation)\s(?:is\s)?(?:called\s|named\s)?"
    r"|(?:company|firm)\s(?:is\s)?(?:called|named)\s|(?:i|we)\swork\s(?:for|at)\s"
    r"|(?:wir\ssind|unsere\sfirma\s(?:ist|heißt)|mi\sempresa\s(?:es|se\sllama)"
    r"|notre\s(?:entreprise|société)\s(?:est|s'appelle)|minha\sempresa\s(?:é|se\schama))\s)"
    rf"(?P<name>{_NAME_WORD}(?:\s{_NAME_WORD}){{0,2}})"
)
_NOT_NAMES = frozenset(
    (
        *("a", "an", "the", "our", "my", "we", "i", "dear", "at", "for", "from", "with", "and"),
        *("hi", "hello", "hallo", "hola", "bonjour", "olá", "firma", "unternehmen", "company"),
        *("empresa", "société", "entreprise", "we're", "we’re", "i'm", "i’m", "this", "here"),
    )
)
_COUNTRIES = {
    "Germany": "germany deutschland alemania allemagne alemanha",
    "Austria": "austria österreich autriche áustria",
    "Switzerland": "switzerland schweiz suiza suisse suíça",
    "Spain": "spain spanien españa espana espagne espanha",
    "France": "france frankreich francia frança",
    "Portugal": "portugal",
    "Brazil": "brazil brasil brasilien brésil",
    "Mexico": "mexico méxico mexiko mexique",
    "Argentina": "argentina argentinien argentine",
    "Chile": "chile chili",
    "Colombia": "colombia kolumbien colombie colômbia",
    "Italy": "italy italien italia italie itália",
    "Netherlands": "netherlands niederlande holland países-bajos pays-bas holanda",
    "Belgium": "belgium belgien bélgica belgique",
    "Ireland": "ireland irland irlanda irlande",
    "Poland": "poland polen polonia pologne polônia",
    "Sweden": "sweden schweden suecia suède suécia",
    "Denmark": "denmark dänemark dinamarca danemark",
    "Norway": "norway norwegen noruega norvège",
    "Finland": "finland finnland finlandia finlande finlândia",
    "Luxembourg": "luxembourg luxemburg luxemburgo",
    "Canada": "canada kanada canadá",
    "United States": "usa estados-unidos états-unis vereinigte-staaten united-states",
    "United Kingdom": "united-kingdom großbritannien reino-unido royaume-uni great-britain",
    "India": "india indien inde índia",
    "Australia": "australia australien australie austrália",
    "Japan": "japan japón japon japão",
    "Peru": "peru perú pérou",
}
_COUNTRY_OF = {
    word.replace("-", " "): name for name, words in _COUNTRIES.items() for word in words.split()
}
_COUNTRY = re.compile(
    r"(?<!\w)("
    + "|".join(re.escape(w).replace(r"\ ", r"\s") for w in sorted(_COUNTRY_OF, key=len)[::-1])
    + r")(?!\w)",
    _I,
)
_COUNTRY_CODES = re.compile(
    r"\b(?i:the|in|from|to|of|den|der|en|aux|nos|los|el|na|no|dos)\s(UK|U\.K\.|US|U\.S\.|USA)"
    r"(?![\w$])(?!\s?(?i:dollars?))"
    r"|\b(UK|US|USA)-(?i:based|headquartered)\b"
)
_CODE_COUNTRY = {"UK": "United Kingdom", "U.K.": "United Kingdom"}


def extract(messages: Iterable[tuple[str, datetime]]) -> Facts:
    """The facts of a customer's messages (their text and when each was written),
    label → values in the order they were first said."""
    found: Facts = {label: [] for label in LABELS}
    left = READ_IN_ALL
    for text, at in messages:
        if left <= 0:
            break
        text = text[: min(READ, left)]
        left -= len(text)
        for label, value in _facts_of(text, at.date()):
            values = found[label]
            if value not in values and len(values) < MOST:
                values.append(value)
    return {label: values for label, values in found.items() if values}


def _facts_of(text: str, today: date) -> Iterable[tuple[str, str]]:
    for m in _PLAN.finditer(text):
        name = (m.group(1) or m.group(4)).casefold()
        yield "plan", _PLAN_CANON.get(name, name.title())
    for pattern in (_PLAN_MOVE, _PLAN_NAMED, _PLAN_BEFORE, _PLAN_AFTER):
        for m in pattern.finditer(text):
            yield "plan", m.group(1)
    for m in _SEATS.finditer(text):
        yield "seats", str(int(next(g for g in m.groups() if g)))
    for name, pattern in _BILLINGS:
        if pattern.search(text):
            yield "billing", name
    dates = [*_dates(text, today)]
    for currency, amount in _amounts(text):
        yield "currency", currency
        yield "amount", amount
    for m in _CURRENCY.finditer(text):
        if m.group("code"):
            yield "currency", m.group("code").upper()
        elif m.group("word"):
            yield "currency", _of(_WORDS, m.group("word")) or "?"
        else:
            yield "currency", _SYMBOLS[m.group("sym")]
    for when in dates:
        yield "date", when
    yield from _references(text)
    yield from _companies(text)
    for m in _COUNTRY.finditer(text):
        country = _of(_COUNTRY_OF, m.group(1))
        if country:
            yield "country", country
    for m in _COUNTRY_CODES.finditer(text):
        yield "country", _CODE_COUNTRY.get(m.group(1) or m.group(2), "United States")


def _of(table: Mapping[str, _T], said: str) -> _T | None:
    """The value of the word a pattern matched, however it was written: the patterns
    match by Unicode's simple case rules, which casefold does not always agree with
    ("İNDIA" casefolds to "i̇ndia", with a combining dot; "GROẞBRITANNIEN" to "gross…")."""
    key = " ".join(said.casefold().replace("\u0307", "").split())
    if key in table:
        return table[key]
    for word, value in table.items():  # (small tables: the pattern's own comparison)
        if re.fullmatch(re.escape(word).replace(r"\ ", r"\s"), said, _I):
            return value
    return None


def _amounts(text: str) -> Iterable[tuple[str, str]]:
    for m in _AMOUNT.finditer(text):
        mark = m.group("c1") or m.group("c2")
        number = m.group("n1") or m.group("n2")
        thousands = bool(m.group("k1") or m.group("k2"))
        code = _SYMBOLS.get(mark) or _of(_WORDS, mark) or mark.upper()
        value = _number(number) * (1000 if thousands else 1)
        shown = f"{value:,.2f}".removesuffix(".00")
        symbol = _SHOWN.get(code)
        yield code, f"{symbol}{shown}" if symbol else f"{code} {shown}"


def _number(written: str) -> float:
    """ "1.200,50", "1,200.50", "1 200", "49,90" as numbers: the last separator is the
    decimal one when one or two digits follow it, else they all group thousands."""
    ascii_digits = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in written)
    digits = ascii_digits.replace("\u00a0", " ").replace(" ", ",")  # (`\d`: any script's)
    last = max(digits.rfind("."), digits.rfind(","))
    if last >= 0 and len(digits) - last - 1 in (1, 2):
        whole, cents = digits[:last], digits[last + 1 :]
    else:
        whole, cents = digits, "0"
    return float(f"{int(re.sub(r'[^0-9]', '', whole) or '0')}.{cents}")


def _dates(text: str, today: date) -> Iterable[str]:
    for m in _DATE_ISO.finditer(text):
        yield from _date(int(m.group(1)), int(m.group(2)), int(m.group(3)), today)
    for m in _DATE_NUM.finditer(text):
        first, second, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        year += 2000 if year < 100 else 0
        if m.group(2) == "/" and second > 12:  # 03/25/2026: the month first
            first, second = second, first
        yield from _date(year, second, first, today)
    for m in _DATE_DAY_MONTH.finditer(text):
        said = int(m.group(3)) if m.group(3) else None
        yield from _date(said, _of(_MONTH_OF, m.group(2)) or 0, int(m.group(1)), today)
    for m in _DATE_MONTH_DAY.finditer(text):
        if m.group(1) in ("may", "mar", "mai"):  # the words, not the months
            continue
        said = int(m.group(3)) if m.group(3) else None
        yield from _date(said, _of(_MONTH_OF, m.group(1)) or 0, int(m.group(2)), today)


def _date(year: int | None, month: int, day: int, today: date) -> Iterable[str]:
    """A valid date as 2026-03-01; without a year, the one of `today` (the next one
    when that was more than half a year ago)."""
    try:
        when = date(year or today.year, month, day)
        if year is None and (today - when).days > 183:
            when = date(today.year + 1, month, day)
    except ValueError:
        return
    if 1990 <= when.year <= 2100:
        yield when.isoformat()


def _references(text: str) -> Iterable[tuple[str, str]]:
    for label, pattern, bare in (
        ("invoice", _INVOICE, _INVOICE_BARE),
        ("order", _ORDER, _ORDER_BARE),
    ):
        for m in pattern.finditer(text):
            reference = m.group("id").rstrip("-/.")
            if _is_reference(reference):
                yield label, reference.upper()
        for m in bare.finditer(text):
            yield label, m.group("id").replace(" ", "-").replace("_", "-").upper()


def _is_reference(reference: str) -> bool:
    """An invoice or order number: at least four digits, or letters and digits
    ("INV-2041", "A-77"); not a date nor a small count ("invoice for 40 seats")."""
    digits = sum(ch.isdigit() for ch in reference)
    if _DATE_ISO.fullmatch(reference) or _DATE_NUM.fullmatch(reference):
        return False
    has_letters = any(ch.isalpha() for ch in reference)
    return digits >= 4 or (has_letters and digits >= 2 and len(reference) >= 4)


def _companies(text: str) -> Iterable[tuple[str, str]]:
    for m in _COMPANY.finditer(text):
        name = _name(m.group("name"))
        if name:
            yield "company", f"{name} {m.group('suffix')}"
    for m in _COMPANY_CUE.finditer(text):
        name = _name(m.group("name"))
        if name and not _COMPANY.search(m.group(0) + text[m.end() : m.end() + 12]):
            yield "company", name


def _name(written: str) -> str:
    """A company's name without the words before it that are not part of it."""
    words = written.rstrip(".,").split()
    while words and words[0].casefold().strip(",.") in _NOT_NAMES:
        words = words[1:]
    return " ".join(words)


def line(facts: Facts) -> str:
    """ "Plan: Business · Seats: 40 · Amount: €1,200; €300" (the desk's words)."""
    return " · ".join(f"{LABELS[label]}: {'; '.join(values)}" for label, values in facts.items())
