"""Every word the web pages show, in one place, so that they can go through
gettext when the customer's language is in place. English for now: `text(key)`
is the one door, and `{name}` fields are filled by the caller (escaped)."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    "status.title": "{company} status",
    "status.normal": "All systems normal.",
    "status.normal_detail": "Nothing is known to be wrong right now.",
    "status.current": "Current incidents",
    "status.resolved": "Resolved in the last {days} days",
    "status.none_resolved": "No incident was resolved in the last {days} days.",
    "status.affected": "Affected: {affected}",
    "status.since": "Since {when}",
    "status.resolved_at": "Resolved {when}",
    "status.no_updates": "We are looking into it. Updates will follow here.",
    "status.feed": "Subscribe to the Atom feed",
    "status.feed_title": "{company} status: incidents",
    "status.updated": "Updated {when}",
    "status.open_word": "ongoing",
    "status.resolved_word": "resolved",
    "page.not_found": "There is no page here.",
    "page.not_found_title": "Not found",
}


def text(key: str, **fields: object) -> str:
    """The text `key`, its `{fields}` filled in (plain text: escape it to show it)."""
    found = ENGLISH[key]
    return found.format(**fields) if fields else found
