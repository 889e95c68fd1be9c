"""Score calls from any source (recording or transcript JSON) and show the scorecard."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from pipeline import rubric as rubric_mod
from pipeline import transcript
from pipeline.batch.manifest import CallJob
from pipeline.config import Settings
from pipeline.conversation import turns_from_document
from pipeline.scoring import CallFacts, Scorecard, score_document
from pipeline.support.textsafe import format_time, shown

OUTCOME_STYLE = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "na": "[dim]n/a[/]"}


class Scorer:
    """Transcribes when needed (model loaded once), picks the rubric, scores."""

    def __init__(self, settings: Settings, rubric: str | None = None, model: str | None = None,
                 language: str | None = None, layout: str | None = None) -> None:
        self.settings = settings
        self.fixed_rubric = self._load_rubric(rubric) if rubric else None
        self.model = model
        self.language = language
        self.layout = layout
        self._transcriber: Any = None
        self._classifier: Any = None  # False once known to be unavailable
        self._rubrics: dict[str, rubric_mod.Rubric] = {}

    def rubric_for(self, language: str) -> rubric_mod.Rubric:
        if self.fixed_rubric is not None:
            return self.fixed_rubric
        scoring = self.settings.scoring
        name = scoring.rubric_by_language.get(language, scoring.default_rubric)
        if name not in self._rubrics:
            self._rubrics[name] = self._load_rubric(name)
        return self._rubrics[name]

    def _load_rubric(self, name: str) -> rubric_mod.Rubric:
        return rubric_mod.load(name, max_bytes=self.settings.limits.max_rubric_bytes)

    def document(self, job: CallJob) -> tuple[dict[str, Any], dict[str, str]]:
        if job.is_transcript:
            limit = self.settings.limits.max_transcript_bytes
            return transcript.load(job.source, max_bytes=limit), {}
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

    def classifier(self) -> Any:
        """The champion utterance classifier, loaded once; None when there is none."""
        if self._classifier is None:
            from pipeline.models.registry import load_classifier

            self._classifier = load_classifier(self.settings) or False
        return self._classifier or None

    def score(self, job: CallJob) -> Scorecard:
        document, versions = self.document(job)
        return self.score_transcribed(job, document, versions)

    def score_transcribed(self, job: CallJob, document: dict[str, Any],
                          versions: dict[str, str], history: Any = None) -> Scorecard:
        """Classify and score a call whose words are known (``document``): checked against the
        transcript contract and the per-call limits first, wherever it came from."""
        transcript.validate(document, str(job.source))
        transcript.check_limits(document, self.settings.limits, str(job.source))
        labels = None
        classifier = self.classifier()
        if classifier is not None and document.get("turns"):
            labels = classifier.label_frame(turns_from_document(document))
            versions = {**versions, "classifier": classifier.version}
        facts = CallFacts(job.customer_rating, job.nps, versions, history)
        language = str(document.get("language", ""))
        return score_document(document, self.rubric_for(language), facts, self.settings.scoring,
                              labels=labels)


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
    return "" if value is None else format_time(value)


def print_scorecard(console: Console, card: Scorecard) -> None:
    """The scorecard as text; everything that comes from the call or the rubric is escaped."""
    inspection = card.inspection
    score = inspection["score"]
    verdict = "[red]FATAL[/]" if inspection["fatal"] else f"[bold]{score:g}[/]/100"
    composite = inspection["composite"]
    console.print(
        f"\n[bold]{shown(inspection['call_id'])}[/]  QA {verdict} · composite "
        f"{'—' if composite is None else f'{composite:g}'} ({inspection['composite_basis']}) · "
        f"rubric {shown(inspection['rubric_id'])} v{inspection['rubric_version']} "
        f"({inspection['rubric_hash']})"
    )
    if inspection["flags"]:
        console.print(f"  flags: [yellow]{shown(', '.join(inspection['flags']))}[/]")
    risk_colour = {"low": "green", "medium": "yellow", "high": "red"}[inspection["risk_level"]]
    console.print(f"  malicious-complaint risk: [{risk_colour}]{inspection['risk_level']}[/] "
                  f"({inspection['risk_score']:.2f})")
    for reason in card.risk.reasons:
        if not reason.evidence:  # customer history: nothing said in this call
            console.print(f"    · {shown(reason.description)}")
            continue
        first = reason.evidence[0]
        when = f"{_time(first.start)} " if first.start is not None else ""
        console.print(f"    · {when}#{first.idx} {shown(first.why)}")
    table = Table("item", "outcome", "points", "evidence", show_lines=False, expand=False)
    table.columns[0].no_wrap = True
    for row in card.items.itertuples(index=False):
        evidence = row.evidence[:2]
        lines = []
        for e in evidence:
            when = f"{_time(e['start'])} " if e["start"] is not None else ""
            turn = f"#{e['idx']} " if e["idx"] is not None else ""
            lines.append(f"{when}{turn}{shown(e['why'])}")
        if not lines:
            lines.append(f"[dim]{shown(row.note)}[/]")
        fatal = " [red](fatal)[/]" if row.fatal else ""
        table.add_row(shown(row.item_id), OUTCOME_STYLE[row.outcome] + fatal,
                      f"{row.points:g}/{row.max_points:g}", "\n".join(lines))
    console.print(table)
