"""Call-level outcomes: was the problem resolved, escalated or left open; is the customer
dissatisfied; why did they make contact. Judged on the whole call, with evidence.

- ``dissatisfied_probability`` and the resolved probability come from two logistic heads over
  e5 sentence vectors of the call (first, last and mean customer turn, last agent turn),
  trained on STC-3's crowd labels (satisfaction S < 0; task accomplished A > 0) by
  ``pipeline.training.outcomes``; artifact ``models/outcomes/outcomes.json``.
- ``resolution``: ``escalated`` when the agent's last six turns hand the problem on (a
  specialist, a callback, a ticket, "DM us"), with that turn as evidence, unless the resolved
  head is sure the problem was solved anyway (``handed_on_below``, chosen on the tune half of
  the labelled dialogues); otherwise ``resolved`` when the resolved head says so, else
  ``not_resolved``.
- ``contact_reason``: extractive — the customer's first sentence that states something (no
  greetings, @mentions or links), cut at 40 characters.

A call whose roles are not known gets no outcome: every feature is about who said what.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pipeline import bundled
from pipeline.errors import ModelIntegrityError, ModelNotFoundError
from pipeline.rubric.conditions.context import Similarity
from pipeline.text import sentence_spans

Resolution = Literal["resolved", "not_resolved", "escalated"]
RESOLUTIONS: tuple[Resolution, ...] = ("resolved", "not_resolved", "escalated")
FEATURE_BLOCKS = ("first_customer", "last_customer", "mean_customer", "last_agent")
MAX_CHARS = 512  # characters of a turn the encoder reads
REASON_CHARS = 40
# The agent hands the problem on: to a specialist or another team, a callback, a ticket.
_ESCALATION = re.compile(
    r"转交|转给|转接|专员|专人|上报|升级|提交给|反馈给|已反馈|如实反馈|为您反馈|帮您反馈|记录|工单|跟进|"
    r"核实|核查|(回电|回复|联系)您|给您(回电|回复|答复)|私信|小时内|工作日内|稍后.{0,6}(联系|回复)|"
    r"联系(一下)?(工作人员|商家|骑手|同事)|处理进度|理赔|会尽快|"
    r"escalat|specialist|forward(ed)? (it|this|your)|pass(ed)? (it|this|your)|our staff|"
    r"dedicated staff|get back to you|call you back|follow(ed)?[- ]?(it )?up|private message|"
    r"priviate message|send us|feed (it )?back|\bdm\b|\bpm\b|we will (check|verify)|"
    r"verify it|report(ed)? (it|this|your)|within \d+ (hours|working days)", re.IGNORECASE)
# How many of the agent's last turns may hand the problem on (calls end with farewells).
HANDOVER_TURNS = 6
_NOT_A_REASON = re.compile(r"^(您好|你好|喂|hello|hi|在吗|在不在|客服)\W*$", re.IGNORECASE)
_MENTION = re.compile(r"@\S+|https?://\S+|\bO网页链接\b")


@dataclass(frozen=True)
class OutcomeModel:
    encoder: str  # the encoder version the heads were trained on
    heads: dict[str, tuple[np.ndarray, float]]  # name → (weights, bias)
    thresholds: dict[str, float]
    card: dict[str, Any]
    version: str = ""  # the artifact's SHA-256 prefix: stored with every inspection


@dataclass(frozen=True)
class CallOutcome:
    resolution: Resolution
    resolved_probability: float
    dissatisfied_probability: float
    contact_reason: str | None
    evidence: dict[str, dict[str, Any]]  # outcome → {idx, text, why}

    def as_dict(self) -> dict[str, Any]:
        return {"resolution": self.resolution,
                "resolved_probability": round(self.resolved_probability, 4),
                "dissatisfied_probability": round(self.dissatisfied_probability, 4),
                "contact_reason": self.contact_reason, "evidence": self.evidence}


def load_model(directory: Path) -> OutcomeModel:
    path = directory / "outcomes.json"
    if not path.is_file():
        raise ModelNotFoundError(f"outcome model {path} is missing: reinstall callqa")
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
        dim = int(data["dim"])
        heads = {name: (np.asarray(head["weights"], dtype=np.float32), float(head["bias"]))
                 for name, head in data["heads"].items()}
        thresholds = {k: float(v) for k, v in data["thresholds"].items()}
        encoder = str(data["encoder"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"{path} is not an outcome model: {exc}") from exc
    for name, (weights, bias) in heads.items():
        if weights.shape != (dim * len(FEATURE_BLOCKS),) or not (
                np.isfinite(weights).all() and math.isfinite(bias)):
            raise ModelIntegrityError(f"{path}: head {name!r} has the wrong shape or values")
    if set(heads) != {"resolved", "dissatisfied"} or "resolved" not in thresholds:
        raise ModelIntegrityError(f"{path}: needs heads 'resolved' and 'dissatisfied'")
    return OutcomeModel(encoder, heads, thresholds, data.get("card", {}),
                        "outcomes:" + hashlib.sha256(raw).hexdigest()[:12])


@lru_cache(maxsize=1)
def bundled_model() -> OutcomeModel:
    return load_model(bundled.path("outcomes"))


def feature_texts(turns: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The texts each feature block averages: (speaker, text) turns in order."""
    customer = [t[:MAX_CHARS] for s, t in turns if s == "customer" and t.strip()]
    agent = [t[:MAX_CHARS] for s, t in turns if s == "agent" and t.strip()]
    return {"first_customer": customer[:1], "last_customer": customer[-1:],
            "mean_customer": customer, "last_agent": agent[-1:]}


def features(blocks: dict[str, list[str]], similarity: Similarity) -> np.ndarray:
    """One row: each block's mean sentence vector (zeros when the block is empty)."""
    texts = [t for name in FEATURE_BLOCKS for t in blocks[name]]
    vectors = similarity.vectors(texts)  # (0, dim) when there are none
    dim = vectors.shape[1]
    parts, at = [], 0
    for name in FEATURE_BLOCKS:
        n = len(blocks[name])
        parts.append(vectors[at:at + n].mean(axis=0) if n else np.zeros(dim, np.float32))
        at += n
    return np.concatenate(parts).astype(np.float32)


def _probability(model: OutcomeModel, name: str, row: np.ndarray) -> float:
    weights, bias = model.heads[name]
    return float(1.0 / (1.0 + np.exp(-(row @ weights + bias))))


def contact_reason(turns: list[tuple[int, str, str]]) -> tuple[str, int] | None:
    """The customer's first sentence with content, cut to ``REASON_CHARS``."""
    for idx, speaker, text in turns:
        if speaker != "customer":
            continue
        clean = _MENTION.sub(" ", text)
        for a, b in sentence_spans(clean):
            sentence = clean[a:b].strip(" ，,")
            if len(sentence) >= 4 and not _NOT_A_REASON.match(sentence):
                cut = sentence if len(sentence) <= REASON_CHARS else (
                    sentence[:REASON_CHARS].rstrip() + "…")
                return cut, idx
    return None


def judge_outcome(turns: pd.DataFrame, roles: str, similarity: Similarity | None,
                  model: OutcomeModel | None = None) -> CallOutcome | None:
    """The call's outcome, or None when it cannot be judged (roles not known, no encoder,
    no customer or no agent turn)."""
    if roles != "known" or similarity is None:
        return None
    rows = [(int(i), str(s), str(t)) for i, s, t in
            zip(turns["idx"], turns["speaker"], turns["raw_text"], strict=True)]
    pairs = [(s, t) for _, s, t in rows]
    if not any(s == "customer" for s, _ in pairs) or not any(s == "agent" for s, _ in pairs):
        return None
    model = model or bundled_model()
    if model.encoder != getattr(similarity, "version", None):
        raise ModelIntegrityError(f"the outcome model was trained on {model.encoder}, not "
                                  f"{getattr(similarity, 'version', '?')}: retrain it")
    row = features(feature_texts(pairs), similarity)
    resolved = _probability(model, "resolved", row)
    dissatisfied = _probability(model, "dissatisfied", row)
    evidence: dict[str, dict[str, Any]] = {}
    last_agent = [r for r in rows if r[1] == "agent"][-HANDOVER_TURNS:]
    handed = next(((i, t, m) for i, _, t in reversed(last_agent)
                   if (m := _ESCALATION.search(t))), None)
    if handed is not None and resolved < model.thresholds.get("handed_on_below", 1.0):
        resolution: Resolution = "escalated"
        evidence["resolution"] = {"idx": handed[0], "text": handed[1],
                                  "why": f"handed on: “{handed[2].group(0)}”"}
    elif resolved >= model.thresholds["resolved"]:
        resolution = "resolved"
        idx, _, text = rows[-1]
        evidence["resolution"] = {"idx": idx, "text": text, "why": f"resolved p={resolved:.2f}"}
    else:
        resolution = "not_resolved"
        evidence["resolution"] = {"idx": rows[-1][0], "text": rows[-1][2],
                                  "why": f"resolved p={resolved:.2f}, nothing handed on"}
    reason = contact_reason(rows)
    if reason is not None:
        evidence["contact_reason"] = {"idx": reason[1], "text": reason[0],
                                      "why": "the customer's first statement"}
    return CallOutcome(resolution, resolved, dissatisfied, reason[0] if reason else None,
                       evidence)
