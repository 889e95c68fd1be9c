"""Find and redact personal data in stored text: phones, ID numbers, bank cards, e-mail, addresses.

Scoring always runs on the raw text; only what is written to the store (turn text, evidence) is
redacted, so redaction can never change a score. Numbers are accepted with the separators people
and ASR put in them (spaces, hyphens, dots) and in Chinese digits (一三八… / 幺三八…), and
validated where a checksum exists (resident ID: ISO 7064 MOD 11-2; bank cards: Luhn), so an order
number is not taken for a card. Each redaction keeps its span in the raw text, so the review app
can show where something was removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("EMAIL", "ID", "CARD", "PHONE", "ADDRESS")

_CN_DIGITS = {"零": "0", "〇": "0", "○": "0", "洞": "0", "一": "1", "幺": "1", "二": "2",
              "两": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7",
              "八": "8", "九": "9"}
_DIGIT = "[0-9０-９" + "".join(_CN_DIGITS) + "]"
_SEP = r"[ \-.\u00a0–—]?"
# A run of digits (any script) with single separators between them; PII is 7+ digits long.
_DIGIT_RUN = re.compile(rf"(?<![0-9A-Za-z])\+?{_DIGIT}(?:{_SEP}{_DIGIT}){{6,22}}(?:{_SEP}[Xx])?"
                        rf"(?![0-9A-Za-z])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_NUM = "[0-9０-９一二三四五六七八九十百零]+"
_ADMIN = ("(?:[\u4e00-\u9fff]{2,6}(?:省|自治区))?(?:[\u4e00-\u9fff]{2,6}(?:市|州|盟))?"
          "(?:[\u4e00-\u9fff]{1,6}(?:区|县|镇|乡|街道))?")
_ROAD = "[\u4e00-\u9fff0-9]{1,10}(?:路|街|大道|巷|弄|胡同)"
_UNIT = rf"(?:{_NUM}(?:栋|幢|号楼|座))?(?:{_NUM}单元)?(?:{_NUM}(?:室|号房|楼))?"
# A road with a house number, or a road after at least one administrative level (市/区/县…):
# a bare 路 or 街 is too common in speech (一路, 逛街) to count on its own.
_ADDRESS_ZH = re.compile(
    rf"{_ADMIN}{_ROAD}{_NUM}号{_UNIT}"
    rf"|(?:[\u4e00-\u9fff]{{2,6}}(?:省|市)|[\u4e00-\u9fff]{{1,6}}(?:区|县)){_ADMIN}{_ROAD}"
    rf"(?:{_NUM}号)?{_UNIT}")
_ADDRESS_EN = re.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\.?\s+){1,4}"
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Jalan|Jl)\b"
    r"\.?(?:,?\s*(?:Apt|Unit|Suite|#)\.?\s*\w+)?"
    r"|\b(?:Jalan|Jl\.|Đường|Duong|Soi|Thanon)\s+[A-Z][\w.]*(?:\s+[A-Z0-9][\w.]*){0,3}"
    r"(?:\s+(?:No\.?|Số|So)\s*\d+\w?)?")
# Words that lead into an address and are not part of it (the province pattern would take them).
_ADDRESS_LEAD = re.compile(
    r"^(?:请|帮我|麻烦)?(?:寄到|送到|发到|寄往|退回到|退到|地址是|地址在|地址|住在|我在|在)")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class PiiSpan:
    kind: str  # one of KINDS
    start: int
    end: int

    def as_dict(self) -> dict[str, int | str]:
        return {"kind": self.kind, "start": self.start, "end": self.end}


def _digits(text: str) -> str:
    out = []
    for ch in text:
        if ch in _CN_DIGITS:
            out.append(_CN_DIGITS[ch])
        elif "０" <= ch <= "９":
            out.append(chr(ord(ch) - 0xFEE0))
        elif ch.isdigit() or ch in "Xx":
            out.append(ch.upper())
    return "".join(out)


def is_resident_id(digits: str) -> bool:
    """18-character PRC resident ID with a valid check character and a plausible birth date."""
    if not re.fullmatch(r"[1-9]\d{16}[\dX]", digits):
        return False
    year, month, day = int(digits[6:10]), int(digits[10:12]), int(digits[12:14])
    if not (1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == digits[17]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# A bare 7-8 digit number is only a phone number when the words before it say so.
_PHONE_CUE = re.compile(r"(?:电话|手机|座机|致电|打|拨|联系|phone|call|tel|ring)"
                        r"\W{0,3}(?:是|为|号|is|at|on)?\W{0,3}\Z", re.IGNORECASE)


def _is_phone(digits: str, before: str = "") -> bool:
    if re.fullmatch(r"(?:86)?1[3-9]\d{9}", digits):  # mainland mobile
        return True
    if re.fullmatch(r"0\d{9,11}", digits):  # mainland landline with area code, SEA mobiles
        return True
    if re.fullmatch(r"(?:62|60|66|84|63|65)\d{8,12}", digits):  # SEA country codes
        return True
    # a local landline number (no area code): only after a phone cue
    return re.fullmatch(r"[2-9]\d{6,7}", digits) is not None and bool(_PHONE_CUE.search(before))


def _number_kind(raw: str, before: str = "") -> str | None:
    digits = _digits(raw)
    if "X" in digits:
        return "ID" if is_resident_id(digits) else None
    if len(digits) == 18 and is_resident_id(digits):
        return "ID"
    if 13 <= len(digits) <= 19 and luhn_ok(digits) and digits[0] in "3456789":
        return "CARD"
    if _is_phone(digits, before):
        return "PHONE"
    return None


def find_pii(text: str) -> list[PiiSpan]:
    """Non-overlapping spans of personal data in ``text``, in order."""
    spans: list[PiiSpan] = [PiiSpan("EMAIL", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    for m in _DIGIT_RUN.finditer(text):
        if any(s.start < m.end() and m.start() < s.end for s in spans):
            continue
        raw = m.group().rstrip(" -.")
        before = text[max(0, m.start() - 12):m.start()]
        kind = _number_kind(raw, before)
        if kind is None and raw[-1] in "Xx":  # a trailing X that is not an ID check character
            raw = raw[:-1].rstrip(" -.")
            kind = _number_kind(raw, before)
        if kind is not None:
            spans.append(PiiSpan(kind, m.start(), m.start() + len(raw)))
    for pattern in (_ADDRESS_ZH, _ADDRESS_EN):
        for m in pattern.finditer(text):
            if m.end() - m.start() < 4 or any(s.start < m.end() and m.start() < s.end
                                              for s in spans):
                continue
            lead = _ADDRESS_LEAD.match(m.group())
            start = m.start() + (lead.end() if lead else 0)
            if m.end() - start >= 4:
                spans.append(PiiSpan("ADDRESS", start, m.end()))
    return sorted(spans, key=lambda s: s.start)


def redact(text: str, spans: list[PiiSpan] | None = None) -> tuple[str, list[PiiSpan]]:
    """``text`` with each span replaced by ``[KIND]``; the spans refer to the raw text."""
    spans = find_pii(text) if spans is None else spans
    out, last = [], 0
    for span in spans:
        out += [text[last:span.start], f"[{span.kind}]"]
        last = span.end
    out.append(text[last:])
    return "".join(out), spans
