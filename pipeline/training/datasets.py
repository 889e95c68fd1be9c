"""Training data from the public sources in ``../shared/data``, as long-format samples.

One row per (text, label) that a source actually knows: ``text, task, label, value (0/1),
source, group, split``. A source only says what it knows (COLD knows ``customer.abuse``, not
``customer.complaint``), so each classifier head trains on the rows of its own label.

Mapping (documented in models/labels.yaml and the model cards):
- STC-3 (Weibo helpdesk dialogues): mean annotator satisfaction S < 0 → ``call.dissatisfied``
  and, on each customer turn, ``customer.dissatisfaction``; majority nugget per turn: CNUG0 →
  ``customer.complaint``, CNUG* → ``customer.satisfied``, HNUG/HNUG* → ``agent.offer_solution``.
- MUSIED (Meituan): a user sentence with a complaint-event trigger → ``customer.complaint`` (1);
  user sentences of documents without events → 0. Event types → ``call.category.*``.
- MobileCS: agent intents 问候 → greeting, 再见/客套 → closing, 主动确认 → restate_problem.
- COLD: offensive → ``customer.abuse``.
- Written rules (``weak_rules``) label ``customer.threat_escalation`` and
  ``customer.compensation_demand`` on the real customer turns of STC-3 and MUSIED.

Splits are by dialogue (``group``) with a fixed hash, so no dialogue is in both, and so the
validation set stays the same from one training run to the next. COLD keeps its own dev file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

SAMPLE_COLUMNS = ["text", "task", "label", "value", "source", "group", "split"]
VALIDATION_SHARE = 0.2

MUSIED_CATEGORY = {
    "餐凉": "logistics_delay",
    "骑手偷吃": "other", "投诉商家经营环境": "other", "资质证照不合规": "other",
    "销售违禁品": "other",
}  # every other MUSIED event type is about the food itself: product_quality
MOBILECS_INTENT = {"问候": "agent.greeting", "再见": "agent.closing", "客套": "agent.closing",
                   "主动确认": "agent.restate_problem"}


def split_of(group: str, share: float = VALIDATION_SHARE) -> str:
    """Fixed train/validation assignment of a group (dialogue), independent of row order."""
    bucket = int(hashlib.sha1(group.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "validation" if bucket < share else "train"


def _rows(records: Iterable[tuple[str, str, str, int, str, str]]) -> pd.DataFrame:
    rows = [
        {"text": text, "task": task, "label": label, "value": int(value), "source": source,
         "group": group, "split": split_of(group)}
        for text, task, label, value, source, group in records
        if text and text.strip()
    ]
    return pd.DataFrame(rows, columns=SAMPLE_COLUMNS)


# -- STC-3 ----------------------------------------------------------------------------------------


def _majority(values: list[str]) -> str:
    return Counter(values).most_common(1)[0][0]


def stc3_dialogues(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def crowd_mean(dialogue: dict, measure: str) -> float:
    """The annotators' mean of one STC-3 quality measure: A (task accomplished), S
    (satisfaction) or E (effectiveness), each -2..2."""
    return statistics.mean(a["quality"][measure] for a in dialogue["annotations"])


def build_stc3(path: Path) -> pd.DataFrame:
    def records() -> Iterator[tuple[str, str, str, int, str, str]]:
        for dialogue in stc3_dialogues(path):
            group = f"stc3:{dialogue['id']}"
            notes = dialogue["annotations"]
            dissatisfied = int(crowd_mean(dialogue, "S") < 0)
            customer_texts: list[str] = []
            for index, turn in enumerate(dialogue["turns"]):
                text = " ".join(turn["utterances"]).strip()
                nuggets = [a["nugget"][index] for a in notes if index < len(a["nugget"])]
                nugget = _majority(nuggets) if nuggets else ""
                if turn["sender"] == "customer":
                    customer_texts.append(text)
                    yield text, "utterance", "customer.dissatisfaction", dissatisfied, "stc3", group
                    yield text, "utterance", "customer.complaint", nugget == "CNUG0", "stc3", group
                    yield text, "utterance", "customer.satisfied", nugget == "CNUG*", "stc3", group
                else:
                    yield (text, "utterance", "agent.offer_solution", nugget in ("HNUG", "HNUG*"),
                           "stc3", group)
            yield call_text(dialogue["turns"]), "call", "call.dissatisfied", dissatisfied, "stc3", \
                group

    return _rows(records())


def call_text(turns: list[dict]) -> str:
    """A dialogue as one text for call-level labels: speaker-tagged turns, customer first."""
    parts = []
    for turn in turns:
        who = "客户" if turn["sender"] == "customer" else "客服"
        parts.append(f"{who}：{' '.join(turn['utterances']).strip()}")
    return "\n".join(parts)


# -- MUSIED ---------------------------------------------------------------------------------------

_MUSIED_SPEAKER = re.compile(r"^(客服|用户)[:：]")


def build_musied(path: Path) -> pd.DataFrame:
    documents = json.loads(path.read_text(encoding="utf-8"))

    def records() -> Iterator[tuple[str, str, str, int, str, str]]:
        for doc in documents:
            group = f"musied:{doc['id']}"
            triggered = {event["sent_id"] for event in doc.get("events", [])}
            has_events = bool(triggered)
            turns = []
            for sent_id, sentence in enumerate(doc["content"]):
                match = _MUSIED_SPEAKER.match(sentence)
                speaker = "客服" if match and match.group(1) == "客服" else "用户"
                text = _MUSIED_SPEAKER.sub("", sentence).strip(" ,，")
                turns.append({"sender": "agent" if speaker == "客服" else "customer",
                              "utterances": [text]})
                if speaker == "用户" and len(text) >= 2 and (sent_id in triggered
                                                            or not has_events):
                    yield (text, "utterance", "customer.complaint", sent_id in triggered,
                           "musied", group)
            if has_events:
                category = _majority([MUSIED_CATEGORY.get(e["type"], "product_quality")
                                      for e in doc["events"]])
                text = call_text(turns)
                for value in ("logistics_delay", "product_quality", "other"):
                    yield (text, "call", f"call.category.{value}", category == value,
                           "musied", group)

    return _rows(records())


def musied_customer_texts(path: Path) -> list[tuple[str, str]]:
    """(group, text) for every user sentence in MUSIED, for the written-rule labels."""
    out = []
    for doc in json.loads(path.read_text(encoding="utf-8")):
        for sentence in doc["content"]:
            if sentence.startswith("客服"):
                continue
            text = _MUSIED_SPEAKER.sub("", sentence).strip(" ,，")
            if len(text) >= 2:
                out.append((f"musied:{doc['id']}", text))
    return out


# -- MobileCS -------------------------------------------------------------------------------------


def build_mobilecs(path: Path) -> pd.DataFrame:
    calls = json.loads(path.read_text(encoding="utf-8"))
    targets = sorted(set(MOBILECS_INTENT.values()))

    def records() -> Iterator[tuple[str, str, str, int, str, str]]:
        for call in calls:
            group = f"mobilecs:{call['id']}"
            for turn in call["content"]:
                text = str(turn.get("[SPEAKER 1]", "")).replace("_", "").strip()
                intents = {i.strip() for i in str(turn.get("客服意图", "")).split(",")}
                positive = {MOBILECS_INTENT[i] for i in intents if i in MOBILECS_INTENT}
                for label in targets:
                    yield text, "utterance", label, label in positive, "mobilecs", group

    return _rows(records())


# -- COLD -----------------------------------------------------------------------------------------


def build_cold(directory: Path, train_limit: int | None = 6000,
               validation_limit: int | None = 2000) -> pd.DataFrame:
    """COLD offensive → customer.abuse; its train/dev files are our train/validation."""
    frames = []
    for name, split, limit in (("train.csv", "train", train_limit),
                               ("dev.csv", "validation", validation_limit)):
        with open(directory / name, encoding="utf-8-sig", newline="") as handle:
            rows = [(r["TEXT"], int(r["label"])) for r in csv.DictReader(handle) if r["TEXT"]]
        frame = pd.DataFrame(rows, columns=["text", "value"])
        if limit is not None and len(frame) > limit:
            frame = frame.sample(n=limit, random_state=13)  # a fixed subsample, not a shuffle
        frame = frame.assign(task="utterance", label="customer.abuse", source="cold",
                             group=[f"cold:{name}:{i}" for i in frame.index], split=split)
        frames.append(frame[SAMPLE_COLUMNS])
    return pd.concat(frames, ignore_index=True)


# -- everything -----------------------------------------------------------------------------------


def build_all(data_dir: Path, task: str | None = None, cold_limit: int | None = 6000
              ) -> pd.DataFrame:
    """Every source that is present under ``data_dir``; absent sources are skipped."""
    from pipeline.training.weak_rules import build_rule_labels

    frames = []
    stc3 = data_dir / "stc3" / "dialogues_cn.jsonl"
    musied = data_dir / "musied" / "dev.json"
    if stc3.is_file():
        frames.append(build_stc3(stc3))
    if musied.is_file():
        frames.append(build_musied(musied))
    if (data_dir / "mobilecs" / "example.json").is_file():
        frames.append(build_mobilecs(data_dir / "mobilecs" / "example.json"))
    if (data_dir / "cold" / "train.csv").is_file():
        frames.append(build_cold(data_dir / "cold", train_limit=cold_limit))
    texts: list[tuple[str, str]] = []
    if stc3.is_file():
        texts += [(f"stc3:{d['id']}", " ".join(t["utterances"]).strip())
                  for d in stc3_dialogues(stc3) for t in d["turns"] if t["sender"] == "customer"]
    if musied.is_file():
        texts += musied_customer_texts(musied)
    if texts:
        frames.append(_rows(build_rule_labels(texts)))
    if not frames:
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    samples = pd.concat(frames, ignore_index=True)
    if task is not None:
        samples = samples[samples["task"] == task]
    return samples.drop_duplicates(["text", "label"]).reset_index(drop=True)
