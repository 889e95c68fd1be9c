"""Find and redact personal data in stored text: phones, ID numbers, bank cards, e-mail, addresses.

Scoring always runs on the raw text; only what is written to the store (turn text, evidence) is
redacted, so redaction can never change a score. Each redaction keeps its span in the raw text,
so the review app can show where something was removed.

How each kind is found:

- **Numbers** (PHONE, ID, CARD) are not matched by ever-bigger regexes. The text is cut into
  digit groups (ASCII, full-width and other Unicode digits; Chinese digits 一二三…, 幺 = 1,
  洞 = 0, 拐 = 7); groups joined by at most three separators (space, full-width space, - . / ,
  ，、 ( ) and their full-width forms) form a run, read as a digit string with each digit's
  position in the raw text. Every window of whole groups (≤ 20 digits) from each group start is
  judged, longest first: resident ID (18 characters, ISO 7064 MOD 11-2, real birth date and
  province; old 15-digit IDs by province and birth date), bank card (Luhn plus issuer ranges:
  Visa 4, Mastercard 51–55 and 2221–2720, Amex 34/37, JCB 3528–3589, UnionPay 62/60/81,
  Discover, Diners), phone (mainland mobiles with or without +86 / 0086 / 86, numbers with a
  trunk 0, anything after + or 00 validated by `phonenumbers`; local 7–8 digit numbers,
  bare country codes and US-style numbers only after a cue word such as 电话 / 手机 / 拨 /
  Tel / phone, or in phone formatting such as ``(415) 555-2671``).
- **Vetoes** keep order numbers readable: the nearest cue word before a number wins, and
  订单 / 单号 / 快递 / 运单 / 物流 / 发票 / 型号 / order / tracking / invoice … veto PHONE and
  CARD (an 18-character ID with a valid checksum is still an ID). Letters glued to a number veto
  it unless they are a cue (``Tel138…``, ``ID4403…``), since tracking and model numbers look like
  ``SF1234567890``. Amounts (currency before, unit after, 1,234,567 grouping), dates
  (2026-11-20, 20/11/2026) and company hotlines (400 / 800 numbers, toll-free and shared-cost
  numbers by `phonenumbers`' type, 5-digit service numbers such as 12315) are not personal
  data and stay.
- **E-mail**: local part ASCII or any script, ``@`` / ``＠`` / ``[at]`` / ``(at)`` / `` at `` /
  艾特, dots as ``.`` / ``．`` / ``[dot]`` / `` dot `` / 点; spelled-out forms need a known
  top-level domain. Words leading into a non-ASCII local part (邮箱是…) are cut off.
- **Addresses**: Chinese roads with house numbers (the number and any 栋/单元/室 after it are
  covered), estates with building / unit / room (小区 / 花园 / 公寓 / 大厦 / 苑 / 村 … + 栋 /
  幢 / 号楼 / 单元 / 室 / 层), bare building-unit-room, roads after two administrative levels;
  English, Malay, Indonesian, Vietnamese and Thai street addresses with their numbers; PO boxes.

Every pattern over the whole text runs on RE2 (`google-re2`), linear by construction; stdlib
`re` only scans digit groups (one class after another, nothing to retry) and reads bounded
slices (the 28 characters before a number, one found address). The number scan judges a few
windows per digit group, so redaction is linear-time on any input; past a budget of
`phonenumbers` look-ups per text, a number of possible length counts as a phone (fail closed).
Overlapping finds are merged into one span (the more specific kind wins), so no digit of a
found number is left in the redacted text.
"""

from __future__ import annotations

import calendar
import datetime
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, pairwise
from typing import NamedTuple

import phonenumbers
import re2

KINDS = ("EMAIL", "ID", "CARD", "PHONE", "ADDRESS")
_PRIORITY = {"EMAIL": 0, "ID": 1, "CARD": 2, "PHONE": 3, "ADDRESS": 4}


@dataclass(frozen=True)
class PiiSpan:
    kind: str  # one of KINDS
    start: int
    end: int

    def as_dict(self) -> dict[str, int | str]:
        return {"kind": self.kind, "start": self.start, "end": self.end}


# ---------------------------------------------------------------- checksums

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# First two digits of a PRC resident ID: the province (GB/T 2260).
_PROVINCES = frozenset(("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
                        "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
                        "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83", "91"))


def _valid_date(year: int, month: int, day: int) -> bool:
    if not (1900 <= year <= datetime.date.today().year and 1 <= month <= 12):
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1]


def is_resident_id(digits: str) -> bool:
    """PRC resident ID: 18 characters with a valid MOD 11-2 check character, or the old
    15-digit form; both need a known province and a real birth date."""
    if len(digits) == 18:
        if not (digits[:17].isdigit() and (digits[17].isdigit() or digits[17] == "X")):
            return False
        year = int(digits[6:10])
    elif len(digits) == 15 and digits.isdigit():
        year = 1900 + int(digits[6:8])
    else:
        return False
    born = digits[10:14] if len(digits) == 18 else digits[8:12]  # MMDD
    if digits[:2] not in _PROVINCES or not _valid_date(year, int(born[:2]), int(born[2:4])):
        return False
    if len(digits) == 15:
        return True
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == digits[17]


_LUHN_DOUBLED = {str(d): d * 2 - 9 if d > 4 else d * 2 for d in range(10)}


def luhn_ok(digits: str) -> bool:
    total = sum(map(int, digits[-1::-2])) + sum(map(_LUHN_DOUBLED.__getitem__, digits[-2::-2]))
    return total % 10 == 0


def _card_issuer_ok(d: str) -> bool:
    """Issuer (IIN) ranges and lengths of the schemes customers read out."""
    n, p2, p4 = len(d), int(d[:2]), int(d[:4])
    if d[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (34, 37):
        return n == 15  # Amex
    if 3528 <= p4 <= 3589:
        return 16 <= n <= 19  # JCB
    if p2 in (62, 60, 81) or p4 == 6011 or 644 <= int(d[:3]) <= 649 or p2 == 65:
        return 16 <= n <= 19  # UnionPay (incl. Chinese debit 60…), Discover
    if p2 in (36, 38, 39) or 300 <= int(d[:3]) <= 305:
        return 14 <= n <= 19  # Diners
    return False


# ---------------------------------------------------------------- digit groups and runs

_CN_DIGITS = {"零": "0", "〇": "0", "○": "0", "洞": "0", "一": "1", "幺": "1", "二": "2",
              "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8",
              "九": "9"}
_CN_CLASS = "".join(_CN_DIGITS)
# Chinese digits form their own groups, so 一下 glued to an ASCII number does not lengthen it.
# One character class after another, nothing optional to retry: linear in stdlib re, and ~20×
# cheaper per match than RE2's Python binding when every other character is a digit.
_GROUP = re.compile(rf"(?:\d+|[{_CN_CLASS}]+)[XxＸ]?")
_SEPARATORS = frozenset(" \u3000\u00a0\t-‐‑–—−－.．/／,，、()（）·")
_MAX_GAP = 3
_MAX_DIGITS = 20
_TRANSLATE = str.maketrans({**_CN_DIGITS, "x": "X", "Ｘ": "X"})


def _to_digits(group: str) -> str:
    out = group.translate(_TRANSLATE)
    if out.isascii():
        return out
    return "".join(ch if ch.isascii() else str(int(ch)) for ch in out)  # full-width, Thai …


@dataclass(slots=True)
class _Group:
    start: int  # raw span
    end: int
    digits: str  # ASCII digits, an ID's X kept at the end


_SEPARATOR_CHARS = "".join(_SEPARATORS)


def _runs(text: str) -> list[list[_Group]]:
    runs: list[list[_Group]] = []
    prev: _Group | None = None
    for m in _GROUP.finditer(text):
        start, end = m.span()
        digits = _to_digits(m.group())
        if digits[-1] == "X" and text[end:end + 1].isascii() and text[end:end + 1].isalpha():
            end, digits = end - 1, digits[:-1]  # the X of a word, not an ID's check character
            if not digits:
                continue
        group = _Group(start, end, digits)
        gap = text[prev.end:start] if prev is not None else "?"
        if prev is not None and len(gap) <= _MAX_GAP and not gap.strip(_SEPARATOR_CHARS) \
                and prev.digits[-1] != "X":
            runs[-1].append(group)
        else:
            runs.append([group])
        prev = group
    return runs


# ---------------------------------------------------------------- context: cues and vetoes

_CUES = {  # "|"-separated; the longest phrase wins where several start at one place
    "PHONE": "手机号码|手机号|手机|电话号码|电话|座机|固话|号码|联系方式|联系|致电|拨打|拨|"
             "打给|打|回电|来电|传真|微信|tel|phone|mobile|cell|call|ring|reach|contact|number|"
             "whatsapp|wa|hp|fax|telefon|nombor|nomor|điện thoại|sđt|số|โทร|เบอร์",
    "ID": "身份证号码|身份证号|身份证|证件号码|证件号|证件|身份|id number|id card|ic number|"
          "nric number|passport number|id|ic|nric|"
          "ktp|nik|cmnd|cccd|passport",
    "CARD": "信用卡号码|银行卡号码|卡号码|银行卡号|银行卡|信用卡|储蓄卡|卡号|卡|card number|card|"
            "kartu|thẻ|บัตร",
    "VETO": "订单号码|订单号|订单|单号|快递单|快递|运单|物流|工单|工号|流水号|流水|交易号|"
            "发票号码|发票|型号|序列号|编号|批次|货号|条码|券码|验证码|取件码|"
            "order number|order no|order id|order|"
            "tracking number|serial number|model number|tracking|waybill|invoice|serial|model|"
            "sku|reference|ref|pesanan|resi|"
            "mã đơn|đơn hàng|vận đơn|คำสั่งซื้อ|เลขพัสดุ|พัสดุ",
}
_CUE_KIND = {w: kind for kind, words in _CUES.items() for w in words.split("|")}


def _cue_pattern() -> re.Pattern[str]:
    # Only ever run on the 20 characters before a number, so stdlib re is bounded (and cheaper).
    words = sorted(_CUE_KIND, key=len, reverse=True)  # longest first: 发票号码 before 号码
    ascii_words = [re.escape(w) for w in words if w.isascii()]
    other = [re.escape(w) for w in words if not w.isascii()]
    return re.compile("|".join([rf"\b(?:{'|'.join(ascii_words)})\b", *other]), re.IGNORECASE)


_CUE = _cue_pattern()
_CUE_WINDOW = 28
_CURRENCY = ("¥", "￥", "$", "€", "£", "₫", "฿", "rm", "rp", "rmb", "usd", "sgd", "hkd", "cny")
_DIGIT_CHARS = "0123456789" + _CN_CLASS
_UNIT_AFTER = re2.compile(r"(?i)^\s?(?:元|块|圆|万|亿|%|％|个|件|次|台|张|瓶|盒|箱|斤|克|吨|"
                          r"米|岁|天|小时|分钟|秒|yuan|rmb|usd|dollars?|ringgit|baht|dong|vnd|kg|gb|mb|pcs)")
_GLUED_OK = ("tel", "phone", "mobile", "mob", "cell", "hp", "wa", "fax", "id", "ic", "nric", "no",
             "card", "nik", "ktp")


def _run_cue(text: str, start: int) -> str:
    """What the words right before a run of digits say it is: "PHONE", "ID", "CARD", "VETO" or
    "" (the nearest cue wins)."""
    before = text[max(0, start - _CUE_WINDOW):start]
    cue = ""
    if before.strip(_DIGIT_CHARS + _SEPARATOR_CHARS):  # any words at all
        for m in _CUE.finditer(before):
            cue = _CUE_KIND.get(m.group().lower(), cue)
    word = before.rstrip(string.ascii_letters)
    glued = before[len(word):].lower()
    if glued and not glued.endswith(_GLUED_OK):
        cue = "VETO"  # SF1234567890, RTX4090: letters glued to the digits that are not a cue
    if before.rstrip().lower().endswith(_CURRENCY):
        cue = "VETO"
    return cue


class _Context(NamedTuple):  # a NamedTuple: hashed in C, it keys _lengths' cache
    cue: str
    plus: bool  # a + right before the number
    paren: bool  # an area code in parentheses: phone formatting


# ---------------------------------------------------------------- phones

_PN_BUDGET = 200  # phonenumbers look-ups per text; past it a possible length counts (fail closed)
_SERVICE_TYPES = frozenset({phonenumbers.PhoneNumberType.TOLL_FREE,
                            phonenumbers.PhoneNumberType.SHARED_COST,
                            phonenumbers.PhoneNumberType.PREMIUM_RATE,
                            phonenumbers.PhoneNumberType.UAN})


@lru_cache(maxsize=8192)
def _pn_valid(number: str, region: str | None) -> bool:
    """A valid personal number by phonenumbers' metadata (company hotlines do not count)."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return (phonenumbers.is_valid_number(parsed)
            and phonenumbers.number_type(parsed) not in _SERVICE_TYPES)


class _Budget:
    def __init__(self) -> None:
        self.left = _PN_BUDGET

    def valid(self, digits: str, region: str | None = None) -> bool:
        number = digits if region else "+" + digits
        if self.left <= 0:
            return 8 <= len(digits) <= 15  # adversarial input: redact rather than spend time
        self.left -= 1
        return _pn_valid(number, region)


_TRUNK_REGIONS = ("TH", "MY", "ID", "VN", "PH", "TW")


def _mobile_cn(d: str) -> bool:
    return len(d) == 11 and d[0] == "1" and d[1] in "3456789"


def _is_hotline(d: str) -> bool:
    """Company numbers, printed publicly: 400 / 800 numbers, 7-digit 95xxxxx / 96xxxxx."""
    return (len(d) == 10 and d.startswith(("400", "800"))) or (
        len(d) == 7 and d.startswith(("95", "96")))


def _is_phone(d: str, ctx: _Context, run: _Run, i: int, j: int, budget: _Budget) -> bool:
    n = len(d)
    if ctx.plus:
        return (d.startswith("86") and _mobile_cn(d[2:])) or (8 <= n <= 15 and budget.valid(d))
    if d.startswith("00"):
        rest = d[2:]
        return (rest.startswith("86") and _mobile_cn(rest[2:])) or (
            8 <= len(rest) <= 15 and budget.valid(rest))
    if _mobile_cn(d) or (n == 13 and d.startswith("86") and _mobile_cn(d[2:])):
        return True
    if d[0] == "0" and 10 <= n <= 12:
        return True  # a trunk 0: mainland landlines with area code, SEA national numbers
    if d[0] == "0" and n == 9:  # Thai landlines; not 0755-10000 (area code + a hotline)
        service = len(run.groups[j].digits) == 5 and run.groups[j].digits[0] in "19"
        return not service and any(budget.valid(d, region) for region in _TRUNK_REGIONS)
    us_style = n == 10 and run.sizes(i, j) == [3, 3, 4]
    if ctx.cue == "PHONE" or ctx.paren:
        if 7 <= n <= 8 and d[0] in "23456789":
            return True  # local number without area code (also HK / SG)
        if n == 10 and budget.valid(d, "US"):
            return True
        return 9 <= n <= 15 and budget.valid(d)  # a country code without +
    if us_style and budget.valid(d, "US"):
        return True
    # 60 12-345 6789: a country code as its own group is phone formatting
    return j > i and 10 <= n <= 15 and len(run.groups[i].digits) <= 3 and budget.valid(d)


# ---------------------------------------------------------------- number windows

_PLAIN = _Context("", False, False)


class _Run:
    """Digit groups joined by separators, read as one digit string with running offsets, so a
    window of groups is a slice and each check is O(1) in the run's length."""

    def __init__(self, text: str, groups: list[_Group]) -> None:
        self.text, self.groups = text, groups
        self.digits = "".join(g.digits for g in groups)
        self.offsets = [0, *accumulate(len(g.digits) for g in groups)]
        self.seps = [text[a.end:b.start] for a, b in pairwise(groups)]
        self.commas = [0, *accumulate("," in s or "，" in s or "、" in s for s in self.seps)]
        self.money = [0, *accumulate(sep in (",", ".") for sep in self.seps)]
        self.end_at = {offset: j for j, offset in enumerate(self.offsets[1:])}
        self.cue = _run_cue(text, groups[0].start)

    def context(self, i: int) -> _Context:
        start = self.groups[i].start
        near = start - self.groups[0].start < _CUE_WINDOW  # only digits and separators between
        if start == 0 or self.text[start - 1] not in "+＋(（":
            return _Context(self.cue, False, False) if near else _PLAIN
        before = self.text[max(0, start - 3):start]
        plus = before.endswith(("+", "＋", "(+", "（＋", "（+"))
        return _Context(self.cue if near else "", plus, before.rstrip("+＋").endswith(("(", "（")))

    def window(self, i: int, j: int) -> str:
        return self.digits[self.offsets[i]:self.offsets[j + 1]]

    def sizes(self, i: int, j: int) -> list[int]:
        return [len(g.digits) for g in self.groups[i:j + 1]]

    def mixed_commas(self, i: int, j: int) -> bool:
        """138-1234，5678 is two things; 一三八，一二三四，五六七八 (commas only) is one number."""
        commas = self.commas[j] - self.commas[i]
        return 0 < commas < j - i

    def date_like(self, i: int, j: int) -> bool:
        if j - i != 2 or j >= len(self.groups) or not all(
                s.strip() in ("-", "/", ".", "．", "／") for s in self.seps[i:j]):
            return False
        a, b, c = (g.digits for g in self.groups[i:j + 1])
        if not (a + b + c).isdigit():
            return False
        if len(a) == 4 and len(b) <= 2 and len(c) <= 2:
            return 1 <= int(b) <= 12 and 1 <= int(c) <= 31
        return len(c) == 4 and len(a) <= 2 and len(b) <= 2 and int(a) <= 31 and int(b) <= 31

    def amount_like(self, i: int, j: int) -> bool:
        """1,234,567 or 1.299.000: thousands grouping is money, never a phone or card."""
        if j == i or self.money[j] - self.money[i] != j - i:
            return False
        sizes = self.sizes(i, j)
        return 1 <= sizes[0] <= 3 and all(n == 3 for n in sizes[1:-1]) and sizes[-1] in (2, 3)


def _issuer_head(head: str) -> bool:
    """The first four digits fall in an issuer range of ``_card_issuer_ok``."""
    p2, p3, p4 = int(head[:2]), int(head[:3]), int(head)
    return (head[0] == "4" or 51 <= p2 <= 55 or 2221 <= p4 <= 2720 or 3528 <= p4 <= 3589
            or p2 in (34, 37, 62, 60, 81, 65, 36, 38, 39) or p4 == 6011 or 644 <= p3 <= 649
            or 300 <= p3 <= 305)


@lru_cache(maxsize=1 << 16)
def _lengths(head: str, ctx: _Context, first_group: str) -> tuple[int, ...]:
    """Window lengths worth judging from a start, longest first: cheap tests on the first
    digits, so the adversarial worst case stays a few windows per group."""
    out: set[int] = set()
    if ctx.plus:
        out.update(range(8, 16))
    if head.startswith("00"):
        out.update(range(10, 18))
    if head[:1] == "1" and head[1:2] in tuple("3456789"):
        out.add(11)
    if head.startswith("86"):
        out.add(13)
    if head[:1] == "0":
        out.update((9, 10, 11, 12))
    if head[:2] in _PROVINCES:
        out.update((15, 18))
    if ctx.cue == "CARD" or (len(head) >= 4 and _issuer_head(head[:4])):
        out.update(range(13, 20))
    if ctx.cue == "PHONE" or ctx.paren:
        out.update(range(7, 16))
    if head.startswith(("400", "800")) or len(first_group) == 3:
        out.add(10)  # hotline (skipped whole), US style 415-555-2671
    if len(first_group) <= 3 and first_group.isdigit() \
            and int(first_group) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        out.update(range(10, 16))  # 60 12-345 6789
    return tuple(sorted(out, reverse=True))


def _window_kind(run: _Run, i: int, j: int, d: str, ctx: _Context, budget: _Budget) -> str | None:
    n = len(d)
    if d.endswith("X"):
        return "ID" if n == 18 and is_resident_id(d) else None
    if n == 18 and is_resident_id(d):
        return "ID"
    if run.date_like(i, j) or run.amount_like(i, j) or _is_hotline(d):
        return _SKIP
    if ctx.cue == "VETO":
        return None
    # After a card cue (卡号, card) any Luhn-valid 13-19 digits: banks issue more than the schemes'
    # standard lengths; without one the issuer range and length must fit too.
    card = 13 <= n <= 19 and (ctx.cue == "CARD" or _card_issuer_ok(d)) and luhn_ok(d)
    if n == 15 and is_resident_id(d) and (ctx.cue != "CARD" or not card):  # 34/37… both fit
        return "ID"
    if card:
        return "CARD"
    return "PHONE" if _is_phone(d, ctx, run, i, j, budget) else None


_SKIP = ""  # a window that is something else (a date, an amount, a hotline): consumed, kept


def _run_spans(run: _Run, budget: _Budget) -> list[PiiSpan]:
    """Greedy from the left: at each group, the longest window of whole groups that is PII (or
    a date, amount or hotline, which is skipped whole so its tail is not read as a phone)."""
    spans: list[PiiSpan] = []
    i = 0
    while i < len(run.groups):
        found = _longest_window(run, i, budget)
        if found is None:
            i += 1
            continue
        span, i = found
        if span.kind != _SKIP:
            spans.append(span)
    return spans


def _longest_window(run: _Run, i: int, budget: _Budget) -> tuple[PiiSpan, int] | None:
    base = run.offsets[i]
    if run.offsets[-1] - base < 7:
        return None
    if run.date_like(i, i + 2):  # 2016-01-03 15:30: the date, then the hour, is no phone
        return PiiSpan(_SKIP, run.groups[i].start, run.groups[i + 2].end), i + 3
    ctx = run.context(i)
    first = run.groups[i].digits
    x_end = run.offsets[-1] if run.digits[-1] == "X" else -1
    for n in _lengths(run.digits[base:base + 4], ctx, first if len(first) <= 3 else ""):
        j = run.end_at.get(base + n)
        strip_x = j is None and base + n + 1 == x_end  # 13812345678X: judged without the X
        if strip_x:
            j = len(run.groups) - 1
        if j is None or run.mixed_commas(i, j):
            continue
        span = _judge_window(run, i, j, ctx, budget, strip_x)
        if span is not None:
            return span, j + 1
    return None


def _judge_window(run: _Run, i: int, j: int, ctx: _Context, budget: _Budget,
                  strip_x: bool) -> PiiSpan | None:
    d = run.window(i, j)
    end = run.groups[j].end
    if strip_x:
        d, end = d[:-1], end - 1
    kind = _window_kind(run, i, j, d, ctx, budget)
    if kind is None or (kind not in ("ID", _SKIP) and _UNIT_AFTER.search(run.text[end:end + 8])):
        return None  # 12345678元 is an amount
    start = _number_start(run.text, run.groups[i].start, ctx) if kind else run.groups[i].start
    return PiiSpan(kind, start, end)


def _number_start(text: str, start: int, ctx: _Context) -> int:
    """Take a leading +, and an opening parenthesis, into the span."""
    if ctx.plus:
        start -= 1
    if start > 0 and text[start - 1] in "(（":
        start -= 1
    return start


# ---------------------------------------------------------------- e-mail

_LABEL = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９-]+"  # RE2 is linear without bounds; bounds only bloat it
_DOT = r"(?:[.．]|\s?(?i:\[dot\]|\(dot\)|（dot）)\s?|\s(?i:dot)\s|点)"
_TLDS = "com|net|org|cn|edu|gov|io|co|info|biz|me|my|id|vn|th|sg|hk|tw|uk|us|jp|kr|ph|au|de"
_EMAIL_AT = re2.compile(
    rf"([\p{{L}}\p{{N}}._%+\-]+)[@＠]({_LABEL}(?:{_DOT}{_LABEL}){{0,6}}{_DOT}"
    r"[A-Za-zＡ-Ｚａ-ｚ]{2,})")
_EMAIL_SPELLED = re2.compile(
    rf"([A-Za-z0-9_%+\-][A-Za-z0-9._%+\-]*(?:\s(?i:dot)\s[A-Za-z0-9_%+\-]+){{0,3}})"
    r"(\s?(?i:\[at\]|\(at\)|（at）)\s?|\s(?i:at)\s|\s?艾特\s?)"
    rf"({_LABEL}(?:{_DOT}{_LABEL}){{0,4}}{_DOT}(?i:{_TLDS}))\b")
_LOCAL_LEAD = frozenset("是为到给：:")


def _local_start(text: str, start: int, end: int) -> int | None:
    """Where the local part really begins: 邮箱是zhang@ → zhang, 邮箱是张三@ → 张三."""
    local = text[start:end]
    tail = len(local)
    while tail > 0 and local[tail - 1].isascii():
        tail -= 1
    ascii_tail = local[tail:]
    if any(ch.isalpha() for ch in ascii_tail) and (tail == 0 or not local[tail - 1].isalpha()
                                                  or ord(local[tail - 1]) >= 0x2E80):
        offset = tail  # an ASCII address glued to Chinese words
    else:
        offset = 0
        for k, ch in enumerate(local):
            if ch in _LOCAL_LEAD:
                offset = k + 1
        for word in ("邮箱", "邮件", "电邮", "地址"):
            k = local.rfind(word)
            if k >= 0:
                offset = max(offset, k + len(word))
    while offset < len(local) and local[offset] in "._%+-":
        offset += 1
    return start + offset if offset < len(local) else None


def _emails(text: str) -> list[PiiSpan]:
    spans = []
    for pattern in (_EMAIL_AT, _EMAIL_SPELLED):
        for m in pattern.finditer(text):
            if pattern is _EMAIL_SPELLED and not _spelled_ok(m.group(2), m.group(3)):
                continue
            start = _local_start(text, m.start(1), m.end(1))
            if start is not None:
                spans.append(PiiSpan("EMAIL", start, m.end()))
    return spans


def _spelled_ok(at: str, domain: str) -> bool:
    """A bare "at" is an e-mail only with a spoken dot too: "buy it at lashou.com" and
    "the hall at www.10010.com" are places, "zhang at qq dot com" is an address."""
    if at.strip().lower() != "at":
        return True
    lowered = domain.lower()
    return not lowered.startswith("www") and (" dot " in lowered or "点" in domain
                                              or "[dot]" in lowered or "(dot)" in lowered)


# ---------------------------------------------------------------- addresses

_HAN = r"\p{Han}"
_NUM = "(?:[0-9０-９一二三四五六七八九十百千零〇两]{1,6}[A-Za-z]?|[A-Za-z])"
_UNIT_WORD = "(?:号楼|号院|号房|栋|幢|座|单元|室|楼|层|户|组|号)"
_UNITS = rf"(?:[-－]?{_NUM}{_UNIT_WORD}){{1,5}}(?:[0-9０-９]{{2,5}})?"
_TAIL = rf"(?:{_UNITS}|[0-9０-９]{{2,5}})?"  # B座2102: the room number after the building
_ADMIN = (rf"(?:{_HAN}{{2,6}}(?:省|自治区))?(?:{_HAN}{{2,6}}(?:市|州|盟))?"
          rf"(?:{_HAN}{{1,6}}(?:区|县|旗))?(?:{_HAN}{{1,6}}(?:镇|乡|街道))?")
_ROAD = (rf"[{_HAN}0-9]{{1,10}}(?:路|大街|街|大道|巷|弄|胡同)"
         "(?:[东西南北中]?[一二三四五六七八九十]?段)?")
_ESTATE = ("(?:小区|花园|公寓|大厦|家园|新村|新城|花苑|雅苑|苑|庄园|大楼|公馆|华府|华庭|山庄|"
           "社区|宿舍|广场|村|园|城|府|里)")
_BUILDING = "(?:号楼|栋|幢|单元|室|座)"
_ADDRESS_ZH = [
    # a road with a house number, and whatever building / room follows
    re2.compile(rf"{_ADMIN}{_ROAD}{_NUM}号(?:{_UNITS})?"),
    # an estate with a building, unit or room (幸福小区5栋2单元301室, 幸福小区3-2-301)
    re2.compile(rf"{_ADMIN}(?:{_ROAD}(?:{_NUM}号)?)?[{_HAN}A-Za-z0-9]{{1,10}}{_ESTATE}"
                rf"(?:[-－]?{_NUM}{_UNIT_WORD}{{0,1}}){{0,2}}[-－]?{_NUM}{_BUILDING}{_TAIL}"
                rf"|{_ADMIN}[{_HAN}A-Za-z0-9]{{1,10}}{_ESTATE}[0-9]{{1,3}}"
                r"(?:-[0-9]{1,4}){1,3}"),
    # a village or estate with a house number (株树村16号, 幸福小区8号)
    re2.compile(rf"{_ADMIN}[{_HAN}A-Za-z0-9]{{1,10}}(?:小区|花园|公寓|家园|新村|苑|村|山庄|宿舍)"
                rf"{_NUM}号(?:{_UNITS})?"),
    # building, unit and room with no estate name (5栋2单元301室)
    re2.compile(rf"{_NUM}(?:号楼|栋|幢|座){_NUM}单元(?:{_NUM}(?:室|号)?)?"
                rf"|{_NUM}(?:号楼|栋|幢|座|单元){_NUM}(?:室|号房)"),
    # a road after administrative levels, without a number (上海市浦东新区世纪大道)
    re2.compile(rf"(?:{_HAN}{{2,6}}(?:省|自治区))?{_HAN}{{2,6}}(?:市|州){_HAN}{{1,6}}(?:区|县)"
                rf"(?:{_HAN}{{1,6}}(?:镇|乡|街道))?{_ROAD}(?:{_UNITS})?"),
]
# Everyday words that end like an administrative level (超市, 小区 …) or estate.
_NOT_ADMIN = ("超市", "城市", "门市", "夜市", "股市", "菜市", "集市", "市场", "地区", "景区",
              "园区", "校区", "市区", "城区", "郊区", "专区", "服务区", "一路", "马路", "道路",
              "半路", "网路")
_CAP = r"[A-Z\p{Lu}][\p{L}'.\-]*"
# Not Highway: "312 National Highway" is a route, not an address.
_STREET = ("(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl|"
           "Crescent|Close|Terrace|Parkway|Square|Sq)")
_UNIT_EN = (r"(?:,?\s?(?:Apt|Apartment|Unit|Suite|Ste|Flat|Floor|Fl|Room|Rm|#)\.?\s?#?"
            r"[0-9A-Za-z\-]{1,8})?")
_ADDRESS_OTHER = [
    # English street address: 221B Baker Street, 12 Orchard Road #05-01
    re2.compile(rf"\b\d{{1,5}}[A-Za-z]?(?:[-/]\d{{1,4}})?,?\s(?:{_CAP}\s){{1,4}}{_STREET}\b\.?"
                rf"{_UNIT_EN}"),
    # Malay / Indonesian: No. 12, Jalan Ampang; Jl. Sudirman No. 45; Lot 5 Jalan …
    re2.compile(rf"(?:(?i:No|Lot|Nombor|Nomor)\.?\s?\d{{1,5}}[A-Za-z]?,?\s?)?"
                rf"(?:Jalan|Jln\.?|Jl\.?|JALAN)\s{_CAP}(?:\s(?:{_CAP}|\d{{1,4}})){{0,4}}"
                rf"(?:,?\s?(?i:No|Nomor|Nombor)\.?\s?\d{{1,5}}[A-Za-z]?)?"),
    # Vietnamese: 123 Đường Lê Lợi, số 45 đường Nguyễn Huệ
    re2.compile(rf"(?:(?i:số)\s?)?\d{{1,5}}[A-Za-z]?(?:/\d{{1,4}})?,?\s(?i:đường|duong|phố|pho)\s"
                rf"{_CAP}(?:\s{_CAP}){{0,4}}"),
    # Thai: 99/1 ถนนสุขุมวิท, บ้านเลขที่ 12 ซอย 5; romanised Soi / Thanon
    re2.compile(r"(?:บ้านเลขที่\s?)?\d{1,5}(?:/\d{1,4})?\s?(?:หมู่(?:ที่)?\s?\d{1,3}\s?)?"
                r"(?:ถนน|ถ\.|ซอย|ซ\.)\s?[\p{Thai}0-9]{1,30}"
                r"|\b\d{1,5}(?:/\d{1,4})?\s(?:Soi|Thanon)\s[A-Z0-9][\w]*(?:\s\d{1,3})?"),
    # PO boxes
    re2.compile(r"(?i)\b(?:P\.?\s?O\.?\s?Box|Post\sOffice\sBox|Peti\sSurat|Kotak\sPos)\s?#?\d{1,6}"),
]
# Run on one found address (bounded length), so stdlib re, cheaper per call than RE2's binding.
_ADDRESS_LEAD = re.compile(
    r"^(?:[^，。,]{0,8}(?:寄到|送到|发到|寄往|送往|退回到|退到|改到|改成|换成|地址是|地址为|地址|住在|家在|"
    r"位于|我在|在|是|住|：|:))?(?:我们家|我家|我们|我|您|你|就|请|麻烦|帮我|这个|那个)*")


def _addresses(text: str) -> list[PiiSpan]:
    spans = []
    for k, pattern in enumerate(_ADDRESS_ZH):
        for m in pattern.finditer(text):
            found = m.group()
            lead = _ADDRESS_LEAD.match(found)
            start = m.start() + (lead.end() if lead else 0)
            if m.end() - start < 4 or (k == 4 and any(w in found for w in _NOT_ADMIN)):
                continue
            spans.append(PiiSpan("ADDRESS", start, m.end()))
    for pattern in _ADDRESS_OTHER:
        spans += [PiiSpan("ADDRESS", m.start(), m.end()) for m in pattern.finditer(text)]
    return spans


# ---------------------------------------------------------------- all together

def _numbers(text: str) -> list[PiiSpan]:
    budget = _Budget()
    spans: list[PiiSpan] = []
    for groups in _runs(text):
        if sum(len(g.digits) for g in groups) >= 7:
            spans += _run_spans(_Run(text, groups), budget)
    return spans


def _merge(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Overlapping finds become one span of the most specific kind (nothing half-redacted)."""
    merged: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, span.kind, key=_PRIORITY.__getitem__)
            merged[-1] = PiiSpan(kind, last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def find_pii(text: str) -> list[PiiSpan]:
    """Non-overlapping spans of personal data in ``text``, in order."""
    if not text:
        return []
    return _merge(_emails(text) + _numbers(text) + _addresses(text))


def redact(text: str, spans: list[PiiSpan] | None = None) -> tuple[str, list[PiiSpan]]:
    """``text`` with each span replaced by ``[KIND]``; the spans refer to the raw text."""
    spans = find_pii(text) if spans is None else spans
    out, last = [], 0
    for span in spans:
        out += [text[last:span.start], f"[{span.kind}]"]
        last = span.end
    out.append(text[last:])
    return "".join(out), spans
