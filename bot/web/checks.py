"""`candor doctor`'s checks of `[web]` (a module of its own: bot/doctor.py calls
`web_findings`). What they say: the address the links point at is https (or this
machine's own), the port can be listened on (or by what it is held), somebody can
sign in, the status page's path, and the session cookie's protection."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import Config
from bot.doctor import Context, Finding
from bot.web.settings import WebSettings
from bot.web.signin import cookie_name

AREA = "web"


def local_host(host: str) -> bool:
    """Whether a URL's host is this machine's own (http is fine there)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _public_url(web: WebSettings) -> list[Finding]:
    if not web.public_url:
        detail = f"not set: sign-in links point at {web.base_url()}"
        if web.loopback():
            return [Finding(AREA, "public_url", True, detail + " (a browser on this machine)")]
        return []  # `WebSettings.warnings` says it (no browser opens 0.0.0.0)
    host = urlsplit(web.public_url).hostname or ""
    if web.secure:
        return [Finding(AREA, "public_url", True, web.public_url)]
    if local_host(host):
        return [Finding(AREA, "public_url", True, f"{web.public_url} (this machine only)")]
    return [
        Finding(
            AREA,
            "public_url",
            False,
            f"{web.public_url} is http: sign-in links and session cookies travel without"
            ' TLS; put the pages behind the TLS proxy and set public_url = "https://..."',
            needed=False,
        )
    ]


def _cookie(web: WebSettings) -> Finding:
    name = cookie_name(web.secure)
    if web.secure:
        return Finding(AREA, "cookie", True, f"{name}: Secure, HttpOnly, SameSite=Strict")
    host = urlsplit(web.public_url).hostname or web.listen
    if not web.public_url or local_host(host):
        return Finding(AREA, "cookie", True, f"{name}: HttpOnly, SameSite=Strict (http, local)")
    return Finding(
        AREA,
        "cookie",
        False,
        f"{name} is not Secure and cannot be __Host-{name} (that needs https): another host"
        " of the domain could set it; use an https public_url",
        needed=False,
    )


def _holder(port: int) -> str:
    """Who listens on TCP `port`, as " (pid N: command)" when this user may see it
    (Linux /proc), else ""."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return ""
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        if _links(f"/proc/{pid}/fd") & inodes:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                return f" (pid {pid})"
            return f" (pid {pid}: {command.decode('utf-8', 'replace').strip()[:120]})"
    return ""


def _links(folder: str) -> set[str]:
    """What a process's open files are (none where it may not be looked at; one that
    closes while looked at is left out)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return set()
    links = set()
    for name in names:
        try:
            links.add(os.readlink(f"{folder}/{name}"))
        except OSError:
            continue
    return links


async def _listen(web: WebSettings, context: Context) -> Finding:
    """Whether the pages can listen at listen:port, bound as aiohttp binds it and let
    go at once; held by whom, when it is not free."""
    where = f"[{web.listen}]:{web.port}" if ":" in web.listen else f"{web.listen}:{web.port}"
    needed = web.enabled  # `candor run` serves it: a port it cannot have is a failure
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(context.timeout):
            server = await loop.create_server(
                asyncio.Protocol, web.listen, web.port, reuse_address=True
            )
            server.close()
            await server.wait_closed()
    except TimeoutError:
        return Finding(AREA, "listen", False, f"could not try {where} in time", needed=needed)
    except OSError as error:
        if error.errno == errno.EADDRINUSE and context.running and web.enabled:
            return Finding(AREA, "listen", True, f"{where} is in use by the running `candor run`")
        if error.errno == errno.EADDRINUSE:
            by = await asyncio.to_thread(_holder, web.port) or " (by another program)"
            return Finding(
                AREA,
                "listen",
                False,
                f"{where} is in use{by}: stop it (a `candor web` already?), or change [web] port",
                needed=needed,
            )
        why = getattr(error, "strerror", None) or str(error)
        return Finding(
            AREA,
            "listen",
            False,
            f"cannot listen at {where}: {why}: set [web] listen to an address of this machine",
            needed=needed,
        )
    return Finding(AREA, "listen", True, f"{where} is free")


async def web_findings(config: Config, context: Context) -> list[Finding]:
    """`[web]`'s findings: its address warnings always; the rest when `[web]` is
    enabled or set at all (`candor web` serves it either way)."""
    web = config.web
    said = [Finding(AREA, "address", False, line, needed=False) for line in web.warnings()]
    if not web.enabled and not web.model_fields_set:
        return said
    findings = [*said, *_public_url(web), _cookie(web), await _listen(web, context)]
    if config.desk.agents:
        count = len(config.desk.agents)
        findings.append(Finding(AREA, "agents", True, f"{count} may sign in ([desk] agents)"))
    else:
        findings.append(
            Finding(
                AREA,
                "agents",
                False,
                "no agent is configured: nobody can sign in to the dashboard (add them to"
                " [desk] agents)",
                needed=False,
            )
        )
    findings.append(Finding(AREA, "status page", True, web.base_url() + web.status_path))
    return findings
