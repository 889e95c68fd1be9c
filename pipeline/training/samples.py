"""Labelled samples beyond the public data: imports (CSV / JSONL) and review decisions.

A sample is ``text, label, value`` (qualified label from ``models/labels.yaml``, value 0/1),
with optional ``source`` and ``group`` (the conversation it came from, so train/validation
splits never cut a call in two). Imports are validated by ``LabeledSampleSchema``: bad rows are
reported with their line number and reason, good rows are kept. Kept samples live in the
store's ``labeled_samples`` table (``Store.add_samples``), de-duplicated on (text, label) per
origin, later rows winning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.errors
import pandera.pandas as pa
from pandera.typing import Series

from pipeline.bundled.labels import default_labels
from pipeline.errors import CallqaError
from pipeline.training.datasets import SAMPLE_COLUMNS, split_of


class LabeledSampleSchema(pa.DataFrameModel):
    text: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 4000})
    label: Series[str] = pa.Field(isin=default_labels().names())
    value: Series[int] = pa.Field(isin=[0, 1])
    source: Series[str]
    group: Series[str]

    class Config:
        coerce = True


@dataclass(frozen=True)
class SampleProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    kept: pd.DataFrame
    problems: list[SampleProblem]


_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}


def read_samples(path: Path) -> ImportResult:
    """Read and validate a CSV or JSONL file of labelled samples."""
    raw, problems = _read_raw(path)
    if "speaker" in raw.columns:  # "customer" + "abuse" → "customer.abuse"
        short = raw["label"].notna() & ~raw["label"].astype(str).str.contains(".", regex=False)
        raw.loc[short, "label"] = raw.loc[short, "speaker"].astype(str) + "." + \
            raw.loc[short, "label"].astype(str)
    for column in ("text", "label", "value"):
        if column not in raw.columns:
            raise CallqaError(f"{path}: samples need a {column!r} column")
    raw["value"] = raw["value"].map(_as_binary)
    raw["source"] = raw.get("source", pd.Series(index=raw.index, dtype=object)).fillna(
        f"import:{path.name}")
    raw["group"] = raw.get("group", pd.Series(index=raw.index, dtype=object))
    raw["group"] = raw["group"].where(raw["group"].notna(),
                                      [f"{path.name}:{line}" for line in raw.index])
    raw["text"] = raw["text"].map(lambda t: t.strip() if isinstance(t, str) else t)
    problems += _row_problems(raw)
    bad = {p.line for p in problems}
    good = raw.drop(index=[i for i in raw.index if i in bad])
    kept = LabeledSampleSchema.validate(good[["text", "label", "value", "source", "group"]]) \
        if len(good) else pd.DataFrame(columns=["text", "label", "value", "source", "group"])
    return ImportResult(kept.reset_index(drop=True), sorted(problems, key=lambda p: p.line))


def _read_raw(path: Path) -> tuple[pd.DataFrame, list[SampleProblem]]:
    if not path.is_file():
        raise CallqaError(f"{path}: no such file")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows, problems, lines = [], [], []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                problems.append(SampleProblem(number, f"not a JSON object ({exc})"))
                continue
            rows.append(row)
            lines.append(number)
        return pd.DataFrame(rows, index=pd.Index(lines), dtype=object), problems
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CallqaError(f"{path}: cannot read CSV ({exc})") from exc
    raw.index = pd.RangeIndex(2, len(raw) + 2)  # header is line 1
    return raw, []


def _as_binary(value: object) -> object:
    text = str(value).strip().lower()
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    return value


def _row_problems(raw: pd.DataFrame) -> list[SampleProblem]:
    try:
        LabeledSampleSchema.validate(raw[["text", "label", "value", "source", "group"]],
                                     lazy=True)
        return []
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    reasons: dict[int, list[str]] = {}
    for case in cases.itertuples(index=False):
        if case.index is None or pd.isna(case.index):
            continue
        column, check = str(case.column), str(case.check)
        reason = {
            "text": "text is empty or longer than 4000 characters",
            "label": f"unknown label {case.failure_case!r} (see models/labels.yaml)",
            "value": f"value {case.failure_case!r} is not 0/1",
        }.get(column, f"{column}={case.failure_case!r} fails {check}")
        if "not_nullable" in check:
            reason = f"{column} is missing"
        reasons.setdefault(int(case.index), [])
        if reason not in reasons[int(case.index)]:
            reasons[int(case.index)].append(reason)
    return [SampleProblem(line, "; ".join(r)) for line, r in sorted(reasons.items())]


def training_rows(samples: pd.DataFrame) -> pd.DataFrame:
    """Samples (text, label, value, group, ...) in the long training format: the task from the
    label, the fixed split from the group, so a call never straddles train and validation."""
    if samples.empty:
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    labels = default_labels()
    rows = samples.assign(task=[labels.get(label).task for label in samples["label"]],
                          split=[split_of(str(group)) for group in samples["group"]],
                          value=samples["value"].astype(int))
    return rows[SAMPLE_COLUMNS]
