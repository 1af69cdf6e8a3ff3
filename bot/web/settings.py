"""`[web]`: the team's dashboard and the public status page (`candor web`, and
`candor run` with `enabled = true`). A section of its own module: bot/config.py
is at its size limit."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.platforms import Listen

# a path of plain segments: letters, digits, "-", "_", "." (no "..", no query)
_PATH = re.compile(r"^(/[A-Za-z0-9_-][A-Za-z0-9._-]*)+$")
# the dashboard's own paths, which the status page cannot take
RESERVED = ("/dashboard", "/signin", "/signout", "/healthz", "/static")


class WebSettings(BaseModel):
    """Where the web server listens, the address people reach it at, and where the
    public status page is. Unknown keys are refused, values never change (as every
    config section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False  # `candor run` serves it too; `candor web` serves it regardless
    listen: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = ""  # "https://support.example.com": links, the feed, Secure cookies
    status_path: str = "/status"

    @field_validator("public_url")
    @classmethod
    def _an_http_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError('expected an address like "https://support.example.com"')
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError("expected an address without a query, fragment or user name")
        if parts.path.strip("/"):  # the pages' links and forms are at the root: /dashboard
            raise ValueError(
                "expected an address without a path (the pages are served at its root:"
                " /dashboard, /signin, the status page); give the proxy a host name of its own"
            )
        return value.rstrip("/")

    @field_validator("status_path")
    @classmethod
    def _a_plain_path(cls, value: str) -> str:
        value = value.strip().rstrip("/") or "/"
        if not _PATH.match(value) or any(".." in part for part in value.split("/")):
            raise ValueError('expected a path like "/status" (letters, digits, "-", "_", ".")')
        if any(value == taken or value.startswith(taken + "/") for taken in RESERVED):
            raise ValueError(f"{value} is the dashboard's own: choose another path")
        return value

    @property
    def secure(self) -> bool:
        """Whether people reach the server over TLS (cookies are then `Secure`)."""
        return self.public_url.startswith("https://")

    def base_url(self) -> str:
        """The address links point at: `public_url`, or the listening address."""
        if self.public_url:
            return self.public_url
        host = f"[{self.listen}]" if ":" in self.listen else self.listen
        return f"http://{host}:{self.port}"

    def status_url(self) -> str:
        """The status page's public address, for customers; "" without `public_url`
        (the listening address is no use to them)."""
        return self.public_url + self.status_path if self.public_url else ""

    def loopback(self) -> bool:
        """Whether only this machine can reach the listening address."""
        if self.listen == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.listen).is_loopback
        except ValueError:  # a host name: it may resolve to anything
            return False

    def warnings(self) -> list[str]:
        """What `candor doctor` warns of: pages reachable from the network in the
        clear (the sign-in links and session cookies readable on the way), and
        sign-in links to an address no browser can open."""
        said = []
        if not self.loopback() and not self.secure:
            said.append(
                f"listen = {self.listen!r} reaches the network without TLS: sign-in links"
                " and session cookies can be read on the way; keep 127.0.0.1 behind a TLS"
                ' proxy and set public_url = "https://..."'
            )
        if not self.public_url and self.listen in ("0.0.0.0", "::"):
            said.append(
                f"public_url is empty: sign-in links point at {self.base_url()}, which no"
                " browser opens; set it to the address people reach the pages at"
            )
        return said

    def listens(self) -> Listen | None:
        """Where `candor run` listens for the web pages (None when disabled)."""
        return Listen("web.listen/port", self.listen, self.port) if self.enabled else None
