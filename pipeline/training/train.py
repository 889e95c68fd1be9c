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

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix, hstack

from pipeline.classify import METHODS, HeadWeights, LabelModel
from pipeline.models.encoder import Encoder
from pipeline.training.heads import choose_by_group_cv, fit_head, metrics_for, tfidf_vectorizer

MIN_POSITIVES = 5  # per split: fewer and a head is neither trained nor measured
MIN_RELIABLE = 20  # validation positives for a label's comparison to count
C_GRID = (4.0, 1.0, 16.0)  # logistic-regression C; the first is the default
FROZEN_C_GRID = (0.5, 0.125, 2.0)  # dense features alone want stronger regularisation
DENSE_WEIGHTS = (1.5, 0.75, 3.0)  # hybrid: the dense block's weight next to the n-grams


@dataclass
class TrainResult:
    model: LabelModel
    card: dict
    skipped: dict[str, str]  # label → why no head


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
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if method != "tfidf" and encoder is None:
        raise ValueError(f"method {method!r} needs an encoder")
    started = time.perf_counter()
    samples = samples[samples["task"] == task]
    labels, skipped = trainable_labels(samples)
    if not labels:
        raise ValueError(f"no label of task {task!r} has enough training rows")
    train = samples[samples["split"] == "train"]
    validation = samples[samples["split"] == "validation"]

    vectorizer = tfidf_vectorizer(max_features).fit(train["text"].drop_duplicates())
    texts = list(dict.fromkeys(samples["text"]))
    row_of = {t: i for i, t in enumerate(texts)}
    sparse_all = vectorizer.transform(texts)
    feature_seconds = 0.0
    dense_all, scale = None, 1.0
    if method != "tfidf":
        assert encoder is not None
        tick = time.perf_counter()
        dense_all = encoder.encode(texts)
        feature_seconds = time.perf_counter() - tick
        train_rows = [row_of[t] for t in train["text"].drop_duplicates()]
        # Unit mean norm; each hybrid head then weights the block against ~100k sparse n-grams
        # (its weight is folded into the head's dense coefficients, so inference needs none).
        scale = float(np.linalg.norm(dense_all[train_rows], axis=1).mean()) or 1.0
        dense_all = dense_all / scale

    def features(rows: pd.DataFrame, kind: str, weight: float = 1.0) -> object:
        index = [row_of[t] for t in rows["text"]]
        if kind == "tfidf":
            return sparse_all[index]
        if kind == "frozen":
            return dense_all[index]
        return hstack([sparse_all[index], csr_matrix(dense_all[index] * weight)]).tocsr()

    def choose(kind: str, tr: pd.DataFrame, y: np.ndarray
               ) -> tuple[tuple[float, float], float | None]:
        """(dense weight, C) for one head, by grouped CV on its training rows only."""
        weights = DENSE_WEIGHTS if kind == "hybrid" else (1.0,)
        grid = FROZEN_C_GRID if kind == "frozen" else C_GRID
        candidates = [(w, c) for c in grid for w in weights]
        if not select:
            return candidates[0], None
        return choose_by_group_cv(
            candidates, lambda cand, at: features(tr.iloc[at], kind, cand[0]), y,
            tr["group"].astype(str).to_numpy(), c_of=lambda cand: cand[1])

    heads: dict[str, HeadWeights] = {}
    metrics: dict[str, dict] = {}
    n_sparse = sparse_all.shape[1]
    for label in labels:
        tr = train[train["label"] == label]
        va = validation[validation["label"] == label]
        y = tr["value"].to_numpy()
        (weight, c), cv_auroc = choose(method, tr, y)
        head = fit_head(features(tr, method, weight), y, c=c)
        coef = head.coef_[0]
        heads[label] = HeadWeights(
            bias=float(head.intercept_[0]), threshold=0.5,
            sparse=coef[:n_sparse] if method != "frozen" else None,
            dense=(coef if method == "frozen" else coef[n_sparse:] * weight)
            if method != "tfidf" else None,
        )
        entry: dict = {"train_rows": len(tr), "train_positives": int(y.sum()),
                       "chosen": {"c": c, "dense_weight": weight if method == "hybrid" else None,
                                  "cv_auroc": cv_auroc}}
        if len(va) and va["value"].nunique() == 2:
            yv = va["value"].to_numpy()
            p = head.predict_proba(features(va, method, weight))[:, 1]
            entry["model"] = metrics_for(yv, p)
            if method != "tfidf":
                (_, baseline_c), _ = choose("tfidf", tr, y)
                baseline = fit_head(features(tr, "tfidf"), y, c=baseline_c)
                entry["baseline"] = metrics_for(
                    yv, baseline.predict_proba(features(va, "tfidf"))[:, 1])
                entry["baseline_c"] = baseline_c
            else:
                entry["baseline"] = entry["model"]
            entry["reliable"] = int(yv.sum()) >= MIN_RELIABLE
        else:
            entry["note"] = "no validation rows with both classes"
        metrics[label] = entry

    encoder_spec = None
    if encoder is not None and method != "tfidf":
        encoder_spec = {"base": encoder.base.name, "fingerprint": encoder.base.fingerprint,
                        "layer": encoder.layer, "max_length": encoder.max_length,
                        "scale": scale}
    model = LabelModel(version, task, method, labels, heads, encoder_spec,
                       vectorizer if method != "frozen" else None)
    if encoder is not None and method != "tfidf":
        model.attach_encoder(encoder)
    if champion is not None and model_dir is not None:
        _score_champion(champion, validation, metrics, model_dir)
    elapsed = time.perf_counter() - started
    card = {
        "version": version, "task": task, "method": method,
        "base": encoder_spec and {k: encoder_spec[k] for k in ("base", "fingerprint", "layer",
                                                               "max_length")},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(elapsed, 1),
        "feature_seconds": round(feature_seconds, 1),
        "data": {"sources": sources or _source_summary(samples),
                 "rows": {"train": len(train), "validation": len(validation)},
                 "unique_texts": len(texts)},
        "labels": labels, "skipped": skipped, "metrics": metrics,
        "champion": champion.version if champion is not None else None,
    }
    model.card = card
    return TrainResult(model, card, skipped)


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
