"""The HTTP server of the web pages: `candor web` runs it alone, `candor run` beside
the channels when `[web] enabled = true`.

Every response carries headers that keep a page to itself: a Content-Security-Policy
that lets it load nothing but our stylesheet (no script at all), no framing, no
sniffing, no referrer to other sites. A failure inside answers with a short page, never a
traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot import i18n
from bot.store import Store, StoreError
from bot.web import pages
from bot.web.drafts import (
    DRAFT_TABLES,
    DRAFTS_PATH,
    DraftsView,
    drafts_csv,
    drafts_view,
    render_drafts,
)
from bot.web.html import CSS, STYLESHEET, Html, html, join
from bot.web.lang import choose
from bot.web.overview import (
    DEFAULT_PERIOD,
    TABLES,
    Overview,
    overview,
    render_agents,
    render_channels,
    render_overview,
    tables,
    to_csv,
)
from bot.web.queue import REFRESH_SECONDS, queue_rows, render_queue
from bot.web.settings import WebSettings
from bot.web.signin import SESSION_HOURS, SIGNIN_PATH, Sessions, cookie_name, csrf_token, same
from bot.web.status import FEED_NAME, not_found, render_feed, render_status, status_data
from bot.web.texts import text

log = logging.getLogger(__name__)


class _Malformed(logging.Filter):
    """A request no HTTP client sends (broken framing, a NUL in a header, a path that
    is not ASCII) is the sender's: aiohttp logs it as an ERROR with a traceback, so
    anyone could fill the log with them. One line at DEBUG instead; a failure of
    ours keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError) or error.code >= 500:
            return True
        if not http_log.isEnabledFor(logging.DEBUG):
            return False
        first = (error.message or type(error).__name__).splitlines()[0]
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg, record.args = "a malformed request from %s: %s", (remote, first)
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.exc_info = None
        record.exc_text = None
        return True


http_log = logging.getLogger(__name__ + ".http")  # aiohttp's own lines about our server
http_log.addFilter(_Malformed())

Clock = Callable[[], datetime]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin: our own forms carry their real Origin (with no-referrer a browser
    # sends "Origin: null", refused); nothing of ours is told to another site
    "Referrer-Policy": "same-origin",
    # no other site's window keeps a handle on ours, nor embeds what we serve
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HTML = "text/html"
# A connection is closed after this long without a whole request: a client sending
# half a request a byte at a time (slowloris) holds its socket no longer (aiohttp's
# default is an hour).
IDLE_SECONDS = 30.0
HSTS = "max-age=31536000"  # over https: a browser then never tries it in the clear
UNAVAILABLE = "The page cannot be shown right now: the database cannot be read. Try again soon."


def _now() -> datetime:
    return datetime.now(UTC)


def _html(page: Html, status: int = 200) -> web.Response:
    response = web.Response(text=str(page), content_type=HTML, status=status)
    response.headers["Cache-Control"] = "no-store"  # nothing signed-in is kept anywhere
    return response


class Refused(Exception):
    """A request that may not do what it asks: answered with `page` and `status`."""

    def __init__(self, page: Html, status: int) -> None:
        super().__init__(status)
        self.page = page
        self.status = status


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers on every answer; a store that fails is a 503 page, anything else
    unexpected a 500 page, and neither shows a traceback."""
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = web.Response(text=str(not_found()), content_type=HTML, status=404)
    except web.HTTPException as error:  # 405, 413 and the like: as a plain answer
        response = web.Response(status=error.status, text=error.text or error.reason)
        if "Allow" in error.headers:  # a 405 says which methods are (RFC 9110 15.5.6)
            response.headers["Allow"] = error.headers["Allow"]
    except Refused as refused:
        response = _html(refused.page, refused.status)
    except StoreError as error:
        log.warning("a web page could not read the store: %s", error)
        response = web.Response(text=UNAVAILABLE, status=503)
    except Exception:
        log.exception("a web page failed")
        response = web.Response(text="Something went wrong on our side.", status=500)
    chosen = response.headers.get("Referrer-Policy")  # a page's own (the sign-in link's)
    response.headers.update(HEADERS)
    if chosen is not None:
        response.headers["Referrer-Policy"] = chosen
    # an answer that says nothing of its caching (an error, a 405) is kept nowhere
    response.headers.setdefault("Cache-Control", "no-store")
    return response


async def _strict_transport(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Strict-Transport-Security"] = HSTS


def origin(url: str) -> tuple[str, str, int] | None:
    """A URL's origin (scheme, host, port: the default port filled in), or None
    when it names none ("null", "", a file: URL, a port that is not one)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.scheme, parts.hostname.lower(), port


class WebServer:
    """The web pages of one store (a `Channel`: started and stopped once)."""

    def __init__(
        self,
        store: Store,
        settings: WebSettings,
        company: str,
        agents: Collection[str] = (),
        clock: Clock = _now,
        languages: Sequence[str] = (i18n.ENGLISH,),
        idle_seconds: float = IDLE_SECONDS,
        knowledge: Path | None = None,
    ) -> None:
        self.store = store
        self.idle_seconds = idle_seconds
        self.knowledge = knowledge  # `[knowledge] directory`: its drafts are a page's
        self.languages = tuple(languages) or (i18n.ENGLISH,)  # `[bot] languages`
        self.settings = settings
        self.company = company
        self.clock = clock
        self.sessions = Sessions(store, lambda: agents)  # the configured agents' names
        self.cookie = cookie_name(settings.secure)
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        """The aiohttp application (tests serve it with aiohttp's test server)."""
        app = web.Application(middlewares=[_guard], client_max_size=64 * 1024)
        if self.settings.secure:
            app.on_response_prepare.append(_strict_transport)
        status = self.settings.status_path
        feed = f"{status.rstrip('/')}/{FEED_NAME}"
        app.router.add_get(status, self.status)
        app.router.add_get(feed, self.feed)
        app.router.add_get(STYLESHEET, self.stylesheet)
        app.router.add_get("/healthz", self.health)
        app.router.add_get(SIGNIN_PATH + "/{token}", self.signin_form)
        app.router.add_post(SIGNIN_PATH, self.signin)
        app.router.add_post(pages.SIGNOUT_PATH, self.signout)
        app.router.add_get(pages.DASHBOARD_PATH, self.dashboard)
        app.router.add_get(pages.DASHBOARD_PATH + "/csv", self.csv)
        app.router.add_get(pages.DASHBOARD_PATH + "/queue", self.queue)
        app.router.add_get(pages.DASHBOARD_PATH + "/agents", self.agents)
        app.router.add_get(DRAFTS_PATH, self.drafts)
        app.router.add_get(DRAFTS_PATH + "/csv", self.drafts_csv)
        app.router.add_get(pages.DASHBOARD_PATH + "/channels", self.channels)
        return app

    # -- signing in and out --------------------------------------------------------------

    def _same_site(self, request: web.Request) -> None:
        """A form posted from another site is refused (with the CSRF token, and
        SameSite=Strict cookies, a third wall)."""
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            raise Refused(pages.forbidden(), 403)
        given = request.headers.get("Origin")
        if given is not None:
            # the whole origin, scheme too: http://support.example.com is another site
            # than https://support.example.com (anyone on the way can answer for it).
            # Ours is `public_url`'s, or without one the request's own; "null" (a
            # sandboxed frame, a data: page) names no site: never ours.
            ours = origin(self.settings.public_url or f"{request.scheme}://{request.host}")
            if ours is None or origin(given) != ours:
                raise Refused(pages.forbidden(), 403)

    async def _agent(self, request: web.Request) -> tuple[str, str]:
        """(the agent, their session token), or `Refused`: sign in first."""
        token = request.cookies.get(self.cookie, "")
        agent = await self.sessions.agent(token, self.clock()) if token else None
        if agent is None:
            raise Refused(pages.signin_needed(), 401)
        return agent, token

    async def _form(self, request: web.Request) -> Mapping[str, object]:
        """The posted form, or a 400 page: a body no browser sends (a multipart one
        without its boundary, bytes that are not its charset, a charset that is not
        one) is the sender's mistake, not a failure of ours."""
        try:
            return await request.post()
        except (ValueError, LookupError, HttpProcessingError):
            raise Refused(pages.message(text("page.bad_title"), text("page.bad")), 400) from None

    async def signin_form(self, request: web.Request) -> web.Response:
        """The link's page: its button while the link is good (looking, as a chat's
        link preview does, takes nothing), else why it signs nobody in."""
        token = request.match_info["token"]
        if await self.sessions.usable(token, self.clock()):
            response = _html(pages.signin_page(token))
        else:
            response = _html(pages.signin_expired(), 410)
        response.headers["Referrer-Policy"] = pages.SIGNIN_REFERRER
        return response

    async def signin(self, request: web.Request) -> web.Response:
        self._same_site(request)
        form = await self._form(request)
        token = form.get("token")
        opened = (
            await self.sessions.sign_in(token, self.clock()) if isinstance(token, str) else None
        )
        if opened is None:
            raise Refused(pages.signin_refused(), 403)
        session, _ = opened
        response = web.Response(status=303, headers={"Location": pages.DASHBOARD_PATH})
        response.set_cookie(
            self.cookie,
            session,
            max_age=SESSION_HOURS * 3600,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.settings.secure,
        )
        return response

    async def signout(self, request: web.Request) -> web.Response:
        self._same_site(request)
        _, session = await self._agent(request)
        form = await self._form(request)
        given = form.get("csrf")
        if not isinstance(given, str) or not same(given, csrf_token(session)):
            raise Refused(pages.forbidden(), 403)
        await self.sessions.sign_out(session)
        response = _html(pages.signed_out())
        # a __Host- cookie is cleared only by one set as it was: Secure, for "/"
        response.del_cookie(self.cookie, path="/", secure=self.settings.secure)
        return response

    # -- the dashboard -------------------------------------------------------------------

    def _nav(self) -> Html:
        links = [
            (pages.DASHBOARD_PATH, text("nav.overview")),
            (pages.DASHBOARD_PATH + "/agents", text("nav.agents")),
            (DRAFTS_PATH, text("nav.drafts")),
            (pages.DASHBOARD_PATH + "/channels", text("nav.channels")),
            (pages.DASHBOARD_PATH + "/queue", text("nav.queue")),
            (self.settings.status_path, text("nav.status")),
        ]
        return join([html('<a href="{h}">{t}</a>', h=h, t=t) for h, t in links], " ")

    def _signed_in(
        self, agent: str, session: str, title: str, body: Html, refresh: int | None = None
    ) -> web.Response:
        framed = join([html("<nav>{links}</nav>", links=self._nav()), body])
        page = pages.signed_in_page(title, agent, csrf_token(session), framed, refresh=refresh)
        return _html(page)

    async def _overview(self, request: web.Request) -> Overview:
        try:
            return await overview(
                self.store, request.query.get("days", DEFAULT_PERIOD), self.clock()
            )
        except ValueError as error:
            raise Refused(pages.message(text("overview.title"), str(error)), 400) from None

    async def dashboard(self, request: web.Request) -> web.Response:
        agent, session = await self._agent(request)
        view = await self._overview(request)
        title = text("dashboard.title", company=self.company)
        return self._signed_in(agent, session, title, render_overview(view))

    async def agents(self, request: web.Request) -> web.Response:
        agent, session = await self._agent(request)
        view = await self._overview(request)
        return self._signed_in(agent, session, text("agents.title"), render_agents(view))

    async def channels(self, request: web.Request) -> web.Response:
        agent, session = await self._agent(request)
        view = await self._overview(request)
        return self._signed_in(agent, session, text("where.title"), render_channels(view))

    async def csv(self, request: web.Request) -> web.Response:
        await self._agent(request)
        name = request.query.get("table", "")
        if name not in TABLES:
            raise Refused(pages.message(text("overview.title"), text("overview.bad_table")), 400)
        view = await self._overview(request)
        # UTF-8 with a BOM: without it Excel reads the file as the system's code page
        body = ("\ufeff" + to_csv(tables(view)[name])).encode("utf-8")
        response = web.Response(body=body, content_type="text/csv", charset="utf-8")
        # a name of ours only (the table is one of TABLES, the days a number)
        response.headers["Content-Disposition"] = (
            f'attachment; filename="candor-{name}-{view.days}d.csv"'
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def _drafts(self, request: web.Request) -> DraftsView:
        days = request.query.get("days", DEFAULT_PERIOD)
        try:
            return await drafts_view(self.store, self.knowledge, days, self.clock())
        except ValueError as error:
            raise Refused(pages.message(text("drafts.title"), str(error)), 400) from None

    async def drafts(self, request: web.Request) -> web.Response:
        agent, session = await self._agent(request)
        body = render_drafts(await self._drafts(request))
        return self._signed_in(agent, session, text("drafts.title"), body)

    async def drafts_csv(self, request: web.Request) -> web.Response:
        await self._agent(request)
        name = request.query.get("table", "")
        if name not in DRAFT_TABLES:
            raise Refused(pages.message(text("drafts.title"), text("drafts.bad_table")), 400)
        view = await self._drafts(request)
        # with a BOM, as the overview's: Excel reads a draft's "Kündigung" right
        body = ("\ufeff" + drafts_csv(view, name)).encode("utf-8")
        response = web.Response(body=body, content_type="text/csv", charset="utf-8")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="candor-{name}-{view.days}d.csv"'
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def queue(self, request: web.Request) -> web.Response:
        agent, session = await self._agent(request)
        body = render_queue(await queue_rows(self.store))
        return self._signed_in(agent, session, text("queue.title"), body, REFRESH_SECONDS)

    def _page_url(self) -> str:
        return self.settings.base_url() + self.settings.status_path

    def _language(self, request: web.Request) -> str:
        """The visitor's language: `?lang=`, else Accept-Language, else the default."""
        asked = request.query.get("lang")
        return choose(asked, request.headers.get("Accept-Language", ""), self.languages)

    @staticmethod
    def _public(response: web.Response) -> web.Response:
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Vary"] = "Accept-Language"  # the same URL, in each language
        return response

    async def status(self, request: web.Request) -> web.Response:
        data = await status_data(self.store, self.company, self.clock())
        feed = f"{self.settings.status_path.rstrip('/')}/{FEED_NAME}"
        with i18n.speaking(self._language(request)):
            body = render_status(data, feed, self.languages)
        return self._public(web.Response(text=str(body), content_type=HTML))

    async def feed(self, request: web.Request) -> web.Response:
        data = await status_data(self.store, self.company, self.clock())
        with i18n.speaking(self._language(request)):
            body = render_feed(data, self._page_url(), self.languages)
        return self._public(web.Response(text=body, content_type="application/atom+xml"))

    async def stylesheet(self, request: web.Request) -> web.Response:
        response = web.Response(text=CSS, content_type="text/css")
        response.headers["Cache-Control"] = "max-age=3600"
        return response

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def start(self) -> None:
        """Listen at `[web] listen`:`port` (OSError if it is taken)."""
        runner = web.AppRunner(
            self.app(), access_log=None, keepalive_timeout=self.idle_seconds, logger=http_log
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.settings.listen, self.settings.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info(
            "the web pages are at %s (status page %s)",
            self.settings.base_url(),
            self.settings.status_path,
        )

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
