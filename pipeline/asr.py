"""Transcription: faster-whisper with Silero VAD, one pass per channel, cached on disk.

A ``Transcriber`` resolves its model once and transcribes many calls; its decoder is reloaded
(about a second) before each recording it decodes, so no call's words depend on the calls
before it (``DECODE_SEED``). Stereo calls are transcribed channel by channel so every segment
belongs to one speaker; a mono recording is diarized into parties (``speakers.diarize``) and
each row holds one party's words. Each channel's speech spans (VAD on the audio) come along,
for silences and ASR gaps. The language is forced per call or detected on the first seconds of
speech, restricted to the configured languages. Mandarin output is converted to Simplified
Chinese. Results are cached by (audio SHA-256, model weights, compute type, options), so a
re-run does not transcribe again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline import audio as audio_io
from pipeline.config import SUPPORTED_LANGUAGES, ChannelLayout, Language, Settings, get_settings
from pipeline.errors import ConfigError
from pipeline.models.whisper import ResolvedModel, resolve_model
from pipeline.schemas import SEGMENT_COLUMNS, SegmentSchema
from pipeline.speakers import diarize
from pipeline.speakers.interleave import assign_words, join_speech
from pipeline.support import deadline
from pipeline.support.cache import DiskCache, stable_key
from pipeline.text import to_simplified

__all__ = ["TranscribeOptions", "Transcriber", "Transcription", "resolve_model"]

# Bump when the meaning of cached results changes (post-processing, row format).
# 6: entries carry each channel's speech (VAD) and mono rows their diarized party.
_CACHE_VERSION = 6

# Where the audio carries speech, for silences and ASR gaps (not for decoding, whose VAD pads
# generously so no syllable is clipped): tight edges, pauses of half a second split.
SPEECH_VAD = {"min_silence_duration_ms": 500, "speech_pad_ms": 150}

# Whisper's temperature fallback (hard audio: noise, 8 kHz, a language outside the model's
# strengths) re-decodes by *sampling*. CTranslate2 seeds its sampler once per decoder thread,
# from the OS unless ``set_random_seed`` came first, and never reseeds it: the same recording
# and options gave other words in every process, and in a nightly worker they depended on the
# calls decoded before it. A fixed seed and fresh decoder threads for every recording make the
# words a function of (audio, model, options) alone, whichever command runs.
DECODE_SEED = 20_241_120


@dataclass(frozen=True)
class TranscribeOptions:
    """Everything that changes what the recogniser writes; hashed into the cache key."""

    language: str = "auto"
    layout: ChannelLayout = "stereo_agent_left"
    model: str = "base"
    beam_size: int = 5
    vad: bool = True
    vad_min_silence_ms: int = 1000
    vad_speech_pad_ms: int = 400
    batched: bool = False
    batch_size: int = 8
    # separate (default): one pass per channel, times from word timestamps. joint: every
    # channel's speech in one pass (interleave.py). Measured in bench/README.md: joint re-decodes
    # (temperature fallback) far more on Mandarin and costs 1.3x the mono mix; separate does not.
    channels: str = "separate"
    condition_on_previous_text: bool = False
    hotwords: str | None = None
    initial_prompt: str | None = None
    allowed_languages: tuple[str, ...] = SUPPORTED_LANGUAGES
    language_detection_s: float = 30.0

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, queue: str | None = None, **overrides: Any
    ) -> TranscribeOptions:
        """Options from the settings, the queue's vocabulary, then explicit overrides."""
        settings = settings or get_settings()
        asr = settings.asr
        vocabulary = asr.vocabulary.get(queue) if queue else None
        options = cls(
            language=settings.default_language,
            layout=settings.default_layout,
            model=asr.model,
            beam_size=asr.beam_size,
            vad=asr.vad,
            vad_min_silence_ms=asr.vad_min_silence_ms,
            vad_speech_pad_ms=asr.vad_speech_pad_ms,
            batched=asr.batched,
            batch_size=asr.batch_size,
            channels=asr.channels,
            condition_on_previous_text=asr.condition_on_previous_text,
            hotwords=vocabulary.hotwords if vocabulary else None,
            initial_prompt=vocabulary.initial_prompt if vocabulary else None,
            allowed_languages=tuple(asr.languages),
            language_detection_s=asr.language_detection_s,
        )
        return replace(options, **{k: v for k, v in overrides.items() if v is not None})

    def validate(self) -> None:
        if self.language != "auto" and self.language not in SUPPORTED_LANGUAGES:
            raise ConfigError(
                f"language {self.language!r} is not supported; use auto or one of "
                f"{', '.join(SUPPORTED_LANGUAGES)}"
            )
        if not self.allowed_languages:
            raise ConfigError("no languages are allowed for detection")
        if self.channels not in ("separate", "joint"):
            raise ConfigError(f"channels must be separate or joint, not {self.channels!r}")


@dataclass(frozen=True)
class Transcription:
    call_id: str
    audio: audio_io.AudioInfo
    layout: str
    language: str
    language_probability: float | None
    model: str
    options: TranscribeOptions
    segments: pd.DataFrame  # SegmentSchema rows
    elapsed_s: float
    cached: bool
    # Each channel's speech by the VAD on the audio: [(start, end)] seconds, by channel number.
    speech: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    diarization: DiarizationInfo | None = None  # mono recordings split into parties
    diarization_cpu_s: float = 0.0  # of this run (0 when the result came from the cache)


@dataclass(frozen=True)
class DiarizationInfo:
    """How a mono recording was split into parties (rows carry ``party``)."""

    backend: str
    parties: int
    # (start, end, party who started it) where two voices were heard at once; None: not
    # looked for.
    overlaps: list[tuple[float, float, str | None]] | None = None


class Transcriber:
    """Holds one loaded Whisper model; transcribe as many calls as you like with it."""

    _sampled = False  # the loaded decoder has decoded: its sampler is used (see DECODE_SEED)

    def __init__(self, settings: Settings | None = None, model: str | None = None) -> None:
        self.settings = settings or get_settings()
        self.model_name = model or self.settings.asr.model
        self.resolved: ResolvedModel = resolve_model(self.model_name, self.settings.model_dir)
        self.cache = DiskCache(self.settings.cache_dir / "asr")
        self._model: Any = None
        self._batched: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            import ctranslate2
            from faster_whisper import WhisperModel  # heavy import, only when needed

            ctranslate2.set_random_seed(DECODE_SEED)  # before the new decoder threads sample
            threads = self.settings.asr.cpu_threads or os.cpu_count() or 1
            self._model = WhisperModel(
                str(self.resolved.path),
                device="cpu",
                compute_type=self.settings.asr.compute_type,
                cpu_threads=threads,
                num_workers=self.settings.asr.num_workers,
                local_files_only=True,
            )
        return self._model

    def transcribe_file(
        self, path: str | Path, call_id: str | None = None,
        options: TranscribeOptions | None = None,
    ) -> Transcription:
        """Load, check and transcribe one recording; a cached result skips even the decoding."""
        options = self._effective(options)
        call_id = call_id or Path(path).stem
        if Path(path).is_file():
            started = time.perf_counter()
            hit = self._cached(self._key(audio_io.file_sha256(path), options))
            if hit is not None:
                info = replace(hit.audio, path=str(path))
                return self._from_cache(call_id, info, options, hit, started)
        recording = audio_io.load(path, options.layout, self.settings.audio)
        return self.transcribe_recording(recording, call_id, options)

    def transcribe_recording(
        self, recording: audio_io.Recording, call_id: str,
        options: TranscribeOptions | None = None,
    ) -> Transcription:
        options = replace(self._effective(options), layout=recording.layout)
        key = self._key(recording.info.sha256, options)
        started = time.perf_counter()
        hit = self._cached(key)
        if hit is not None:
            return self._from_cache(call_id, recording.info, options, hit, started)
        speech = {c.channel: speech_spans(c.samples) for c in recording.channels}
        diarized = self._diarize(recording, speech)
        self._fresh_decoder()
        language, probability = self._choose_language(recording, options)
        self._sampled = True
        rows: list[dict[str, Any]] = []
        joint = options.channels == "joint" and len(recording.channels) > 1
        if joint and options.vad and not options.batched:
            rows = self._transcribe_joint(recording, language, options)
        else:
            for channel in recording.channels:
                rows.extend(self._transcribe_channel(channel, language, options, diarized))
        for row in rows:
            row["language"] = language
            if language == "zh":
                row["text"] = to_simplified(row["text"])
        rows = [row for row in rows if row["text"]]
        rows.sort(key=lambda row: (row["start"], row["channel"]))
        info = _diarization_info(diarized)
        self.cache.put(key, {"language": language, "language_probability": probability,
                             "audio": asdict(recording.info), "segments": rows,
                             "speech": {str(k): v for k, v in speech.items()},
                             "diarization": asdict(info) if info else None})
        return Transcription(
            call_id, recording.info, recording.layout, language, probability, self.model_name,
            options, _segments_frame(call_id, rows), time.perf_counter() - started,
            cached=False, speech=speech, diarization=info,
            diarization_cpu_s=0.0 if diarized is None else diarized.cpu_s,
        )

    def detect_language(
        self, recording: audio_io.Recording, options: TranscribeOptions | None = None
    ) -> tuple[str, float]:
        """Most likely allowed language over the first seconds of every channel's speech."""
        options = self._effective(options)
        allowed = [lang for lang in options.allowed_languages if self._can_decode(lang)]
        if not allowed:
            raise ConfigError(f"model {self.model_name!r} cannot decode any allowed language")
        if len(allowed) == 1:
            return allowed[0], 1.0
        window = int(options.language_detection_s * audio_io.SAMPLE_RATE)
        scores = dict.fromkeys(allowed, 0.0)
        for channel in recording.channels:
            samples = self._speech_only(channel.samples, options)[:window]
            if len(samples) < audio_io.SAMPLE_RATE // 2:
                continue  # a channel with (almost) no speech says nothing about the language
            weight = len(samples) / window
            _, _, all_probs = self.model.detect_language(samples)
            for lang, prob in all_probs:
                if lang in scores:
                    scores[lang] += weight * prob
        total = sum(scores.values())
        best = max(scores, key=scores.__getitem__)
        return best, (scores[best] / total if total > 0 else 0.0)

    # -- internals ------------------------------------------------------------------------

    def _fresh_decoder(self) -> None:
        """Drop a decoder that has decoded before: its sampler is part-way through its random
        stream (reloading costs about a second; decoding a call, minutes)."""
        if self._sampled:
            self._model = self._batched = None
            self._sampled = False

    def _key(self, sha256: str, options: TranscribeOptions) -> str:
        # compute_type is the decoder's arithmetic, no TranscribeOptions field: it changes
        # words; the diarizer (mono only) decides which party each word goes to.
        return stable_key(_CACHE_VERSION, sha256, self.resolved.fingerprint,
                          self.settings.asr.compute_type, asdict(options),
                          self._diarizer_version(options.layout))

    def _diarizer_version(self, layout: str) -> str | None:
        """The diarizer that splits this layout's recordings into parties, if any: mono
        recordings only, as ``speakers.diarization`` says (auto: when the extra is installed)."""
        mode = self.settings.speakers.diarization
        if layout != "mono" or mode == "off":
            return None
        if mode == "auto" and not diarize.available():
            return None
        return self._diarizer().version

    def _diarizer(self) -> diarize.Diarizer:
        # loads nothing yet: "on" without the extra fails at the first mono recording, with
        # a DiarizationError (reason unavailable) that names the fix
        return diarize.diarizer(self.settings.speakers, self.settings.cache_dir)

    def _diarize(self, recording: audio_io.Recording,
                 speech: dict[int, list[tuple[float, float]]]) -> diarize.Diarization | None:
        if self._diarizer_version(recording.layout) is None:
            return None
        (channel,) = recording.channels
        deadline.check("diarizing")
        return self._diarizer().diarize(channel.samples, speech[channel.channel])

    def _cached(self, key: str) -> _CacheEntry | None:
        """The cached result for ``key`` if its shape is right; a malformed entry (edited,
        written by a buggy version) is dropped, so the call is transcribed again."""
        hit = self.cache.get(key)
        if hit is None:
            return None
        try:
            return _CacheEntry.model_validate(hit)
        except ValidationError:
            self.cache.drop(key)
            return None

    def _from_cache(self, call_id: str, info: audio_io.AudioInfo, options: TranscribeOptions,
                    hit: _CacheEntry, started: float) -> Transcription:
        return Transcription(
            call_id, info, options.layout, hit.language, hit.language_probability,
            self.model_name, options,
            _segments_frame(call_id, [segment.model_dump() for segment in hit.segments]),
            time.perf_counter() - started, cached=True,
            speech={int(k): [tuple(span) for span in v] for k, v in hit.speech.items()},
            diarization=hit.diarization,
        )

    def _effective(self, options: TranscribeOptions | None) -> TranscribeOptions:
        options = options or TranscribeOptions.from_settings(self.settings)
        if options.model != self.model_name:
            options = replace(options, model=self.model_name)
        options.validate()
        return options

    def _can_decode(self, language: str) -> bool:
        return self.resolved.multilingual or language == "en"

    def _choose_language(
        self, recording: audio_io.Recording, options: TranscribeOptions
    ) -> tuple[str, float | None]:
        if options.language != "auto":
            if not self._can_decode(options.language):
                raise ConfigError(
                    f"model {self.model_name!r} is English-only and cannot transcribe "
                    f"{options.language!r}; use the multilingual model 'base'"
                )
            return options.language, None
        return self.detect_language(recording, options)

    def _vad_parameters(self, options: TranscribeOptions) -> dict[str, int]:
        return {"min_silence_duration_ms": options.vad_min_silence_ms,
                "speech_pad_ms": options.vad_speech_pad_ms}

    def _speech_stamps(self, samples: np.ndarray, options: TranscribeOptions
                       ) -> list[dict[str, int]]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        return get_speech_timestamps(samples, VadOptions(**self._vad_parameters(options)))

    def _speech_only(self, samples: np.ndarray, options: TranscribeOptions) -> np.ndarray:
        from faster_whisper.vad import collect_chunks

        if not options.vad:
            return samples
        stamps = self._speech_stamps(samples, options)
        if not stamps:
            return samples[:0]
        chunks, _ = collect_chunks(samples, stamps)
        return np.concatenate(chunks)

    def _decode_kwargs(self, language: str, options: TranscribeOptions) -> dict[str, Any]:
        return {
            "language": language,
            "beam_size": options.beam_size,
            "condition_on_previous_text": options.condition_on_previous_text,
            "hotwords": options.hotwords,
            "initial_prompt": options.initial_prompt,
        }

    def _transcribe_joint(self, recording: audio_io.Recording, language: str,
                          options: TranscribeOptions) -> list[dict[str, Any]]:
        channels = [(c.channel, c.speaker, c.samples, self._speech_stamps(c.samples, options))
                    for c in recording.channels]
        joined, stretches = join_speech(channels)
        if not stretches:
            return []
        segments, _ = self.model.transcribe(
            joined, vad_filter=False, word_timestamps=True,
            **self._decode_kwargs(language, options),
        )
        return assign_words(list(_within_budget(segments)), stretches)

    def _transcribe_channel(
        self, channel: audio_io.ChannelAudio, language: str, options: TranscribeOptions,
        diarized: diarize.Diarization | None = None,
    ) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            **self._decode_kwargs(language, options),
            "vad_filter": options.vad,
            "vad_parameters": self._vad_parameters(options),
        }
        if options.batched:
            from faster_whisper import BatchedInferencePipeline

            if self._batched is None:
                self._batched = BatchedInferencePipeline(self.model)
            segments, _ = self._batched.transcribe(
                channel.samples, batch_size=options.batch_size, **kwargs
            )
            return [_segment_row(channel, segment, segment.start, segment.end, segment.text,
                                 _party(diarized, segment.start, segment.end))
                    for segment in _within_budget(segments)]
        # Word timestamps: segment times after VAD can be tens of seconds off; words are not.
        segments, _ = self.model.transcribe(channel.samples, word_timestamps=True, **kwargs)
        rows = []
        for segment in _within_budget(segments):
            for words in _word_runs(segment.words or [], WORD_GAP_SPLIT_S, diarized):
                rows.append(_segment_row(channel, segment, words[0].start, words[-1].end,
                                         "".join(word.word for word in words),
                                         _party(diarized, words[0].start, words[0].end)))
        return rows


def _within_budget(segments: Iterable[Any]) -> Iterator[Any]:
    """faster-whisper decodes lazily, segment by segment: checking the call's wall-clock
    budget before each one bounds how long a recording can keep the decoder busy."""
    deadline.check("transcribing")
    for segment in segments:
        yield segment
        deadline.check("transcribing")


class _CachedSegment(BaseModel):
    """One cached row: what ``_segment_row`` writes (SegmentSchema without call_id)."""

    model_config = ConfigDict(extra="ignore")

    channel: int = Field(ge=0, le=1)
    speaker: Literal["agent", "customer", "unknown"]
    start: float = Field(ge=0, allow_inf_nan=False)
    end: float = Field(ge=0, allow_inf_nan=False)
    text: str
    avg_logprob: float = Field(le=0, allow_inf_nan=False)
    no_speech_prob: float = Field(ge=0, le=1)
    language: Language
    party: str | None = Field(None, max_length=16)

    @model_validator(mode="after")
    def _ordered(self) -> _CachedSegment:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class _CacheEntry(BaseModel):
    """The shape of a cached transcription; anything else in the cache is a miss."""

    language: Language
    language_probability: float | None = Field(ge=0, le=1)
    audio: audio_io.AudioInfo
    segments: list[_CachedSegment]
    speech: dict[str, list[tuple[float, float]]]
    diarization: DiarizationInfo | None = None


# A pause this long between two words of one decoded segment starts a new row.
WORD_GAP_SPLIT_S = 1.0


def _word_runs(words: list[Any], max_gap_s: float,
               diarized: diarize.Diarization | None = None) -> list[list[Any]]:
    """Consecutive words without a pause over ``max_gap_s`` and, on a diarized recording,
    of one party: a row never holds two speakers' words."""
    runs: list[list[Any]] = []
    party = None
    for word in words:
        word_party = _party(diarized, word.start, word.end)
        if runs and word.start - runs[-1][-1].end <= max_gap_s and word_party == party:
            runs[-1].append(word)
        else:
            runs.append([word])
        party = word_party
    return runs


def _party(diarized: diarize.Diarization | None, start: float, end: float) -> str | None:
    return None if diarized is None else diarized.party_at(float(start), float(end))


def _diarization_info(diarized: diarize.Diarization | None) -> DiarizationInfo | None:
    if diarized is None:
        return None
    overlaps = (None if diarized.overlaps is None
                else [(o.start, o.end, o.by) for o in diarized.overlaps])
    return DiarizationInfo(diarized.backend, diarized.parties, overlaps)


def speech_spans(samples: np.ndarray) -> list[tuple[float, float]]:
    """Where one channel carries speech, by Silero VAD on the audio (``SPEECH_VAD``)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    rate = audio_io.SAMPLE_RATE
    return [(round(stamp["start"] / rate, 3), round(stamp["end"] / rate, 3))
            for stamp in get_speech_timestamps(samples, VadOptions(**SPEECH_VAD))]


def _segment_row(channel: audio_io.ChannelAudio, segment: Any, start: float, end: float,
                 text: str, party: str | None = None) -> dict[str, Any]:
    return {
        "channel": channel.channel,
        "speaker": channel.speaker,
        "start": round(float(start), 3),
        "end": round(float(end), 3),
        "text": text.strip(),
        "avg_logprob": min(0.0, float(segment.avg_logprob)),
        "no_speech_prob": float(segment.no_speech_prob),
        "party": party,
    }


def _segments_frame(call_id: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame([{"call_id": call_id, **row} for row in rows], columns=SEGMENT_COLUMNS)
    return SegmentSchema.validate(frame)
