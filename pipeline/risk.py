"""Malicious-complaint risk: written rules with reasons and evidence.

What a risk desk looks for in a customer's words — threats to go to a regulator (12315, 消协,
市场监管), to the media (曝光, 记者) or to court (律师, 起诉); compensation demands by multiples
(三倍赔偿, 假一赔十, 退一赔三); citing specific law articles (消费者权益保护法第55条, 食品安全法
第148条); demanding cash or gifts to withdraw a complaint; abuse — plus the customer's history
of complaints when the store knows it. Every reason carries the turn, time and words.

A threat the customer negates (我不会打12315, 不想找媒体) does not count. The score combines
the reasons as independent signals, ``1 - Π(1 - weight)``; levels cut it at thresholds that
bench/risk_calibration.py calibrates on labelled dialogues (bench/README.md).

Only the customer's words count, so a call whose speaker roles are unknown (mono: every turn
``unknown``) is read with care: see ``assess``. Bot and system lines are never the customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.conversation import ROLES, ROLES_UNKNOWN, Roles, roles_of
from pipeline.rubric.conditions import Evidence, evidence_time

# Turns that may be the customer's: an ``unknown`` one may be (mono), a bot's never is.
CUSTOMER_SIDE = ("customer", "unknown")


@dataclass(frozen=True)
class RiskRule:
    id: str
    category: str  # threat_regulator, threat_media, threat_legal, compensation_multiple, ...
    weight: float
    pattern: re.Pattern[str]
    description: str
    negatable: bool = True


def _rule(rule_id: str, category: str, weight: float, pattern: str, description: str,
          negatable: bool = True) -> RiskRule:
    return RiskRule(rule_id, category, weight, re.compile(pattern, re.IGNORECASE), description,
                    negatable)


# Arabic or Chinese numerals, as customers say amounts and multiples (三倍, 10倍).
NUMBER = r"(?:\d+|[一二两三四五六七八九十百千]+)"
RULES: tuple[RiskRule, ...] = (
    # Chinese
    _rule("zh-regulator", "threat_regulator", 0.45,
          r"12315|[一幺]二三[一幺]五|消协|消费者(?:权益保护)?协会|市场监(?:管|督管理)|市监局|工商局?|"
          r"工信部|监管部门|质监局|卫生局|食品安全局|食药监|药监局|物价局|税务局|315晚会",
          "threatens to complain to a regulator"),
    _rule("zh-media", "threat_media", 0.45,
          r"曝光|媒体|记者|电视台|上新闻|热搜|发到网上|网上发|发抖音|发朋友圈",
          "threatens to go to the media"),
    _rule("zh-legal", "threat_legal", 0.35,
          r"律师|起诉|告你们|法院|打官司|法律途径|走法律程序|仲裁",
          "threatens legal action"),
    _rule("zh-multiple", "compensation_multiple", 0.5,
          rf"{NUMBER}倍(?:的)?(?:赔偿|赔付|价款|的钱|补偿)|假一赔{NUMBER}|退一赔{NUMBER}|赔{NUMBER}倍"
          rf"|(?:要求|我要|索赔|赔我|给我)(?:你们)?(?:赔)?{NUMBER}倍",
          "demands compensation by a multiple of the price", negatable=False),
    _rule("zh-law-article", "law_citation", 0.4,
          rf"(?:消费者权益保护法|消法|食品安全法|产品质量法|广告法|电子商务法)"
          rf"(?:第?{NUMBER}条)?|第{NUMBER}条",
          "cites a specific law or article", negatable=False),
    _rule("zh-withdraw-for-cash", "withdrawal_for_payment", 0.6,
          rf"(?:撤(?:销|回)?(?:投诉|差评)|删(?:除)?差评|私了).{{0,12}}(?:钱|赔|补偿|红包|现金|{NUMBER}元)"
          rf"|(?:钱|赔|补偿|红包|现金|{NUMBER}元).{{0,12}}(?:撤(?:销|回)?(?:投诉|差评)|删(?:除)?差评|私了)",
          "offers to withdraw a complaint for money", negatable=False),
    # 他妈的 counts when it is aimed at someone (你们他妈的), not at the food (他妈的恶心).
    _rule("zh-abuse", "abuse", 0.3,
          r"傻逼|傻b|神经病|垃圾公司|骗子公司|去死|滚蛋|狗东西|(?:你|你们|客服)[^，。！？,.!?]{0,4}他妈的"
          r"|他妈的[^，。！？,.!?]{0,4}(?:你|你们|客服)|你他妈|你们他妈|操你|妈的你们",
          "abuses the agent", negatable=False),
    # English
    _rule("en-regulator", "threat_regulator", 0.45,
          r"consumer protection|trading standards|better business bureau|\bbbb\b|ftc\b|"
          r"report (?:you|this|the problem|it) to|administration (?:of|for) (?:industry|market|"
          r"taxation)|cctv ?315|\b12315\b",
          "threatens to complain to a regulator"),
    _rule("en-media", "threat_media", 0.45,
          r"\bpress\b|journalist|newspaper|the news\b|news agency|people's daily|go viral|"
          r"social media|post (?:it|this) online|expose you",
          "threatens to go to the media"),
    _rule("en-legal", "threat_legal", 0.35, r"lawyer|attorney|\bsue\b|court|legal action",
          "threatens legal action"),
    _rule("en-multiple", "compensation_multiple", 0.5,
          r"(?:ten|five|three|double|triple|\d+) times (?:the )?(?:price|amount|refund)|"
          r"triple (?:the )?(?:price|refund)|double (?:the )?refund",
          "demands compensation by a multiple of the price", negatable=False),
    _rule("en-abuse", "abuse", 0.3,
          r"\b(?:idiots?|stupid|morons?|incompetent|pathetic|shut up|bastards?|scum|liars?|"
          r"screw you|f+u+c+k(?:ing)?(?: you)?|fucking|dumb)\b",
          "abuses the agent", negatable=False),
    _rule("en-withdraw-for-cash", "withdrawal_for_payment", 0.6,
          r"(?:withdraw|drop|remove|delete) (?:my |the )?(?:complaint|review).{0,30}"
          r"(?:pay|cash|money|refund)|(?:pay|cash|money).{0,30}(?:withdraw|drop|remove|delete) "
          r"(?:my |the )?(?:complaint|review)",
          "offers to withdraw a complaint for money", negatable=False),
)

THREATS = frozenset({"threat_regulator", "threat_media", "threat_legal"})
REPEATED_THREAT_WEIGHT = 0.2

# A negation shortly before a threat takes it back: 我不会打12315 / I won't call a lawyer.
_NEGATION = re.compile(
    r"(不会|不想|不打算|没打算|不用|不至于|不是要|并不想|没必要|没想|不去|别)[^，。！？,.!?]{0,6}$"
    r"|(won't|will not|not going to|don't want to|no need to|wouldn't)\W+(\w+\W+){0,3}$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ModelSignal:
    category: str
    weight: float
    min_prob: float  # class-balanced heads over-predict rare labels: demand a confident turn
    description: str
    covered_by: frozenset[str]  # rule categories that already say the same thing


# Classifier labels that feed the risk, when the classifiers ran on the call. A signal whose
# meaning a rule already found in the call adds nothing (no double counting).
MODEL_SIGNALS: dict[str, ModelSignal] = {
    "customer.threat_escalation": ModelSignal(
        "threat_model", 0.35, 0.9, "the classifier hears a threat to escalate",
        frozenset({"threat_regulator", "threat_media", "threat_legal"})),
    "customer.compensation_demand": ModelSignal(
        "compensation_model", 0.3, 0.9, "the classifier hears a compensation demand",
        frozenset({"compensation_multiple", "withdrawal_for_payment"})),
    "customer.abuse": ModelSignal(
        "abuse_model", 0.25, 0.9, "the classifier hears abuse", frozenset({"abuse"})),
    "customer.dissatisfaction": ModelSignal(
        "dissatisfaction", 0.1, 0.8, "the customer sounds dissatisfied", frozenset()),
}


@dataclass(frozen=True)
class RiskSettings:
    # Calibrated in bench/risk_calibration.py (see bench/README.md).
    medium_at: float = 0.37
    high_at: float = 0.629
    history_window_days: int = 30
    history_weight_per_complaint: float = 0.15
    history_max_weight: float = 0.45


@dataclass(frozen=True)
class RiskReason:
    category: str
    rule: str
    weight: float
    description: str
    evidence: tuple[Evidence, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "rule": self.rule, "weight": self.weight,
                "description": self.description,
                "evidence": [e.as_dict() for e in self.evidence]}


@dataclass(frozen=True)
class RiskAssessment:
    score: float
    level: str
    reasons: tuple[RiskReason, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CustomerHistory:
    """Complaints the store knows of by the same customer, in the window before this call."""

    complaints: int = 0
    orders: int = 0


def rule_reasons(turns: pd.DataFrame) -> list[RiskReason]:
    """Reasons found by the written rules in the customer's turns, one per category."""
    found: dict[str, tuple[RiskRule, list[Evidence]]] = {}
    customer = turns[turns["speaker"].isin(CUSTOMER_SIDE)]
    for row in customer.itertuples(index=False):
        text = str(row.raw_text)
        for rule in RULES:
            for match in rule.pattern.finditer(text):
                if rule.negatable and _NEGATION.search(text[: match.start()]):
                    continue
                evidence = Evidence(int(row.idx), evidence_time(row.start),
                                    evidence_time(row.end), text,
                                    f"{_unsure(row.speaker)}{rule.description}: "
                                    f"“{match.group(0)}”")
                found.setdefault(rule.category, (rule, []))[1].append(evidence)
                break
    reasons = [RiskReason(rule.category, rule.id, rule.weight, rule.description, tuple(evs))
               for rule, evs in found.values()]
    threats = {e.idx: e for r in reasons if r.category in THREATS for e in r.evidence}
    if len(threats) >= 2:  # threatening again and again is more than threatening once
        reasons.append(RiskReason(
            "repeated_threat", "repeated", REPEATED_THREAT_WEIGHT,
            f"threatens again: {len(threats)} turns", tuple(threats[i] for i in sorted(threats))))
    return reasons


def model_reasons(turns: pd.DataFrame, labels: pd.DataFrame | None,
                  already: set[str] | None = None) -> list[RiskReason]:
    """Reasons from the classifiers' customer labels (idx, label, probability rows)."""
    if labels is None or labels.empty:
        return []
    already = already or set()
    by_idx = turns.set_index("idx")
    # The classifier gives customer labels to turns of no role too (bots, unknown speakers):
    # only the customer side's count.
    customer_side = by_idx.index[by_idx["speaker"].isin(CUSTOMER_SIDE)]
    reasons = []
    for label, signal in MODEL_SIGNALS.items():
        if signal.covered_by & already:
            continue
        hits = labels[(labels["label"] == label) & (labels["probability"] >= signal.min_prob)]
        hits = hits[hits["idx"].isin(customer_side)].sort_values("probability", ascending=False)
        if hits.empty:
            continue
        evidence = tuple(
            Evidence(int(row.idx), evidence_time(by_idx.at[row.idx, "start"]),
                     evidence_time(by_idx.at[row.idx, "end"]),
                     str(by_idx.at[row.idx, "raw_text"]),
                     f"{_unsure(by_idx.at[row.idx, 'speaker'])}{signal.description} "
                     f"(p={row.probability:.2f})")
            for row in hits.head(3).itertuples(index=False)
        )
        reasons.append(RiskReason(signal.category, f"model:{label}", signal.weight,
                                  signal.description, evidence))
    return reasons


def assess(turns: pd.DataFrame, history: CustomerHistory | None = None,
           settings: RiskSettings | None = None,
           extra: list[RiskReason] | None = None,
           labels: pd.DataFrame | None = None, roles: Roles | None = None) -> RiskAssessment:
    """Risk of one call from its turns, the classifiers' labels and the customer's history.

    With the speaker roles not known (``roles``, by default ``roles_of(turns)``), every turn is
    read as if it might be the customer's, since a threat must not go unseen, and each reason
    says "speaker unknown". The agent's own words can match, though (您可以拨打12315咨询, 我们
    会依法处理), so such a call is never rated high on them: its level stops at medium and its
    ``roles_unknown`` review flag (scoring) sends it to a person, who can tell the voices apart.
    The score is kept, so the review queue still puts the most alarming of these first.
    """
    settings = settings or RiskSettings()
    roles = roles or roles_of(turns)
    if roles == "uncertain":
        # Guessed roles may be the wrong way round: read every human turn as possibly the
        # customer's, as when nobody knows who spoke.
        turns = turns.assign(speaker=turns["speaker"].mask(turns["speaker"].isin(ROLES),
                                                           "unknown"))
    reasons = rule_reasons(turns) + list(extra or [])
    reasons += model_reasons(turns, labels, {r.category for r in reasons})
    if history is not None and history.complaints > 0:
        weight = min(settings.history_max_weight,
                     settings.history_weight_per_complaint * history.complaints)
        orders = f" across {history.orders} order(s)" if history.orders else ""
        reasons.append(RiskReason(
            "customer_history", "history", round(weight, 3),
            f"{history.complaints} earlier complaint(s) in {settings.history_window_days} days"
            f"{orders}", (),
        ))
    remaining = 1.0
    for reason in reasons:
        remaining *= 1.0 - reason.weight
    score = round(1.0 - remaining, 4)
    level = ("high" if score >= settings.high_at else
             "medium" if score >= settings.medium_at else "low")
    if level == "high" and roles != "known":
        level = "medium"
        reasons.append(RiskReason(
            "roles_unknown", "roles", 0.0,
            f"level capped at medium: {ROLES_UNKNOWN}, the words may be the agent's", ()))
    return RiskAssessment(score, level, tuple(sorted(reasons, key=lambda r: -r.weight)))


def _unsure(speaker: Any) -> str:
    """What a reason's evidence says when nobody knows who said it."""
    return "speaker unknown: " if speaker == "unknown" else ""

