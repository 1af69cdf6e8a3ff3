"""The public status page and its Atom feed: the incidents open now, with their
updates newest first, and those resolved in the last `RESOLVED_DAYS` days; "all
systems normal" when nothing is wrong.

What the public may read only: an incident's title, what it affects, its updates'
texts and the times. Never who wrote them, who follows them or how many customers
asked (the store's `public_incidents` does not even read those). Every string is
escaped (`bot.web.html`), in the page and in the feed.

Both are rendered in the language of the context (`bot.i18n.speaking`, chosen by
`bot.web.lang.choose`): the page's own words and its dates; the incidents' titles
and updates are the agents' words, shown as written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from bot import i18n
from bot.model import IncidentState
from bot.store import Store
from bot.store.protocols.reports import PublicIncident
from bot.web.html import Html, clean, escape, html, join, page, time_tag
from bot.web.lang import when
from bot.web.texts import text

RESOLVED_DAYS = 30
FEED_NAME = "feed.atom"


@dataclass(frozen=True, slots=True)
class StatusData:
    """What the page shows, read once."""

    company: str
    now: datetime
    current: tuple[PublicIncident, ...]  # the latest opened first
    resolved: tuple[PublicIncident, ...]  # the latest resolved first

    @property
    def normal(self) -> bool:
        return not self.current


async def status_data(store: Store, company: str, now: datetime) -> StatusData:
    """The incidents the page shows at `now`, from the store's reporting reads."""
    now = now.astimezone(UTC)
    async with store.reporting() as reports:
        found = await reports.public_incidents(now - timedelta(days=RESOLVED_DAYS))
    current = tuple(i for i in found if i.state is IncidentState.OPEN)
    resolved = sorted(
        (i for i in found if i.state is IncidentState.RESOLVED),
        key=lambda i: (i.resolved_at or i.opened_at, i.id),
        reverse=True,
    )
    return StatusData(company, now, current, tuple(resolved))


def _incident(incident: PublicIncident) -> Html:
    meta = [
        html("<span>{t}</span>", t=text("status.since", when=when(incident.opened_at)))
        if incident.resolved_at is None
        else html("<span>{t}</span>", t=text("status.resolved_at", when=when(incident.resolved_at)))
    ]
    if incident.affected:
        meta.insert(
            0, html("<span>{t}</span> · ", t=text("status.affected", affected=incident.affected))
        )
    updates = [
        html("<li>{at}{text}</li>", at=time_tag(update.at, when(update.at)), text=update.text)
        for update in incident.updates
    ]
    if not updates and incident.state is IncidentState.OPEN:
        updates = [html("<li>{t}</li>", t=text("status.no_updates"))]
    return html(
        '<article class="incident">\n<h3>{title}</h3>\n<p class="meta">{meta}</p>\n'
        '<ol class="updates">\n{updates}\n</ol>\n</article>',
        title=incident.title,
        meta=join(meta, ""),
        updates=join(updates),
    )


def with_lang(href: str, languages: Sequence[str]) -> str:
    """`href` naming the context's language, when there is a choice."""
    if len(languages) < 2:
        return href
    return f"{href}?{urlencode({'lang': i18n.current()})}"


def _switch(languages: Sequence[str]) -> Html:
    """Links to the page in each configured language, each named in its own."""
    if len(languages) < 2:
        return Html("")
    links = [
        html(
            '<a href="{href}" lang="{code}" hreflang="{code}"{current}>{name}</a>',
            href=f"?{urlencode({'lang': code})}",
            code=code,
            current=Html(' aria-current="true"') if code == i18n.current() else Html(""),
            name=i18n.NAMES.get(code, code),
        )
        for code in languages
    ]
    return html(
        '<nav class="languages" aria-label="{label}">{links}</nav>',
        label=text("status.languages"),
        links=join(links, " · "),
    )


def render_status(data: StatusData, feed_href: str, languages: Sequence[str] = ()) -> Html:
    """The status page as HTML, in the context's language, with links to the other
    configured `languages`."""
    title = text("status.title", company=data.company)
    feed_href = with_lang(feed_href, languages)
    parts = [_switch(languages), html("<h1>{t}</h1>", t=title)]
    if data.normal:
        parts.append(
            html(
                '<p class="banner ok" role="status">{t}</p>\n<p>{d}</p>',
                t=text("status.normal"),
                d=text("status.normal_detail"),
            )
        )
    else:
        parts.append(html("<h2>{t}</h2>", t=text("status.current")))
        parts += [_incident(incident) for incident in data.current]
    parts.append(html("<h2>{t}</h2>", t=text("status.resolved", days=RESOLVED_DAYS)))
    if data.resolved:
        parts += [_incident(incident) for incident in data.resolved]
    else:
        parts.append(html("<p>{t}</p>", t=text("status.none_resolved", days=RESOLVED_DAYS)))
    parts.append(
        html('<p class="feed"><a href="{href}">{t}</a></p>', href=feed_href, t=text("status.feed"))
    )
    head = html(
        '<link rel="alternate" type="application/atom+xml" title="{t}" href="{href}">\n',
        t=text("status.feed_title", company=data.company),
        href=feed_href,
    )
    return page(title, join(parts), lang=i18n.current(), head=head)


def _atom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _updated(incident: PublicIncident) -> datetime:
    moments = [incident.opened_at, *(u.at for u in incident.updates)]
    if incident.resolved_at is not None:
        moments.append(incident.resolved_at)
    return max(moments)


def render_feed(data: StatusData, page_url: str, languages: Sequence[str] = ()) -> str:
    """The Atom feed (RFC 4287) in the context's language: one entry per incident
    shown, its content the updates as plain text, newest first."""
    host = urlsplit(page_url).hostname or "localhost"
    self_href = with_lang(f"{page_url.rstrip('/')}/{FEED_NAME}", languages)
    page_url = with_lang(page_url, languages)
    incidents = [*data.current, *data.resolved]
    updated = max((_updated(i) for i in incidents), default=data.now)
    entries = []
    for incident in incidents:
        state = text("status.open_word" if incident.resolved_at is None else "status.resolved_word")
        lines = [f"{when(u.at)}: {clean(u.text)}" for u in incident.updates]
        if incident.affected:
            lines.insert(0, text("status.affected", affected=clean(incident.affected)))
        entries.append(
            html(
                "<entry>\n<id>{id}</id>\n<title>{title}</title>\n<updated>{updated}</updated>\n"
                "<published>{published}</published>\n"
                '<link rel="alternate" type="text/html" href="{href}"/>\n'
                '<content type="text">{content}</content>\n</entry>',
                id=f"tag:{host},2026:incident:{incident.id}",
                title=f"[{state}] {incident.title}",
                updated=_atom_time(_updated(incident)),
                published=_atom_time(incident.opened_at),
                href=page_url,
                content="\n".join(lines) or text("status.no_updates"),
            )
        )
    feed = html(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">\n'
        "<id>{id}</id>\n<title>{title}</title>\n<updated>{updated}</updated>\n"
        "<author><name>{company}</name></author>\n"
        '<link rel="self" type="application/atom+xml" href="{self_href}"/>\n'
        '<link rel="alternate" type="text/html" href="{href}"/>\n{entries}\n</feed>\n',
        lang=i18n.current(),
        id=f"tag:{host},2026:status",
        title=text("status.feed_title", company=data.company),
        updated=_atom_time(updated),
        company=data.company,
        self_href=self_href,
        href=page_url,
        entries=join(entries),
    )
    return str(feed)


def not_found() -> Html:
    return page(text("page.not_found_title"), html("<p>{t}</p>", t=text("page.not_found")))


__all__ = [
    "RESOLVED_DAYS",
    "StatusData",
    "escape",
    "not_found",
    "render_feed",
    "render_status",
    "status_data",
    "with_lang",
]
