"""Several real `candor run --config` processes on one PostgreSQL database, as a
deployment behind a load balancer runs them: each with a config of its own (its
own folder, log file and listening port), all on one database and one platform
(a fake served by the test process on 127.0.0.1). The test starts them, kills
them (SIGKILL: nothing of theirs runs after), starts them again and stops them
(SIGTERM: each must end with status 0).

Each start is a new generation of its node, and talks to the fake under a name of
its own (`Node.name`, e.g. "p1g3": node 1, third start; the fake records it as
`Call.consumer`), so that a test can tell which process sent what, and whether
that process was killed afterwards. Readiness is read from the node's log ("candor
is running", once per start), never guessed from the clock.

`Kills` spreads kills over a scenario by progress (after so many updates were
acknowledged, at seeded random points), not by time: on a loaded machine the kills
still land among the updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.conftest import ROOT, candor_command, write_config

RUNNING = "candor is running"
START_WITHIN = 120.0  # seconds: a bound on a hang, not a measure of speed
STOP_WITHIN = 60.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# What goes into a node's config after the common part: (node name, its port) -> TOML.
Sections = Callable[[str, int], str]


@dataclass
class Node:
    """One `candor run` of the deployment, and its starts."""

    index: int
    folder: Path
    port: int
    generation: int = 0  # how often it was started
    process: asyncio.subprocess.Process | None = None
    killed: list[str] = field(default_factory=list)  # names of its killed generations
    stopped: list[str] = field(default_factory=list)  # names of generations stopped by SIGTERM
    _stderr: IO[bytes] | None = None

    @property
    def name(self) -> str:
        return f"p{self.index}g{self.generation}"

    @property
    def config(self) -> Path:
        return self.folder / "config.toml"

    @property
    def log(self) -> Path:
        return self.folder / "candor.log"

    def started(self) -> int:
        """How often its log says it is running."""
        if not self.log.exists():
            return 0
        return self.log.read_text(encoding="utf-8", errors="replace").count(RUNNING)

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def ready(self) -> bool:
        """Alive, and up (its log says so for this start)."""
        return self.alive() and self.started() >= self.generation

    def stderr_text(self) -> str:
        path = self.folder / "stderr.txt"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


class Cluster:
    """`size` nodes on the database at `url`; `sections` gives each its platform part."""

    def __init__(
        self,
        root: Path,
        knowledge: Path,
        url: str,
        sections: Sections,
        *,
        size: int = 3,
        desk: str,
        outbox: str = "",
    ) -> None:
        self.url = url
        self.knowledge = knowledge
        self.sections = sections
        self.desk = desk
        self.outbox = outbox
        self.nodes = [Node(i, root / f"p{i}", free_port()) for i in range(size)]
        for node in self.nodes:
            node.folder.mkdir(parents=True, exist_ok=True)
        self.kills = 0

    def _write_config(self, node: Node) -> None:
        path = write_config(
            node.folder,
            self.knowledge,
            self.sections(node.name, node.port),
            outbox=self.outbox,
            desk=self.desk,
        )
        assert path == node.config
        text = path.read_text(encoding="utf-8")
        text = text.replace("[storage]\n", f'[storage]\nurl = "{self.url}"\n', 1)
        # (DEBUG: each paced send is logged, with its moment: `paced`)
        path.write_text(text.replace("[logging]\n", '[logging]\nlevel = "DEBUG"\n', 1))

    async def start(self, node: Node) -> None:
        """Start `node` again (a new generation); does not wait for it to be up."""
        assert not node.alive(), f"{node.name} is running"
        node.generation += 1
        self._write_config(node)
        if node._stderr is not None:
            node._stderr.close()
        node._stderr = (node.folder / "stderr.txt").open("ab")
        node.process = await asyncio.create_subprocess_exec(
            *candor_command(),
            "run",
            "--config",
            str(node.config),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=node._stderr,
            cwd=ROOT,
        )

    async def up(self, node: Node) -> None:
        """Wait until `node`'s current start says it is running."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_WITHIN
        while not node.ready():
            assert node.alive(), f"{node.name} stopped: {node.stderr_text()[-2000:]}"
            assert loop.time() < deadline, f"{node.name} did not start"
            await asyncio.sleep(0.05)

    async def start_all(self) -> None:
        for node in self.nodes:
            await self.start(node)
        for node in self.nodes:
            await self.up(node)

    async def kill(self, node: Node) -> None:
        """SIGKILL: it gets no chance to finish anything."""
        assert node.process is not None
        with contextlib.suppress(ProcessLookupError):
            node.process.send_signal(signal.SIGKILL)
        await node.process.wait()
        node.killed.append(node.name)
        self.kills += 1

    async def stop_all(self) -> None:
        """SIGTERM to every running node; each must end, with status 0."""
        live = [node for node in self.nodes if node.alive()]
        for node in live:
            assert node.process is not None
            node.process.send_signal(signal.SIGTERM)
        failed = []
        for node in live:
            assert node.process is not None
            try:
                status = await asyncio.wait_for(node.process.wait(), STOP_WITHIN)
            except TimeoutError:
                node.process.kill()
                await node.process.wait()
                failed.append(f"{node.name} did not stop on SIGTERM")
                continue
            node.stopped.append(node.name)
            if status != 0:
                failed.append(f"{node.name} ended with {status}: {node.stderr_text()[-2000:]}")
        assert not failed, failed

    async def close(self) -> None:
        """Whatever still runs (a test that failed) is killed; files closed."""
        for node in self.nodes:
            if node.alive():
                assert node.process is not None
                node.process.kill()
                await node.process.wait()
            if node._stderr is not None:
                node._stderr.close()
                node._stderr = None

    def killed_names(self) -> set[str]:
        return {name for node in self.nodes for name in node.killed}

    def logs(self) -> str:
        return "\n".join(
            node.log.read_text(encoding="utf-8", errors="replace")
            for node in self.nodes
            if node.log.exists()
        )

    def paced(self, channel: str) -> list[float]:
        """The moments (the machine's monotonic clock, shared by its processes) at
        which the processes' pacers let a send on `channel` go, every generation's:
        what the shares of the overall limit promise, whatever the machine's load
        does to when each send then reaches the platform."""
        found = re.compile(r"a paced send on " + re.escape(channel) + r" at ([0-9.]+) ")
        return sorted(float(m.group(1)) for m in found.finditer(self.logs()))


class Kills:
    """`count` kills of random running nodes, each restarted at once, at seeded random
    points of a scenario's progress: kill k comes once `threshold[k]` updates were
    acknowledged. A writer calls `gate()` before each update: it holds the update
    while a kill that is due by more than `slack` updates has not come yet (the
    victim may still be starting), so that the updates do not run away from the
    kills on a slow machine."""

    def __init__(
        self, cluster: Cluster, count: int, total: int, chance: random.Random, slack: int = 3
    ) -> None:
        self.cluster = cluster
        self.count = count
        self.thresholds = sorted(chance.choices(range(1, max(2, total - slack)), k=count))
        self.chance = chance
        self.slack = slack
        self.acked = 0
        self.done = 0
        self._changed = asyncio.Condition()

    async def acknowledged(self) -> None:
        async with self._changed:
            self.acked += 1
            self._changed.notify_all()

    async def gate(self) -> None:
        async with self._changed:
            await self._changed.wait_for(
                lambda: (
                    self.done >= self.count or self.acked < self.thresholds[self.done] + self.slack
                )
            )

    async def run(self) -> None:
        """The kills, and a restart after each."""
        loop = asyncio.get_running_loop()
        for k in range(self.count):
            async with self._changed:
                await self._changed.wait_for(lambda: self.acked >= self.thresholds[k])  # noqa: B023
            deadline = loop.time() + START_WITHIN
            while not (ready := [n for n in self.cluster.nodes if n.ready()]):
                for node in self.cluster.nodes:  # one that stopped by itself is a failure
                    assert node.alive(), f"{node.name} stopped: {node.stderr_text()[-2000:]}"
                assert loop.time() < deadline, "no node came up"
                await asyncio.sleep(0.05)
            victim = self.chance.choice(ready)
            await self.cluster.kill(victim)
            await self.cluster.start(victim)
            async with self._changed:
                self.done += 1
                self._changed.notify_all()


# -- what the platform received ------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One message the platform took: when it arrived (the fake's monotonic clock),
    to which chat, from which process generation (`Node.name`), and what it said."""

    at: float
    chat: str
    consumer: str
    text: str


@dataclass
class Delivered:
    """Each chat's owed replies matched, in order, against what the platform took."""

    missing: dict[str, list[str]]  # chat -> owed replies never taken (in order)
    repeats: list[tuple[Sent, Sent]]  # (a copy taken again, the copy taken before it)

    def by_generation(self) -> dict[str, list[str]]:
        """Which process generation sent the earlier copy of each repeat: the chats."""
        found: dict[str, list[str]] = {}
        for _, before in self.repeats:
            found.setdefault(before.consumer, []).append(before.chat)
        return found


def delivered(owed: dict[str, list[str]], sent: list[Sent]) -> Delivered:
    """Match each chat's owed replies (in the order the store holds them) against the
    copies taken, in order: a copy that is the next owed is that one; any other copy
    must repeat one already taken (a repeat, paired with its last earlier copy)."""
    missing: dict[str, list[str]] = {}
    repeats: list[tuple[Sent, Sent]] = []
    unexpected: list[Sent] = []
    for chat, replies in owed.items():
        matched = 0
        taken: dict[str, Sent] = {}
        for copy in sorted((s for s in sent if s.chat == chat), key=lambda s: s.at):
            if matched < len(replies) and copy.text == replies[matched]:
                matched += 1
            elif copy.text in taken:
                repeats.append((copy, taken[copy.text]))
            else:
                unexpected.append(copy)
            taken[copy.text] = copy
        if matched < len(replies):
            missing[chat] = replies[matched:]
    assert not unexpected, [(s.chat, s.consumer, s.text[:60]) for s in unexpected]
    return Delivered(missing, repeats)


def holds_the_promises(figures: Any, found: Delivered, stored: dict[Any, list[str]]) -> None:
    """What both cluster tests assert of a run with kills, whatever the platform:
    every update on its customer's one case, exactly once, in order; every reply owed
    sent, in order, and every message of the outbox sent; a reply sent twice first
    sent by a process that was then killed (the one-write window), at most once per
    chat per kill. `figures`: the test's own, with kills, updates, owed, repeats and
    details (cases, said, states, killed)."""
    assert figures.details["cases"] == {user: 1 for user in stored}
    assert stored == figures.details["said"]
    assert figures.details["states"] == {"sent"}
    assert figures.owed >= figures.updates
    assert not found.missing, found.missing
    per_kill = found.by_generation()
    assert set(per_kill) <= figures.details["killed"], per_kill
    for generation, chats in per_kill.items():
        assert len(chats) == len(set(chats)), (generation, chats)
    # (so at most one repeat per chat per kill: a kill while every chat's send is in
    # flight repeats one reply in each, as the documented window allows)
    assert figures.repeats <= figures.kills * len(stored)


def busiest(times: list[float], window: float) -> int:
    """The most of `times` within any `window` seconds (both ends counted)."""
    times = sorted(times)
    most = start = 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        most = max(most, end - start + 1)
    return most
