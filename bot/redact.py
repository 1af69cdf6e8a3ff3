"""Secrets never reach a log. Every log record, from Candor or from a library
(httpx logs request URLs, and a Telegram URL holds the bot token), is redacted
as it is created: each registered secret becomes "[redacted]"."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

MARK = "[redacted]"
MIN_LENGTH = 6  # shorter values are not secrets worth hunting (and would redact noise)

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MARK)
    return text


def register(values: Iterable[str]) -> None:
    """Redact these values (and, for a Telegram token, its secret half) from now on."""
    global _installed
    with _lock:
        for value in values:
            if len(value) < MIN_LENGTH:
                continue
            _secrets.add(value)
            _, _, after = value.partition(":")
            if len(after) >= MIN_LENGTH:
                _secrets.add(after)
        if _secrets and not _installed:
            _install()
            _installed = True


def _install() -> None:
    make = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if not _secrets:
            return record
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
