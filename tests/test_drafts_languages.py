"""/teach on a case in the customer's language: the example goes to that
language's translation of the article when there is one, else to the English one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import Candor
from bot.knowledge.articles import body_hash
from tests.conftest import Agent, Clock, Customer, RecordingDesk, case_of, write_config

Factory = Callable[[str], Customer]
GERMAN = "Sie erhalten ungenutzte Monate bei Jahresplänen zurück."


@pytest.fixture
def config_path(tmp_path: Path, knowledge_dir: Path) -> Path:
    (knowledge_dir / "de").mkdir()
    english = "We refund unused months on annual plans."
    (knowledge_dir / "de" / "refunds.md").write_text(
        f'+++\nid = "refunds"\ntitle = "Erstattungen"\noriginal = "{body_hash(english)}"\n'
        f'questions = ["Geld zurück", "Erstattung"]\nhandover = true\n+++\n{GERMAN}\n',
        encoding="utf-8",
    )
    path = write_config(tmp_path, knowledge_dir)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[storage]", 'languages = ["en", "de"]\n[storage]', 1), "utf-8")
    return path


async def test_teach_goes_to_the_translation_in_the_customers_language(
    customer_factory: Factory,
    agent_factory: Callable[[str], Agent],
    app: Candor,
    desk: RecordingDesk,
    knowledge_dir: Path,
    clock: Clock,
) -> None:
    ann, maria = customer_factory("ann"), agent_factory("maria")
    await ann.send("/language")
    await ann.press("lang:de")
    question = "Wir haben den falschen Tarif gekauft, bitte Kohle retour"
    assert all(GERMAN not in t for t in await ann.send(question))  # not known yet
    await ann.send("/human")
    await ann.press("handover:send")
    case = (await case_of(app, ann)).id
    await maria.say("Erledigt.", case)
    english = (knowledge_dir / "refunds.md").read_bytes()
    await maria.say(f"/teach refunds {case}")
    told = desk.sent[-1].text
    assert "its de translation (the customer's language)" in told, told
    assert (knowledge_dir / "refunds.md").read_bytes() == english
    assert f'"{question}"' in (knowledge_dir / "de" / "refunds.md").read_text("utf-8")
    app.reload_knowledge()
    bob = customer_factory("bob")
    await bob.send("/language")
    await bob.press("lang:de")
    clock.advance(minutes=1)
    assert any(GERMAN in t for t in await bob.send(question))
