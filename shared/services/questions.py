"""How visitor messages become questions (README "Analytics"): one set of rules, applied by the
database (`chat_logs.question_key`, a generated column over `chat_question()` of migration 0013, with
these very patterns written out; `SQL_TEMPLATE` below passes them as parameters) and by `normalise`
here, so the database and Python agree on what "the same question" is (tests check all three).

Two messages are the same question when their normalised texts are equal: lower case, accents
removed, punctuation removed, the articles "the", "a", "an" dropped, trailing politeness ("please",
"thanks", "thank you"...) dropped and whitespace collapsed. No fuzzy matching (no pg_trgm): "How much
is delivery?" and "How much is  the delivery??" are one question; "How long is delivery?" another.
"""

from __future__ import annotations

import re
import unicodedata

# Combining marks left by NFD decomposition (é -> e + U+0301).
MARKS = "[\u0300-\u036f]"
# Punctuation and symbols, listed by code point so both regex engines read them alike: ASCII,
# Latin-1 (¡¿«» ...), general punctuation (dashes, quotes, ellipsis), CJK and full-width marks.
PUNCTUATION = "[!-/:-@\\[-`{-~\u00a1-\u00bf\u00d7\u00f7\u2010-\u205e\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]"
# Words that carry no meaning for grouping questions, matched between spaces.
FILLER = " (?:the|a|an)(?= )"
# Trailing politeness, possibly repeated ("thanks please").
POLITENESS = "(?: (?:please|pls|plz|thanks|thank you|thank u|thx|ty|cheers|danke|bitte|merci))+ +$"
SPACE = "[\\s\u00a0\u2000-\u200b\u3000]+"
MAX_LENGTH = 300

_MARKS = re.compile(MARKS)
_PUNCTUATION = re.compile(PUNCTUATION)
_FILLER = re.compile(FILLER)
_POLITENESS = re.compile(POLITENESS)
_SPACE = re.compile(SPACE)


def normalise(message: str) -> str:
    """The question a message asks, as the grouping key ('' when nothing is left)."""
    text = _MARKS.sub("", unicodedata.normalize("NFD", message)).lower()
    text = _SPACE.sub(" ", _PUNCTUATION.sub(" ", text))
    text = _POLITENESS.sub(" ", _FILLER.sub("", f" {text} "))
    return _SPACE.sub(" ", text).strip()[:MAX_LENGTH]


# The same steps in SQL over `{column}`, reading the patterns from the parameters below.
SQL_TEMPLATE = (
    "left(btrim(regexp_replace(regexp_replace(regexp_replace("
    "' ' || regexp_replace(regexp_replace(lower(regexp_replace(normalize({column}, NFD), "
    "%(q_marks)s, '', 'g')), %(q_punctuation)s, ' ', 'g'), %(q_space)s, ' ', 'g') || ' ', "
    "%(q_filler)s, '', 'g'), %(q_politeness)s, ' ', 'g'), %(q_space)s, ' ', 'g')), %(q_max)s)"
)
SQL_PARAMS: dict[str, object] = {
    "q_marks": MARKS,
    "q_punctuation": PUNCTUATION,
    "q_filler": FILLER,
    "q_politeness": POLITENESS,
    "q_space": SPACE,
    "q_max": MAX_LENGTH,
}
