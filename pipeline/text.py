"""Text normalisation for matching, shared by every stage.

``normalize`` maps raw text to a canonical form — Simplified Chinese, half-width, lower case,
no punctuation, Chinese numerals as digits — and remembers, for every output character, which
characters of the raw text it came from, so a match found in normalised text points back at
the words the speaker said. ``syllables`` turns normalised text into toneless pinyin, one
syllable per Chinese character, for matching through ASR homophone errors.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import opencc

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_NUMERAL_CHARS = "".join([*_DIGITS, *_UNITS, *_BIG_UNITS])
# A lone numeral is a number only before a measure word (一倍, 三天); elsewhere 一 is a word
# (一下, 一样, 统一) and stays as it is.
_MEASURE_WORDS = set("倍天块元个号月日年分秒点岁件单次周台位折斤米层楼份张条笔趟遍成")
_NUMERAL_RUN = re.compile(f"[{_NUMERAL_CHARS}]+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese (Whisper often writes Mandarin in Traditional)."""
    return _t2s().convert(text)


def to_halfwidth(text: str) -> str:
    """Full-width ASCII forms (ＡＢＣ１２３！) and the ideographic space → plain ASCII."""
    out = []
    for char in text:
        code = ord(char)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(char)
    return "".join(out)


def numeral_value(numeral: str) -> int | None:
    """Value of a Chinese numeral: 十二 → 12, 一百零五 → 105, 三万五千 → 35000, 两 → 2."""
    if not numeral or any(c not in _NUMERAL_CHARS for c in numeral):
        return None
    if all(c in _DIGITS for c in numeral):  # positional: 一二三一五 is 12315
        return int("".join(str(_DIGITS[c]) for c in numeral))
    total = section = digit = 0
    for char in numeral:
        if char in _DIGITS:
            digit = _DIGITS[char]
        elif char in _UNITS:
            section += (digit or 1) * _UNITS[char]
            digit = 0
        else:
            total = (total + section + digit) * _BIG_UNITS[char]
            section = digit = 0
    return total + section + digit


def _numeral_digits(run: str, next_char: str) -> str | None:
    if len(run) == 1 and next_char not in _MEASURE_WORDS:
        return None
    if all(c in _DIGITS for c in run):  # digit by digit keeps leading zeros: 零一 → 01
        return "".join(str(_DIGITS[c]) for c in run)
    value = numeral_value(run)
    return None if value is None else str(value)


@dataclass(frozen=True)
class Normalized:
    """Canonical text plus, per character, the [start, end) span of raw text it came from."""

    text: str
    spans: tuple[tuple[int, int], ...]
    raw: str

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw-text span of normalised characters [start, end)."""
        if start >= end:
            return (0, 0)
        return self.spans[start][0], self.spans[end - 1][1]

    def raw_text(self, start: int, end: int) -> str:
        a, b = self.raw_span(start, end)
        return self.raw[a:b]


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS" and char not in "%+"


def normalize(raw: str, numerals: bool = True) -> Normalized:
    """Canonical form for matching; see the module docstring."""
    # OpenCC and the width fold map character for character, so raw positions survive.
    simplified = to_halfwidth(to_simplified(raw))
    if len(simplified) != len(raw):  # a rare multi-character conversion: map coarsely
        simplified = to_halfwidth(raw)
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(simplified):
        char = simplified[i]
        if numerals and char in _NUMERAL_CHARS:
            run = _NUMERAL_RUN.match(simplified, i).group(0)  # type: ignore[union-attr]
            nxt = simplified[i + len(run)] if i + len(run) < len(simplified) else ""
            digits = _numeral_digits(run, nxt)
            if digits is not None:
                chars.extend(digits)
                spans.extend([(i, i + len(run))] * len(digits))
                i += len(run)
                continue
        if char.isspace() or _is_punctuation(char):
            # Keep one space only between Latin words/digits; Chinese needs none.
            if chars and chars[-1] != " " and chars[-1].isascii() and chars[-1].isalnum():
                chars.append(" ")
                spans.append((i, i + 1))
        else:
            chars.append(char.lower())
            spans.append((i, i + 1))
        i += 1
    while chars and chars[-1] == " ":
        chars.pop()
        spans.pop()
    # A space is only kept when Latin text follows it.
    keep = [
        k for k, c in enumerate(chars)
        if c != " " or (k + 1 < len(chars) and chars[k + 1].isascii() and chars[k + 1].isalnum())
    ]
    return Normalized("".join(chars[k] for k in keep), tuple(spans[k] for k in keep), raw)


def normalize_text(raw: str) -> str:
    return normalize(raw).text


# Between turns in the search text: a token no query produces (symbols are normalised away),
# so a phrase never matches across two turns.
TURN_BREAK = "¦"


def _search_chars(raw: str) -> str:
    return normalize(raw).text.replace(" ", "")


def _bigrams(chars: str) -> list[str]:
    return [chars[i:i + 2] for i in range(len(chars) - 1)]


def search_grams(texts: Iterable[str]) -> str:
    """What transcript search indexes: each text's normalised characters (spaces dropped) as
    overlapping bigrams plus its last character alone, space-separated, with ``TURN_BREAK``
    between texts. A query of 2+ characters matches where its bigrams (``query_grams``)
    appear contiguously in one turn, which is exactly where the normalised query is a
    substring of it; one character matches as a prefix of a token. So 12315 finds 一二三一五,
    投訴 finds 投诉, and every query can use an index."""
    parts = [" ".join([*_bigrams(chars), chars[-1]])
             for chars in map(_search_chars, texts) if chars]
    return f" {TURN_BREAK} ".join(parts)


def query_grams(query: str) -> str:
    """The grams a search for ``query`` looks for: its bigrams, or the one character."""
    chars = _search_chars(query)
    return " ".join(_bigrams(chars)) if len(chars) >= 2 else chars


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokens(raw: str) -> list[str]:
    """Words of the normalised text (jieba for Chinese, whitespace for the rest)."""
    return [t for t in _jieba().lcut(normalize_text(raw)) if t.strip()]


# Initials and finals that Mandarin speakers from the south, and ASR, routinely confuse.
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("f", "h"), ("r", "l"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"), ("iang", "ian"), ("uang", "uan"))


def fuzzy_syllable(syllable: str) -> str:
    """Fold a toneless pinyin syllable onto its confusable class (zhi → zi, ting → tin)."""
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long):]
            break
    for long, short in _FUZZY_FINALS:
        if syllable.endswith(long):
            return syllable[: -len(long)] + short
    return syllable


@dataclass(frozen=True)
class Syllables:
    """Pinyin of normalised text: one item per Chinese character, Latin word or digit."""

    items: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # [start, end) in the normalised text

    def folded(self) -> tuple[str, ...]:
        return tuple(fuzzy_syllable(s) for s in self.items)


def syllables(normalized: Normalized) -> Syllables:
    from pypinyin import Style, lazy_pinyin

    text = normalized.text
    items: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in re.finditer(r"[a-z]+|\d|[^\sa-z\d]", text):
        piece = match.group(0)
        if piece.isascii():
            items.append(piece)
        else:
            items.append(lazy_pinyin(piece, style=Style.NORMAL, errors=lambda x: x)[0])
        spans.append(match.span())
    return Syllables(tuple(items), tuple(spans))


# Where a turn is cut into sentences (similar_to, the similarity centre); a turn of more
# sentences is read only up to MAX_SENTENCES.
_SENTENCE_END = re.compile(r"[。！？!?；;\n]+|(?<=[a-zA-Z\d])[.]\s+")
MAX_SENTENCES = 24
MIN_SENTENCE_CHARS = 2


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of the sentences of ``text``, stripped, at most ``MAX_SENTENCES``."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        piece = text[a:b]
        lead = len(piece) - len(piece.lstrip())
        a, b = a + lead, a + len(piece.rstrip())
        if b - a >= MIN_SENTENCE_CHARS:
            out.append((a, b))
    return out[:MAX_SENTENCES]


# A clause that only greets, thanks, apologises, introduces the agent or names the topic it
# answers ("十分抱歉给您带来不好的体验", "关于您提及的问题", "已关注到您的问题"): the whole clause,
# one or more of these, address forms such as 亲亲 and end particles aside.
_COURTESY = re.compile(
    r"(?:您好|你好|hello|hi|hey"
    r"|(?:关于|对于|针对)(?:您|你)?(?:提及|提到|反映|反馈|所说|说|遇到)?的?(?:这个|此)?"
    r"(?:问题|情况|事情)"
    r"|(?:已|已经)?(?:关注|注意|收到)到?了?(?:您|你)(?:的|反馈的|反映的)?(?:问题|反馈|留言|情况)"
    r"|我是.{0,12}(?:客服|小编|专员)[\u4e00-\u9fff]{0,3}[A-Za-z0-9_-]{0,12}"  # 客服小美_113239
    r"|(?:i am|i'm|we are|we're) (?:glad|happy) to help(?: you)?"
    r"|(?:确实是?)?(?:非常|十分|很|真的)?(?:抱歉|对不起|不好意思)"
    r"|(?:给您)?(?:的使用)?(?:带来|造成)了?(?:这么|如此)?(?:的)?"
    r"(?:不便|困扰|麻烦|不好的(?:消费|使用|购物)?体验)"
    r"|(?:谢谢|感谢)您?的?(?:耐心等待|支持|关注|理解)?"
    r"|thanks?(?: you)?(?: so much)?"
    r"|(?:(?:we|i) ?(?:are|am|'re|'m) ?)?(?:so |very |really )?sorry"
    r"(?: (?:for|about) (?:that|this|(?:the|any|your) (?:inconvenience|trouble)))?"
    r"|we apologi[sz]e(?: for (?:the|any) inconvenience)?)+",
    re.IGNORECASE)
_ADDRESS = re.compile(r"^(?:亲亲|亲爱的|亲)|(?:亲亲|亲)$|[了哦啦哈呀]+$")
_ASKING = re.compile(r"^请问|[吗呢么][~～。…\s]*$")
# A request for the customer's details ("请提供下订单号", "您私信一下手机型号", "please DM us
# your order number") asks too: it gathers facts, it solves nothing yet.
_REQUEST = re.compile(
    r"^(?:请|麻烦)?(?:您|你)?(?:再|先)?(?:提供|私信|告知|告诉|留一?下|发一?下|发给|发送)"
    r"|^(?:(?:could|can|would) you |please |kindly )+(?:please )?"
    r"(?:(?:tell|send|give|dm) (?:me|us)|provide|share|let (?:me|us) know)\b",
    re.IGNORECASE)
_CLAUSE_END = re.compile(r"[，,、：:]+")
# A condition inside a question is part of the question ("If the payment is not received, did
# your bank account receive the refund?").
_CONDITION = re.compile(r"^(?:如果|假如|若是?|如(?:您|你))|^(?:if|in case|when)\b", re.IGNORECASE)
_STRIP = " ,，、:：!！~～.。…"


def substantive(text: str) -> bool:
    """Whether the turn says something beyond asking, greeting, thanking or apologising:
    a clause that is none of those. A clause asks when it ends a sentence closed by a
    question mark, ends in 吗/呢 (address forms aside: "您还在线吗亲亲"), opens with 请问, or
    requests the customer's details. "What is the system version of your phone?",
    "请提供下订单号以便查询" and "很抱歉，给您带来不好的体验了" are not substantive; "You may open
    the shortcuts on the lock screen. Does it occur repeatedly?" and "我帮您转给专员处理，好吗？"
    (an offer, then a check) are."""
    for a, b in sentence_spans(text):
        questioned = text[b:].lstrip()[:1] in ("?", "？")
        clauses = [_ADDRESS.sub("", c.strip(_STRIP)).strip(_STRIP)
                   for c in _CLAUSE_END.split(text[a:b])]
        clauses = [c for c in clauses if c]
        for k, clause in enumerate(clauses):
            if ((questioned and (k == len(clauses) - 1 or _CONDITION.match(clause)))
                    or _ASKING.search(clause) or _REQUEST.search(clause)):
                continue
            if not _COURTESY.fullmatch(clause):
                return True
    return False
