"""What customers' words signal: greetings, asking for a person, frustration."""

from __future__ import annotations

import pytest

from bot.signals import frustrated, is_greeting, not_helpful, shouting, wants_person


@pytest.mark.parametrize("text", ["hi", "Hello!", "hey there", "good morning", "hiii team"])
def test_greetings(text: str) -> None:
    assert is_greeting(text)


@pytest.mark.parametrize("text", ["hi, how much is the team plan?", "hello world program", "high"])
def test_a_greeting_with_a_question_is_a_question(text: str) -> None:
    assert not is_greeting(text)


@pytest.mark.parametrize(
    "text",
    [
        "can I talk to someone",
        "agent please",
        "real person",
        "I want to speak with a human",
        "human",
        "Representative!",
        "connect me to your support team",
        "get me a person pls",
        # a negation about something else does not undo the request
        "this isn't working so I want to talk to a person",
        "it doesn't work I need to speak to someone",
        "why won't you let me talk to a person",
        "I don't want to talk to a bot I want to speak to a person",
        "I don't know what to do let me talk to a human",
    ],
)
def test_asking_for_a_person(text: str) -> None:
    assert wants_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "do you have a reseller agent program",
        "how many people can use the team plan",
        "is there a human-readable invoice",
        "can someone else on my team pay the invoice",
    ],
)
def test_questions_that_mention_people_are_questions(text: str) -> None:
    assert not wants_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "I never want to talk to a real person, just tell me the price",
        "I don't want to speak to a human, just the price please",
        "no need to talk to a person",
        "I would rather not talk to someone",
    ],
)
def test_refusing_a_person_is_not_asking_for_one(text: str) -> None:
    assert not wants_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "that didn't help",
        "no, that's not what I asked",
        "not helpful",
        "wrong answer",
        "this is wrong",
    ],
)
def test_not_helpful(text: str) -> None:
    assert not_helpful(text)


@pytest.mark.parametrize("text", ["that helped, thanks", "it helps to know", "not yet, one more"])
def test_helpful_or_neutral(text: str) -> None:
    assert not not_helpful(text)


@pytest.mark.parametrize(
    "text",
    [
        "this is useless",
        "WHY IS NOTHING WORKING HERE",
        "what a waste of my time",
        "you don't understand",
        "are you kidding me",
        # swearing is never taken back by a "not" before it
        "it doesn't fucking work",
        "why doesn't this damn thing work",
        "it still doesn't work and I'm fed up",
        # exclamations and questions about the bot, and a statement after a question
        "what a useless answer",
        "how stupid is this",
        "why is this so useless",
        "This is the worst support ever. Is there a manager?",
        "Is this a joke? This is useless",
    ],
)
def test_frustration(text: str) -> None:
    assert frustrated(text)


@pytest.mark.parametrize(
    "text",
    [
        "Is VAT included?",
        "OK",
        "thanks, that was useful",
        "SOC 2 report",
        # a question about a product, and a judgement taken back
        "is the free plan useless for a team of 10?",
        "is the worst plan for small teams the free one?",
        "not terrible actually",
    ],
)
def test_calm(text: str) -> None:
    assert not frustrated(text)
    assert not shouting(text)
