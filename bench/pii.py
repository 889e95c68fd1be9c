"""PII redaction: recall and precision per kind on the generated set, linear-time check on
pathological inputs, and what gets redacted in real service-call text.

    python bench/pii.py [--seeds held-out|dev|all] [--cases 600] [--real-turns 2000]
                        [--out bench/results/pii.json]

Span level: a true span is recalled when a predicted span of the same kind covers it whole;
a predicted span is correct when it overlaps a true span of its kind (everything predicted in
a hard negative is a false positive). The figures are on ``HELD_OUT_SEEDS`` of
tests/pii_cases.py (``DEV_SEEDS`` were used while tuning). Timing: characters per second of
``redact`` on each 200,000-character input of ``pii_cases.adversarial``. Real text: turns
sampled from ../shared/data (STC-3 Chinese and English, MUSIED), every redacted span listed in
the JSON for reading by eye (no labels: real text may hold real numbers).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pii_cases  # noqa: E402

from pipeline.pii import KINDS, find_pii, redact  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
REAL_SOURCES = {
    "stc3_cn": SHARED / "stc3" / "dialogues_cn.jsonl",
    "stc3_en": SHARED / "stc3" / "dialogues_en.jsonl",
    "musied": SHARED / "musied" / "dev.json",
}


def score(cases: list[pii_cases.Case]) -> dict[str, object]:
    true, recalled, predicted, correct = Counter(), Counter(), Counter(), Counter()
    misses, false_positives = [], []
    for case in cases:
        spans = find_pii(case.text)
        for kind, a, b in case.spans:
            true[kind] += 1
            if any(s.kind == kind and s.start <= a and s.end >= b for s in spans):
                recalled[kind] += 1
            else:
                misses.append({"form": case.form, "text": case.text, "want": case.text[a:b],
                               "got": [[s.kind, case.text[s.start:s.end]] for s in spans]})
        for s in spans:
            predicted[s.kind] += 1
            if any(k == s.kind and a < s.end and s.start < b for k, a, b in case.spans):
                correct[s.kind] += 1
            else:
                false_positives.append({"form": case.form, "text": case.text, "kind": s.kind,
                                        "span": case.text[s.start:s.end]})
    per_kind = {k: _rates(true[k], recalled[k], predicted[k], correct[k]) for k in KINDS}
    overall = _rates(sum(true.values()), sum(recalled.values()), sum(predicted.values()),
                     sum(correct.values()))
    negatives = sum(case.form.startswith("NEG/") for case in cases)
    return {"cases": len(cases), "hard_negatives": negatives, "per_kind": per_kind,
            "overall": overall, "misses": misses, "false_positives": false_positives}


def _rates(true: int, recalled: int, predicted: int, correct: int) -> dict[str, float | int]:
    return {"true": true, "recalled": recalled, "predicted": predicted, "correct": correct,
            "recall": recalled / true if true else 1.0,
            "precision": correct / predicted if predicted else 1.0}


def timing() -> dict[str, dict[str, float]]:
    out = {}
    for name, text in pii_cases.adversarial().items():
        start = time.perf_counter()
        _, spans = redact(text)
        seconds = time.perf_counter() - start
        out[name] = {"chars": len(text), "seconds": round(seconds, 4),
                     "chars_per_s": round(len(text) / seconds), "spans": len(spans)}
    return out


def real_turns(n: int, seed: int = 0) -> dict[str, list[str]]:
    """Up to ``n`` turns sampled from each source that is present."""
    rng = random.Random(seed)
    out = {}
    for name, path in REAL_SOURCES.items():
        if not path.exists():
            print(f"  {name}: {path} not found, skipped")
            continue
        if path.suffix == ".jsonl":
            turns = [u for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
                     for turn in json.loads(line)["turns"] for u in turn["utterances"]]
        else:  # MUSIED: documents of "客服:…" / "用户:…" lines
            turns = [line.split(":", 1)[-1] for doc in json.loads(path.read_text("utf-8"))
                     for line in doc["content"]]
        out[name] = rng.sample(turns, min(n, len(turns)))
    return out


def real_text(n: int) -> dict[str, object]:
    report: dict[str, object] = {}
    for name, turns in real_turns(n).items():
        spans = [(kind, text[s.start:s.end], text) for text in turns
                 for s in find_pii(text) for kind in [s.kind]]
        report[name] = {"turns": len(turns), "chars": sum(map(len, turns)),
                        "redacted": dict(Counter(k for k, _, _ in spans)),
                        "spans": [{"kind": k, "span": v, "turn": t[:160]} for k, v, t in spans]}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", choices=["held-out", "dev", "all"], default="held-out")
    parser.add_argument("--cases", type=int, default=600, help="cases per seed")
    parser.add_argument("--real-turns", type=int, default=2000, help="turns per real source")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pii.json")
    args = parser.parse_args()

    seeds = {"held-out": pii_cases.HELD_OUT_SEEDS, "dev": pii_cases.DEV_SEEDS,
             "all": pii_cases.DEV_SEEDS + pii_cases.HELD_OUT_SEEDS}[args.seeds]
    cases = [c for seed in seeds for c in pii_cases.cases(seed, args.cases)]
    result = score(cases)
    print(f"generated set: {len(cases)} cases (seeds {list(seeds)}), "
          f"{result['hard_negatives']} hard negatives")
    print(f"{'kind':8} {'true':>6} {'recall':>8} {'predicted':>10} {'precision':>10}")
    for kind, r in [*result["per_kind"].items(), ("overall", result["overall"])]:
        print(f"{kind:8} {r['true']:>6} {r['recall']:>8.4f} {r['predicted']:>10} "
              f"{r['precision']:>10.4f}")
    for miss in result["misses"][:20]:
        print("  miss:", miss)
    for fp in result["false_positives"][:20]:
        print("  false positive:", fp)

    print("adversarial inputs (redact, 200,000 characters each):")
    result["timing"] = timing()
    for name, t in result["timing"].items():
        print(f"  {name:20} {t['seconds']:7.3f} s  {t['chars_per_s']:>12,} chars/s")

    print("real text:")
    result["real_text"] = real_text(args.real_turns)
    for name, r in result["real_text"].items():
        print(f"  {name}: {r['turns']} turns, redacted {r['redacted']}")
        for span in r["spans"][:40]:
            print(f"    {span['kind']:8} {span['span']!r:40} | {span['turn'][:70]!r}")

    result["seeds"] = list(seeds)
    result["generated_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
