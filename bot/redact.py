"""Secrets never reach a log. Every log record, from Candor or from a library
(httpx logs request URLs, and a Telegram URL holds the bot token), is redacted
as it is created: each registered secret becomes "[redacted]", and so do the
credentials in any URL (`http://user:password@proxy:3128`: slack_sdk logs the
`HTTPS_PROXY` it uses at DEBUG)."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MARK = "[redacted]"
MIN_LENGTH = 6  # shorter values are not secrets worth hunting (and would redact noise);
# the config refuses a secret this short (bot.config), so every real one is hunted
# The user and password of a URL: after "://", up to an "@" with no "/" or space
# between (linear: each try stops at the next "/", which every "://" holds).
_USERINFO = re.compile(r"(?<=://)[^\s/@]+@")
PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MARK)
    if "://" in text:
        text = _USERINFO.sub(MARK + "@", text)
    return text


def proxy_secrets() -> list[str]:
    """The credentials in the proxy variables of the environment (libraries read them
    themselves): "user:password", the password, and both as the URL writes them."""
    found = []
    for variable in PROXY_VARIABLES:
        try:
            url = urlsplit(os.environ.get(variable, ""))
        except ValueError:
            continue
        if url.password:
            raw_user, _, raw_password = url.netloc.rpartition("@")[0].partition(":")
            for value in (url.password, raw_password, f"{raw_user}:{raw_password}"):
                found += [value, unquote(value)]
    return [value for value in found if len(value) >= MIN_LENGTH]


def register(values: Iterable[str]) -> None:
    """Redact these values (and, for a Telegram token, its secret half), the proxy
    credentials of the environment and those of any URL, from now on."""
    global _installed
    with _lock:
        for value in [*values, *proxy_secrets()]:
            if len(value) < MIN_LENGTH:
                continue
            _secrets.add(value)
            _, _, after = value.partition(":")
            if len(after) >= MIN_LENGTH:
                _secrets.add(after)
        if not _installed:
            _install()
            _installed = True


def _install() -> None:
    make = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug; leave it
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
