"""Backtest a rubric on transcripts whose expected item outcomes are known.

The "test a rule on history before go-live" QA teams ask for: every case is a transcript JSON
with its expected outcomes, either inside it (``"expected": {"greeting": "fail"}``) or beside
it in ``<name>.expected.json``. Per item, a failure is the positive class (what QA hunts for):
precision = AI failures that were real, recall = real failures the AI caught.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import transcript
from pipeline.errors import CallqaError
from pipeline.rubric import Rubric
from pipeline.schemas import OUTCOMES
from pipeline.scoring import score_document


@dataclass(frozen=True)
class Disagreement:
    case: str
    item_id: str
    expected: str
    actual: str
    note: str


@dataclass
class ItemStats:
    item_id: str
    cases: int = 0
    agree: int = 0
    true_fail: int = 0
    false_fail: int = 0
    missed_fail: int = 0

    @property
    def precision(self) -> float | None:
        flagged = self.true_fail + self.false_fail
        return None if flagged == 0 else self.true_fail / flagged

    @property
    def recall(self) -> float | None:
        real = self.true_fail + self.missed_fail
        return None if real == 0 else self.true_fail / real

    @property
    def agreement(self) -> float | None:
        return None if self.cases == 0 else self.agree / self.cases


@dataclass
class BacktestReport:
    rubric_id: str
    cases: int = 0
    items: dict[str, ItemStats] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)


def expected_outcomes(document: dict, path: Path) -> dict[str, str]:
    sidecar = path.with_name(f"{path.stem}.expected.json")
    expected = document.get("expected")
    if expected is None and sidecar.is_file():
        expected = json.loads(sidecar.read_text(encoding="utf-8"))
    if not isinstance(expected, dict) or not expected:
        raise CallqaError(f"{path}: no expected outcomes (an 'expected' mapping or {sidecar.name})")
    bad = {k: v for k, v in expected.items() if v not in OUTCOMES}
    if bad:
        raise CallqaError(f"{path}: expected outcomes must be pass/fail/na, got {bad}")
    return expected


def backtest(rubric: Rubric, cases_dir: Path) -> BacktestReport:
    paths = sorted(p for p in cases_dir.glob("*.json") if not p.name.endswith(".expected.json"))
    if not paths:
        raise CallqaError(f"{cases_dir}: no transcript JSON cases")
    report = BacktestReport(rubric.id, items={i.id: ItemStats(i.id) for i in rubric.items})
    for path in paths:
        document = transcript.load(path)
        expected = expected_outcomes(document, path)
        unknown = set(expected) - set(report.items)
        if unknown:
            raise CallqaError(f"{path}: expected outcomes for unknown items {sorted(unknown)}")
        card = score_document(document, rubric)
        report.cases += 1
        actual = {row.item_id: (row.outcome, row.note) for row in card.items.itertuples()}
        for item_id, want in expected.items():
            got, note = actual[item_id]
            stats = report.items[item_id]
            stats.cases += 1
            stats.agree += got == want
            stats.true_fail += got == "fail" and want == "fail"
            stats.false_fail += got == "fail" and want != "fail"
            stats.missed_fail += got != "fail" and want == "fail"
            if got != want:
                report.disagreements.append(Disagreement(path.stem, item_id, want, got, note))
    return report
