"""A fitted TF-IDF vectorizer as plain JSON (its parameters, vocabulary and idf): no pickle."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

PARAMS = ("analyzer", "ngram_range", "sublinear_tf", "min_df")


def vectorizer_state(vectorizer: TfidfVectorizer) -> dict[str, Any]:
    params = vectorizer.get_params()
    return {"params": {k: params[k] for k in PARAMS},
            "vocabulary": {term: int(i) for term, i in vectorizer.vocabulary_.items()},
            "idf": vectorizer.idf_.round(6).tolist()}


def vectorizer_from_state(state: dict[str, Any]) -> TfidfVectorizer:
    """The vectorizer back; a malformed state raises ValueError / KeyError / TypeError."""
    params = dict(state["params"])
    params["ngram_range"] = tuple(params["ngram_range"])
    vocabulary = {str(term): int(i) for term, i in state["vocabulary"].items()}
    idf = np.asarray(state["idf"], dtype=np.float64)
    if idf.shape != (len(vocabulary),) or sorted(vocabulary.values()) != list(range(len(idf))):
        raise ValueError("the vocabulary and idf do not match")
    vectorizer = TfidfVectorizer(**params, vocabulary=vocabulary, dtype=np.float32)
    vectorizer.idf_ = idf
    return vectorizer
