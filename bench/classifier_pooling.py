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

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from classifier_methods import subsample  # noqa: E402
from scipy.sparse import csr_matrix, hstack  # noqa: E402

from pipeline.base_models import resolve_base  # noqa: E402
from pipeline.config import get_settings  # noqa: E402
from pipeline.datasets import build_all  # noqa: E402
from pipeline.heads import fit_head, metrics_for, tfidf_vectorizer  # noqa: E402

LAYERS = (9, 12)
POOLINGS = ("mean", "wmean", "last", "mean+last")


def pooled_features(texts: list[str], base_dir: Path) -> tuple[dict[str, np.ndarray], float]:
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModel.from_pretrained(base_dir, dtype=torch.float32).eval()
    model.layers = model.layers[: max(LAYERS)]
    model.config.num_hidden_layers = max(LAYERS)
    model.config.layer_types = model.config.layer_types[: max(LAYERS)]
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-label", type=int, default=800)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/classifier_pooling.json")
    args = parser.parse_args()
    samples = subsample(build_all(args.data, task="utterance"), args.per_label)
    samples = samples[samples.groupby("label").value.transform("sum") >= 20]
    texts = sorted(set(samples.text))
    print(f"{len(samples)} rows, {len(texts)} unique texts", flush=True)
    base = resolve_base("gemma3-270m", get_settings().model_dir)
    feats, seconds = pooled_features(texts, base.path)
    print(f"features: {len(texts) / seconds:.1f} texts/s ({seconds:.0f} s)", flush=True)
    where = {t: i for i, t in enumerate(texts)}
    results: dict[str, dict] = {}
    for label, rows in samples.groupby("label"):
        train, val = rows[rows.split == "train"], rows[rows.split == "validation"]
        if val.value.sum() < 5 or train.value.sum() < 5:
            continue
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
                ht = hstack([xt, csr_matrix(weight * ft / scale)]).tocsr()
                hv = hstack([xv, csr_matrix(weight * fv / scale)]).tocsr()
                row[f"hybrid{weight}-{name}"] = metrics_for(
                    yv, fit_head(ht, yt).predict_proba(hv)[:, 1])
        row["n"] = {"train": len(train), "validation": len(val),
                    "validation_positives": int(yv.sum())}
        results[str(label)] = row
        print(label, {m: v["auroc"] for m, v in row.items() if m != "n"}, flush=True)
    report = {"texts": len(texts), "feature_texts_per_s": round(len(texts) / seconds, 2),
              "threads": 2, "max_length": 64, "per_label": args.per_label, "labels": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
