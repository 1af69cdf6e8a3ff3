"""The dashboard's own small pages: signing in and out, and the frame every
signed-in page shares (who is signed in, the sign-out button with its CSRF
token)."""

from __future__ import annotations

from bot.web.html import Html, html, join, page
from bot.web.signin import LINK_MINUTES, SIGNIN_PATH
from bot.web.texts import text

SIGNOUT_PATH = "/signout"
# The sign-in link's pages: their requests (the stylesheet, the form) say only our
# origin as the Referer, never the address with its token, which a proxy would log.
# Not "no-referrer": a form posted under it says "Origin: null", which is refused.
SIGNIN_REFERRER = "strict-origin"
DASHBOARD_PATH = "/dashboard"


def message(title: str, body: str, referrer: str = "same-origin") -> Html:
    return page(title, html("<h1>{t}</h1>\n<p>{b}</p>", t=title, b=body), referrer=referrer)


def signin_page(token: str) -> Html:
    """The page a sign-in link opens: a button, so that a link preview (which only
    fetches) takes nothing."""
    return page(
        text("signin.title"),
        html(
            "<h1>{t}</h1>\n<p>{intro}</p>\n"
            '<form method="post" action="{action}">\n'
            '<input type="hidden" name="token" value="{token}">\n'
            '<button type="submit">{button}</button>\n</form>',
            t=text("signin.title"),
            intro=text("signin.intro"),
            action=SIGNIN_PATH,
            token=token,
            button=text("signin.button"),
        ),
        referrer=SIGNIN_REFERRER,
    )


def signin_refused() -> Html:
    return message(text("signin.refused_title"), text("signin.refused", minutes=LINK_MINUTES))


def signin_expired() -> Html:
    """What a dead link opens (delivered late by an outbox retry, or used)."""
    said = text("signin.expired", minutes=LINK_MINUTES)
    return message(text("signin.expired_title"), said, referrer=SIGNIN_REFERRER)


def signin_needed() -> Html:
    return message(text("signin.needed_title"), text("signin.needed"))


def forbidden() -> Html:
    return message(text("signin.forbidden_title"), text("signin.forbidden"))


def signed_out() -> Html:
    return message(text("signout.done_title"), text("signout.done"))


def signed_in_page(
    title: str, agent: str, csrf: str, body: Html, *, refresh: int | None = None
) -> Html:
    """A page of the dashboard, with who is signed in and the sign-out button."""
    bar = html(
        '<header class="bar"><span>{who}</span>\n'
        '<form method="post" action="{action}">'
        '<input type="hidden" name="csrf" value="{csrf}">'
        '<button type="submit">{button}</button></form></header>',
        who=text("dashboard.signed_in", agent=agent),
        action=SIGNOUT_PATH,
        csrf=csrf,
        button=text("signout.button"),
    )
    return page(title, join([bar, html("<h1>{t}</h1>", t=title), body]), refresh=refresh)
