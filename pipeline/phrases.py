"""Find phrases in utterances, tolerant of ASR errors.

Three modes, each on normalised text (``pipeline.text.normalize``) so punctuation, script,
width and numerals never matter:

``exact``   the phrase occurs as written.
``fuzzy``   a stretch of the utterance is within a few character edits of the phrase
            (one edit per four characters by default; phrases of three characters or fewer
            must match exactly — at that length one edit makes another word: 不知道 → 知道).
            Latin phrases are matched word by word, for precision: a single word is never
            fuzzy (take / make ≠ fake), words shorter than six letters must be exact
            (you ≠ i, will ≠ well), and a longer word may be one letter off (two from twelve
            letters): "you mentioned that" never matches "they mentioned that".
``pinyin``  the utterance has a stretch that *sounds* like the phrase: same toneless pinyin,
            with the initials and finals that speakers and ASR confuse folded together
            (zh/z, ch/c, sh/s, n/l, -ng/-n), so 赔偿金 → 陪偿金 still matches. Only phrases of
            four syllables or more, whose first two syllables must be exactly the phrase's
            (您方便的 is not 您反映的): shorter ones are too easily another word. Phrases of
            five syllables or more also tolerate one wrong syllable after the first two,
            never the last one: those tell 还有什么可以帮您 from 请问有什么可以帮您.

Latin words match whole words only (``hi`` is not in ``this``). A match records where it is
in the raw text, so evidence quotes what was actually said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz.distance import Levenshtein

from pipeline.text import Normalized, Syllables, normalize, syllables

MatchMode = Literal["exact", "fuzzy", "pinyin"]
_LATIN_WORD = re.compile(r"[a-z0-9]+")


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
        self._words: list[tuple[int, int]] | None = None

    @property
    def syllables(self) -> Syllables:
        if self._syllables is None:
            self._syllables = syllables(self.normalized)
        return self._syllables

    @property
    def words(self) -> list[tuple[int, int]]:
        """[start, end) of each Latin word (or number) in the normalised text."""
        if self._words is None:
            self._words = [m.span() for m in _LATIN_WORD.finditer(self.normalized.text)]
        return self._words

    @property
    def folded(self) -> tuple[str, ...]:
        if self._folded is None:
            self._folded = self.syllables.folded()
        return self._folded


# Pinyin matching: the shortest phrase it applies to, and how many leading syllables must be
# exactly the phrase's (unfolded).
PINYIN_MIN_SYLLABLES = 4
PINYIN_EXACT_HEAD = 2
# Latin fuzzy matching: words shorter than this must be exact; one edit per this many letters.
LATIN_FUZZY_MIN_LETTERS = 6


@dataclass(frozen=True)
class _Target:
    text: str
    syllables: tuple[str, ...]  # toneless pinyin, unfolded
    folded: tuple[str, ...]


@lru_cache(maxsize=4096)
def _phrase(phrase: str) -> _Target:
    normalized = normalize(phrase)
    spelled = syllables(normalized)
    return _Target(normalized.text, spelled.items, spelled.folded())


def default_max_edits(length: int) -> int:
    return 0 if length <= 3 else length // 4


def _latin_phrase(text: str) -> bool:
    return all(_latin(c) or c == " " for c in text)


def find(utterance: Utterance, phrase: str, mode: MatchMode = "exact",
         max_edits: int | None = None) -> PhraseMatch | None:
    """First match of ``phrase`` in ``utterance`` under ``mode``, or None."""
    spec = _phrase(phrase)
    target = spec.text
    if not target:
        return None
    text = utterance.normalized.text
    position = text.find(target)
    while position >= 0:
        if _whole_words(text, position, position + len(target)):
            return _match(utterance, phrase, "exact", position, position + len(target), 0)
        position = text.find(target, position + 1)
    if mode == "fuzzy":
        if _latin_phrase(target):
            return _fuzzy_words(utterance, phrase, target, max_edits)
        return _fuzzy(utterance, phrase, target, max_edits)
    if mode == "pinyin":
        return _pinyin(utterance, phrase, spec, max_edits)
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


def _word_edits(word: str, target: str) -> int | None:
    """Edits between one spoken and one phrase word, or None where they may not differ."""
    if word == target:
        return 0
    if len(target) < LATIN_FUZZY_MIN_LETTERS:
        return None
    allowed = len(target) // LATIN_FUZZY_MIN_LETTERS
    distance = Levenshtein.distance(word, target, score_cutoff=allowed)
    return distance if distance <= allowed else None


def _fuzzy_words(utterance: Utterance, phrase: str, target: str,
                 max_edits: int | None) -> PhraseMatch | None:
    """Latin phrases, word against word (see the module docstring)."""
    words = target.split()
    if len(words) < 2:
        return None
    allowed = default_max_edits(len(target)) if max_edits is None else max_edits
    spans = utterance.words
    text = utterance.normalized.text
    best: tuple[int, int, int] | None = None  # (distance, start, end)
    for first in range(0, len(spans) - len(words) + 1):
        window = spans[first:first + len(words)]
        total = 0
        for (start, end), word in zip(window, words, strict=True):
            edits = _word_edits(text[start:end], word)
            if edits is None:
                break
            total += edits
        else:
            if 0 < total <= allowed and (best is None or total < best[0]):
                best = (total, window[0][0], window[-1][1])
    if best is None:
        return None
    return _match(utterance, phrase, "fuzzy", best[1], best[2], best[0])


def _pinyin(utterance: Utterance, phrase: str, target: _Target,
            max_edits: int | None) -> PhraseMatch | None:
    width = len(target.folded)
    if width < PINYIN_MIN_SYLLABLES:
        return None
    allowed = (1 if width >= 5 else 0) if max_edits is None else max_edits
    folded = utterance.folded
    spoken = utterance.syllables.items
    head = PINYIN_EXACT_HEAD
    for start in range(0, len(folded) - width + 1):
        window = folded[start:start + width]
        if (spoken[start:start + head] != target.syllables[:head]
                or window[-1] != target.folded[-1]):
            continue
        substitutions = sum(a != b for a, b in zip(window, target.folded, strict=True))
        if substitutions <= allowed:
            spans = utterance.syllables.spans
            return _match(utterance, phrase, "pinyin", spans[start][0],
                          spans[start + width - 1][1], substitutions)
    return None
