"""Train a challenger classifier and measure it against the baseline and the champion.

Every label with enough rows gets a head; each head trains on the training rows of its own
label and is measured on the validation rows (other dialogues, fixed by hash). The TF-IDF
baseline is trained on the same rows in the same run, so the card's comparison is like for
like. The champion, when there is one, is scored on the same validation rows too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from pipeline.classify import METHODS, HeadWeights, LabelModel, Method, method_named
from pipeline.models.encoder import Encoder
from pipeline.training.heads import choose_by_group_cv, fit_head, metrics_for, tfidf_vectorizer

MIN_POSITIVES = 5  # per split: fewer and a head is neither trained nor measured
MIN_RELIABLE = 20  # validation positives for a label's comparison to count
BASELINE = METHODS["tfidf"]  # what every challenger is compared with, on the same rows

Candidate = tuple[float, float]  # (dense weight, C)


@dataclass
class TrainResult:
    model: LabelModel
    card: dict
    skipped: dict[str, str]  # label → why no head


@dataclass
class TaskData:
    """One task's rows, split, and which labels have enough of them for a head."""

    samples: pd.DataFrame
    train: pd.DataFrame
    validation: pd.DataFrame
    labels: list[str]
    skipped: dict[str, str]


@dataclass
class FeatureTable:
    """Features of every distinct text, computed once; a head's rows pick theirs by text."""

    vectorizer: TfidfVectorizer
    row_of: dict[str, int]
    sparse: csr_matrix
    dense: np.ndarray | None = None  # divided by ``scale``
    scale: float = 1.0
    encode_seconds: float = 0.0

    def matrix(self, rows: pd.DataFrame, method: Method, weight: float = 1.0) -> Any:
        index = [self.row_of[t] for t in rows["text"]]
        if not method.uses_dense:
            return self.sparse[index]
        assert self.dense is not None
        if not method.uses_sparse:
            return self.dense[index]
        return hstack([self.sparse[index], csr_matrix(self.dense[index] * weight)]).tocsr()


@dataclass(frozen=True)
class HeadRecipe:
    """What every head of one run is trained with."""

    method: Method
    features: FeatureTable
    select: bool  # choose hyper-parameters by grouped CV; else each grid's first (default)


def trainable_labels(samples: pd.DataFrame) -> tuple[list[str], dict[str, str]]:
    keep, skipped = [], {}
    for label, rows in samples.groupby("label"):
        counts = rows.groupby("split")["value"].agg(["sum", "count"])
        train_pos = int(counts["sum"].get("train", 0))
        train_neg = int(counts["count"].get("train", 0)) - train_pos
        if train_pos < MIN_POSITIVES or train_neg < MIN_POSITIVES:
            skipped[str(label)] = f"{train_pos} positive / {train_neg} negative training rows"
        else:
            keep.append(str(label))
    return keep, skipped


def train_model(samples: pd.DataFrame, task: str, method: str, version: str,
                encoder: Encoder | None, sources: dict[str, dict] | None = None,
                champion: LabelModel | None = None, model_dir: Path | None = None,
                max_features: int = 100_000, select: bool = True) -> TrainResult:
    """One head per trainable label of ``task``, and the card that measures them.

    Features → per label: hyper-parameters by grouped CV, fit, validation metrics next to the
    TF-IDF baseline → the champion on the same validation rows → the card.
    """
    spec = _checked_method(method, encoder)
    started = time.perf_counter()
    data = task_data(samples, task)
    recipe = HeadRecipe(spec, build_features(data, spec, encoder, max_features), select)
    heads: dict[str, HeadWeights] = {}
    metrics: dict[str, dict] = {}
    for label in data.labels:
        heads[label], metrics[label] = train_head(recipe, data, label)
    model = _label_model(version, task, data.labels, heads, recipe, encoder)
    if champion is not None and model_dir is not None:
        _score_champion(champion, data.validation, metrics, model_dir)
    model.card = _card(model, data, recipe.features, metrics, sources, champion,
                       time.perf_counter() - started)
    return TrainResult(model, model.card, data.skipped)


def _checked_method(name: str, encoder: Encoder | None) -> Method:
    method = method_named(name)
    if method.uses_dense and encoder is None:
        raise ValueError(f"method {name!r} needs an encoder")
    return method


def task_data(samples: pd.DataFrame, task: str) -> TaskData:
    samples = samples[samples["task"] == task]
    labels, skipped = trainable_labels(samples)
    if not labels:
        raise ValueError(f"no label of task {task!r} has enough training rows")
    return TaskData(samples, samples[samples["split"] == "train"],
                    samples[samples["split"] == "validation"], labels, skipped)


def build_features(data: TaskData, method: Method, encoder: Encoder | None,
                   max_features: int) -> FeatureTable:
    # The vocabulary (and idf) come from training texts only; every text is transformed.
    vectorizer = tfidf_vectorizer(max_features).fit(data.train["text"].drop_duplicates())
    texts = list(dict.fromkeys(data.samples["text"]))
    table = FeatureTable(vectorizer, {t: i for i, t in enumerate(texts)},
                         vectorizer.transform(texts))
    if method.uses_dense:
        assert encoder is not None
        tick = time.perf_counter()
        dense = encoder.encode(texts)
        table.encode_seconds = time.perf_counter() - tick
        train_rows = [table.row_of[t] for t in data.train["text"].drop_duplicates()]
        # Unit mean norm; each hybrid head then weights the block against ~100k sparse n-grams
        # (its weight is folded into the head's dense coefficients, so inference needs none).
        table.scale = float(np.linalg.norm(dense[train_rows], axis=1).mean()) or 1.0
        table.dense = dense / table.scale
    return table


def choose_hyperparameters(recipe: HeadRecipe, method: Method, rows: pd.DataFrame,
                           y: np.ndarray) -> tuple[Candidate, float | None]:
    """(dense weight, C) for one head, by grouped CV on its training rows only."""
    candidates = [(w, c) for c in method.c_grid for w in method.dense_weights]
    if not recipe.select:
        return candidates[0], None
    return choose_by_group_cv(
        candidates, lambda cand, at: recipe.features.matrix(rows.iloc[at], method, cand[0]), y,
        rows["group"].astype(str).to_numpy(), c_of=lambda cand: cand[1])


def train_head(recipe: HeadRecipe, data: TaskData, label: str) -> tuple[HeadWeights, dict]:
    """One label's head and its card entry (chosen hyper-parameters, validation metrics)."""
    method = recipe.method
    tr = data.train[data.train["label"] == label]
    y = tr["value"].to_numpy()
    (weight, c), cv_auroc = choose_hyperparameters(recipe, method, tr, y)
    head = fit_head(recipe.features.matrix(tr, method, weight), y, c=c)
    entry: dict = {"train_rows": len(tr), "train_positives": int(y.sum()),
                   "chosen": {"c": c, "dense_weight": weight if method.weighs_dense else None,
                              "cv_auroc": cv_auroc}}
    va = data.validation[data.validation["label"] == label]
    entry.update(_validation_metrics(recipe, head, weight, tr, va))
    return _head_weights(head, method, weight, recipe.features.sparse.shape[1]), entry


def _validation_metrics(recipe: HeadRecipe, head: LogisticRegression, weight: float,
                        tr: pd.DataFrame, va: pd.DataFrame) -> dict:
    """The head and the TF-IDF baseline on the label's validation rows."""
    if not len(va) or va["value"].nunique() != 2:
        return {"note": "no validation rows with both classes"}
    yv = va["value"].to_numpy()
    p = head.predict_proba(recipe.features.matrix(va, recipe.method, weight))[:, 1]
    entry: dict = {"model": metrics_for(yv, p)}
    if recipe.method == BASELINE:
        entry["baseline"] = entry["model"]
    else:
        entry.update(_baseline(recipe, tr, va))
    entry["reliable"] = int(yv.sum()) >= MIN_RELIABLE
    return entry


def _baseline(recipe: HeadRecipe, tr: pd.DataFrame, va: pd.DataFrame) -> dict:
    """The TF-IDF baseline on the same rows, tuned the same way: the card's like for like."""
    y = tr["value"].to_numpy()
    (_, c), _ = choose_hyperparameters(recipe, BASELINE, tr, y)
    head = fit_head(recipe.features.matrix(tr, BASELINE), y, c=c)
    p = head.predict_proba(recipe.features.matrix(va, BASELINE))[:, 1]
    return {"baseline": metrics_for(va["value"].to_numpy(), p), "baseline_c": c}


def _head_weights(head: LogisticRegression, method: Method, weight: float, n_sparse: int
                  ) -> HeadWeights:
    """Split the fitted coefficients into blocks, folding the dense block's weight in."""
    coef = head.coef_[0]
    dense_from = n_sparse if method.uses_sparse else 0
    return HeadWeights(bias=float(head.intercept_[0]), threshold=0.5,
                       sparse=coef[:n_sparse] if method.uses_sparse else None,
                       dense=coef[dense_from:] * weight if method.uses_dense else None)


def _label_model(version: str, task: str, labels: list[str], heads: dict[str, HeadWeights],
                 recipe: HeadRecipe, encoder: Encoder | None) -> LabelModel:
    method, features = recipe.method, recipe.features
    model = LabelModel(version, task, method.name, labels, heads,
                       _encoder_spec(encoder, features.scale) if method.uses_dense else None,
                       features.vectorizer if method.uses_sparse else None)
    if encoder is not None and method.uses_dense:
        model.attach_encoder(encoder)  # the challenger is scored without loading it again
    return model


def _encoder_spec(encoder: Encoder | None, scale: float) -> dict:
    assert encoder is not None
    return {"base": encoder.base.name, "fingerprint": encoder.base.fingerprint,
            "layer": encoder.layer, "max_length": encoder.max_length, "scale": scale}


def _card(model: LabelModel, data: TaskData, features: FeatureTable, metrics: dict[str, dict],
          sources: dict[str, dict] | None, champion: LabelModel | None, seconds: float) -> dict:
    spec = model.encoder_spec
    return {
        "version": model.version, "task": model.task, "method": model.method,
        "base": spec and {k: spec[k] for k in ("base", "fingerprint", "layer", "max_length")},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(seconds, 1),
        "feature_seconds": round(features.encode_seconds, 1),
        "data": {"sources": sources or _source_summary(data.samples),
                 "rows": {"train": len(data.train), "validation": len(data.validation)},
                 "unique_texts": len(features.row_of)},
        "labels": model.labels, "skipped": data.skipped, "metrics": metrics,
        "champion": champion.version if champion is not None else None,
    }


def cap_texts(samples: pd.DataFrame, limit: int, rare_below: int = 500, seed: int = 3
              ) -> pd.DataFrame:
    """At most ``limit`` distinct texts: every positive of a rare label first, then at random.

    Keeps retraining inside its time budget (features cost ~40 ms a text on 2 cores) without
    losing the few positives that rare labels (threats, compensation demands) have.
    """
    texts = samples["text"].drop_duplicates()
    if len(texts) <= limit:
        return samples
    positives = samples[samples["value"] == 1]
    counts = positives.groupby("label").size()
    rare = positives[positives["label"].isin(counts[counts < rare_below].index)]
    keep = list(dict.fromkeys(rare["text"]))[:limit]
    rest = texts[~texts.isin(set(keep))].sample(frac=1.0, random_state=seed)
    keep += rest.head(max(0, limit - len(keep))).tolist()
    return samples[samples["text"].isin(set(keep))].reset_index(drop=True)


def _score_champion(champion: LabelModel, validation: pd.DataFrame, metrics: dict[str, dict],
                    model_dir: Path) -> None:
    shared = [label for label in champion.labels if label in metrics]
    rows = validation[validation["label"].isin(shared)]
    if rows.empty:
        return
    texts = list(dict.fromkeys(rows["text"]))
    probabilities = champion.predict(texts, model_dir)
    where = {t: i for i, t in enumerate(texts)}
    for label in shared:
        va = rows[rows["label"] == label]
        if va["value"].nunique() < 2:
            continue
        column = champion.labels.index(label)
        p = probabilities[[where[t] for t in va["text"]], column]
        metrics[label]["champion"] = metrics_for(va["value"].to_numpy(), p)


def _source_summary(samples: pd.DataFrame) -> dict[str, dict]:
    out = {}
    for source, rows in samples.groupby("source"):
        out[str(source)] = {"rows": len(rows), "texts": int(rows["text"].nunique()),
                            "labels": sorted(rows["label"].unique().tolist())}
    return out


def comparison_table(card: dict) -> pd.DataFrame:
    """Per label: validation AUROC / F1 of the challenger, the baseline and the champion."""
    rows = []
    for label, entry in card["metrics"].items():
        row = {"label": label, "val_n": entry.get("model", {}).get("n"),
               "val_pos": entry.get("model", {}).get("positives")}
        for who in ("model", "baseline", "champion"):
            m = entry.get(who)
            row[f"{who}_auroc"] = m["auroc"] if m else None
            row[f"{who}_f1"] = m["f1"] if m else None
        row["reliable"] = entry.get("reliable", False)
        rows.append(row)
    return pd.DataFrame(rows)
