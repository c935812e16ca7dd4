"""Question normalisation (README "Analytics"): which wordings are one question. The SQL twin of
these rules is checked against this one in tests/integration/test_rollup.py."""

import pytest

from shared.services.questions import normalise


@pytest.mark.parametrize(
    "wordings",
    [
        [
            "How much is delivery?",
            "how much is delivery",
            "How much is  the delivery??",
            "HOW MUCH IS DELIVERY!!!",
        ],
        [
            "What are your opening hours?",
            "what are your opening hours, please",
            "What are your opening hours? Thanks!",
        ],
        ["Crème brûlée?", "creme brulee", "CRÈME BRÛLÉE!"],
        ["Do you ship to Zürich?", "do you ship to zurich", "Do you ship to Zurich ?? thank you"],
        ["Is there a discount", "Is there discount?", "is there an discount…"],
    ],
)
def test_wordings_of_one_question_share_a_key(wordings: list[str]) -> None:
    assert len({normalise(w) for w in wordings}) == 1, [normalise(w) for w in wordings]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("How much is delivery?", "How long is delivery?"),
        ("Do you deliver?", "Do you not deliver?"),
        ("Opening hours", "Closing hours"),
        ("Price of plan 1", "Price of plan 2"),
    ],
)
def test_different_questions_stay_apart(first: str, second: str) -> None:
    assert normalise(first) != normalise(second)


def test_the_key_is_plain_lower_case_words() -> None:
    assert normalise("  How much is  the delivery??  ") == "how much is delivery"
    assert normalise("¿Cuánto cuesta el envío?") == "cuanto cuesta el envio"
    assert normalise("Привет, как дела?") == "привет как дела"


def test_politeness_alone_or_punctuation_alone_is_no_question() -> None:
    assert normalise("Thank you!") == ""
    assert normalise("???") == ""
    assert normalise("please thanks") == ""


def test_politeness_is_dropped_only_at_the_end() -> None:
    assert normalise("Please tell me the price") == "please tell me price"
    assert normalise("x" * 1000) == "x" * 300
