"""The nightly batch without the orchestrator: which calls, and one call from audio to a record.

Input is a manifest CSV, or a directory of recordings laid out by day::

    SOURCE/2026-11-20/manifest.csv          (optional: the day's manifest, same columns)
    SOURCE/2026-11-20/<call_id>.<wav|mp3|ogg|opus|flac|m4a>
    SOURCE/2026-11-20/<call_id>.json        (chat logs: transcript JSON)

Without a manifest, a file's stem is its call id, the call is dated by its folder, and the
channel layout and language come from the settings. With ``--date`` only that day's folder (or
that day's manifest rows, by ``started_at``) is taken; with a range, every day in it. Each call
carries the folder the run read (``audio_root``: the source, or the manifest's folder): unless
``store.audio_roots`` is configured, that is the only place its recording may be played from.

``inspect_call`` is everything one call needs once its words are known; the flows wrap these
functions as tasks and add nothing but orchestration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.batch.manifest import CallJob, ManifestProblem, read_manifest
from pipeline.batch.recordings import recording_fields
from pipeline.batch.scorer import Scorer
from pipeline.config import Settings
from pipeline.errors import AudioError, CallqaError, TranscriptError
from pipeline.scoring import BatchChecks
from pipeline.store import CallRecord, plain_value
from pipeline.support.ids import call_id_problem

AUDIO_SUFFIXES = (".wav", ".mp3", ".ogg", ".opus", ".flac", ".m4a")
CALL_COLUMNS = ("call_id", "audio_path", "transcript_path", "layout", "language", "agent_id",
                "team", "queue", "started_at", "customer_id", "order_id", "customer_rating",
                "nps", "audio_root")


@dataclass(frozen=True)
class FileProblem:
    """A file in a recordings folder that cannot be a call (skipped; the others go on)."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path.name}: {self.reason}"


@dataclass
class Batch:
    calls: list[dict[str, Any]]  # manifest rows (CallSchema columns), one per call
    problems: list[ManifestProblem | FileProblem] = field(default_factory=list)


def days(date_from: date | None, date_to: date | None) -> list[date] | None:
    if date_from is None:
        return None
    last = date_to or date_from
    if last < date_from:
        raise CallqaError(f"date range ends ({last}) before it starts ({date_from})")
    return [date_from + timedelta(n) for n in range((last - date_from).days + 1)]


def collect(settings: Settings, source: Path | None = None, manifest: Path | None = None,
            date_from: date | None = None, date_to: date | None = None) -> Batch:
    """The calls to process: from a manifest, or a day-folder tree, filtered by date."""
    wanted = days(date_from, date_to)
    if manifest is not None:
        return _filter_dates(_from_manifest(manifest), wanted)
    if source is None:
        raise CallqaError("give a source directory or a manifest")
    if not source.is_dir():
        raise CallqaError(f"{source}: not a directory")
    folders = _day_folders(source, wanted)
    if not folders:  # a flat folder of recordings, or a manifest at the top
        top = source / "manifest.csv"
        batch = _from_manifest(top) if top.is_file() else _from_files(settings, source, None)
        return _filter_dates(batch, wanted)
    calls: list[dict[str, Any]] = []
    problems: list[ManifestProblem | FileProblem] = []
    for day, folder in folders:
        day_manifest = folder / "manifest.csv"
        batch = (_from_manifest(day_manifest) if day_manifest.is_file()
                 else _from_files(settings, folder, day, root=source))
        calls += batch.calls
        problems += batch.problems
    return Batch(calls, problems)


def _day_folders(source: Path, wanted: list[date] | None) -> list[tuple[date, Path]]:
    found = []
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if wanted is None or day in wanted:
            found.append((day, folder))
    return found


def _from_manifest(path: Path) -> Batch:
    manifest = read_manifest(path)
    root = str(path.resolve().parent)
    calls = [_row({**row, "audio_root": root})
             for row in manifest.calls.to_dict(orient="records")]
    return Batch(calls, list(manifest.problems))


def _from_files(settings: Settings, folder: Path, day: date | None,
                root: Path | None = None) -> Batch:
    root = (root or folder).resolve()
    calls, problems = [], []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix not in (*AUDIO_SUFFIXES, ".json") or not path.is_file():
            continue
        problem = call_id_problem(path.stem)
        if problem is not None:
            problems.append(FileProblem(path, f"the file name is no call id: it {problem}"))
            continue
        calls.append(_row({
            "call_id": path.stem,
            "audio_path": str(path) if suffix != ".json" else None,
            "transcript_path": str(path) if suffix == ".json" else None,
            "layout": settings.default_layout, "language": settings.default_language,
            "started_at": datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None,
            "audio_root": str(root),
        }))
    return Batch(calls, problems)


def _row(values: dict[str, Any]) -> dict[str, Any]:
    return {column: plain_value(values.get(column)) for column in CALL_COLUMNS}


def _filter_dates(batch: Batch, wanted: list[date] | None) -> Batch:
    if wanted is None:
        return batch
    keep = [c for c in batch.calls
            if c["started_at"] is not None and c["started_at"].astimezone(UTC).date() in wanted]
    return Batch(keep, batch.problems)


def failure_reason(error: BaseException) -> str:
    """A short stable code for the summary ('audio:corrupt', 'transcript', 'timeout',
    'too_long', 'error:KeyError')."""
    if isinstance(error, AudioError):
        return f"audio:{error.reason}"
    if isinstance(error, TranscriptError):
        return "transcript"
    if isinstance(error, CallqaError):
        return str(getattr(error, "reason", "") or type(error).__name__)
    return f"error:{type(error).__name__}"


def is_transient(error: BaseException) -> bool:
    """Worth retrying: not a problem with the call itself (bad audio, bad transcript)."""
    return not isinstance(error, CallqaError | ValueError | KeyError | TypeError)


def inspect_call(scorer: Scorer, call: dict[str, Any], document: dict[str, Any],
                 versions: dict[str, str], run_id: str | None = None,
                 history: Any = None) -> CallRecord:
    """Classify, score and assess one transcribed call, with the nightly batch's flags."""
    job = CallJob.from_row(call)
    checks = BatchChecks.from_settings(scorer.settings.nightly)
    card = scorer.score_transcribed(job, document, versions, history=history, batch=checks)
    duration = (document.get("audio") or {}).get("duration_s") or _last_end(card.turns)
    roots = scorer.settings.store.audio_roots or [Path(r) for r in [call.get("audio_root")] if r]
    facts = {**call, "language": document.get("language") or call.get("language"),
             "duration_s": duration,
             **recording_fields(call.get("audio_path"), document, roots)}
    return CallRecord(call=facts, inspection=card.inspection, items=card.items, turns=card.turns,
                      labels=card.labels, run_id=run_id, scoring=scorer.settings.scoring)


def _last_end(turns: pd.DataFrame) -> float | None:
    ends = turns["end"].dropna()
    return None if ends.empty else float(ends.max())
