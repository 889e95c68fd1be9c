"""PII redaction: each kind found with the separators and scripts people and ASR use; checksums
keep order numbers and amounts out; a generated set measures recall and precision."""

from __future__ import annotations

import random

import pytest

from pipeline.pii import find_pii, is_resident_id, luhn_ok, redact

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(rng: random.Random) -> str:
    body = (f"{rng.choice(['110105', '310104', '440305', '510107'])}"
            f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            f"{rng.randint(0, 999):03d}")
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def make_card(rng: random.Random) -> str:
    body = [int(c) for c in rng.choice(["622202", "621700", "436742", "524047"])]
    body += [rng.randint(0, 9) for _ in range(rng.choice([9, 12]))]
    for check in range(10):
        if luhn_ok("".join(map(str, [*body, check]))):
            return "".join(map(str, [*body, check]))
    raise AssertionError


def spaced(rng: random.Random, digits: str) -> str:
    style = rng.choice(["plain", "space4", "dash", "cn"])
    if style == "space4":
        return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))
    if style == "dash":
        return "-".join([digits[:3], digits[3:7], digits[7:]])
    if style == "cn" and digits.isdigit():
        return "".join("零一二三四五六七八九"[int(d)] for d in digits)
    return digits


CARRIERS = {
    "PHONE": ["我的手机号是{}，麻烦回电", "你打{}找我", "call me back on {} please", "联系电话{}"],
    "ID": ["身份证号{}", "my ID number is {}", "证件号码是{}对吧"],
    "CARD": ["退到这张卡{}上", "卡号是{}", "refund to card {} thanks"],
    "EMAIL": ["邮箱是{}", "send it to {} please"],
    "ADDRESS_ZH": ["寄到{}吧", "地址是{}，谢谢"],
    "ADDRESS_EN": ["ship it to {} please", "I live at {}"],
}


def pii_value(rng: random.Random, kind: str) -> str:
    if kind == "PHONE":
        return spaced(rng, f"1{rng.choice('3456789')}{rng.randint(0, 10**9 - 1):09d}")
    if kind == "ID":
        return make_id(rng)
    if kind == "CARD":
        return spaced(rng, make_card(rng))
    if kind == "EMAIL":
        return (f"{rng.choice(['li.wei', 'zhang_san', 'buyer2024'])}@"
                f"{rng.choice(['qq.com', 'gmail.com', '163.com'])}")
    if kind == "ADDRESS_EN":
        return (f"{rng.randint(1, 999)} {rng.choice(['Baker', 'Orchard', 'King'])} "
                f"{rng.choice(['Street', 'Road', 'Avenue'])}")
    return (f"{rng.choice(['浙江省杭州市', '上海市', '广东省深圳市'])}"
            f"{rng.choice(['西湖区', '浦东新区', '南山区'])}"
            f"{rng.choice(['文三路', '世纪大道', '科技园路'])}{rng.randint(1, 999)}号")


def generated_set(n: int = 400, seed: int = 7) -> list[tuple[str, str, str]]:
    """(sentence, kind, the PII substring): Chinese and English carriers, varied spacing."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        carrier = rng.choice(list(CARRIERS))
        value = pii_value(rng, carrier)
        rows.append((rng.choice(CARRIERS[carrier]).format(value), carrier.split("_")[0], value))
    return rows


def test_each_kind_is_found_and_redacted() -> None:
    text = ("手机138 1234 5678，身份证11010519491231002X，邮箱li.wei@qq.com，"
            "寄到浙江省杭州市西湖区文三路100号")
    redacted, spans = redact(text)
    assert redacted == "手机[PHONE]，身份证[ID]，邮箱[EMAIL]，寄到[ADDRESS]"
    assert [s.kind for s in spans] == ["PHONE", "ID", "EMAIL", "ADDRESS"]
    assert text[spans[0].start:spans[0].end] == "138 1234 5678"


@pytest.mark.parametrize("text", [
    "订单号123456789012345678",  # 18 digits, not a valid ID checksum
    "退款3000元，运费12元", "发票号码 44031234", "我知道了，一路顺风，去逛街",
    "物流单号 SF1234567890", "三倍赔偿，就是九百块",
])
def test_order_numbers_amounts_and_everyday_words_are_left_alone(text: str) -> None:
    assert find_pii(text) == []


def test_checksums() -> None:
    assert is_resident_id("11010519491231002X")
    assert not is_resident_id("110105194912310021")
    assert luhn_ok("4539578763621486") and not luhn_ok("4539578763621487")


def test_recall_and_precision_on_a_generated_set() -> None:
    rows = generated_set()
    found = missed = 0
    extra = 0
    for sentence, kind, value in rows:
        spans = find_pii(sentence)
        start = sentence.index(value)
        hit = [s for s in spans if s.start <= start and s.end >= start + len(value)
               and s.kind == kind]
        found += bool(hit)
        missed += not hit
        extra += len([s for s in spans if s not in hit])
    recall = found / len(rows)
    assert recall >= 0.99, f"recall {recall:.3f}"
    assert extra / max(1, found + extra) <= 0.02
