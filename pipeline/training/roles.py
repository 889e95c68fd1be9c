"""Train and export the role model (``pipeline.speakers.roles``) from ``../shared/data``.

    python -m pipeline.training.roles [--data ../shared/data] [--out models/roles]

Dialogues with known roles: STC-3 zh and en (Weibo chats, customer writes first), MUSIED phone
calls and chats (Meituan; bot and system lines of the chats are removed, as callers must do),
MobileCS calls. ``split_of(group)`` keeps the project's validation dialogues out of everything
here; STC-3 en shares its dialogue ids with zh, so a translation is never on the other side.

1. Turn model: distinct char 1-4-grams (df >= MIN_DF on the training turns), one L2-normalised
   binary row per turn, logistic regression agent vs customer. Every training turn also appears
   once as ASR-like noise (no punctuation, characters dropped), since calls come from ASR.
2. Party features and the conditional logit over them are fitted on *out-of-fold* turn logits
   (5 folds by dialogue), so the combined probability is calibrated for unseen dialogues
   (Platt-style: the combiner is itself a logistic model of the held-out scores).
3. The turn model is refitted on all training turns and exported with the combiner's weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from pipeline.speakers.roles import (
    PARTY_FEATURES,
    Medium,
    PartyTurn,
    RoleModel,
    grams,
    party_features,
)
from pipeline.support.fsutil import write_json
from pipeline.training.datasets import split_of, stc3_dialogues

MIN_DF = 3
TURN_C = 4.0
FOLDS = 5
NOISE_DELETE = 0.05
# Features the combiner uses, chosen on the training folds (models/roles.md has the ablation).
USED_FEATURES = ("content", "first_call", "first_chat")
_MUSIED_LINE = re.compile(r"^(客服|用户|RULE)[:：]?")
_HANDOVER = "我是本次为您服务的客服"


@dataclass(frozen=True)
class Dialogue:
    source: str  # stc3_zh, stc3_en, musied_call, musied_chat, mobilecs
    language: str
    medium: Medium
    group: str  # the split key (datasets.split_of)
    turns: tuple[PartyTurn, ...]  # party is the true role: "agent" / "customer"

    @property
    def split(self) -> str:
        return split_of(self.group)


# -- data -----------------------------------------------------------------------------------------


def load_dialogues(data_dir: Path) -> list[Dialogue]:
    out: list[Dialogue] = []
    for name, language in (("dialogues_cn.jsonl", "zh"), ("dialogues_en.jsonl", "en")):
        path = data_dir / "stc3" / name
        if not path.is_file():
            continue
        for d in stc3_dialogues(path):
            turns = tuple(
                PartyTurn("customer" if t["sender"] == "customer" else "agent",
                          " ".join(t["utterances"]).strip())
                for t in d["turns"])
            out.append(Dialogue(f"stc3_{language}", language, "chat", f"stc3:{d['id']}", turns))
    musied = data_dir / "musied" / "dev.json"
    if musied.is_file():
        for doc in json.loads(musied.read_text(encoding="utf-8")):
            medium: Medium
            if doc["domain"] == "Phone Conversations":
                medium, source = "call", "musied_call"
            elif doc["domain"] == "Text Conversations":
                medium, source = "chat", "musied_chat"
            else:
                continue
            turns = _musied_turns(doc["content"], chat=medium == "chat")
            if turns:
                out.append(Dialogue(source, "zh", medium, f"musied:{doc['id']}", turns))
    mobilecs = data_dir / "mobilecs" / "example.json"
    if mobilecs.is_file():
        for call in json.loads(mobilecs.read_text(encoding="utf-8")):
            turns = []
            for item in call["content"]:
                for key, role in (("[SPEAKER 1]", "agent"), ("[SPEAKER 2]", "customer")):
                    text = str(item.get(key, "")).replace("_", "").strip()
                    if text:
                        turns.append(PartyTurn(role, text))
            out.append(Dialogue("mobilecs", "zh", "call", f"mobilecs:{call['id']}",
                                tuple(turns)))
    return [d for d in out if {t.party for t in d.turns} == {"agent", "customer"}]


def _musied_turns(lines: list[str], chat: bool) -> tuple[PartyTurn, ...]:
    """MUSIED lines as turns. In chats the 客服 side starts as a bot (小布谷) until a human
    takes over ("我是本次为您服务的客服…"), and RULE: lines are the system: both dropped, the
    way callers drop bot/system parties. A chat without a human agent yields nothing."""
    turns: list[PartyTurn] = []
    human = not chat
    for line in lines:
        match = _MUSIED_LINE.match(line)
        text = _MUSIED_LINE.sub("", line).strip(" ,，")
        if not match or not text or match.group(1) == "RULE":
            continue
        if match.group(1) == "客服":
            human = human or _HANDOVER in text
            if human:
                turns.append(PartyTurn("agent", text))
        else:
            turns.append(PartyTurn("customer", text))
    if chat and not any(t.party == "agent" for t in turns):
        return ()
    return tuple(turns)


def noisy(text: str, rng: random.Random, delete: float = NOISE_DELETE) -> str:
    """ASR-like text: no punctuation or symbols, a few characters lost."""
    kept = [c for c in text if not unicodedata.category(c).startswith(("P", "S"))]
    return "".join(c for c in kept if rng.random() >= delete)


def fold_of(group: str) -> int:
    return int(hashlib.sha1(f"roles-fold:{group}".encode()).hexdigest()[:8], 16) % FOLDS


# -- turn model -----------------------------------------------------------------------------------


@dataclass
class TurnData:
    texts: list[str]
    labels: np.ndarray  # 1 = agent
    groups: list[str]


def turn_data(dialogues: list[Dialogue], augment: bool, seed: int = 13) -> TurnData:
    rng = random.Random(seed)
    texts, labels, groups = [], [], []
    for d in dialogues:
        for t in d.turns:
            variants = [t.text] + ([noisy(t.text, rng)] if augment else [])
            for text in variants:
                if text.strip():
                    texts.append(text)
                    labels.append(int(t.party == "agent"))
                    groups.append(d.group)
    return TurnData(texts, np.array(labels), groups)


def build_vocab(texts: list[str], min_df: int = MIN_DF) -> dict[str, int]:
    df: Counter[str] = Counter()
    for text in texts:
        df.update(grams(text))
    kept = sorted(g for g, n in df.items() if n >= min_df)
    return {g: i for i, g in enumerate(kept)}


def matrix(texts: list[str], vocab: dict[str, int]) -> sparse.csr_matrix:
    """The rows ``RoleModel.turn_logits`` sees: 1/sqrt(all n-grams) on each known one."""
    indptr, indices, values = [0], [], []
    for text in texts:
        found = grams(text)
        known = [vocab[g] for g in found if g in vocab]
        indices += known
        values += [1.0 / np.sqrt(len(found))] * len(known)
        indptr.append(len(indices))
    return sparse.csr_matrix((values, indices, indptr), shape=(len(texts), len(vocab)))


def fit_turns(x: sparse.csr_matrix, y: np.ndarray, c: float = TURN_C) -> LogisticRegression:
    return LogisticRegression(C=c, solver="liblinear", max_iter=1000).fit(x, y)


def as_model(vocab: dict[str, int], lr: LogisticRegression, party_weights: np.ndarray,
             single: tuple[float, float], meta: dict | None = None) -> RoleModel:
    return RoleModel(vocab, lr.coef_[0].astype(np.float32), float(lr.intercept_[0]),
                     party_weights, single, meta or {})


# -- combiner -------------------------------------------------------------------------------------


def pair_rows(dialogues: list[Dialogue], model: RoleModel) -> tuple[np.ndarray, np.ndarray]:
    """Per dialogue: g(agent) - g(customer) (label 1) and its negation (label 0)."""
    rows, labels = [], []
    for d in dialogues:
        logits = model.turn_logits([t.text for t in d.turns])
        parties, table = party_features(d.turns, logits, d.medium)
        diff = table[parties.index("agent")] - table[parties.index("customer")]
        rows += [diff, -diff]
        labels += [1, 0]
    return np.array(rows), np.array(labels)


def single_rows(dialogues: list[Dialogue], model: RoleModel) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for d in dialogues:
        for role in ("agent", "customer"):
            own = [t for t in d.turns if t.party == role]
            logits = model.turn_logits([t.text for t in own])
            _, table = party_features(own, logits, d.medium)
            rows.append([table[0, 0]])
            labels.append(int(role == "agent"))
    return np.array(rows), np.array(labels)


def fit_combiner(rows: np.ndarray, labels: np.ndarray, used: tuple[str, ...]) -> np.ndarray:
    mask = np.array([name in used for name in PARTY_FEATURES])
    # C=1: "customer writes first" separates the training chats perfectly, so a weak
    # penalty would let its weight grow without bound; real chats are not that tidy.
    lr = LogisticRegression(C=1.0, fit_intercept=False, max_iter=1000)
    lr.fit(rows[:, mask], labels)
    weights = np.zeros(len(PARTY_FEATURES))
    weights[mask] = lr.coef_[0]
    return weights


@dataclass
class OutOfFold:
    """Out-of-fold scoring models: fold k's dialogues are scored by a model without fold k."""

    models: dict[int, RoleModel]

    def rows(self, dialogues: list[Dialogue], kind: str = "pair"
             ) -> tuple[np.ndarray, np.ndarray]:
        make = pair_rows if kind == "pair" else single_rows
        parts = [make([d for d in dialogues if fold_of(d.group) == k], m)
                 for k, m in self.models.items()]
        parts = [p for p in parts if len(p[0])]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def out_of_fold(train: list[Dialogue], vocab: dict[str, int], augment: bool = True
                ) -> OutOfFold:
    data = turn_data(train, augment)
    x = matrix(data.texts, vocab)
    folds = np.array([fold_of(g) for g in data.groups])
    models = {}
    for k in range(FOLDS):
        lr = fit_turns(x[folds != k], data.labels[folds != k])
        models[k] = as_model(vocab, lr, np.zeros(len(PARTY_FEATURES)), (1.0, 0.0))
    return OutOfFold(models)


def train(data_dir: Path, used: tuple[str, ...] = USED_FEATURES, augment: bool = True,
          log: bool = True) -> RoleModel:
    dialogues = load_dialogues(data_dir)
    training = [d for d in dialogues if d.split == "train"]
    data = turn_data(training, augment)
    vocab = build_vocab(data.texts)
    oof = out_of_fold(training, vocab, augment)
    rows, labels = oof.rows(training, "pair")
    party_weights = fit_combiner(rows, labels, used)
    srows, slabels = oof.rows(training, "single")
    single_lr = LogisticRegression(C=10.0).fit(srows, slabels)
    single = (float(single_lr.coef_[0][0]), float(single_lr.intercept_[0]))
    final = fit_turns(matrix(data.texts, vocab), data.labels)
    counts = Counter(d.source for d in training)
    meta = {
        "trained_on": {source: counts[source] for source in sorted(counts)},
        "training_turns": len(data.texts),
        "augment": augment,
        "features": list(used),
    }
    if log:
        print(f"{len(training)} training dialogues, {len(data.texts)} turns, "
              f"{len(vocab)} n-grams; party weights "
              + ", ".join(f"{n}={w:.3f}" for n, w in zip(PARTY_FEATURES, party_weights,
                                                          strict=True)))
    return as_model(vocab, final, party_weights, single, meta)


# -- export ---------------------------------------------------------------------------------------


def export(model: RoleModel, out_dir: Path, min_weight: float = 0.0) -> Path:
    """Write ``roles.npz`` (vocabulary + float16 weights, no pickle) and ``roles.json``
    (the scalars, size and SHA-256 that ``load_model`` checks)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    keep = [(g, w) for g, i in model.vocab.items()
            if abs(w := float(model.weights[i])) > min_weight]
    vocab = np.array([g for g, _ in keep], dtype="<U4")
    weights = np.array([w for _, w in keep], dtype=np.float16)
    data_path = out_dir / "roles.npz"
    np.savez_compressed(data_path, vocab=vocab, weights=weights)
    blob = data_path.read_bytes()
    meta = dict(model.meta)
    meta.update({
        "name": "roles", "version": 1, "file": data_path.name, "size": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(), "ngrams": len(keep),
        "turn_bias": model.bias,
        "party_weights": {n: float(w) for n, w in zip(PARTY_FEATURES, model.party_weights,
                                                      strict=True)},
        "single": {"a": model.single[0], "b": model.single[1]},
    })
    write_json(out_dir / "roles.json", meta)
    (out_dir / "roles.json").chmod(0o644)  # package data: readable by whoever installs it
    return data_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("models/roles"))
    parser.add_argument("--min-weight", type=float, default=0.0)
    args = parser.parse_args()
    model = train(args.data)
    path = export(model, args.out, args.min_weight)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
