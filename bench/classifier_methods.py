"""Which training method for the utterance classifiers? Measured, not assumed.

On a fixed subsample of the utterance samples (``pipeline.training.datasets``; train and validation
are different dialogues), compares per label:
  tfidf       char 1-3-gram TF-IDF + logistic regression (the baseline)
  frozen-L{k} Gemma-3 270M mean-pooled layer-k features + logistic regression
  hybrid-L{k} both feature sets in one logistic regression (dense block weighted x1 and x3)
  late-L{k}   mean of the tfidf and frozen heads' logits (late fusion)
and records AUROC / average precision and the CPU cost of feature extraction.
Pooling variants: ``bench/classifier_pooling.py``. LoRA was not run (no GPU; see
models/classifiers.md).

    python bench/classifier_methods.py [--per-label 800] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scipy.sparse import csr_matrix, hstack  # noqa: E402

from pipeline.config import get_settings  # noqa: E402
from pipeline.models.base import resolve_base  # noqa: E402
from pipeline.training.datasets import build_all  # noqa: E402
from pipeline.training.heads import fit_head, metrics_for, tfidf_vectorizer  # noqa: E402

LAYERS = (6, 9, 12, 15, 18)
FUSION_LAYERS = (12, 15, 18)


def subsample(samples: pd.DataFrame, per_label: int) -> pd.DataFrame:
    parts = []
    for (_label, split), rows in samples.groupby(["label", "split"]):
        cap = per_label if split == "train" else per_label // 2
        pos, neg = rows[rows.value == 1], rows[rows.value == 0]
        take_pos = min(len(pos), max(cap // 2, cap - len(neg)))
        take_neg = min(len(neg), cap - take_pos)
        parts += [pos.sample(take_pos, random_state=1), neg.sample(take_neg, random_state=1)]
    return pd.concat(parts, ignore_index=True)


def bench_args(name: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-label", type=int, default=800)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / f"bench/results/{name}.json")
    return parser.parse_args()


def bench_samples(args: argparse.Namespace) -> tuple[pd.DataFrame, list[str]]:
    """The fixed subsample of labels with 20+ positives, and its distinct texts in order."""
    samples = subsample(build_all(args.data, task="utterance"), args.per_label)
    samples = samples[samples.groupby("label").value.transform("sum") >= 20]
    texts = sorted(set(samples.text))
    print(f"{len(samples)} rows, {len(texts)} unique texts", flush=True)
    return samples, texts


def label_splits(samples: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """Each label's training and validation rows, where both have 5+ positives."""
    for label, rows in samples.groupby("label"):
        train, val = rows[rows.split == "train"], rows[rows.split == "validation"]
        if val.value.sum() >= 5 and train.value.sum() >= 5:
            yield str(label), train, val


def hybrid(sparse: Any, dense: np.ndarray, weight: float, scale: float) -> Any:
    """TF-IDF and transformer features side by side, the dense block at unit mean norm × weight."""
    return hstack([sparse, csr_matrix(weight * dense / scale)]).tocsr()


def split_counts(train: pd.DataFrame, val: pd.DataFrame) -> dict[str, int]:
    return {"train": len(train), "validation": len(val),
            "validation_positives": int(val.value.sum())}


def write_report(args: argparse.Namespace, texts: list[str], seconds: float,
                 results: dict[str, dict]) -> None:
    report = {"texts": len(texts), "feature_texts_per_s": round(len(texts) / seconds, 2),
              "threads": 2, "max_length": 64, "per_label": args.per_label, "labels": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def truncated_model(base_dir: Path, layers: int) -> tuple[Any, Any]:
    """Gemma's tokenizer and its first ``layers`` layers, on 2 threads."""
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModel.from_pretrained(base_dir, dtype=torch.float32).eval()
    model.layers = model.layers[:layers]
    model.config.num_hidden_layers = layers
    model.config.layer_types = model.config.layer_types[:layers]
    return tok, model


def layer_features(texts: list[str], base_dir: Path, layers: tuple[int, ...]
                   ) -> tuple[dict[int, np.ndarray], float]:
    tok, model = truncated_model(base_dir, max(layers))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = {k: np.zeros((len(texts), model.config.hidden_size), np.float32) for k in layers}
    start = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(order), 32):
            idx = order[b: b + 32]
            batch = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=64,
                        return_tensors="pt")
            hidden = model(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].clone()
            mask[batch["input_ids"] == tok.bos_token_id] = 0
            mask = mask.unsqueeze(-1).float()
            for k in layers:
                pooled = (hidden[k] * mask).sum(1) / mask.sum(1).clamp(min=1)
                out[k][idx] = pooled.numpy()
    return out, time.perf_counter() - start


def main() -> None:
    args = bench_args("classifier_methods")
    samples, texts = bench_samples(args)
    base = resolve_base("gemma3-270m", get_settings().model_dir)
    cached = Path("/tmp/callqa-bench-features.npz")
    if cached.is_file() and list(np.load(cached)["texts"]) == texts:
        data = np.load(cached)
        feats, seconds = {k: data[f"L{k}"] for k in LAYERS}, float(data["seconds"])
    else:
        feats, seconds = layer_features(texts, base.path, LAYERS)
        np.savez(cached, texts=np.array(texts), seconds=seconds,
                 **{f"L{k}": v for k, v in feats.items()})
    print(f"features: {len(texts) / seconds:.1f} texts/s ({seconds:.0f} s)", flush=True)
    where = {t: i for i, t in enumerate(texts)}
    results: dict[str, dict] = {}
    for label, train, val in label_splits(samples):
        row: dict[str, dict] = {}
        vec = tfidf_vectorizer().fit(train.text)
        xt, xv = vec.transform(train.text), vec.transform(val.text)
        yt, yv = train.value.to_numpy(), val.value.to_numpy()
        head = fit_head(xt, yt)
        row["tfidf"] = metrics_for(yv, head.predict_proba(xv)[:, 1])
        tfidf_logit = head.decision_function(xv)
        for k in LAYERS:
            ft = feats[k][[where[t] for t in train.text]]
            fv = feats[k][[where[t] for t in val.text]]
            frozen = fit_head(ft, yt, dense=True)
            row[f"frozen-L{k}"] = metrics_for(yv, frozen.predict_proba(fv)[:, 1])
            if k not in FUSION_LAYERS:
                continue
            scale = np.linalg.norm(ft, axis=1).mean()
            for weight in (1, 3):
                head = fit_head(hybrid(xt, ft, weight, scale), yt)
                row[f"hybrid{weight}-L{k}"] = metrics_for(
                    yv, head.predict_proba(hybrid(xv, fv, weight, scale))[:, 1])
            late = (tfidf_logit + frozen.decision_function(fv)) / 2
            row[f"late-L{k}"] = metrics_for(yv, 1 / (1 + np.exp(-late)))
        row["n"] = split_counts(train, val)
        results[label] = row
        print(label, {m: v["auroc"] for m, v in row.items() if m != "n"}, flush=True)
    write_report(args, texts, seconds, results)


if __name__ == "__main__":
    main()
