"""Calibrate the malicious-complaint risk levels on labelled dialogues.

Labelled set: the *validation* dialogues of STC-3 and MUSIED (never used to train the
classifiers). A dialogue is a positive when a customer turn carries a threat to escalate or a
compensation demand by the written weak-label rules (pipeline/training/weak_rules.py, hand-checked
precision 0.87 / 0.83 — see models/README.md). The risk (pipeline/risk.py: its own rules plus
the champion classifier's signals) is scored for each dialogue; we pick

  medium_at  the score threshold with the best F1
  high_at    the lowest threshold whose precision is at least 0.9 (else the best-precision one)

and report precision / recall at each level. The labels come from rules that overlap with
risk.py's, so the figures are an upper bound on what a human-labelled set would show.

    python bench/risk_calibration.py [--out bench/results/risk_calibration.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import get_settings  # noqa: E402
from pipeline.conversation import turns_from_document  # noqa: E402
from pipeline.models.registry import load_classifier  # noqa: E402
from pipeline.risk import assess  # noqa: E402
from pipeline.training.datasets import _MUSIED_SPEAKER, split_of, stc3_dialogues  # noqa: E402
from pipeline.training.weak_rules import label_text  # noqa: E402


def dialogues(data: Path) -> list[tuple[str, list[dict]]]:
    out = []
    for d in stc3_dialogues(data / "stc3" / "dialogues_cn.jsonl"):
        group = f"stc3:{d['id']}"
        if split_of(group) == "validation":
            out.append((group, [{"speaker": "customer" if t["sender"] == "customer" else "agent",
                                 "text": " ".join(t["utterances"])} for t in d["turns"]]))
    for doc in json.loads((data / "musied" / "dev.json").read_text(encoding="utf-8")):
        group = f"musied:{doc['id']}"
        if split_of(group) != "validation" or doc["domain"] == "User Reviews":
            continue
        turns = [{"speaker": "agent" if s.startswith("客服") else "customer",
                  "text": _MUSIED_SPEAKER.sub("", s).strip(" ,，")} for s in doc["content"]]
        out.append((group, [t for t in turns if t["text"]]))
    return out


def level_stats(y: np.ndarray, scores: np.ndarray, at: float) -> dict[str, float]:
    flagged = scores >= at
    tp = int((flagged & (y == 1)).sum())
    return {"threshold": round(float(at), 3), "flagged": int(flagged.sum()),
            "precision": round(tp / max(1, flagged.sum()), 3),
            "recall": round(tp / max(1, (y == 1).sum()), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/risk_calibration.json")
    args = parser.parse_args()
    classifier = load_classifier(get_settings())
    rows = []
    for group, turns in dialogues(args.data):
        label = int(any(any(label_text(t["text"]).values())
                        for t in turns if t["speaker"] == "customer"))
        frame = turns_from_document({"call_id": group, "turns": turns})
        labels = classifier.label_frame(frame) if classifier is not None else None
        rules_only = assess(frame).score
        risk = assess(frame, labels=labels)
        rows.append({"group": group, "label": label, "score": risk.score,
                     "rules_only": rules_only})
    table = pd.DataFrame(rows)
    y = table["label"].to_numpy()
    report: dict = {"dialogues": len(table), "positives": int(y.sum()),
                    "classifier": classifier.version if classifier else None}
    for column in ("score", "rules_only"):
        scores = table[column].to_numpy()
        candidates = sorted(set(np.round(scores, 3)) - {0.0})
        stats = [level_stats(y, scores, c) for c in candidates]
        f1 = [2 * s["precision"] * s["recall"] / max(1e-9, s["precision"] + s["recall"])
              for s in stats]
        medium = stats[int(np.argmax(f1))]
        precise = [s for s in stats if s["precision"] >= 0.9 and s["threshold"] > medium[
            "threshold"]]
        high = precise[0] if precise else max(stats, key=lambda s: (s["precision"],
                                                                      s["threshold"]))
        report[column] = {"medium": medium, "high": high}
        print(column, "medium", medium, "high", high, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
