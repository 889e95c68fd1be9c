"""The transcript JSON document: what ``callqa transcribe`` writes and what chat logs look like.

``{"call_id": ..., "language": ..., "turns": [{"speaker", "start", "end", "text"}, ...]}``,
turns ordered by start time across both channels; start/end are optional (chat logs).
A transcribed call also says how its speakers were decided (``roles``: source, status
known / uncertain / unknown, confidence, evidence) and where its audio carries speech
(``speech``: [start, end] spans by VAD over all channels), which silences are measured against.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.asr import Transcription
from pipeline.config import LimitsSettings, SpeakerSettings
from pipeline.conversation import merged_spans, turns_from_segments
from pipeline.errors import InputLimitError, TranscriptError
from pipeline.speakers.attribution import attribute
from pipeline.support.fsutil import read_bounded, write_json
from pipeline.support.ids import call_id_problem

Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class TurnDoc(BaseModel):
    model_config = ConfigDict(extra="allow")

    # bot / system: a chat log's machine lines, kept but never taken for the agent.
    speaker: Literal["agent", "customer", "unknown", "bot", "system"]
    text: str
    # Finite numbers only: json.loads accepts NaN and Infinity, which no time or score may be.
    start: float | None = Field(None, ge=0, allow_inf_nan=False)
    end: float | None = Field(None, ge=0, allow_inf_nan=False)
    channel: int | None = Field(None, ge=0)
    confidence: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> TurnDoc:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class RolesDoc(BaseModel):
    """How the turns' speakers were decided (``speakers.attribution.RolesInfo``)."""

    model_config = ConfigDict(extra="allow")

    source: Literal["channels", "diarization", "none"]
    status: Literal["known", "uncertain", "unknown"]
    confidence: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    swapped: bool = False


class OverlapDoc(BaseModel):
    """Two voices at once on one channel; ``by`` started speaking over the other."""

    start: float = Field(ge=0, allow_inf_nan=False)
    end: float = Field(ge=0, allow_inf_nan=False)
    by: Literal["agent", "customer", "unknown"]

    @model_validator(mode="after")
    def _ordered(self) -> OverlapDoc:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class TranscriptDoc(BaseModel):
    model_config = ConfigDict(extra="allow")

    call_id: str
    language: str = Field(min_length=2, max_length=64)
    turns: list[TurnDoc]
    roles: RolesDoc | None = None
    # Where the audio carries speech (VAD, any channel): silences are measured against it.
    speech: list[tuple[Seconds, Seconds]] | None = None
    # One channel, two voices at once (``speakers.overlap``), and who started each: overtalk
    # on a mono recording. Absent: not looked for (overtalk is then unmeasured).
    overlaps: list[OverlapDoc] | None = None

    @field_validator("call_id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        problem = call_id_problem(value)
        if problem is not None:
            raise ValueError(f"call id {problem}")
        return value


def from_transcription(result: Transcription,
                       speakers: SpeakerSettings | None = None) -> dict[str, Any]:
    """The transcript JSON of one transcribed call, with where it came from.

    Each row first gets its role (``attribution``: the channel's, checked against the words,
    or the diarized party's). ASR cuts at every breath; a turn is what a listener hears as
    one: a speaker's consecutive segments across a short pause (``merge_gap_s``), nobody else
    speaking in between, are one turn (``turns_from_segments``)."""
    segments, roles = attribute(result.segments, result.layout, result.language,
                                speakers or SpeakerSettings())
    channel_of = dict(zip(segments["speaker"], segments["channel"], strict=True))
    turns = [
        {
            "speaker": row.speaker,
            "start": row.start,
            "end": row.end,
            "text": row.raw_text,
            "channel": int(channel_of[row.speaker]),
            "confidence": float(row.confidence),
        }
        for row in turns_from_segments(segments).itertuples(index=False)
    ]
    options = result.options
    overlaps = None if result.diarization is None else result.diarization.overlaps
    extra = {} if overlaps is None else {"overlaps": [
        {"start": start, "end": end, "by": roles.parties.get(party or "", "unknown")}
        for start, end, party in overlaps]}
    return {
        "call_id": result.call_id,
        "language": result.language,
        "turns": turns,
        "roles": roles.as_dict(),
        "speech": ([list(span) for span in merged_spans(
                        [span for spans in result.speech.values() for span in spans])]
                   if result.speech else None),
        "audio": {
            "path": result.audio.path,
            "sha256": result.audio.sha256,
            "duration_s": round(result.audio.duration_s, 3),
            "channels": result.audio.channels,
            "sample_rate": result.audio.sample_rate,
            "layout": result.layout,
        },
        "asr": {
            "model": result.model,
            "language_probability": result.language_probability,
            "beam_size": options.beam_size,
            "vad": options.vad,
            "batched": options.batched,
            "channels": options.channels,
            "hotwords": options.hotwords,
            "initial_prompt": options.initial_prompt,
            "diarization": (None if result.diarization is None
                            else vars(result.diarization).copy()),
        },
        **extra,
    }



def validate(document: Any, source: str = "transcript") -> dict[str, Any]:
    """Check a transcript document against the contract; raise TranscriptError if it fails."""
    try:
        TranscriptDoc.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors()
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in errors[:_SHOWN_PROBLEMS]
        )
        more = len(errors) - _SHOWN_PROBLEMS
        raise TranscriptError(f"{source}: {problems}" + (f"; and {more} more" if more > 0 else "")
                              ) from exc
    return document


_SHOWN_PROBLEMS = 5  # a file with 10,000 bad turns gets a readable message


def load(path: str | Path, *, max_bytes: int | None = None) -> dict[str, Any]:
    """Read and validate a transcript file; files over ``max_bytes`` (default
    ``limits.max_transcript_bytes``) are refused before they are read."""
    limit = LimitsSettings().max_transcript_bytes if max_bytes is None else max_bytes
    try:
        document = json.loads(read_bounded(path, limit, "transcript",
                                           "limits.max_transcript_bytes").decode("utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are both
        raise TranscriptError(f"{path}: cannot read transcript JSON ({exc})") from exc
    except RecursionError as exc:
        raise TranscriptError(f"{path}: cannot read transcript JSON (nested too deeply)") from exc
    except MemoryError as exc:
        raise TranscriptError(f"{path}: cannot read transcript JSON (out of memory)") from exc
    return validate(document, str(path))


def check_limits(document: dict[str, Any], limits: LimitsSettings, source: str = "") -> None:
    """InputLimitError (reason too_long) when a call has more turns or text than the limits
    allow: classification and rubric matching cost grows with both."""
    where = f"{source}: " if source else ""
    turns = document.get("turns") or []
    if len(turns) > limits.max_turns:
        raise InputLimitError(f"{where}{len(turns)} turns (limit {limits.max_turns}; "
                              "limits.max_turns)")
    total = 0
    for number, turn in enumerate(turns):
        length = len(str(turn.get("text", "")))
        if length > limits.max_turn_chars:
            raise InputLimitError(f"{where}turn {number} has {length} characters (limit "
                                  f"{limits.max_turn_chars}; limits.max_turn_chars)")
        total += length
    if total > limits.max_chars:
        raise InputLimitError(f"{where}{total} characters of text (limit {limits.max_chars}; "
                              "limits.max_chars)")


def save(path: str | Path, document: dict[str, Any]) -> None:
    write_json(path, validate(document))
