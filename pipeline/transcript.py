"""The transcript JSON document: what ``callqa transcribe`` writes and what chat logs look like.

``{"call_id": ..., "language": ..., "turns": [{"speaker", "start", "end", "text"}, ...]}``,
turns ordered by start time across both channels; start/end are optional (chat logs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.asr import Transcription, confidence
from pipeline.errors import TranscriptError
from pipeline.fsutil import write_json


class TurnDoc(BaseModel):
    model_config = ConfigDict(extra="allow")

    speaker: Literal["agent", "customer", "unknown"]
    text: str
    start: float | None = Field(None, ge=0)
    end: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> TurnDoc:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class TranscriptDoc(BaseModel):
    model_config = ConfigDict(extra="allow")

    call_id: str = Field(min_length=1)
    language: str = Field(min_length=2)
    turns: list[TurnDoc]


def from_transcription(result: Transcription) -> dict[str, Any]:
    """The transcript JSON of one transcribed call, with where it came from."""
    turns = [
        {
            "speaker": row.speaker,
            "start": row.start,
            "end": row.end,
            "text": row.text,
            "channel": int(row.channel),
            "confidence": confidence(row.avg_logprob),
        }
        for row in result.segments.itertuples(index=False)
    ]
    options = result.options
    return {
        "call_id": result.call_id,
        "language": result.language,
        "turns": turns,
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
        },
    }


def validate(document: Any, source: str = "transcript") -> dict[str, Any]:
    """Check a transcript document against the contract; raise TranscriptError if it fails."""
    try:
        TranscriptDoc.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise TranscriptError(f"{source}: {problems}") from exc
    return document


def load(path: str | Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"{path}: cannot read transcript JSON ({exc})") from exc
    return validate(document, str(path))


def save(path: str | Path, document: dict[str, Any]) -> None:
    write_json(path, validate(document))


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return "  --:--.-"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:04.1f}"
