"""Per-label heads and the metrics every model is judged by.

A head is a logistic regression (class-balanced) over a feature matrix: sparse char n-gram
TF-IDF for the baseline, dense transformer features, or both stacked (hybrid). Metrics are
threshold-free (AUROC, average precision) plus F1 / precision / recall at p = 0.5 (heads are
class-balanced, so 0.5 is the prior-free decision point). Each label's
regularisation (and, for hybrid heads, the dense block's weight) is chosen by grouped
cross-validation on its training rows; the baseline gets the same search over C.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import GroupKFold


def tfidf_vectorizer(max_features: int | None = 200_000) -> TfidfVectorizer:
    """The baseline's features: character 1-3-grams, sublinear tf."""
    return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2,
                           max_features=max_features, dtype=np.float32)


def fit_head(features: Any, y: np.ndarray, dense: bool = False, c: float | None = None
             ) -> LogisticRegression:
    head = LogisticRegression(C=c if c is not None else (0.5 if dense else 4.0),
                              class_weight="balanced", max_iter=2000, solver="liblinear")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        head.fit(features, y)
    return head


def choose_by_group_cv(candidates: Sequence[Hashable],
                       features: Callable[[Hashable, np.ndarray], Any], y: np.ndarray,
                       groups: np.ndarray, c_of: Callable[[Hashable], float], folds: int = 4,
                       min_positives: int = 20) -> tuple[Hashable, float | None]:
    """The candidate with the best mean AUROC over grouped folds of the training rows.

    Folds split by dialogue, so a dialogue's turns never sit on both sides; validation rows
    are never seen. With too few positives or dialogues to fold, the first candidate (the
    default) is kept and no score is returned.
    """
    y = np.asarray(y).astype(int)
    if int(y.sum()) < min_positives or len(set(groups.tolist())) < folds:
        return candidates[0], None
    splits = list(GroupKFold(n_splits=folds).split(y, y, groups))
    best, best_score = candidates[0], -1.0
    for candidate in candidates:
        scores = []
        for fit_rows, held_rows in splits:
            if len(set(y[held_rows].tolist())) < 2 or len(set(y[fit_rows].tolist())) < 2:
                continue
            head = fit_head(features(candidate, fit_rows), y[fit_rows], c=c_of(candidate))
            held = head.decision_function(features(candidate, held_rows))
            scores.append(roc_auc_score(y[held_rows], held))
        score = float(np.mean(scores)) if scores else -1.0
        if score > best_score:
            best, best_score = candidate, score
    return best, (round(best_score, 4) if best_score >= 0 else None)


def metrics_for(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    y = np.asarray(y).astype(int)
    predicted = (np.asarray(p) >= threshold).astype(int)
    single_class = len(set(y.tolist())) < 2
    return {
        "auroc": float("nan") if single_class else round(float(roc_auc_score(y, p)), 4),
        "ap": float("nan") if single_class else round(float(average_precision_score(y, p)), 4),
        "f1": round(float(f1_score(y, predicted, zero_division=0)), 4),
        "precision": round(float(precision_score(y, predicted, zero_division=0)), 4),
        "recall": round(float(recall_score(y, predicted, zero_division=0)), 4),
        "n": len(y),
        "positives": int(y.sum()),
    }
