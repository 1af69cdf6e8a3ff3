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
    "signin.title": "Sign in to the dashboard",
    "signin.intro": "This link signs you in once, on this browser. Press the button to go on.",
    "signin.button": "Sign in",
    "signin.refused_title": "This link does not sign you in",
    "signin.refused": "The link was used already, is older than {minutes} minutes, or is not"
    " an agent's. Type /dashboard on the desk for a new one.",
    "signin.needed_title": "Sign in first",
    "signin.needed": "Type /dashboard on the desk (the terminal desk, the staff group or the"
    " triage channel): you get a sign-in link for your eyes alone.",
    "signin.forbidden_title": "Not accepted",
    "signin.forbidden": "That form did not come from this page, or it has expired. Go back,"
    " reload the page and try again.",
    "signout.button": "Sign out",
    "signout.done_title": "Signed out",
    "signout.done": "You are signed out on this browser.",
    "dashboard.title": "{company} dashboard",
    "dashboard.signed_in": "Signed in as {agent}.",
    "page.not_found": "There is no page here.",
    "page.not_found_title": "Not found",
}


def text(key: str, **fields: object) -> str:
    """The text `key`, its `{fields}` filled in (plain text: escape it to show it)."""
    found = ENGLISH[key]
    return found.format(**fields) if fields else found
