"""Per-label heads and the metrics every model is judged by.

A head is a logistic regression (class-balanced) over a feature matrix: sparse char n-gram
TF-IDF for the baseline, dense transformer features, or both stacked (hybrid). Metrics are
threshold-free (AUROC, average precision) plus F1 / precision / recall at the head's decision
threshold, which is chosen on the training rows (never on validation).
"""

from __future__ import annotations

import warnings
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
