"""What `candor doctor` asks of a SQLite database, without changing it: is it there
and readable, is its schema one this Candor can use, may Candor write beside it, and
does a `candor run` hold it now."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot.store.sqlite.schema import migrations
from bot.store.sqlite.sender import lock_path


@dataclass
class Health:
    running: bool = False  # a `candor run` holds the sender's lock on the database
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (check, ok, detail)


def _held(database: Path) -> str | None:
    """The process holding the sender's lock (its pid, or "" if unknown), or None when
    nobody holds it. Taken and let go at once: a `candor run` starting in that instant
    would be refused once, and says so."""
    if sys.platform == "win32":
        return None
    import fcntl

    path = lock_path(database)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None  # no lock file: never run here
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            return pid if pid.isdigit() else ""
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _schema(path: Path) -> tuple[bool, str]:
    latest = migrations()[-1][0]
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as error:
        return False, f"cannot read {path}: {error} (restore it from a backup)"
    if not {"cases", "events"} <= tables:
        return False, f"{path} is not a Candor database: point [storage] path elsewhere"
    return verdict(str(path), version, latest)


def verdict(where: str, version: int, latest: int) -> tuple[bool, str]:
    """(usable, what to say) of a Candor database's schema `version`, on either backend."""
    if version > latest:
        return False, (
            f"{where} has schema version {version}, newer than this Candor knows ({latest}):"
            " upgrade Candor"
        )
    if version < latest:
        return (
            True,
            f"version {version}; `candor run` (or `candor db migrate`) brings it to {latest}",
        )
    return True, f"version {version}, current"


def health(path: Path) -> Health:
    """Never raises: a file or folder it may not look at is a failed check too."""
    found = Health()
    if str(path) == ":memory:":
        found.checks.append(("opens", True, "in memory: nothing is kept after a run"))
        return found
    try:
        _look(path, found)
    except (OSError, ValueError, RuntimeError) as error:  # may not enter; a symlink loop
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        found.checks.append(
            (
                "opens",
                False,
                f"cannot look at {path} ([storage] path): {why}: check its folders'"
                " owner and permissions (the user candor runs as must be able to enter them)",
            )
        )
    return found


def _look(path: Path, found: Health) -> None:
    if path.is_dir() or not path.name:
        found.checks.append(
            (
                "opens",
                False,
                f"[storage] path {path} is a folder: give the database file's path"
                f" (such as {path / 'candor.sqlite3'})",
            )
        )
        return
    folder = path.parent
    if not path.exists():
        found.checks.append(("opens", True, f"none yet at {path}: `candor run` makes it"))
    else:
        ok, detail = _schema(path)
        found.checks.append(("schema", ok, detail))
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        found.checks.append(
            (
                "writable",
                False,
                f"Candor cannot make the folder {folder} for [storage] path: {existing} is a file",
            )
        )
    elif not os.access(existing, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        found.checks.append(
            ("writable", False, f"Candor cannot write {path}: check its owner and permissions")
        )
    else:
        found.checks.append(("writable", True, str(path)))
    pid = _held(path) if path.exists() else None
    if pid is not None:
        found.running = True
        who = f" (process {pid})" if pid else ""
        found.checks.append(("candor run", True, f"running on this database{who}"))
