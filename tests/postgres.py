"""A throwaway PostgreSQL server for the tests, started once per session on a free
port of 127.0.0.1 and a socket folder in /tmp, and removed at the end.

`initdb` and `pg_ctl` come from PATH, else from Debian's /usr/lib/postgresql/N/bin
(`.ci/run` installs Debian's `postgresql` package where they are missing). `initdb`
refuses to run as root: as root, the server is made and run as the `postgres` user
that package creates. Anything that stops it from starting is an error naming the
reason: a test that needs PostgreSQL fails, it is never skipped.

Each folder a test passes (`database_for(tmp_path)`) gets a database of its own.
The server asks for a password over TCP (`url`), as an operator's does.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER, PASSWORD = "postgres", "candor-test-secret"


def binaries() -> Path:
    """The folder of `initdb` and `pg_ctl`; RuntimeError, saying why, if none."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    if debian:
        return Path(debian[-1]).parent
    raise RuntimeError(
        "PostgreSQL's pg_ctl and initdb are not on PATH nor in /usr/lib/postgresql/*/bin:"
        " install Debian's `postgresql` package (.ci/run does), or put them on PATH"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """One running PostgreSQL server of the test session's own."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="candor-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self._as: dict[str, object] = {}
        self._options = ""
        self._made: set[str] = set()

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            check=check,
            cwd=self.root,
            timeout=120,
            **self._as,  # type: ignore[arg-type]
        )

    def start(self) -> None:
        self.sockets.mkdir()
        if os.geteuid() == 0:  # initdb refuses root: the `postgres` user runs the server
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root, and there is no `postgres` user to run PostgreSQL as"
                    " (Debian's `postgresql` package makes it)"
                ) from None
            for path in (self.root, self.sockets):
                os.chown(path, user.pw_uid, user.pw_gid)
            self._as = {"user": user.pw_uid, "group": user.pw_gid, "env": {"PATH": "/usr/bin:/bin"}}
        secret = self.root / "pwfile"
        secret.write_text(PASSWORD + "\n", encoding="utf-8")
        if self._as:
            os.chown(secret, int(self._as["user"]), int(self._as["group"]))  # type: ignore[call-overload]
        log = self.root / "server.log"
        try:
            self._run(
                self.bin / "initdb",
                "-D",
                self.data,
                "-U",
                SUPERUSER,
                "--pwfile",
                secret,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            )
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                " -c max_connections=300"
            )
            self._options = options
            self.up()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
            output = getattr(error, "stderr", "") or ""
            with contextlib.suppress(OSError):
                output += log.read_text(encoding="utf-8")[-2000:]
            self.stop()
            raise RuntimeError(
                f"the test PostgreSQL server did not start: {error}\n{output}"
            ) from error

    def up(self) -> None:
        """Start the server (again, after `down`), on the same port and data."""
        log = self.root / "server.log"
        self._run(
            self.bin / "pg_ctl", "-D", self.data, "-o", self._options, "-l", log, "-w", "start"
        )

    def down(self) -> None:
        """Stop the server as a restart or a failover does: every session is ended
        (fast shutdown), nothing is accepted until `up`."""
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def terminate(self, database: str) -> int:
        """End every session on `database` (`pg_terminate_backend`), as a failover or
        an operator does; how many there were."""
        ended = self.psql(
            "postgres",
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            f" WHERE datname = '{database}' AND pid <> pg_backend_pid()",
        )
        return int(ended.strip() or 0)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(
                self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, password: str = PASSWORD) -> str:
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    def _client(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """One of PostgreSQL's client programs, on the server's socket, as its superuser."""
        return subprocess.run(
            [
                str(self.bin / tool),
                "-h",
                str(self.sockets),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                *args,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def psql(self, database: str, sql: str) -> str:
        done = self._client(
            "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql on {database}: {done.stderr.strip()}")
        return done.stdout

    def new_database(self, name: str) -> str:
        """A database of that name, made empty if new; its URL."""
        if name not in self._made:
            self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}"')
            self.psql("postgres", f'CREATE DATABASE "{name}"')
            self._made.add(name)
        return self.url(name)

    def database_for(self, folder: Path) -> str:
        """The URL of the database kept for `folder` (made empty on first use)."""
        return self.new_database("t_" + hashlib.sha1(str(folder).encode()).hexdigest()[:20])

    def dump(self, url: str) -> str:
        """Every row of every table of that database, as text."""
        done = self._client("pg_dump", "--data-only", url.rsplit("/", 1)[-1])
        if done.returncode != 0:
            raise RuntimeError(f"pg_dump: {done.stderr.strip()}")
        return done.stdout
