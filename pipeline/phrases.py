"""Find phrases in utterances, tolerant of ASR errors.

Three modes, each on normalised text (``pipeline.text.normalize``) so punctuation, script,
width and numerals never matter:

``exact``   the phrase occurs as written.
``fuzzy``   a stretch of the utterance is within a few character edits of the phrase
            (one edit per four characters by default; phrases of three characters or fewer
            must match exactly — at that length one edit makes another word: 不知道 → 知道).
``pinyin``  the utterance has a stretch that *sounds* like the phrase: same toneless pinyin,
            with the initials and finals that speakers and ASR confuse folded together
            (zh/z, ch/c, sh/s, n/l, -ng/-n), so 停滞 → 停制 and 赔偿 → 陪偿 still match.
            Long phrases (five syllables or more) also tolerate one wrong syllable inside,
            never the first or last one: those tell 还有什么可以帮您 from 请问有什么可以帮您.

Latin words match whole words only (``hi`` is not in ``this``). A match records where it is
in the raw text, so evidence quotes what was actually said.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz.distance import Levenshtein

from pipeline.text import Normalized, Syllables, normalize, syllables

MatchMode = Literal["exact", "fuzzy", "pinyin"]


@dataclass(frozen=True)
class PhraseMatch:
    phrase: str
    mode: MatchMode
    start: int  # raw-text character span
    end: int
    text: str  # the raw text that matched
    distance: int  # character edits (fuzzy) or syllable substitutions (pinyin)


class Utterance:
    """One utterance prepared for matching (normalised once, pinyin computed on demand)."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.normalized: Normalized = normalize(raw)
        self._syllables: Syllables | None = None
        self._folded: tuple[str, ...] | None = None

    @property
    def syllables(self) -> Syllables:
        if self._syllables is None:
            self._syllables = syllables(self.normalized)
        return self._syllables

    @property
    def folded(self) -> tuple[str, ...]:
        if self._folded is None:
            self._folded = self.syllables.folded()
        return self._folded


@lru_cache(maxsize=4096)
def _phrase(phrase: str) -> tuple[str, tuple[str, ...]]:
    normalized = normalize(phrase)
    return normalized.text, syllables(normalized).folded()


def default_max_edits(length: int) -> int:
    return 0 if length <= 3 else length // 4


def find(utterance: Utterance, phrase: str, mode: MatchMode = "exact",
         max_edits: int | None = None) -> PhraseMatch | None:
    """First match of ``phrase`` in ``utterance`` under ``mode``, or None."""
    target, target_syllables = _phrase(phrase)
    if not target:
        return None
    text = utterance.normalized.text
    position = text.find(target)
    while position >= 0:
        if _whole_words(text, position, position + len(target)):
            return _match(utterance, phrase, "exact", position, position + len(target), 0)
        position = text.find(target, position + 1)
    if mode == "fuzzy":
        return _fuzzy(utterance, phrase, target, max_edits)
    if mode == "pinyin":
        return _pinyin(utterance, phrase, target_syllables, max_edits)
    return None


def _latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _whole_words(text: str, start: int, end: int) -> bool:
    """A match that begins or ends in a Latin word must begin or end with that word."""
    if start > 0 and _latin(text[start]) and _latin(text[start - 1]):
        return False
    return not (end < len(text) and _latin(text[end - 1]) and _latin(text[end]))


def _match(utterance: Utterance, phrase: str, mode: MatchMode, start: int, end: int,
           distance: int) -> PhraseMatch:
    raw_start, raw_end = utterance.normalized.raw_span(start, end)
    return PhraseMatch(phrase, mode, raw_start, raw_end, utterance.raw[raw_start:raw_end],
                       distance)


def _fuzzy(utterance: Utterance, phrase: str, target: str,
           max_edits: int | None) -> PhraseMatch | None:
    allowed = default_max_edits(len(target)) if max_edits is None else max_edits
    if allowed <= 0:
        return None
    text = utterance.normalized.text
    best: tuple[int, int, int] | None = None  # (distance, start, end)
    for width in range(max(1, len(target) - allowed), len(target) + allowed + 1):
        for start in range(0, len(text) - width + 1):
            if not _whole_words(text, start, start + width):
                continue
            distance = Levenshtein.distance(text[start:start + width], target,
                                            score_cutoff=allowed)
            # Fewest edits first; on a tie, the stretch closest to the phrase's length.
            if distance <= allowed and (
                best is None
                or (distance, abs(width - len(target))) < (best[0], abs(best[2] - best[1]
                                                                      - len(target)))
            ):
                best = (distance, start, start + width)
    if best is None:
        return None
    return _match(utterance, phrase, "fuzzy", best[1], best[2], best[0])


def _pinyin(utterance: Utterance, phrase: str, target: tuple[str, ...],
            max_edits: int | None) -> PhraseMatch | None:
    allowed = (1 if len(target) >= 5 else 0) if max_edits is None else max_edits
    folded = utterance.folded
    width = len(target)
    for start in range(0, len(folded) - width + 1):
        window = folded[start:start + width]
        if window[0] != target[0] or window[-1] != target[-1]:
            continue
        substitutions = sum(a != b for a, b in zip(window, target, strict=True))
        if substitutions <= allowed:
            spans = utterance.syllables.spans
            return _match(utterance, phrase, "pinyin", spans[start][0],
                          spans[start + width - 1][1], substitutions)
    return None
