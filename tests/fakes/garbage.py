"""Something between Candor and a platform that answers as the platform does not: a
captive portal's page, a misconfigured proxy, a wrong `api_base_url`.

`Garbage` sits in front of one of the fakes (FakeTelegram, FakeSlack): every request
whose method (the last part of the path: `getMe`, `auth.test`) is in `methods` gets
the answer `kind` names (`KINDS`), every other one is passed to the fake and its
answer passed back. It runs in a thread of its own (the standard library's HTTP
server), so the fake it forwards to keeps running on the test's event loop.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

JSON = "application/json"

# kind -> (HTTP status, content type, body); None: the connection is closed unanswered.
KINDS: dict[str, tuple[int, str, bytes] | None] = {
    "an HTML page said to be JSON": (200, JSON, b"<html><body>proxy error</body></html>"),
    "a 500 page": (500, "text/html", b"<html><body>Internal Server Error</body></html>"),
    "a 404 page": (404, "text/html", b"<html><body>Not Found</body></html>"),
    "a JSON list": (200, JSON, b"[1, 2]"),
    "an empty JSON list": (200, JSON, b"[]"),
    "an empty JSON object": (200, JSON, b"{}"),
    "ok, of another shape": (
        200,
        JSON,
        b'{"ok": true, "result": [], "channel": "C1", "url": 5, "team": [], "user": 7}',
    ),
    "ok, of strings": (
        200,
        JSON,
        b'{"ok": true, "result": "yes", "channel": [], "url": [], "team": {}, "user": {}}',
    ),
    "a huge body": (200, JSON, b"[" + b"1," * 2_500_000 + b"1]"),  # 5 MB
    "a closed connection": None,
}


class Garbage:
    def __init__(self, upstream: str, methods: Iterable[str], kind: str) -> None:
        self.upstream = urlsplit(upstream)
        self.methods = frozenset(methods)
        self.answer = KINDS[kind]
        self.served: list[str] = []  # the methods it answered with garbage
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, upstream_url: str) -> str:
        """`upstream_url` (a fake's base URL) through this server."""
        parts = urlsplit(upstream_url)
        host, port = self._server.server_address[:2]
        return urlunsplit(parts._replace(netloc=f"{host!s}:{port}"))

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        garbage = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                method = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
                if method in garbage.methods:
                    garbage.served.append(method)
                    answer = garbage.answer
                    if answer is None:
                        self.close_connection = True
                        return
                    status, kind, payload = answer
                    self._send(status, {"Content-Type": kind}, payload)
                    return
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                target = f"{garbage.upstream.scheme}://{garbage.upstream.netloc}{self.path}"
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("content-type", "authorization")
                }
                request = urllib.request.Request(
                    target, data=body or None, headers=headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, got, payload = answer.status, answer.headers, answer.read()
                except urllib.error.HTTPError as error:
                    status, got, payload = error.code, error.headers, error.read()
                kept = {
                    k: v
                    for k, v in got.items()
                    if k.lower() in ("content-type", "x-oauth-scopes", "retry-after")
                }
                self._send(status, kept, payload)

            def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _any

        return Handler
