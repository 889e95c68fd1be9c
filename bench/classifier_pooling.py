"""Does a better pooling of Gemma's hidden states close the gap to TF-IDF? Measured.

Mean pooling treats every token alike, but a causal model's early tokens have not seen the
rest of the sentence. On the same subsample as ``classifier_methods.py`` (validation rows from
other dialogues), this compares at layers 9 and 12, from one forward pass:
  mean       mean of the token states, BOS left out (what the encoder ships)
  wmean      position-weighted mean (weight ∝ position, as in SGPT): later tokens count more
  last       the last token's state (it has attended to the whole utterance)
  mean+last  both, concatenated
each as frozen features + logistic regression and in the hybrid (TF-IDF + features ×1.5, ×3),
against the char 1-3-gram TF-IDF baseline.

    python bench/classifier_pooling.py [--per-label 800] [--out FILE.json]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from classifier_methods import (  # noqa: E402
    bench_args,
    bench_samples,
    hybrid,
    label_splits,
    split_counts,
    truncated_model,
    write_report,
)

from pipeline.config import get_settings  # noqa: E402
from pipeline.models.base import resolve_base  # noqa: E402
from pipeline.training.heads import fit_head, metrics_for, tfidf_vectorizer  # noqa: E402

LAYERS = (9, 12)
POOLINGS = ("mean", "wmean", "last", "mean+last")


def pooled_features(texts: list[str], base_dir: Path) -> tuple[dict[str, np.ndarray], float]:
    tok, model = truncated_model(base_dir, max(LAYERS))
    width = model.config.hidden_size
    out = {f"{p}-L{k}": np.zeros((len(texts), 2 * width if p == "mean+last" else width),
                                 np.float32) for p in POOLINGS for k in LAYERS}
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    start = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(order), 32):
            idx = order[b: b + 32]
            batch = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=64,
                        return_tensors="pt")  # Gemma pads on the left: the last token is real
            hidden = model(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].clone()
            mask[batch["input_ids"] == tok.bos_token_id] = 0
            mask = mask.float()
            position = mask.cumsum(1) * mask  # 1, 2, … over the real tokens
            for k in LAYERS:
                states = hidden[k]
                mean = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
                wmean = ((states * position[..., None]).sum(1)
                         / position.sum(1, keepdim=True).clamp(min=1))
                last = states[:, -1]
                for name, value in (("mean", mean), ("wmean", wmean), ("last", last),
                                    ("mean+last", torch.cat([mean, last], 1))):
                    out[f"{name}-L{k}"][idx] = value.numpy()
    return out, time.perf_counter() - start


def main() -> None:
    args = bench_args("classifier_pooling")
    samples, texts = bench_samples(args)
    base = resolve_base("gemma3-270m", get_settings().model_dir)
    feats, seconds = pooled_features(texts, base.path)
    print(f"features: {len(texts) / seconds:.1f} texts/s ({seconds:.0f} s)", flush=True)
    where = {t: i for i, t in enumerate(texts)}
    results: dict[str, dict] = {}
    for label, train, val in label_splits(samples):
        yt, yv = train.value.to_numpy(), val.value.to_numpy()
        vec = tfidf_vectorizer().fit(train.text)
        xt, xv = vec.transform(train.text), vec.transform(val.text)
        row: dict[str, dict] = {"tfidf": metrics_for(yv, fit_head(xt, yt).predict_proba(xv)[:, 1])}
        for name, matrix in feats.items():
            ft, fv = matrix[[where[t] for t in train.text]], matrix[[where[t] for t in val.text]]
            row[f"frozen-{name}"] = metrics_for(
                yv, fit_head(ft, yt, dense=True).predict_proba(fv)[:, 1])
            scale = np.linalg.norm(ft, axis=1).mean()
            for weight in (1.5, 3):
                head = fit_head(hybrid(xt, ft, weight, scale), yt)
                row[f"hybrid{weight}-{name}"] = metrics_for(
                    yv, head.predict_proba(hybrid(xv, fv, weight, scale))[:, 1])
        row["n"] = split_counts(train, val)
        results[label] = row
        print(label, {m: v["auroc"] for m, v in row.items() if m != "n"}, flush=True)
    write_report(args, texts, seconds, results)


if __name__ == "__main__":
    main()
