"""What a handed-over case costs the Telegram staff group: the Bot API calls Candor
makes there for one case's life (handover, an agent's reply, resolve), counted on the
fake Bot API (tests/fakes/telegram.py) with the real python-telegram-bot channel.

A staff group may take about 20 messages a minute (`group_per_minute`), and every
call into it counts, edits and topic changes too; so the calls per case say how many
cases a minute one staff group can carry. Counts, not times: the same on any machine.

    .venv/bin/python benchmarks/desk_calls.py [--cases 5]

Run it from a tree's root to compare trees (`git archive COMMIT | tar -x -C /tmp/x`,
then `cd /tmp/x && PYTHONPATH=/tmp/x /path/to/.venv/bin/python benchmarks/desk_calls.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.test_telegram import (  # noqa: E402
    MARIA,
    STAFF,
    TOKEN,
    hand_over,
    running,
    telegram_config,
)

CUSTOMERS = 2_000_001  # the first customer's Telegram id
WAIT = 120.0  # a generous bound on each step, never a measure


async def one_case(fake: FakeTelegram, app: object, user: int, nth: int, resolve: str) -> None:
    await hand_over(fake, app, user, f"Customer{user}")  # type: ignore[arg-type]
    topics = await fake.wait_for("createForumTopic", nth, timeout=WAIT, chat_id=STAFF)
    thread = topics[-1].result["message_thread_id"]
    await fake.wait_for(
        "sendMessage",
        1,
        timeout=WAIT,
        chat_id=STAFF,
        message_thread_id=thread,
        text=lambda t: "Case #" in t,
    )
    fake.push_message(
        MARIA,
        "Hello, Maria here: let me look.",
        first_name="Maria",
        chat_id=STAFF,
        message_thread_id=thread,
        is_topic_message=True,
    )
    await fake.wait_for("sendMessage", 1, timeout=WAIT, chat_id=user, text=lambda t: "Maria" in t)
    fake.push_message(
        MARIA,
        resolve,
        first_name="Maria",
        chat_id=STAFF,
        message_thread_id=thread,
        is_topic_message=True,
    )
    await fake.wait_for(
        "sendMessage", 1, timeout=WAIT, chat_id=user, text=lambda t: "resolved" in t.lower()
    )


async def pending(app: object) -> int:
    rows = await app.store.outbox_rows()  # type: ignore[attr-defined]
    return sum(1 for _, state in rows if state == "pending")


async def main(cases: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with FakeTelegram(TOKEN) as fake:
            config = telegram_config(Path(folder), ROOT / "knowledge", fake)
            async with running(config) as (app, _):
                for n in range(cases):
                    await one_case(fake, app, CUSTOMERS + n, n + 1, "/resolve")
                # what is still due for the staff group (card edits, receipts) goes out
                loop = asyncio.get_running_loop()
                deadline = loop.time() + WAIT
                while await pending(app) and loop.time() < deadline:  # noqa: ASYNC110 (a store state, no event)
                    await asyncio.sleep(0.05)
            staff = Counter(
                call.method
                for call in fake.calls
                if str(call.params.get("chat_id")) == str(STAFF) and not call.failed
            )
    total = sum(staff.values())
    print(f"cases: {cases}")
    print(f"staff-group calls per case: {total / cases:.1f}")
    for method, count in sorted(staff.items()):
        print(f"  {method}: {count / cases:.1f}")
    print(f"cases a minute one staff group carries at 20 calls a minute: {20 * cases / total:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5)
    asyncio.run(main(parser.parse_args().cases))
