"""HTML with every value escaped: `html(template, **values)` escapes each value
that is not already `Html`, so that a customer's name `<script>` is text wherever it
goes (pages, attributes, inline SVG). Values are also cleaned of what no HTML or XML
page may hold (control characters, lone surrogates, non-characters)."""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable
from datetime import UTC, datetime

# C0 controls but tab, newline and carriage return; DEL and C1; lone surrogates;
# the non-characters U+FFFE and U+FFFF: none may appear in an XML document
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
STYLESHEET = "/static/candor.css"


class Html(str):
    """Markup that is already safe (built by `html` or a constant of ours)."""

    __slots__ = ()


def clean(value: object) -> str:
    """A value as text a page can hold: its unwritable characters dropped."""
    return _UNWRITABLE.sub("", str(value))


def escape(value: object) -> Html:
    """A value as safe markup: `Html` as it is, anything else escaped (quotes too,
    so it is safe in an attribute)."""
    if isinstance(value, Html):
        return value
    return Html(_html.escape(clean(value), quote=True))


def html(template: str, **values: object) -> Html:
    """The template (ours, a constant) with each `{name}` an escaped value."""
    return Html(template.format(**{name: escape(v) for name, v in values.items()}))


def join(parts: Iterable[Html], sep: str = "\n") -> Html:
    return Html(sep.join(escape(part) for part in parts))


def when(moment: datetime) -> str:
    """A moment as a person reads it: "2026-11-23 10:00 UTC"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def time_tag(moment: datetime, label: str | None = None) -> Html:
    """A `<time>` with its machine-readable moment."""
    at = moment.astimezone(UTC)
    return html(
        '<time datetime="{iso}">{label}</time>',
        iso=at.isoformat(timespec="seconds"),
        label=when(at) if label is None else label,
    )


def page(
    title: str,
    body: Html,
    *,
    lang: str = "en",
    head: Html | None = None,
    refresh: int | None = None,
    referrer: str = "same-origin",
) -> Html:
    """A whole page: its title, the stylesheet (served by us: nothing is fetched from
    elsewhere) and the body. `referrer`: what the page's requests say of it (the
    sign-in link's page says only our origin: its address holds the token)."""
    meta = html('<meta http-equiv="refresh" content="{s}">', s=refresh) if refresh else Html("")
    return html(
        "<!doctype html>\n"
        '<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="{referrer}">\n'
        "{meta}<title>{title}</title>\n"
        '<link rel="stylesheet" href="{css}">\n{head}</head>\n'
        "<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        lang=lang,
        referrer=referrer,
        meta=meta,
        title=title,
        css=STYLESHEET,
        head=head or Html(""),
        body=body,
    )


CSS = """\
:root { color-scheme: light; --ink: #1b1b1b; --muted: #555; --line: #d0d0d0;
  --ok: #1a7f37; --bad: #b35900; --link: #0050a0; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .75rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
a { color: var(--link); }
.banner { padding: .75rem 1rem; border-radius: .4rem; border: 2px solid; font-weight: 600; }
.banner.ok { border-color: var(--ok); color: var(--ok); }
.banner.bad { border-color: var(--bad); color: var(--bad); }
.incident { border: 1px solid var(--line); border-radius: .4rem; padding: .75rem 1rem;
  margin: 0 0 1rem; }
.meta { color: var(--muted); font-size: .9rem; margin: 0 0 .5rem; }
.updates { list-style: none; padding: 0; margin: 0; }
.updates li { border-top: 1px solid var(--line); padding: .4rem 0; overflow-wrap: anywhere;
  white-space: pre-wrap; }
.updates time { color: var(--muted); font-size: .9rem; display: block; white-space: normal; }
.feed { margin-top: 2rem; font-size: .9rem; }
.bar { display: flex; justify-content: space-between; align-items: center; gap: 1rem;
  border-bottom: 1px solid var(--line); padding-bottom: .5rem; margin-bottom: 1rem; }
.bar form { margin: 0; }
nav { display: flex; gap: 1rem; margin: 0 0 1rem; }
.table { overflow-x: auto; margin: 0 0 1.5rem; }
table { border-collapse: collapse; min-width: 50%; }
caption { text-align: left; color: var(--muted); font-size: .9rem; padding: .25rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .6rem; text-align: left;
  overflow-wrap: anywhere; }
td:not(:first-child) { font-variant-numeric: tabular-nums; }
.plot { margin: 0 0 1rem; }
.chart { width: 100%; height: auto; max-width: 720px; }
.chart .grid { stroke: #e3e3e3; } .chart .axis { stroke: var(--ink); }
.chart text { font: 11px system-ui, sans-serif; fill: var(--ink); }
.chart .label { font-size: 12px; }
.csv { font-size: .9rem; margin: .25rem 0 0; }
.period { margin: 0 0 1rem; }
button { font: inherit; padding: .35rem .9rem; border: 1px solid var(--ink);
  border-radius: .3rem; background: #f4f4f4; cursor: pointer; }
"""
