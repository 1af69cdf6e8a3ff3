"""The README's Telegram and Slack sections, followed literally (issue 15, "Done when").

For each path the README documents (`PATHS`: Telegram polling and webhook, Slack HTTP
and Socket Mode), `deployment()` gives what an operator has after its steps:

- `config.toml`, made from a copy of config.example.toml by applying **only** the
  README's edits for that path (its ```toml blocks, each introduced by "edit these
  keys": the key's line in the example's section is changed in place; a block without
  that instruction is pasted at the end, as a reader would, which TOML refuses when the
  section is already there), and then `test_only_edits()`, the one place the test
  deviates (where the fake platform listens, which local port is free);
- the environment, holding only the variables the README's steps for that path name
  (`export NAME=...`), with the values the fakes accept (`VALUES`).

`candor()` runs `candor run --config PATH` on it as a subprocess, and stops it with
SIGTERM, asserting it exits 0. `fake_platform()` starts the fake the path talks to,
with the world the README's steps assume (the staff group, the customer's channel).
`command(made, "doctor")` runs any other command on the same config and environment
(`readme_config()` gives the two alone), for example:

    async with fake_platform("slack") as fake:
        made = deployment(tmp_path, "slack", "socket", fake)
        code, output = await command(made, "doctor")
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import textwrap
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import candor_command
from tests.fakes import slack as fakes
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLE = ROOT / "config.example.toml"

#: (platform, mode) for every path the README documents.
PATHS = (("telegram", "polling"), ("telegram", "webhook"), ("slack", "http"), ("slack", "socket"))

#: Where the README's steps for one mode begin, in its platform's section (a heading:
#: up to the next heading of its level; a list item: up to the next line as little
#: indented). The rest of the section is for every mode; a mode not named here (the
#: example's own, polling) has no steps of its own.
MODE_STEPS = {
    ("telegram", "webhook"): "### 4. Webhook mode",
    ("slack", "http"): "- **HTTP**",
    ("slack", "socket"): "- **Socket Mode**",
}

#: The values the test gives the variables the README names (the fakes accept them).
VALUES = {
    "TELEGRAM_BOT_TOKEN": "123456:ABC-readme-token",
    "TELEGRAM_WEBHOOK_SECRET": "readme-webhook-secret-0123456789",
    "SLACK_BOT_TOKEN": "xoxb-readme-token",
    "SLACK_SIGNING_SECRET": "readme-signing-secret",
    "SLACK_APP_TOKEN": "xapp-readme-token",
}

#: The Slack workspace of the company running Candor, and a customer's (Slack Connect).
HOME_TEAM, CUSTOMER_TEAM = "T0HOME", "T0ACME"
SLACK_CUSTOMER, SLACK_SHARED, SLACK_DM = "U0ANN", "C0ACME", "D0ANN"
TELEGRAM_CUSTOMER = 1001


# -- reading the README -------------------------------------------------------------------


def platform_section(platform: str, readme: str | None = None) -> str:
    """The README's `## Telegram` or `## Slack` section, up to the next `## `."""
    text = README.read_text(encoding="utf-8") if readme is None else readme
    heading = f"\n## {platform.capitalize()}\n"
    assert heading in text, f"the README has no {heading.strip()} section"
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def _mode_span(section: str, anchor: str) -> tuple[int, int]:
    """Where in `section` the steps that begin with `anchor` are (start, end)."""
    found = re.search(rf"^( *){re.escape(anchor)}", section, re.M)
    assert found, f"the README's section has no steps beginning with {anchor!r}"
    start = found.start()
    if anchor.startswith("#"):
        level = len(anchor) - len(anchor.lstrip("#"))
        later = re.compile(rf"^#{{1,{level}}} ", re.M)
    else:
        indent = len(found.group(1))
        later = re.compile(rf"^ {{0,{indent}}}\S", re.M)
    end = later.search(section, found.end())
    return start, end.start() if end else len(section)


def steps(platform: str, mode: str, readme: str | None = None) -> str:
    """The README's steps for this path, in order: the platform's section without the
    steps of its other modes."""
    section = platform_section(platform, readme)
    spans = sorted(
        _mode_span(section, anchor)
        for (where, other), anchor in MODE_STEPS.items()
        if where == platform and other != mode and anchor in section
    )
    if (platform, mode) in MODE_STEPS:
        _mode_span(section, MODE_STEPS[platform, mode])  # (they are there)
    kept, at = [], 0
    for start, end in spans:
        kept.append(section[at:start])
        at = end
    kept.append(section[at:])
    return "".join(kept)


def fenced(text: str) -> list[tuple[str, str, str]]:
    """Every fenced block of `text` as (its language, or "", what the README says
    before it since the block before, the block's text unindented)."""
    found = []
    lines = text.splitlines(keepends=True)
    before: list[str] = []
    i = 0
    while i < len(lines):
        fence = re.fullmatch(r" *```(\w*)\n?", lines[i])
        if not fence:
            before.append(lines[i])
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        block = textwrap.dedent("".join(lines[i + 1 : end]))
        found.append((fence.group(1), "".join(before), block))
        before = []
        i = end + 1
    return found


def toml_blocks(text: str) -> list[tuple[str, str]]:
    """Every ```toml block of `text` as (what the README says before it, the block)."""
    return [(before, block) for language, before, block in fenced(text) if language == "toml"]


def shown(text: str) -> list[str]:
    """The lines of the plain ``` blocks of `text`: what the README says Candor shows."""
    blocks = [block for language, _, block in fenced(text) if not language]
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def variables(text: str) -> list[str]:
    """The environment variables the README's steps tell the reader to set."""
    return list(dict.fromkeys(re.findall(r"\bexport ([A-Z][A-Z0-9_]*)=", text)))


def entries(block: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(key, its lines)]) in the order the block gives them; a key's
    value may span lines (an array)."""
    found: list[tuple[str, list[tuple[str, str]]]] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        header = re.fullmatch(r"\[([a-z_]+)\]", line.strip())
        if header:
            found.append((header.group(1), []))
        elif line.strip():
            text, i = whole_value(lines, i, commented=False)
            key = next(iter(tomllib.loads(text)))
            found[-1][1].append((key, text))
        i += 1
    return found


def whole_value(lines: list[str], start: int, *, commented: bool) -> tuple[str, int]:
    """The lines from `start` that make one `key = value` (uncommented), and the
    index of its last line."""
    taken: list[str] = []
    for i in range(start, len(lines)):
        line = re.sub(r"^#\s?", "", lines[i]) if commented else lines[i]
        taken.append(line)
        try:
            tomllib.loads("\n".join(taken))
        except tomllib.TOMLDecodeError:
            continue
        return "\n".join(taken), i
    raise AssertionError(f"no whole value from line {start}: {lines[start]!r}")


def edit(example: str, section: str, key: str, text: str) -> str:
    """What an operator does for "edit this key of [section]": find the key's line
    in that section (commented out or not) and write the new value there."""
    lines = example.splitlines()
    top = lines.index(f"[{section}]")  # the section is there: no second one is pasted
    end = next((i for i in range(top + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    for i in range(top + 1, end):
        if re.match(rf"^(# ?)?{key}\s*=", lines[i]):
            _, last = whole_value(lines, i, commented=lines[i].startswith("#"))
            return "\n".join([*lines[:i], text, *lines[last + 1 :]]) + "\n"
    raise AssertionError(f"the README edits {section}.{key}, which config.example.toml lacks")


def says_edit(before: str) -> bool:
    """Whether the README's words just before a block say to edit keys in place."""
    return "edit these keys" in " ".join(before[-400:].split())


def follow(example: str, text: str) -> str:
    """`example` after every block of the README's `text`, done as the README says:
    edited in place where it says "edit these keys", else pasted at the end."""
    for before, block in toml_blocks(text):
        if not says_edit(before):
            example = example.rstrip("\n") + "\n\n" + block
            continue
        for section, keys in entries(block):
            for key, value in keys:
                example = edit(example, section, key, value)
    return example


# -- the deployment -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_only_edits(text: str, platform: str, mode: str, fake: object) -> tuple[str, int]:
    """The ONLY changes the tests make beyond the README's: the platform's address is
    the fake's, and what Candor listens on is a free local port (returned; 0 when it
    listens on none). Everything else is config.example.toml as the README edits it."""
    port = 0
    if platform == "telegram":
        assert isinstance(fake, FakeTelegram)
        text = edit(text, "telegram", "api_base_url", f'api_base_url = "{fake.base_url}"')
        text = edit(text, "telegram", "file_base_url", f'file_base_url = "{fake.base_file_url}"')
        if mode == "webhook":
            port = free_port()
            text = edit(text, "telegram", "webhook_port", f"webhook_port = {port}")
    else:
        assert isinstance(fake, FakeSlack)
        text = edit(text, "slack", "api_base_url", f'api_base_url = "{fake.api_url}"')
        if mode == "http":
            port = free_port()
            text = edit(text, "slack", "port", f"port = {port}")
    return text, port


@dataclass(frozen=True)
class Deployment:
    """What the README's path leaves: `config` (the config file, in `folder`, where the
    example's relative paths, data/ and knowledge/, are), `variables` (the README's, by
    name) and `env` (the environment a `candor` subprocess gets: this one's, without
    any Telegram or Slack variable, with `variables`)."""

    platform: str
    mode: str
    folder: Path
    config: Path
    variables: dict[str, str]
    env: dict[str, str]
    port: int  # where Candor listens (webhook, Slack HTTP); 0 for none


def deployment(
    folder: Path, platform: str, mode: str, fake: object, *, upto: str | None = None
) -> Deployment:
    """`config.example.toml` copied to `folder/config.toml` with the README's edits for
    (platform, mode) and `test_only_edits`, the variables the README names, and the
    shipped knowledge base in `folder/knowledge` (the example's relative path). With
    `upto`, only the steps before those words of the README (a step that runs Candor
    half-way, say)."""
    path_steps = steps(platform, mode)
    if upto is not None:
        assert upto in path_steps, f"the README's steps do not say {upto!r}"
        path_steps = path_steps.split(upto, 1)[0]
    text = follow(EXAMPLE.read_text(encoding="utf-8"), path_steps)
    text, port = test_only_edits(text, platform, mode, fake)
    config = folder / "config.toml"
    config.write_text(text, encoding="utf-8")
    knowledge = folder / "knowledge"
    if not knowledge.exists():
        knowledge.symlink_to(ROOT / "knowledge")  # as in a checkout, next to the file
    named = variables(path_steps)
    unknown = [name for name in named if name not in VALUES]
    assert not unknown, f"the README names variables the test has no value for: {unknown}"
    given = {name: VALUES[name] for name in named}
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TELEGRAM_", "SLACK_")) and name not in VALUES
    }
    return Deployment(platform, mode, folder, config, given, env | given, port)


def readme_config(
    folder: Path, platform: str, mode: str, fake: object
) -> tuple[Path, dict[str, str]]:
    """(config path, environment) of the README's path, for running any `candor`
    command on it (`candor doctor --config PATH` with `env=...`)."""
    made = deployment(folder, platform, mode, fake)
    return made.config, made.env


def readme_value(platform: str, section: str, key: str) -> Any:
    """The value the README's section for `platform` gives `[section] key` (the last
    one it gives, in any mode's steps)."""
    found = [
        tomllib.loads(text)[name]
        for _, block in toml_blocks(platform_section(platform))
        for where, keys in entries(block)
        for name, text in keys
        if (where, name) == (section, key)
    ]
    assert found, f"the README's {platform} section never sets [{section}] {key}"
    return found[-1]


@contextlib.asynccontextmanager
async def fake_platform(platform: str) -> AsyncIterator[FakeTelegram | FakeSlack]:
    """The fake the path talks to, for the README's tokens, with what its steps made on
    the platform: Telegram's staff group (a forum the bot administers); on Slack the
    triage channel and the agents of the README's `[desk] agents` (of your workspace),
    a shared channel with a customer of another workspace, and their DM."""
    if platform == "telegram":
        async with FakeTelegram(VALUES["TELEGRAM_BOT_TOKEN"]) as telegram:
            group = readme_value("telegram", "telegram", "staff_group_id")
            telegram.set_chat(group, type="supergroup", title="Support staff", is_forum=True)
            # step 2: the bot is an administrator there (with Manage topics), the agents
            # are members
            telegram.set_member(group, telegram.bot_user["id"], "administrator")
            for agent in readme_value("telegram", "desk", "agents"):
                telegram.set_member(group, agent["telegram"], "member")
            yield telegram
        return
    slack = FakeSlack(
        bot_token=VALUES["SLACK_BOT_TOKEN"],
        app_token=VALUES["SLACK_APP_TOKEN"],
        team_id=HOME_TEAM,
    )
    async with slack:
        slack.add_user(SLACK_CUSTOMER, name="ann", real_name="Ann Lee", team_id=CUSTOMER_TEAM)
        slack.add_channel(SLACK_SHARED, name="acme-support", is_ext_shared=True)
        slack.add_channel(SLACK_DM, is_im=True, user=SLACK_CUSTOMER)
        slack.add_channel(readme_value("slack", "slack", "triage_channel"), name="triage")
        for agent in readme_value("slack", "desk", "agents"):
            slack.add_user(agent["slack"], name=agent["name"].lower(), real_name=agent["name"])
        yield slack


# -- the platform brings what people do to Candor, as on this path ------------------------


def configured(made: Deployment, section: str, key: str) -> Any:
    """`[section] key` of the deployment's config file."""
    return tomllib.loads(made.config.read_text(encoding="utf-8"))[section][key]


async def telegram_delivers(made: Deployment, fake: FakeTelegram, update: dict[str, Any]) -> None:
    """Telegram hands Candor `update`: queued for getUpdates when polling; in webhook
    mode posted (through the proxy) to webhook_listen:webhook_port + webhook_path with
    the secret, which must be answered 200."""
    if made.mode == "polling":
        fake.push(update)
        return
    path = configured(made, "telegram", "webhook_path")
    headers = {"X-Telegram-Bot-Api-Secret-Token": made.variables["TELEGRAM_WEBHOOK_SECRET"]}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
        session.post(f"http://127.0.0.1:{made.port}{path}", json=update, headers=headers) as r,
    ):
        assert r.status == 200, (r.status, await r.text())


async def slack_delivers(
    made: Deployment, fake: FakeSlack, payload: dict[str, Any], kind: str = "events_api"
) -> None:
    """Slack hands Candor `payload` (an event; or "interactive", a button press): in
    HTTP mode posted, signed, to listen:port + path, which must answer 200; in Socket
    Mode sent over the socket, and acknowledged (once stored: else Slack sends it
    again)."""
    if made.mode == "http":
        url = f"http://127.0.0.1:{made.port}{configured(made, 'slack', 'path')}"
        secret = made.variables["SLACK_SIGNING_SECRET"]
        post = fakes.post_event if kind == "events_api" else fakes.post_interaction
        status, body = await post(url, payload, secret)
        assert status == 200, (status, body)
        return
    await fake.wait_for_socket(timeout=60)
    envelope = await fake.send_envelope(payload, kind)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not fake.acked(envelope):
        assert loop.time() < deadline, "the envelope was never acknowledged"
        await asyncio.sleep(0.05)


# -- running it ---------------------------------------------------------------------------

RUNNING = "candor is running"


def terminal(made: Deployment) -> str:
    """What `candor run` has shown on the terminal (its stderr) so far."""
    path = made.folder / "terminal.txt"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


async def until_shown(made: Deployment, text: str, seconds: float = 60) -> None:
    """Wait until the terminal shows `text` (a generous bound, not a measure of speed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while text not in terminal(made):
        assert loop.time() < deadline, f"not shown: {text!r}; the terminal:\n{terminal(made)}"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def candor(
    made: Deployment, seconds: float = 60, stop: signal.Signals = signal.SIGTERM
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`candor run --config config.toml` from the deployment's folder, with only its
    environment, up (it says "candor is running" on the terminal) within `seconds`, a
    generous bound; on leaving, `stop` (SIGTERM; SIGINT is Ctrl-C), and it must exit 0
    (within `seconds`)."""
    with (made.folder / "terminal.txt").open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *candor_command(),
            "run",
            "--config",
            str(made.config),
            cwd=made.folder,
            env=made.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while RUNNING not in terminal(made):
            assert process.returncode is None, f"candor run stopped:\n{terminal(made)}"
            assert loop.time() < deadline, f"candor run did not start:\n{terminal(made)}"
            await asyncio.sleep(0.05)
        yield process
    except BaseException:
        if process.returncode is None:
            process.kill()
        await process.wait()
        raise
    process.send_signal(stop)
    try:
        await asyncio.wait_for(process.wait(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"candor run did not stop on {stop.name}:\n{terminal(made)}") from None
    assert process.returncode == 0, f"candor run exited {process.returncode}:\n{terminal(made)}"


async def command(
    made: Deployment, *args: str, env: dict[str, str] | None = None, seconds: float = 60
) -> tuple[int, str]:
    """`candor ARGS --config config.toml` on the deployment (`candor doctor`, say), with
    its environment (or `env`, to break it: a wrong token); (exit code, what it printed,
    stdout and stderr together)."""
    process = await asyncio.create_subprocess_exec(
        *candor_command(),
        *args,
        "--config",
        str(made.config),
        cwd=made.folder,
        env=made.env if env is None else env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"candor {' '.join(args)} did not end within {seconds} s") from None
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")
