"""Written rules that label customer turns where no public data does (weak supervision).

``customer.threat_escalation``: the customer threatens to take the matter to a regulator
(12315, 消协, 市场监管, 工信部, 工商), the media (曝光, 记者, 电视台, 媒体) or court (律师, 起诉,
法院, 打官司, 法律途径), and does not negate it (我不会打12315).
``customer.compensation_demand``: the customer demands compensation (赔偿, 补偿, 赔钱, 索赔,
精神损失, 假一赔十, 三倍) — refunds alone are routine and do not count.

The rules' precision was checked by hand on a sample of real turns; the checked rows are listed
(by dialogue and text hash, not text) in ``models/rule_checks.csv`` and the figures are in
``models/README.md``. Rows used to measure a model are never rows it was trained on: the
classifier trains on the rule labels of the training dialogues only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

from pipeline.risk import NUMBER

_NEGATION = re.compile(
    r"(不会|不想|不打算|没打算|不用|不至于|不是要|并不想|没必要|没想|不去|不要|别)[^，。！？,.!?]{0,6}$"
    r"|(won't|will not|not going to|don't want|no need to|wouldn't)\W+(\w+\W+){0,3}$",
    re.IGNORECASE,
)

THREAT = re.compile(
    r"12315|消协|消费者协会|市场监管|工商局|工商部门|找工商|工信部|通信管理局|质监局|监管部门"
    r"|曝光|记者|电视台|找媒体|媒体曝|上新闻"
    r"|律师|起诉|告你们|法院|打官司|法律途径|法律程序|诉讼"
    r"|consumer protection|trading standards|journalist|lawyer|attorney|\bsue\b|legal action",
    re.IGNORECASE,
)
COMPENSATION = re.compile(
    rf"赔偿|补偿|赔钱|赔我|索赔|精神损失|损失费|假一赔{NUMBER}|退一赔{NUMBER}|{NUMBER}倍(?:的)?(?:赔|价)"
    r"|compensat|reimburse|(?:ten|three|double|triple|\d+) times the price",
    re.IGNORECASE,
)

RULE_LABELS = {"customer.threat_escalation": THREAT, "customer.compensation_demand": COMPENSATION}


def rule_matches(text: str, pattern: re.Pattern[str]) -> bool:
    """True when ``pattern`` occurs in ``text`` at least once without a negation just before."""
    return any(not _NEGATION.search(text[: m.start()]) for m in pattern.finditer(text))


def label_text(text: str) -> dict[str, int]:
    return {label: int(rule_matches(text, pattern)) for label, pattern in RULE_LABELS.items()}


def build_rule_labels(texts: Iterable[tuple[str, str]]
                      ) -> Iterator[tuple[str, str, str, int, str, str]]:
    """Sample records (text, task, label, value, source, group) for (group, text) pairs."""
    for group, text in texts:
        for label, value in label_text(text).items():
            yield text, "utterance", label, value, "rules", group


def text_key(text: str) -> str:
    """How a hand-checked row is recorded without copying the text into the project."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
