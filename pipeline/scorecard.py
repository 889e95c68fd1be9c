"""Score calls from any source (recording or transcript JSON) and show the scorecard."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from pipeline import rubric as rubric_mod
from pipeline import transcript
from pipeline.config import Settings
from pipeline.manifest import ManifestProblem, read_manifest
from pipeline.scoring import CallFacts, Scorecard, score_document

OUTCOME_STYLE = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "na": "[dim]n/a[/]"}


@dataclass(frozen=True)
class ScoreJob:
    call_id: str
    source: Path  # audio, or a transcript JSON
    layout: str | None = None
    language: str | None = None
    queue: str | None = None
    facts: CallFacts = field(default_factory=CallFacts)


def jobs_from_manifest(path: Path) -> tuple[list[ScoreJob], list[ManifestProblem]]:
    manifest = read_manifest(path)
    jobs = []
    for row in manifest.calls.itertuples(index=False):
        source = row.transcript_path if isinstance(row.transcript_path, str) else row.audio_path
        jobs.append(ScoreJob(
            row.call_id, Path(source), row.layout, row.language,
            row.queue if isinstance(row.queue, str) else None,
            CallFacts(customer_rating=_number(row.customer_rating), nps=_number(row.nps)),
        ))
    return jobs, manifest.problems


def _number(value: Any) -> float | None:
    return None if value is None or value != value else float(value)  # NaN → None


class Scorer:
    """Transcribes when needed (model loaded once), picks the rubric, scores."""

    def __init__(self, settings: Settings, rubric: str | None = None, model: str | None = None,
                 language: str | None = None, layout: str | None = None) -> None:
        self.settings = settings
        self.fixed_rubric = rubric_mod.load(rubric) if rubric else None
        self.model = model
        self.language = language
        self.layout = layout
        self._transcriber: Any = None
        self._rubrics: dict[str, rubric_mod.Rubric] = {}

    def rubric_for(self, language: str) -> rubric_mod.Rubric:
        if self.fixed_rubric is not None:
            return self.fixed_rubric
        scoring = self.settings.scoring
        name = scoring.rubric_by_language.get(language, scoring.default_rubric)
        if name not in self._rubrics:
            self._rubrics[name] = rubric_mod.load(name)
        return self._rubrics[name]

    def document(self, job: ScoreJob) -> tuple[dict[str, Any], dict[str, str]]:
        if job.source.suffix == ".json":
            return transcript.load(job.source), {}
        from pipeline.asr import TranscribeOptions, Transcriber

        if self._transcriber is None:
            self._transcriber = Transcriber(self.settings, model=self.model)
        options = TranscribeOptions.from_settings(
            self.settings, queue=job.queue, language=self.language or job.language,
            layout=self.layout or job.layout,
        )
        result = self._transcriber.transcribe_file(job.source, job.call_id, options)
        versions = {"asr": self._transcriber.resolved.fingerprint[:24]}
        return transcript.from_transcription(result), versions

    def score(self, job: ScoreJob) -> Scorecard:
        document, versions = self.document(job)
        facts = CallFacts(job.facts.customer_rating, job.facts.nps,
                          {**job.facts.model_versions, **versions})
        language = str(document.get("language", ""))
        return score_document(document, self.rubric_for(language), facts, self.settings.scoring)


def to_json(card: Scorecard) -> dict[str, Any]:
    inspection = {**card.inspection, "created_at": card.inspection["created_at"].isoformat()}
    metrics = card.metrics
    return {
        "inspection": inspection,
        "items": card.items.to_dict(orient="records"),
        "metrics": {**metrics.flat(),
                    "silences": [{"start": s.start, "end": s.end} for s in metrics.silences],
                    "overtalks": [vars(o) for o in metrics.overtalks],
                    "speech_rate_unit": metrics.speech_rate_unit},
    }


def _time(value: float | None) -> str:
    return "" if value is None else transcript.format_time(value)


def print_scorecard(console: Console, card: Scorecard) -> None:
    inspection = card.inspection
    score = inspection["score"]
    verdict = "[red]FATAL[/]" if inspection["fatal"] else f"[bold]{score:g}[/]/100"
    composite = inspection["composite"]
    console.print(
        f"\n[bold]{inspection['call_id']}[/]  QA {verdict} · composite "
        f"{'—' if composite is None else f'{composite:g}'} ({inspection['composite_basis']}) · "
        f"rubric {inspection['rubric_id']} v{inspection['rubric_version']} "
        f"({inspection['rubric_hash']})"
    )
    if inspection["flags"]:
        console.print(f"  flags: [yellow]{', '.join(inspection['flags'])}[/]")
    table = Table("item", "outcome", "points", "evidence", show_lines=False, expand=False)
    for row in card.items.itertuples(index=False):
        evidence = row.evidence[:2]
        lines = []
        for e in evidence:
            when = f"{_time(e['start'])} " if e["start"] is not None else ""
            turn = f"#{e['idx']} " if e["idx"] is not None else ""
            lines.append(f"{when}{turn}{e['why']}")
        if not lines:
            lines.append(f"[dim]{row.note}[/]")
        fatal = " [red](fatal)[/]" if row.fatal else ""
        table.add_row(row.item_id, OUTCOME_STYLE[row.outcome] + fatal,
                      f"{row.points:g}/{row.max_points:g}", "\n".join(lines))
    console.print(table)
