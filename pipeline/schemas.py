"""Row contracts between stages, as pandera models validated at every stage boundary.

Later stages add their tables here (turns, labels, item results, inspections, decisions).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from pipeline.config import SUPPORTED_LANGUAGES

SPEAKERS = ("agent", "customer", "unknown")  # who a recorded channel can be
# Turns may also be a chat log's machine lines: a bot's answers, system notices. They are
# kept (they are what the customer read) but are neither role (conversation.MACHINE_SPEAKERS).
TURN_SPEAKERS = (*SPEAKERS, "bot", "system")
LAYOUTS = ("stereo_agent_left", "stereo_agent_right", "mono")


class SegmentSchema(pa.DataFrameModel):
    """One stretch of recognised speech on one channel."""

    call_id: Series[str] = pa.Field(str_length={"min_value": 1})
    channel: Series[int] = pa.Field(ge=0, le=1)
    speaker: Series[str] = pa.Field(isin=SPEAKERS)
    start: Series[float] = pa.Field(ge=0)
    end: Series[float] = pa.Field(ge=0)
    text: Series[str]
    avg_logprob: Series[float] = pa.Field(le=0)
    no_speech_prob: Series[float] = pa.Field(ge=0, le=1)
    language: Series[str] = pa.Field(isin=SUPPORTED_LANGUAGES)
    # A mono recording's diarized party ("S1", "S2"); none on stereo, where a channel is one.
    party: Series[str] | None = pa.Field(nullable=True)

    @pa.dataframe_check
    def ends_after_start(cls, df: pd.DataFrame) -> Series[bool]:
        return df["end"] >= df["start"]

    class Config:
        strict = True
        coerce = True
        ordered = True


SEGMENT_COLUMNS = list(SegmentSchema.to_schema().columns)


class TurnSchema(pa.DataFrameModel):
    """One speaker's turn: consecutive segments merged across short pauses."""

    call_id: Series[str] = pa.Field(str_length={"min_value": 1})
    idx: Series[int] = pa.Field(ge=0, unique=True)
    speaker: Series[str] = pa.Field(isin=TURN_SPEAKERS)
    start: Series[float] = pa.Field(ge=0, nullable=True)
    end: Series[float] = pa.Field(ge=0, nullable=True)
    text: Series[str]  # normalised for matching
    raw_text: Series[str]  # as recognised / written
    confidence: Series[float] = pa.Field(ge=0, le=1, nullable=True)

    @pa.dataframe_check
    def ends_after_start(cls, df: pd.DataFrame) -> Series[bool]:
        return df["start"].isna() | df["end"].isna() | (df["end"] >= df["start"])

    class Config:
        strict = True
        coerce = True
        ordered = True


TURN_COLUMNS = list(TurnSchema.to_schema().columns)

OUTCOMES = ("pass", "fail", "na")


class ItemResultSchema(pa.DataFrameModel):
    """One rubric item judged on one call, with the evidence that decided it."""

    call_id: Series[str] = pa.Field(str_length={"min_value": 1})
    rubric_id: Series[str]
    rubric_version: Series[int] = pa.Field(ge=1)
    rubric_hash: Series[str] = pa.Field(str_length=16)
    item_id: Series[str]
    section: Series[str]
    outcome: Series[str] = pa.Field(isin=OUTCOMES)
    points: Series[float] = pa.Field(ge=0)
    max_points: Series[float] = pa.Field(ge=0)
    fatal: Series[bool]
    evidence: Series[object]  # list of {idx, start, end, text, why}
    note: Series[str]

    @pa.dataframe_check
    def points_within_max(cls, df: pd.DataFrame) -> Series[bool]:
        return df["points"] <= df["max_points"]

    @pa.dataframe_check
    def judged_items_have_evidence(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["outcome"] == "na") | df["evidence"].map(lambda e: len(e) > 0)

    @pa.dataframe_check
    def only_failures_are_fatal(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df["fatal"] | (df["outcome"] == "fail")

    class Config:
        strict = True
        coerce = True
        ordered = True


ITEM_RESULT_COLUMNS = list(ItemResultSchema.to_schema().columns)
INSPECTION_STATUSES = ("scored", "failed", "reviewed")


class InspectionSchema(pa.DataFrameModel):
    """The scored record of one call under one rubric and one set of model versions."""

    call_id: Series[str] = pa.Field(str_length={"min_value": 1})
    rubric_id: Series[str]
    rubric_version: Series[int] = pa.Field(ge=1)
    rubric_hash: Series[str] = pa.Field(str_length=16)
    model_versions: Series[object]  # {"asr": "base:...", ...}
    score: Series[float] = pa.Field(ge=0, le=100, nullable=True)
    fatal: Series[bool]
    composite: Series[float] = pa.Field(ge=0, le=100, nullable=True)
    composite_basis: Series[str]
    risk_score: Series[float] = pa.Field(ge=0, le=1, nullable=True)
    risk_level: Series[str] = pa.Field(isin=("low", "medium", "high"), nullable=True)
    risk_reasons: Series[object]
    compliance: Series[object]  # the agent's compliance findings (pipeline.compliance)
    flags: Series[object]  # list of why the call needs review
    uncertainty: Series[float] = pa.Field(ge=0, le=1, nullable=True)  # classifiers' doubt
    metrics: Series[object]  # the conversation's numbers ({name: value})
    outcome: Series[object] = pa.Field(nullable=True)  # call outcome (pipeline.outcomes), or None
    status: Series[str] = pa.Field(isin=INSPECTION_STATUSES)
    failure_reason: Series[str] = pa.Field(nullable=True)
    created_at: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs={"unit": "us", "tz": "UTC"})

    @pa.dataframe_check
    def fatal_scores_zero(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df["fatal"] | (df["score"] == 0)

    class Config:
        strict = True
        coerce = True
        ordered = True


class CallSchema(pa.DataFrameModel):
    """A manifest row: one call to process, with what the centre knows about it."""

    call_id: Series[str] = pa.Field(str_length={"min_value": 1}, unique=True)
    audio_path: Series[str] = pa.Field(nullable=True)
    transcript_path: Series[str] = pa.Field(nullable=True)
    layout: Series[str] = pa.Field(isin=LAYOUTS)
    language: Series[str] = pa.Field(isin=(*SUPPORTED_LANGUAGES, "auto"))
    agent_id: Series[str] = pa.Field(nullable=True)
    team: Series[str] = pa.Field(nullable=True)
    queue: Series[str] = pa.Field(nullable=True)
    started_at: Series[pd.DatetimeTZDtype] = pa.Field(
        nullable=True, dtype_kwargs={"unit": "ns", "tz": "UTC"}
    )
    customer_id: Series[str] = pa.Field(nullable=True)
    order_id: Series[str] = pa.Field(nullable=True)
    customer_rating: Series[float] = pa.Field(ge=1, le=5, nullable=True)
    nps: Series[float] = pa.Field(ge=0, le=10, nullable=True)

    @pa.dataframe_check
    def has_a_source(cls, df: pd.DataFrame) -> Series[bool]:
        return df["audio_path"].notna() | df["transcript_path"].notna()

    class Config:
        coerce = True


def empty_segments() -> pd.DataFrame:
    return SegmentSchema.validate(pd.DataFrame({name: [] for name in SEGMENT_COLUMNS}))
