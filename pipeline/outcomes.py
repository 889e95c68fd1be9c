"""Call-level outcomes: is it a complaint, about what; was the problem resolved, escalated or
left open; is the customer dissatisfied; why did they make contact. Judged on the whole call,
with evidence.

- ``dissatisfied_probability``, the resolved and the escalated probability come from logistic
  heads over e5 sentence vectors of the call (first, last, last three and mean customer turn;
  last and mean agent turn), trained by ``pipeline.training.outcomes`` (dissatisfied on
  STC-3's crowd labels together with hand labels, resolved and escalated on hand labels of how
  real dialogues ended); artifact
  ``models/outcomes/outcomes.json``.
- ``resolution``: ``escalated`` when one of the agent's last six turns hands the problem on (a
  specialist, a callback, a ticket, "DM us"), with that turn as evidence, and the escalated
  head agrees that the dialogue ends handed on; otherwise ``resolved`` when the resolved head
  says so, else ``not_resolved``.
- ``complaint_probability``: a logistic head over the first and the mean customer turn,
  trained on hand labels of real dialogues (``models/outcome_labels``); rubric items apply
  to complaints through it (``{outcome: complaint}``). Evidence: the customer turn the head
  finds most complaining on its own.
- ``category``: the users' six complaint categories, a multinomial head over the customer's
  words as character n-grams plus the same e5 blocks, trained on the same hand labels; read
  on the whole customer side and on each customer turn alone, the two averaged (the turn that
  says most for each category); with its probability and, as evidence, the customer turn that
  complains most of the chosen category.
- ``contact_reason``: extractive — the customer's first sentence that states something (no
  greetings, @mentions or links), cut at 40 characters.

A call whose roles are not known gets no outcome: every feature is about who said what.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline import bundled
from pipeline.errors import ModelIntegrityError, ModelNotFoundError
from pipeline.models.tfidf import vectorizer_from_state
from pipeline.rubric.conditions.context import Similarity
from pipeline.text import sentence_spans

Resolution = Literal["resolved", "not_resolved", "escalated"]
RESOLUTIONS: tuple[Resolution, ...] = ("resolved", "not_resolved", "escalated")
Category = Literal["logistics_delay", "product_quality", "service_attitude", "after_sales",
                   "price_dispute", "other"]
CATEGORIES: tuple[Category, ...] = ("logistics_delay", "product_quality", "service_attitude",
                                    "after_sales", "price_dispute", "other")
FEATURE_BLOCKS = ("first_customer", "last_customer", "mean_customer", "last_agent",
                  "recent_customer", "mean_agent")
RECENT_TURNS = 3  # how the customer ends: one last "好的" says little on its own
# The blocks each head reads; complaint and category are about the customer's side alone.
CUSTOMER_BLOCKS = ("first_customer", "mean_customer")
HEAD_BLOCKS = {"resolved": FEATURE_BLOCKS, "escalated": FEATURE_BLOCKS,
               "dissatisfied": FEATURE_BLOCKS, "complaint": CUSTOMER_BLOCKS}
REQUIRED_HEADS = ("resolved", "escalated", "dissatisfied")
RESOLUTION_HEADS = ("resolved", "escalated")  # the resolution is decided on their thresholds
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
class CategoryHead:
    """Multinomial logistic regression over char n-grams of the customer's words (sparse)
    and the customer e5 blocks (dense)."""

    vectorizer: TfidfVectorizer
    sparse: np.ndarray  # (categories, vocabulary)
    dense: np.ndarray  # (categories, dim * len(CUSTOMER_BLOCKS))
    bias: np.ndarray  # (categories,)

    def probabilities(self, texts: list[str], dense: np.ndarray) -> np.ndarray:
        """(rows, categories): one row per (customer text, dense row)."""
        logits = (self.vectorizer.transform(texts) @ self.sparse.T + dense @ self.dense.T
                  + self.bias)
        logits = np.asarray(logits) - np.asarray(logits).max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class OutcomeModel:
    encoder: str  # the encoder version the heads were trained on
    heads: dict[str, tuple[np.ndarray, float]]  # name → (weights, bias)
    thresholds: dict[str, float]
    card: dict[str, Any]
    version: str = ""  # the artifact's SHA-256 prefix: stored with every inspection
    category: CategoryHead | None = None


@dataclass(frozen=True)
class CallOutcome:
    resolution: Resolution
    resolved_probability: float
    dissatisfied_probability: float
    contact_reason: str | None
    evidence: dict[str, dict[str, Any]]  # outcome → {idx, text, why}
    complaint_probability: float | None = None
    category: Category | None = None
    category_probability: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)  # the model's, for conditions

    def as_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)
        return {"resolution": self.resolution,
                "resolved_probability": round(self.resolved_probability, 4),
                "dissatisfied_probability": round(self.dissatisfied_probability, 4),
                "complaint_probability": rounded(self.complaint_probability),
                "category": self.category,
                "category_probability": rounded(self.category_probability),
                "contact_reason": self.contact_reason, "evidence": self.evidence}


def load_model(directory: Path) -> OutcomeModel:
    path = directory / "outcomes.json"
    if not path.is_file():
        raise ModelNotFoundError(f"outcome model {path} is missing: reinstall callqa")
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
        dim = int(data["dim"])
        if tuple(data["blocks"]) != FEATURE_BLOCKS:
            raise ValueError(f"feature blocks {data['blocks']} are not {FEATURE_BLOCKS}")
        heads = {name: (np.asarray(head["weights"], dtype=np.float32), float(head["bias"]))
                 for name, head in data["heads"].items()}
        thresholds = {k: float(v) for k, v in data["thresholds"].items()}
        encoder = str(data["encoder"])
        category = _category_head(data["category"], dim) if "category" in data else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"{path} is not an outcome model: {exc}") from exc
    for name, (weights, bias) in heads.items():
        if name not in HEAD_BLOCKS or weights.shape != (dim * len(HEAD_BLOCKS[name]),) or not (
                np.isfinite(weights).all() and math.isfinite(bias)):
            raise ModelIntegrityError(f"{path}: head {name!r} is unknown or has the wrong "
                                      "shape or values")
    if not set(REQUIRED_HEADS) <= set(heads) or not set(RESOLUTION_HEADS) <= set(thresholds):
        raise ModelIntegrityError(f"{path}: needs heads {', '.join(REQUIRED_HEADS)} and "
                                  f"thresholds for {', '.join(RESOLUTION_HEADS)}")
    if "complaint" in heads and "complaint" not in thresholds:
        raise ModelIntegrityError(f"{path}: the complaint head has no threshold")
    return OutcomeModel(encoder, heads, thresholds, data.get("card", {}),
                        "outcomes:" + hashlib.sha256(raw).hexdigest()[:12], category)


def _category_head(data: dict[str, Any], dim: int) -> CategoryHead:
    if tuple(data["classes"]) != CATEGORIES:
        raise ValueError(f"category classes {data['classes']} are not {CATEGORIES}")
    vectorizer = vectorizer_from_state(data["tfidf"])
    head = CategoryHead(vectorizer, np.asarray(data["sparse"], dtype=np.float32),
                        np.asarray(data["dense"], dtype=np.float32),
                        np.asarray(data["bias"], dtype=np.float32))
    n = len(CATEGORIES)
    if (head.sparse.shape != (n, len(vectorizer.vocabulary_))
            or head.dense.shape != (n, dim * len(CUSTOMER_BLOCKS)) or head.bias.shape != (n,)
            or not all(np.isfinite(a).all() for a in (head.sparse, head.dense, head.bias))):
        raise ValueError("the category head has the wrong shape or values")
    return head


@lru_cache(maxsize=1)
def bundled_model() -> OutcomeModel:
    return load_model(bundled.path("outcomes"))


def feature_texts(turns: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The texts each feature block averages: (speaker, text) turns in order."""
    customer = [t[:MAX_CHARS] for s, t in turns if s == "customer" and t.strip()]
    agent = [t[:MAX_CHARS] for s, t in turns if s == "agent" and t.strip()]
    return {"first_customer": customer[:1], "last_customer": customer[-1:],
            "mean_customer": customer, "last_agent": agent[-1:],
            "recent_customer": customer[-RECENT_TURNS:], "mean_agent": agent}


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


def select(row: np.ndarray, blocks: tuple[str, ...]) -> np.ndarray:
    """The part of a ``features`` row (or of rows) that ``blocks`` read, in their order."""
    dim = row.shape[-1] // len(FEATURE_BLOCKS)
    return np.concatenate([row[..., FEATURE_BLOCKS.index(b) * dim:
                               (FEATURE_BLOCKS.index(b) + 1) * dim] for b in blocks], axis=-1)


def customer_text(turns: list[tuple[str, str]]) -> str:
    """What the category head's n-grams read: the customer's words, in order."""
    return " ".join(t[:MAX_CHARS] for s, t in turns if s == "customer" and t.strip())


def _probability(model: OutcomeModel, name: str, rows: np.ndarray) -> np.ndarray:
    weights, bias = model.heads[name]
    return 1.0 / (1.0 + np.exp(-(select(rows, HEAD_BLOCKS[name]) @ weights + bias)))


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
    resolved = float(_probability(model, "resolved", row))
    escalated = float(_probability(model, "escalated", row))
    dissatisfied = float(_probability(model, "dissatisfied", row))
    evidence: dict[str, dict[str, Any]] = {}
    complaint, category, category_p = _complaint_and_category(model, rows, row, similarity,
                                                              evidence)
    last_agent = [r for r in rows if r[1] == "agent"][-HANDOVER_TURNS:]
    handed = next(((i, t, m) for i, _, t in reversed(last_agent)
                   if (m := _ESCALATION.search(t))), None)
    if handed is not None and escalated >= model.thresholds["escalated"]:
        resolution: Resolution = "escalated"
        evidence["resolution"] = {"idx": handed[0], "text": handed[1],
                                  "why": f"handed on: “{handed[2].group(0)}”, escalated "
                                         f"p={escalated:.2f}"}
    elif resolved >= model.thresholds["resolved"]:
        resolution = "resolved"
        idx, _, text = rows[-1]
        evidence["resolution"] = {"idx": idx, "text": text, "why": f"resolved p={resolved:.2f}"}
    else:
        resolution = "not_resolved"
        evidence["resolution"] = {"idx": rows[-1][0], "text": rows[-1][2],
                                  "why": f"resolved p={resolved:.2f}, " + (
                                      "nothing handed on" if handed is None else
                                      f"escalated p={escalated:.2f}")}
    last_customer = next(r for r in reversed(rows) if r[1] == "customer")
    evidence["dissatisfied"] = {"idx": last_customer[0], "text": last_customer[2],
                                "why": f"dissatisfied p={dissatisfied:.2f}; the customer's "
                                       "last turn"}
    reason = contact_reason(rows)
    if reason is not None:
        evidence["contact_reason"] = {"idx": reason[1], "text": reason[0],
                                      "why": "the customer's first statement"}
    return CallOutcome(resolution, resolved, dissatisfied, reason[0] if reason else None,
                       evidence, complaint, category, category_p, dict(model.thresholds))


def _complaint_and_category(model: OutcomeModel, rows: list[tuple[int, str, str]],
                            row: np.ndarray, similarity: Similarity,
                            evidence: dict[str, dict[str, Any]]
                            ) -> tuple[float | None, Category | None, float | None]:
    """The call's complaint probability and category, each with the customer turn that says
    most for it on its own (that turn read as if it were the whole customer side) as
    evidence."""
    if "complaint" not in model.heads and model.category is None:
        return None, None, None
    customer = [(i, t[:MAX_CHARS]) for i, s, t in rows if s == "customer" and t.strip()]
    per_turn = np.tile(similarity.vectors([t for _, t in customer]), len(FEATURE_BLOCKS))
    complaint = None
    scores = np.ones(len(customer))
    if "complaint" in model.heads:
        complaint = float(_probability(model, "complaint", row))
        scores = _probability(model, "complaint", per_turn)
        best = int(np.argmax(scores))
        evidence["complaint"] = {"idx": customer[best][0], "text": customer[best][1],
                                 "why": f"complaint p={complaint:.2f} over the call; this "
                                        f"turn alone {scores[best]:.2f}"}
    if model.category is None:
        return complaint, None, None
    head = model.category
    whole = head.probabilities([customer_text([(s, t) for _, s, t in rows])],
                               select(row, CUSTOMER_BLOCKS)[None, :])[0]
    turn = head.probabilities([t for _, t in customer], select(per_turn, CUSTOMER_BLOCKS))
    # The whole customer side, and the turn that says most for each category: a call's
    # problem is often stated once among order numbers and thanks that dilute the mean
    # (macro-F1 0.54 → 0.63 on the tune half of the labelled dialogues).
    call = (whole + turn.max(axis=0)) / 2
    chosen = int(np.argmax(call))
    # The evidence: the turn that complains most about that category ("没有了，谢谢" can say
    # "other" loudly and complain of nothing).
    best = int(np.argmax(turn[:, chosen] * scores))
    name = CATEGORIES[chosen]
    evidence["category"] = {"idx": customer[best][0], "text": customer[best][1],
                            "why": f"{name} p={call[chosen]:.2f}; the customer's turn that "
                                   "complains most of it"}
    return complaint, name, float(call[chosen])
