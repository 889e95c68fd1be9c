"""Agreement of the scorecard with a QA supervisor on real dialogues (the hand-labelled set).

For every labelled dialogue (bench/labelled_dialogues.py: real STC-3, MUSIED and MobileCS
dialogues from the validation split, labels in bench/labels/agreement/) the call is scored the
way the nightly run scores a chat log — bundled classifier, default rubric of its language —
and compared with the labels:

- per item: agreement (over dialogues where the supervisor or the scorecard says the item
  applies: both ``na`` is not counted as agreement) and Cohen's kappa over pass/fail/na;
- QA score vs STC-3 crowd satisfaction (mean of 19 annotators' S): Spearman on the labelled
  STC-3 dialogues of the half, and on every STC-3 validation dialogue of the half (no hand
  labels needed there, so n is larger);
- call outcomes: complaint, category (macro-F1 over the six, per-category precision and
  recall; with the category set of bench/labels/category added), resolution, dissatisfaction
  (AUROC of the call's probability), risk medium-or-high precision and recall.

Goals are on the ``test`` half; tune on ``tune``. The labels are the first labeller's with
every field a second, blind labeller answered differently decided by a third reader
(``--labels adjudicated``, the default; ``bench/labeller_agreement.py`` measures how far the
two labellers agree), or the first labeller's alone (``--labels first``).

    python bench/agreement.py [--half test|tune|all] [--labels adjudicated|first]
                              [--rubric-dir DIR] [--out FILE] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score, f1_score, roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from category_dialogues import load_category_labels  # noqa: E402
from labelled_dialogues import (  # noqa: E402
    CATEGORIES,
    DATA,
    ITEMS,
    LabelledDialogue,
    adjudicated_labels,
    evaluation_set,
    half_of,
    load_labels,
    validation_dialogues,
)

from pipeline.config import get_settings  # noqa: E402
from pipeline.conversation import turns_from_document  # noqa: E402
from pipeline.models.registry import load_classifier  # noqa: E402
from pipeline.models.sentence import similarity_space  # noqa: E402
from pipeline.rubric import load  # noqa: E402
from pipeline.scoring import score_document, score_outcomes  # noqa: E402

# Items the labels give through a call outcome: problem-resolved is the supervisor's resolution,
# scored as the bundled rubrics score it (escalated: not resolved on this contact).
RESOLUTION_ITEM = {"resolved": "pass", "not_resolved": "fail", "escalated": "fail"}
DERIVED = ("problem-resolved",)
GOAL_AGREEMENT = 0.90
GOAL_MIN_APPLICABLE = 20
GOAL_SPEARMAN = 0.4
GOAL_CATEGORY_F1 = 0.7
GOAL_DISSATISFACTION_AUROC = 0.90
GOAL_RISK = 0.9


class System:
    """The scorecard as the nightly run makes it, for one dialogue at a time."""

    def __init__(self, rubric_dir: Path | None, similarity: Any = None) -> None:
        self.classifier = load_classifier(get_settings())
        self.similarity = similarity
        self.rubrics = {language: load(rubric_dir / f"ecommerce-{language}.yaml"
                                       if rubric_dir else f"ecommerce-{language}")
                        for language in ("zh", "en")}

    def qa_of(self, outcomes: dict[str, str], language: str) -> float | None:
        """The QA score the rubric gives these item outcomes (items not labelled count na)."""
        items = self.rubrics[language].items
        return score_outcomes([(outcomes.get(item.id, "na"), item.points, item.fatal)
                               for item in items])[0]

    def judge(self, document: dict[str, Any]) -> dict[str, Any]:
        turns = turns_from_document(document)
        labels = self.classifier.label_frame(turns) if self.classifier is not None else None
        card = score_document(document, self.rubrics[document["language"]], labels=labels,
                              turns=turns, similarity=self.similarity)
        items = dict(zip(card.items["item_id"], card.items["outcome"], strict=True))
        inspection = card.inspection
        outcome = card.outcome
        dissatisfied = outcome.dissatisfied_probability if outcome is not None else None
        if dissatisfied is None and labels is not None and len(labels):
            # Without call outcomes: the strongest customer turn.
            mask = labels["label"] == "customer.dissatisfaction"
            dissatisfied = float(labels.loc[mask, "probability"].max()) if mask.any() else 0.0
        complaint = (None if outcome is None or outcome.complaint_probability is None else
                     outcome.complaint_probability >= outcome.thresholds["complaint"])
        return {"items": items, "qa": inspection.get("score"),
                "risk": card.risk.level,
                "category": outcome.category if outcome is not None else None,
                "resolution": outcome.resolution if outcome is not None else None,
                "complaint": complaint, "dissatisfied": dissatisfied}


def _agreement(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    counted = [(h, s) for h, s in pairs if h != "na" or s != "na"]
    applicable = sum(1 for h, _ in pairs if h != "na")
    agree = sum(1 for h, s in counted if h == s)
    humans = [h for h, _ in pairs]
    systems = [s for _, s in pairs]
    kappa = (float(cohen_kappa_score(humans, systems))
             if len(set(humans) | set(systems)) > 1 else None)
    confusion = Counter(f"{h}->{s}" for h, s in pairs if h != s)
    return {"n": len(pairs), "applicable": applicable, "counted": len(counted),
            "agreement": round(agree / len(counted), 3) if counted else None,
            "kappa": round(kappa, 3) if kappa is not None and not np.isnan(kappa) else None,
            "disagreements": dict(confusion.most_common())}


def _spearman(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    pairs = [(q, s) for q, s in pairs if q is not None]
    if len(pairs) < 3:
        return {"n": len(pairs), "spearman": None}
    rho = spearmanr([q for q, _ in pairs], [s for _, s in pairs]).statistic
    return {"n": len(pairs), "spearman": round(float(rho), 3),
            "qa_mean": round(float(np.mean([q for q, _ in pairs])), 1),
            "qa_under_35": sum(1 for q, _ in pairs if q < 35)}


def _precision_recall(truth: list[bool], predicted: list[bool]) -> dict[str, Any]:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    return {"positives": sum(truth), "flagged": sum(predicted),
            "precision": round(tp / sum(predicted), 3) if sum(predicted) else None,
            "recall": round(tp / sum(truth), 3) if sum(truth) else None}


def with_derived_items(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the items its call outcomes imply (``problem-resolved``)."""
    items = {**record["items"],
             "problem-resolved": RESOLUTION_ITEM[record["outcome"]["resolution"]]}
    return {**record, "items": items}


def _categories(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Complaint precision/recall and, over the labelled complaints, category macro-F1 and
    per-category precision/recall; ``pairs`` are (label {complaint, category}, system)."""
    complaints = [(lab, out) for lab, out in pairs if lab["complaint"]]
    predicted = [out["category"] or "none" for _, out in complaints]
    truth = [lab["category"] for lab, _ in complaints]
    return {
        "complaint": _precision_recall([bool(lab["complaint"]) for lab, _ in pairs],
                                       [bool(out["complaint"]) for _, out in pairs]),
        "category": {
            "n": len(complaints),
            "accuracy": round(sum(t == p for t, p in zip(truth, predicted, strict=True))
                              / len(truth), 3) if truth else None,
            "macro_f1": round(float(f1_score(truth, predicted, labels=list(CATEGORIES),
                                             average="macro", zero_division=0)), 3),
            "per_category": {c: _precision_recall([t == c for t in truth],
                                                  [p == c for p in predicted])
                             for c in CATEGORIES}}}


def evaluate(dialogues: list[LabelledDialogue], labels: dict[str, dict[str, Any]],
             system: System, stc3_extra: list[LabelledDialogue],
             category_extra: list[tuple[LabelledDialogue, dict[str, Any]]] = ()
             ) -> dict[str, Any]:
    labels = {key: with_derived_items(record) for key, record in labels.items()}
    rows = []
    for d in dialogues:
        rows.append((d, labels[d.key], system.judge(d.document())))
    items = {item: _agreement([(lab["items"][item], out["items"].get(item, "na"))
                               for _, lab, out in rows]) for item in (*ITEMS, *DERIVED)}
    report: dict[str, Any] = {"dialogues": len(rows), "items": items}
    all_pairs = [(lab["items"][i], out["items"].get(i, "na")) for _, lab, out in rows
                 for i in (*ITEMS, *DERIVED)]
    report["all_items"] = _agreement(all_pairs)
    report["spearman_labelled"] = _spearman([(out["qa"], d.satisfaction) for d, _, out in rows
                                             if d.satisfaction is not None])
    # The ceiling for a scorecard that judges every item as the supervisor did.
    report["spearman_supervisor_qa"] = _spearman([
        (system.qa_of(lab["items"], d.language), d.satisfaction) for d, lab, _ in rows
        if d.satisfaction is not None])
    report["spearman_stc3"] = _spearman([(system.judge(d.document())["qa"], d.satisfaction)
                                         for d in stc3_extra])
    truth_dis = [bool(lab["outcome"]["dissatisfied"]) for _, lab, _ in rows]
    scores = [out["dissatisfied"] or 0.0 for _, _, out in rows]
    report["dissatisfaction_auroc"] = (round(float(roc_auc_score(truth_dis, scores)), 3)
                                       if len(set(truth_dis)) == 2 else None)
    report["risk_medium_or_high"] = _precision_recall(
        [lab["outcome"]["risk"] in ("medium", "high") for _, lab, _ in rows],
        [out["risk"] in ("medium", "high") for _, _, out in rows])
    # Complaint and category: this half's labelled dialogues plus the same half of the category
    # set (validation dialogues outside the agreement set, bench/labels/category), none of them
    # trained on.
    pairs = [(lab["outcome"], out) for _, lab, out in rows]
    pairs += [(lab, system.judge(d.document())) for d, lab in category_extra]
    report.update(_categories(pairs))
    report["resolution"] = _agreement([(lab["outcome"]["resolution"], out["resolution"] or "na")
                                       for _, lab, out in rows])
    report["resolution_by_source"] = {
        source: _agreement([(lab["outcome"]["resolution"], out["resolution"] or "na")
                            for d, lab, out in rows if d.source == source])["agreement"]
        for source in sorted({d.source for d, _, _ in rows})}
    # The labels against the STC-3 crowd: how far one supervisor's dissatisfied is from 19.
    crowd = [(bool(lab["outcome"]["dissatisfied"]), d.satisfaction < 0)
             for d, lab, _ in rows if d.satisfaction is not None]
    report["labels_vs_stc3_crowd_dissatisfied"] = (
        round(sum(a == b for a, b in crowd) / len(crowd), 3) if crowd else None)
    return report


def _stc3_half(validation: list[LabelledDialogue], half: str, exclude: set[str]
               ) -> list[LabelledDialogue]:
    """Every STC-3 validation dialogue of the half outside the labelled set (crowd labels)."""
    return [d for d in validation if d.source.startswith("stc3") and d.key not in exclude
            and (half == "all" or half_of(d.key) == half)]


def _goals(report: dict[str, Any]) -> dict[str, Any]:
    items = {i: r["agreement"] for i, r in report["items"].items()
             if r["applicable"] >= GOAL_MIN_APPLICABLE}
    return {
        "items_at_goal": f"{sum(a >= GOAL_AGREEMENT for a in items.values())}/{len(items)}",
        "spearman_stc3": report["spearman_stc3"]["spearman"],
        "category_macro_f1": report["category"]["macro_f1"],
        "dissatisfaction_auroc": report["dissatisfaction_auroc"],
        "risk_precision": report["risk_medium_or_high"]["precision"],
        "risk_recall": report["risk_medium_or_high"]["recall"],
    }


def _print(report: dict[str, Any]) -> None:
    print(f"{'item':26} {'appl':>5} {'agree':>6} {'kappa':>6}  disagreements (human->system)")
    for item, r in report["items"].items():
        print(f"{item:26} {r['applicable']:5d} {r['agreement'] or 0:6.3f} "
              f"{r['kappa'] if r['kappa'] is not None else float('nan'):6.3f}  "
              f"{r['disagreements']}")
    for key in ("all_items", "spearman_labelled", "spearman_supervisor_qa", "spearman_stc3",
                "dissatisfaction_auroc", "risk_medium_or_high", "complaint", "category",
                "resolution", "resolution_by_source", "labels_vs_stc3_crowd_dissatisfied",
                "goals"):
        value = report[key]
        if key == "category":
            value = {k: value[k] for k in ("n", "accuracy", "macro_f1")}
        print(f"{key}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--half", choices=("test", "tune", "all"), default="test")
    parser.add_argument("--rubric-dir", type=Path, default=None,
                        help="score with ecommerce-{zh,en}.yaml from here (before/after)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/agreement.json")
    parser.add_argument("--quick", action="store_true",
                        help="only the labelled dialogues (not every STC-3 one of the half)")
    parser.add_argument("--labels", choices=("adjudicated", "first"), default="adjudicated",
                        help="the first labeller's, or with disputes decided by a third reader")
    args = parser.parse_args()
    if not (args.data / "stc3").is_dir():
        sys.exit(f"skipped: {args.data} has no STC-3 data")
    labels = adjudicated_labels() if args.labels == "adjudicated" else load_labels()
    category_labels = load_category_labels()
    validation = validation_dialogues(args.data)
    chosen = evaluation_set(args.data, validation)
    dialogues = [d for d in chosen if d.key in labels
                 and (args.half == "all" or d.half == args.half)]
    for d in dialogues:
        if labels[d.key]["half"] != d.half:
            raise ValueError(f"{d.key}: labelled as {labels[d.key]['half']}, hash says {d.half}")
    started = time.perf_counter()
    system = System(args.rubric_dir, similarity_space())
    extra = ([] if args.quick else
             _stc3_half(validation, args.half, exclude={d.key for d in chosen}))
    category_extra = [(d, category_labels[d.key]) for d in validation
                      if d.key in category_labels
                      and (args.half == "all" or half_of(d.key) == args.half)]
    report = evaluate(dialogues, labels, system, extra, category_extra)
    report["half"] = args.half
    report["labels"] = args.labels
    report["goals"] = _goals(report)
    report["seconds"] = round(time.perf_counter() - started, 1)
    _print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")


if __name__ == "__main__":
    main()
