"""How often two people labelling the same real dialogues agree: the ceiling for the scorecard.

The evaluation set (bench/labelled_dialogues.py) was labelled twice, independently, with the same
guide (bench/labels/agreement/GUIDE.md): the first labels in ``bench/labels/agreement/*.jsonl``,
the second, blind to the first and to the system, in ``bench/labels/agreement/second/``. Per item
and per call outcome this reports the two labellers' agreement and Cohen's kappa, counted the way
bench/agreement.py counts the scorecard against a labeller (both ``na`` is not counted), so the
figures compare directly with the per-item goal of 90 %.

Needs no models or data, only the two label sets.

    python bench/labeller_agreement.py [--half test|tune|all] [--out FILE] [--disputes DIR]

``--disputes DIR`` also writes, per first labeller's batch, the dialogues the two disagree on
with both answers as X / Y, for the third reader whose decisions go to ``adjudicated/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from agreement import _agreement, with_derived_items  # noqa: E402
from labelled_dialogues import (  # noqa: E402
    DATA,
    ITEMS,
    LABELS_DIR,
    OUTCOME_VALUES,
    evaluation_set,
    load_labels,
)

SECOND_DIR = LABELS_DIR / "second"
ITEMS_AND_DERIVED = (*ITEMS, "problem-resolved")
MEDIUM_OR_HIGH = {"medium", "high"}


def compare(first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]],
            half: str = "all") -> dict[str, Any]:
    """Agreement of ``second`` with ``first`` on the keys both labelled (in ``half``)."""
    keys = sorted(k for k in first.keys() & second.keys()
                  if half == "all" or first[k]["half"] == half)
    for key in keys:
        if first[key]["half"] != second[key]["half"]:
            raise ValueError(f"{key}: half {first[key]['half']} vs {second[key]['half']}")
    a = {k: with_derived_items(first[k]) for k in keys}
    b = {k: with_derived_items(second[k]) for k in keys}
    items = {item: _agreement([(a[k]["items"][item], b[k]["items"][item]) for k in keys])
             for item in ITEMS_AND_DERIVED}
    every = _agreement([(a[k]["items"][i], b[k]["items"][i]) for k in keys for i in ITEMS])

    def outcome(name: str, value=lambda o, n: str(o[n])) -> dict[str, Any]:
        return _agreement([(value(a[k]["outcome"], name), value(b[k]["outcome"], name))
                           for k in keys])

    both_complaints = [k for k in keys
                       if a[k]["outcome"]["complaint"] and b[k]["outcome"]["complaint"]]
    return {
        "dialogues": len(keys), "half": half, "items": items, "all_items": every,
        "complaint": outcome("complaint"),
        "category_on_complaints": _agreement([(a[k]["outcome"]["category"],
                                               b[k]["outcome"]["category"])
                                              for k in both_complaints]),
        "resolution": outcome("resolution"),
        "dissatisfied": outcome("dissatisfied"),
        "risk": outcome("risk"),
        "risk_medium_or_high": outcome(
            "risk", lambda o, n: "yes" if o[n] in MEDIUM_OR_HIGH else "no"),
    }


def disputes(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """The fields ("items.<item>" / "outcome.<name>") the two records label differently."""
    out = [f"items.{i}" for i in ITEMS if first["items"][i] != second["items"][i]]
    return out + [f"outcome.{o}" for o in OUTCOME_VALUES
                  if first["outcome"][o] != second["outcome"][o]]


def _dump_disputes(first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]],
                   out: Path) -> None:
    """For a third reader: each dialogue the two labellers disagree on, its text and, per
    disputed field, both answers with their reasons as "X" and "Y" (which is the first
    labeller is decided by a hash, so the order tells the reader nothing)."""
    out.mkdir(parents=True, exist_ok=True)
    batches: dict[str, list[str]] = {}
    for d in evaluation_set(DATA):
        if d.key not in first or d.key not in second:
            continue
        fields = disputes(first[d.key], second[d.key])
        if not fields:
            continue
        pair = (first[d.key], second[d.key])
        if int(hashlib.sha1(d.key.encode()).hexdigest()[:2], 16) % 2:
            pair = pair[::-1]
        lines = [f"=== {d.key}  (half: {d.half}; {d.language}, {d.medium})"]
        lines += [f"[{n}] {'AGENT' if who == 'agent' else 'CUSTOMER'}: {text}"
                  for n, (who, text) in enumerate(d.turns, 1)]
        lines.append("DISPUTED:")
        for field in fields:
            part, name = field.split(".")
            answers = []
            for tag, record in zip("XY", pair, strict=True):
                why = record.get("why", {}).get(name, "")
                answers.append(f"{tag}={record[part][name]}" + (f" ({why})" if why else ""))
            lines.append(f"  {field}: " + "; ".join(answers))
        batches.setdefault(first[d.key]["labeller"], []).append("\n".join(lines) + "\n")
    for name, blocks in batches.items():
        (out / f"{name}.txt").write_text("\n".join(blocks), encoding="utf-8")
        print(f"{name}: {len(blocks)} dialogues in dispute")


def _print(report: dict[str, Any]) -> None:
    print(f"{report['dialogues']} dialogues labelled twice ({report['half']})")
    print(f"{'item':26} {'appl':>5} {'agree':>6} {'kappa':>6}  disagreements (first->second)")
    rows = {**report["items"], "ALL 9 ITEMS": report["all_items"],
            **{k: report[k] for k in ("complaint", "category_on_complaints", "resolution",
                                       "dissatisfied", "risk", "risk_medium_or_high")}}
    for name, r in rows.items():
        kappa = r["kappa"] if r["kappa"] is not None else float("nan")
        print(f"{name:26} {r['applicable']:5d} {r['agreement'] or 0:6.3f} {kappa:6.3f}  "
              f"{r['disagreements']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("test", "tune", "all"), default="all")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench/results/labeller_agreement.json")
    parser.add_argument("--disputes", type=Path, default=None,
                        help="also write the dialogues in dispute here, for adjudication")
    args = parser.parse_args()
    second = load_labels(SECOND_DIR)
    if not second:
        sys.exit(f"skipped: no second labels in {SECOND_DIR}")
    first = load_labels()
    if args.disputes is not None:
        _dump_disputes(first, second, args.disputes)
    report = {half: compare(first, second, half) for half in ("tune", "test", "all")}
    _print(report[args.half])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")


if __name__ == "__main__":
    main()
