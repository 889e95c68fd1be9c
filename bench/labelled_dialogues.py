"""The hand-labelled evaluation set: which real dialogues, their documents, and their labels.

The dialogues come from ``../shared/data`` (STC-3 zh and en, MUSIED calls and chats, MobileCS),
only from the project's *validation* split (``split_of``), so no classifier was trained on them.
Which ones is fixed by a hash of the dialogue id, never by their content, except the ``risk``
stratum: validation dialogues whose customer words contain a broad risk cue (wider than
pipeline/risk.py's rules), added so that risk precision and recall rest on more than a handful
of positives. Each dialogue is in the ``tune`` or ``test`` half, again by hash.

Labels live in ``bench/labels/agreement/*.jsonl`` (one record per dialogue, keyed by
``source`` and ``id``; no text). The guide the labellers followed is
``bench/labels/agreement/GUIDE.md``. A second labeller labelled every dialogue again, blind
(``second/``); where the two differ a third reader, shown both answers but not which was whose,
decided (``adjudicated/``). ``adjudicated_labels`` is the first labels with those decisions.

    python bench/labelled_dialogues.py --dump DIR   # the dialogues as text, for labelling
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.training.datasets import crowd_mean, split_of, stc3_dialogues  # noqa: E402
from pipeline.training.roles import load_dialogues  # noqa: E402

LABELS_DIR = ROOT / "bench" / "labels" / "agreement"
DATA = ROOT.parent / "shared" / "data"
# How many validation dialogues of each source are drawn (by hash) for the evaluation set.
QUOTA = {"stc3_zh": 70, "stc3_en": 30, "musied_call": 30, "musied_chat": 30, "mobilecs": 3}
RISK_QUOTA = 30
RISK_CUES = re.compile(
    r"12315|一二三一五|幺二三幺五|消协|消费者协会|工商|市场监督|市场监管|工信部|监管|曝光|媒体|"
    r"记者|微博|网上|律师|起诉|法院|赔偿|赔钱|倍|索赔|投诉到|举报|"
    r"regulator|media|lawyer|sue|compensat|report you|journalist|refund.*times", re.IGNORECASE)
ITEMS = ("greeting", "identity-check", "restate-problem", "offer-solution",
         "confirm-satisfaction", "three-step-confirmation", "apology-empathy", "closing",
         "forbidden-phrases")
CATEGORIES = ("logistics_delay", "product_quality", "service_attitude", "after_sales",
              "price_dispute", "other")
RESOLUTIONS = ("resolved", "not_resolved", "escalated")
RISK_LEVELS = ("none", "low", "medium", "high")
ITEM_VALUES = frozenset({"pass", "fail", "na"})
# The call outcomes the labels give, each with the values the guide allows.
OUTCOME_VALUES = {"complaint": frozenset({True, False}), "category": frozenset(CATEGORIES),
                  "resolution": frozenset(RESOLUTIONS), "dissatisfied": frozenset({True, False}),
                  "risk": frozenset(RISK_LEVELS)}


def _hash(salt: str, key: str) -> int:
    return int(hashlib.sha1(f"{salt}:{key}".encode()).hexdigest()[:8], 16)


def half_of(key: str) -> str:
    """``tune`` or ``test``, fixed per dialogue key."""
    return "test" if _hash("agreement-half", key) % 2 else "tune"


@dataclass(frozen=True)
class LabelledDialogue:
    key: str  # "<source>:<id>", the labels' key
    source: str
    stratum: str  # "random" or "risk"
    language: str
    medium: str  # call / chat
    turns: tuple[tuple[str, str], ...]  # (agent | customer, text)
    satisfaction: float | None  # STC-3: mean of the annotators' S (-2..2)

    @property
    def half(self) -> str:
        return half_of(self.key)

    def document(self) -> dict[str, Any]:
        """The dialogue as a transcript document (no times: a chat log)."""
        return {"call_id": self.key, "language": self.language,
                "turns": [{"speaker": who, "text": text} for who, text in self.turns]}


def stc3_satisfaction(data: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, language in (("dialogues_cn.jsonl", "zh"), ("dialogues_en.jsonl", "en")):
        path = data / "stc3" / name
        if path.is_file():
            for d in stc3_dialogues(path):
                out[f"stc3_{language}:{d['id']}"] = crowd_mean(d, "S")
    return out


def validation_dialogues(data: Path = DATA) -> list[LabelledDialogue]:
    """Every dialogue of the validation split, the pool the evaluation set is drawn from."""
    satisfaction = stc3_satisfaction(data)
    out = []
    for d in load_dialogues(data):
        if split_of(d.group) == "validation":
            key = f"{d.source}:{d.group.split(':', 1)[1]}"
            out.append(LabelledDialogue(key, d.source, "random", d.language, d.medium,
                                        tuple((t.party, t.text) for t in d.turns),
                                        satisfaction.get(key)))
    return out


def evaluation_set(data: Path = DATA, validation: list[LabelledDialogue] | None = None
                   ) -> list[LabelledDialogue]:
    """The dialogues of the evaluation set, in a fixed order (source, then hash), drawn from
    ``validation`` (default: ``validation_dialogues(data)``)."""
    pools: dict[str, list[LabelledDialogue]] = {}
    for d in validation_dialogues(data) if validation is None else validation:
        pools.setdefault(d.source, []).append(d)
    chosen: list[LabelledDialogue] = []
    taken_ids: set[str] = set()
    for source, quota in QUOTA.items():
        pool = sorted(pools.get(source, []), key=lambda d: _hash("agreement", d.key))
        # STC-3 en translates zh dialogues: never the same dialogue twice.
        pool = [d for d in pool if d.key.split(":", 1)[1] not in taken_ids]
        for d in pool[:quota]:
            chosen.append(d)
            taken_ids.add(d.key.split(":", 1)[1])
    rest = [d for pool in pools.values() for d in pool
            if d.key.split(":", 1)[1] not in taken_ids
            and any(who == "customer" and RISK_CUES.search(text) for who, text in d.turns)]
    rest.sort(key=lambda d: _hash("agreement-risk", d.key))
    for d in rest[:RISK_QUOTA]:
        chosen.append(LabelledDialogue(d.key, d.source, "risk", d.language, d.medium, d.turns,
                                       d.satisfaction))
        taken_ids.add(d.key.split(":", 1)[1])
    return chosen


def load_labels(directory: Path = LABELS_DIR) -> dict[str, dict[str, Any]]:
    """Every labelled dialogue's record, by key. A key labelled twice is an error."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            key = record["key"]
            if key in out:
                raise ValueError(f"{path.name}:{number}: {key} is labelled twice")
            out[key] = record
    return out


def adjudicated_labels(directory: Path = LABELS_DIR) -> dict[str, dict[str, Any]]:
    """The first labels with each disputed field set to the third reader's decision.

    ``adjudicated/*.jsonl`` holds ``{"key", "decisions": {"items.<item>" | "outcome.<name>":
    value}}``; a decision on an unknown key or field, or with a value the guide does not allow,
    is an error."""
    labels = {k: {**r, "items": dict(r["items"]), "outcome": dict(r["outcome"])}
              for k, r in load_labels(directory).items()}
    for path in sorted((directory / "adjudicated").glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            where = f"{path.name}:{number}"
            if record["key"] not in labels:
                raise ValueError(f"{where}: {record['key']} has no first label")
            target = labels[record["key"]]
            for field, value in record["decisions"].items():
                part, _, name = field.partition(".")
                if part not in ("items", "outcome") or name not in target[part]:
                    raise ValueError(f"{where}: unknown field {field!r}")
                allowed = ITEM_VALUES if part == "items" else OUTCOME_VALUES.get(name, ())
                if value not in allowed:
                    raise ValueError(f"{where}: {field} = {value!r} is not allowed")
                target[part][name] = value
            target["labeller"] = "adjudicated"
    return labels


def _dump(dialogues: list[LabelledDialogue], out: Path, batches: dict[str, list[str]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, sources in batches.items():
        lines = []
        for d in dialogues:
            if f"{d.source}/{d.stratum}" in sources:
                lines.append(f"=== {d.key}  (half: {d.half}; {d.language}, {d.medium}, "
                             f"{d.stratum})")
                for n, (who, text) in enumerate(d.turns, 1):
                    lines.append(f"[{n}] {'AGENT' if who == 'agent' else 'CUSTOMER'}: {text}")
                lines.append("")
        (out / f"{name}.txt").write_text("\n".join(lines), encoding="utf-8")
        print(f"{name}: {sum(1 for x in lines if x.startswith('==='))} dialogues")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--dump", type=Path, required=True)
    args = parser.parse_args()
    dialogues = evaluation_set(args.data)
    stc3_zh = [d.key for d in dialogues if d.source == "stc3_zh" and d.stratum == "random"]
    first_half = set(stc3_zh[: len(stc3_zh) // 2])
    batch_a = [d for d in dialogues if d.key in first_half]
    _dump(batch_a, args.dump, {"a_stc3_zh_1": ["stc3_zh/random"]})
    rest = [d for d in dialogues if d.key not in first_half]
    _dump(rest, args.dump, {"b_stc3_zh_2": ["stc3_zh/random"],
                            "c_musied_calls_mobilecs": ["musied_call/random", "mobilecs/random"],
                            "d_musied_chats": ["musied_chat/random"],
                            "f_stc3_en": ["stc3_en/random"],
                            "e_risk": ["stc3_zh/risk", "stc3_en/risk", "musied_call/risk",
                                       "musied_chat/risk", "mobilecs/risk"]})


if __name__ == "__main__":
    main()
