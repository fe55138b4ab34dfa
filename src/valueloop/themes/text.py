"""Cheap text checks for themes: which texts are worth clustering, and a rough sentiment.

Pure functions, no database. Both checks are deliberately simple and say so on the pages:
- ``check`` adds two skip reasons to the engine's ``prepare``: a text of one word ("ok", "thanks!")
  says nothing a theme could be about, and a text that does not look English would be placed by an
  English sentence model more or less at random (better listed apart, with the reason, than
  silently mixed into a theme).
- ``sentiment`` counts words from two short lists; it is approximate (no negation handling beyond
  "not"/"no" directly before a word) and is shown as such.
"""

from __future__ import annotations

import re

_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

# Frequent English function words: real English text of a few words almost always has some.
ENGLISH_MARKERS = frozenset(
    """
    a about after all also am an and any are as at be because been but by can can't cannot could do does
    don't for from get got had has have how i i'm if in into is isn't it it's its just let me more my no
    not now of on once only or our out please same should so some still than that the their them then
    there these they this to too up us very was we were what when where which while who why will with
    without would you your
    """.split()  # noqa: SIM905 - a word list reads better as text
)

NEGATIVE = frozenset(
    """
    annoying awful bad blocked blocker blocks broken bug bugs cannot cant complain complained complaint
    confusing crash crashed crashes difficult disappointed error errors fail failed failing fails
    frustrated frustrating hard hate impossible issue issues lost missing painful poor problem problems
    slow spam stuck terrible ugly unable unhappy unusable useless waste worse worst wrong
    """.split()  # noqa: SIM905 - a word list reads better as text
)
POSITIVE = frozenset(
    """
    amazing appreciate awesome beautiful best better easy excellent fantastic fast glad good great happy
    helpful intuitive love loved lovely nice perfect pleased recommend smooth thank thanks useful
    well wonderful
    """.split()  # noqa: SIM905 - a word list reads better as text
)
NEGATORS = frozenset({"not", "no", "never", "don't", "doesn't", "isn't", "can't", "cannot", "won't"})


def words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORDS.findall(text or "")]


def check(text: str) -> str | None:
    """A skip reason beyond the engine's (empty, too short), or None when the text can be clustered."""
    tokens = words(text)
    if len(tokens) < 2:
        return "one word"
    letters = [ch for ch in text if ch.isalpha()]
    if letters:
        non_latin = sum(1 for ch in letters if ord(ch) > 0x24F)  # beyond Latin Extended-B
        if non_latin / len(letters) > 0.3:
            return "not English"
    if len(tokens) >= 6 and sum(1 for t in tokens if t in ENGLISH_MARKERS) / len(tokens) < 0.06:
        return "not English"
    return None


def sentiment(text: str) -> int:
    """-1 (negative), 0 (neutral or mixed), +1 (positive): word counts from two short lists."""
    score = 0
    previous = ""
    for token in words(text):
        sign = 1 if token in POSITIVE else -1 if token in NEGATIVE else 0
        if sign and previous in NEGATORS:
            sign = -sign
        score += sign
        previous = token
    return (score > 0) - (score < 0)
