"""Malicious-complaint rules on hand-written examples, including near-misses."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.conversation import turns_from_document
from pipeline.risk import CustomerHistory, RiskSettings, assess


def turns_of(*turns: tuple[str, str]):
    return turns_from_document({"call_id": "x", "language": "zh", "turns": [
        {"speaker": speaker, "text": text} for speaker, text in turns]})


def said(*texts: str, speaker: str = "customer"):
    return turns_from_document({"call_id": "x", "language": "zh", "turns": [
        {"speaker": speaker, "text": text} for text in texts]})


@pytest.mark.parametrize(("text", "categories"), [
    ("我要打12315投诉你们，还要找媒体曝光", {"threat_regulator", "threat_media"}),
    ("你们不给三倍赔偿我就起诉", {"compensation_multiple", "threat_legal"}),
    ("根据消费者权益保护法第55条，假一赔十", {"compensation_multiple", "law_citation"}),
    ("食品安全法第148条规定要十倍赔偿", {"compensation_multiple", "law_citation"}),
    ("给我五百元我就撤销投诉", {"withdrawal_for_payment"}),
    ("我已经联系记者了，明天就上新闻", {"threat_media"}),
    ("退一赔三，少一分都不行", {"compensation_multiple"}),
    ("I will go to the press and my lawyer will sue you", {"threat_media", "threat_legal"}),
    ("I want ten times the price back", {"compensation_multiple"}),
    ("Pay me and I'll withdraw my complaint", {"withdrawal_for_payment"}),
])
def test_rules_fire_with_evidence(text: str, categories: set[str]) -> None:
    risk = assess(said("您好", text))
    assert {r.category for r in risk.reasons} == categories
    for reason in risk.reasons:
        (evidence,) = reason.evidence
        assert evidence.idx == 1 and evidence.text == text
    assert risk.level in {"medium", "high"}


@pytest.mark.parametrize("text", [
    "我不会打12315的，你们放心",       # mentions 12315 only to say they won't call it
    "没必要找记者，你们处理好就行",
    "我不想起诉，只想退款",
    "这个快递太慢了，我很不满意",        # a complaint, not a malicious one
    "I won't call a lawyer, just fix it",
    "I'm not going to the press, I just want my refund",
])
def test_near_misses_do_not_fire(text: str) -> None:
    risk = assess(said(text))
    assert risk.reasons == () and risk.level == "low" and risk.score == 0


def test_only_the_customer_is_judged() -> None:
    assert assess(said("您可以拨打12315咨询", speaker="agent")).score == 0


def test_history_raises_the_risk() -> None:
    quiet = assess(said("快递太慢"))
    repeat = assess(said("快递太慢"), CustomerHistory(complaints=3, orders=2))
    assert quiet.score == 0 and repeat.score == pytest.approx(0.45)
    assert "3 earlier complaint(s) in 30 days across 2 order(s)" in repeat.reasons[0].description


def test_signals_combine_and_levels_cut() -> None:
    one = assess(said("我要打12315"))
    two = assess(said("我要打12315，还要找媒体曝光"))
    assert one.score == pytest.approx(0.45) and one.level == "medium"
    assert two.score == pytest.approx(1 - 0.55 * 0.55) and two.level == "high"
    strict = assess(said("我要打12315"), settings=RiskSettings(medium_at=0.5, high_at=0.9))
    assert strict.level == "low"


THREATS = ("我要打12315投诉你们，还要找媒体曝光", "不给三倍赔偿我就起诉")


def test_unknown_speakers_are_read_but_never_rated_high() -> None:
    """Mono: the words may be the agent's, so the level stops at medium, each reason says so,
    and the call's roles_unknown flag (scoring) sends it to a person."""
    stereo = assess(said(*THREATS))
    mono = assess(said(*THREATS, speaker="unknown"))
    assert stereo.level == "high"
    assert mono.level == "medium" and mono.score == stereo.score
    threats = [r for r in mono.reasons if r.category != "roles_unknown"]
    assert {r.category for r in threats} == {r.category for r in stereo.reasons}
    assert all(e.why.startswith("speaker unknown") for r in threats for e in r.evidence)
    assert mono.reasons[-1].category == "roles_unknown" and mono.reasons[-1].weight == 0


def test_a_bots_words_are_not_the_customers() -> None:
    turns = said(*THREATS, speaker="bot")
    labels = pd.DataFrame([{"idx": 0, "label": "customer.threat_escalation",
                            "probability": 0.99}])
    assert assess(turns, labels=labels).reasons == ()


@pytest.mark.parametrize(("said", "category"), [
    ("我要去市场监督管理局投诉你们", "threat_regulator"),   # the regulator's full name
    ("不处理我就打幺二三幺五", "threat_regulator"),        # 幺 for 一, as people say it
    ("再不给结果我就找食品安全局", "threat_regulator"),
    ("我要求十倍", "compensation_multiple"),              # a multiple without 赔偿
    ("你他妈的听不懂吗", "abuse"),
    ("You are an idiot and a liar", "abuse"),              # English abuse reaches the risk
    ("I want to report the problem to the news agency", "threat_media"),
])
def test_risk_gaps_seen_on_real_dialogues(said: str, category: str) -> None:
    reasons = assess(turns_of(("customer", said), ("agent", "好的"))).reasons
    assert category in {r.category for r in reasons}


@pytest.mark.parametrize("said", [
    "我之前发微博问过你们，没人回",   # Weibo as the channel, not a threat
    "这菜他妈的恶心",                # swearing at the food, not at the agent
])
def test_words_that_are_not_risk(said: str) -> None:
    assert assess(turns_of(("customer", said), ("agent", "好的"))).reasons == ()


def test_repeated_threats_add_up() -> None:
    once = assess(turns_of(("customer", "我要投诉到12315"), ("agent", "好的")))
    again = assess(turns_of(("customer", "我要投诉到12315"), ("agent", "好的"),
                            ("customer", "不处理我还要找记者曝光")))
    repeated = [r for r in again.reasons if r.category == "repeated_threat"]
    assert repeated and [e.idx for e in repeated[0].evidence] == [0, 2]
    assert again.score > once.score
