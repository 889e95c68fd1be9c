"""Read a call manifest CSV: validate every row, keep the good ones, report the bad ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.errors

from pipeline.errors import CallqaError
from pipeline.schemas import CallSchema
from pipeline.support.ids import call_id_problem, check_call_id, shorten

_OPTIONAL_DEFAULTS: dict[str, object] = {
    "audio_path": None, "transcript_path": None, "layout": "stereo_agent_left",
    "language": "auto", "agent_id": None, "team": None, "queue": None, "started_at": None,
    "customer_id": None, "order_id": None, "customer_rating": None, "nps": None,
}


@dataclass(frozen=True)
class ManifestProblem:
    line: int  # line number in the CSV file, header = 1
    call_id: str | None
    reason: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.call_id or 'no call_id'}): {self.reason}"


@dataclass(frozen=True)
class CallJob:
    """One call to process: where its words come from and what the centre knows about it."""

    call_id: str
    source: Path  # a recording, or a transcript JSON (chat logs)
    layout: str | None = None
    language: str | None = None
    queue: str | None = None
    customer_rating: float | None = None
    nps: float | None = None

    @property
    def is_transcript(self) -> bool:
        return self.source.suffix == ".json"

    @classmethod
    def for_path(cls, path: Path) -> CallJob:
        """A job whose call id is the file name stem (UnsafePathError if it cannot be one)."""
        return cls(check_call_id(path.stem, str(path)), path)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CallJob:
        """The job for one call row (a manifest row, or a nightly batch's call): the one
        converter both use. A transcript, where given, is used instead of the audio."""
        def given(key: str) -> Any:
            value = row.get(key)
            return value if _given(value) else None

        return cls(call_id=str(row["call_id"]),
                   source=Path(given("transcript_path") or row["audio_path"]),
                   layout=given("layout"), language=given("language"), queue=given("queue"),
                   customer_rating=_number(given("customer_rating")),
                   nps=_number(given("nps")))


@dataclass(frozen=True)
class Manifest:
    path: Path
    calls: pd.DataFrame  # CallSchema rows, paths made absolute
    problems: list[ManifestProblem]

    def jobs(self) -> list[CallJob]:
        """A job per good row."""
        return [CallJob.from_row(row) for row in self.calls.to_dict(orient="records")]


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value))


def read_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CallqaError(f"{path}: cannot read manifest CSV ({exc})") from exc
    if "call_id" not in raw.columns:
        raise CallqaError(f"{path}: the manifest has no call_id column")
    for column, default in _OPTIONAL_DEFAULTS.items():
        if column not in raw.columns:
            raw[column] = default
        elif default is not None:
            raw[column] = raw[column].fillna(default)
    raw.index = pd.RangeIndex(2, len(raw) + 2)  # index = CSV line number
    problems = _call_id_problems(raw)
    raw = raw.drop(index=[p.line for p in problems])
    duplicates = _duplicate_problems(raw)
    problems += duplicates
    raw = raw.drop(index=[p.line for p in duplicates])
    problems = sorted(problems + _row_problems(raw), key=lambda p: p.line)
    good = raw.drop(index=sorted({p.line for p in problems}), errors="ignore")
    calls = CallSchema.validate(good) if len(good) else good
    for column in ("audio_path", "transcript_path"):
        calls[column] = calls[column].map(lambda p: _absolute(path.parent, p))
    return Manifest(path=path, calls=calls.reset_index(drop=True), problems=problems)


def _call_id_problems(raw: pd.DataFrame) -> list[ManifestProblem]:
    """Rows whose call id cannot be one (it names files and URLs): reported, not kept."""
    problems = []
    for line, call_id in raw["call_id"].items():
        if pd.isna(call_id):
            continue  # missing: the schema check reports it
        problem = call_id_problem(call_id)
        if problem is not None:
            problems.append(ManifestProblem(int(line), shorten(call_id), f"call_id {problem}"))
    return problems


def _duplicate_problems(raw: pd.DataFrame) -> list[ManifestProblem]:
    first_line: dict[str, int] = {}
    problems = []
    for line, call_id in raw["call_id"].items():
        if pd.isna(call_id):
            continue
        if call_id in first_line:
            problems.append(ManifestProblem(
                int(line), call_id, f"duplicate call_id (first on line {first_line[call_id]})"
            ))
        else:
            first_line[call_id] = int(line)
    return problems


def _row_problems(raw: pd.DataFrame) -> list[ManifestProblem]:
    try:
        CallSchema.validate(raw, lazy=True)
        return []
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    # One reason per (line, column): pandera reports a bad date both as coercion and dtype.
    reasons: dict[int, dict[str, str]] = {}
    for case in cases.itertuples(index=False):
        lines = raw.index if case.index is None or pd.isna(case.index) else [case.index]
        check = str(case.check)
        column = "row" if check in _ROW_CHECKS else str(case.column)
        for line in lines:
            reasons.setdefault(int(line), {}).setdefault(
                column, _ROW_CHECKS.get(check) or f"{column}={case.failure_case!r} fails {check}"
            )
    return [
        ManifestProblem(line, _call_id(raw, line), "; ".join(by_column.values()))
        for line, by_column in sorted(reasons.items())
    ]


_ROW_CHECKS = {"has_a_source": "needs an audio_path or a transcript_path"}


def _call_id(raw: pd.DataFrame, line: int) -> str | None:
    value = raw.at[line, "call_id"]
    return None if pd.isna(value) else str(value)


def _absolute(base: Path, value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    candidate = Path(str(value)).expanduser()
    return str(candidate if candidate.is_absolute() else (base / candidate))
