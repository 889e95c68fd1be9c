"""Score calls from any source (recording or transcript JSON): one ``Scorer`` per run keeps
its transcriber, the classifier and the rubrics across its calls."""

from __future__ import annotations

from typing import Any

from pipeline import rubric as rubric_mod
from pipeline import transcript
from pipeline.batch.manifest import CallJob
from pipeline.config import Settings
from pipeline.conversation import turns_from_document
from pipeline.scoring import BatchChecks, CallFacts, Scorecard, score_document


class Scorer:
    """Transcribes when needed (the Whisper weights resolved once, a fresh seeded decoder per
    recording), picks the rubric, classifies and scores."""

    def __init__(self, settings: Settings, rubric: str | None = None, model: str | None = None,
                 language: str | None = None, layout: str | None = None) -> None:
        self.settings = settings
        self.fixed_rubric = self._load_rubric(rubric) if rubric else None
        self.model = model
        self.language = language
        self.layout = layout
        self._transcriber: Any = None
        self._classifier: Any = None  # False once known to be unavailable
        self._similarity: Any = None
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
        return transcript.from_transcription(result, self.settings.speakers), versions

    def classifier(self) -> Any:
        """The champion utterance classifier, loaded once; None when there is none."""
        if self._classifier is None:
            from pipeline.models.registry import load_classifier

            self._classifier = load_classifier(self.settings) or False
        return self._classifier or None

    def similarity(self) -> Any:
        """The sentence space (``similar_to``, call outcomes), loaded once; None when off or
        not installed."""
        if self._similarity is None:
            from pipeline.models.sentence import similarity_space

            classify = self.settings.classify
            self._similarity = similarity_space(classify.similarity,
                                                classify.similarity_threads) or False
        return self._similarity or None

    def score(self, job: CallJob) -> Scorecard:
        document, versions = self.document(job)
        return self.score_transcribed(job, document, versions)

    def score_transcribed(self, job: CallJob, document: dict[str, Any],
                          versions: dict[str, str], history: Any = None,
                          batch: BatchChecks | None = None) -> Scorecard:
        """Classify and score a call whose words are known (``document``): checked against the
        transcript contract and the per-call limits first, wherever it came from. Its turns are
        built once here and shared by the classifier and every later stage."""
        transcript.validate(document, str(job.source))
        transcript.check_limits(document, self.settings.limits, str(job.source))
        turns = turns_from_document(document)
        labels = None
        classifier = self.classifier()
        if classifier is not None and len(turns):
            labels = classifier.label_frame(turns)
            versions = {**versions, "classifier": classifier.version}
        facts = CallFacts(job.customer_rating, job.nps, versions, history)
        rubric = self.rubric_for(str(document.get("language", "")))
        similarity = self.similarity()  # similar_to and the call's outcome
        if similarity is not None:
            from pipeline.outcomes import bundled_model

            facts.model_versions["similarity"] = similarity.version
            facts.model_versions["outcomes"] = bundled_model().version
        return score_document(document, rubric, facts, self.settings.scoring, labels,
                              turns=turns, batch=batch, similarity=similarity)
