"""Who is the agent: every transcribed row gets its role, and the call a confidence in it.

Stereo: each channel is a speaker by the declared layout, and the words check it — a layout
declared the wrong way round (agent on the right) is swapped when the content says so
strongly (``swap_confidence``), and the roles are ``uncertain`` when it points that way less
surely. Mono: the diarizer's parties ("S1", "S2") get their roles from what each says and how
(``roles.assign_roles``); below ``min_role_confidence``, or when one party holds nearly all
the talk (two voices joined, ``min_party_share``), they are ``uncertain``. A mono
recording without diarization, or with one voice, keeps ``unknown`` turns.

Roles that are not ``known`` make the agent's items ``na`` and send the call to review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from pipeline.config import SpeakerSettings
from pipeline.speakers import roles as role_model

RolesStatus = Literal["known", "uncertain", "unknown"]
_SWAP = {"agent": "customer", "customer": "agent"}
MIN_ROWS_FOR_SHARE = 10  # fewer rows: a lopsided share can be a short call's chance


@dataclass(frozen=True)
class RolesInfo:
    """How a call's roles were decided: the transcript's ``roles`` block."""

    source: Literal["channels", "diarization", "none"]
    status: RolesStatus
    confidence: float | None = None  # P(the roles are right), from the role model
    swapped: bool = False  # the declared stereo layout was the wrong way round
    parties: dict[str, str] = field(default_factory=dict)  # party -> role (mono)
    evidence: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "status": self.status, "confidence": self.confidence,
                "swapped": self.swapped, "parties": dict(self.parties),
                "evidence": list(self.evidence)}


def attribute(segments: pd.DataFrame, layout: str, language: str,
              settings: SpeakerSettings) -> tuple[pd.DataFrame, RolesInfo]:
    """``segments`` (SegmentSchema rows) with each row's speaker set, and how it was set."""
    if layout != "mono":
        return _check_channels(segments, language, settings)
    parties = segments["party"].dropna() if "party" in segments else pd.Series(dtype=str)
    if parties.empty:
        return segments, RolesInfo("none", "unknown", evidence=(
            "mono recording without diarization: one stream of words, no speakers",))
    if parties.nunique() < 2:
        return segments, RolesInfo("diarization", "unknown", evidence=(
            "the diarizer heard one voice only",))
    assignment = role_model.assign_roles(_party_turns(segments, "party"), language, "call")
    status = assignment.status(settings.min_role_confidence)
    evidence = assignment.evidence
    joined = _joined_voices(segments, settings.min_party_share)
    if joined:
        status, evidence = "uncertain", (joined, *evidence)
    speakers = segments["party"].map(assignment.roles).fillna("unknown")
    return (segments.assign(speaker=speakers),
            RolesInfo("diarization", status, round(assignment.confidence, 4),
                      parties=dict(assignment.roles), evidence=evidence))


def _joined_voices(segments: pd.DataFrame, min_share: float) -> str | None:
    """Why the diarizer probably joined the two voices, or None: on a call of 10 ASR rows
    or more, one party holds nearly all the talk (it split off a few stray windows)."""
    if len(segments) < MIN_ROWS_FOR_SHARE:
        return None
    talk = (segments["end"] - segments["start"]).clip(lower=0).groupby(segments["party"]).sum()
    if talk.sum() <= 0:
        return None
    party, share = str(talk.idxmin()), float(talk.min() / talk.sum())
    if share >= min_share:
        return None
    return (f"{party} holds {share:.1%} of the talk, which a two-party service call rarely "
            "does: the diarizer has probably joined the two voices")


def _check_channels(segments: pd.DataFrame, language: str, settings: SpeakerSettings
                    ) -> tuple[pd.DataFrame, RolesInfo]:
    """Stereo: keep the declared roles unless the words contradict them."""
    declared = segments[segments["speaker"].isin(_SWAP)]
    if declared["speaker"].nunique() < 2:
        return segments, RolesInfo("channels", "known", evidence=(
            "one channel carries speech: the declared layout cannot be checked",))
    check = role_model.check_declared(_party_turns(declared, "speaker"), language, "call")
    holds = check.roles.get("agent") == "agent"
    confidence = round(check.confidence, 4)
    if holds or check.confidence < settings.min_role_confidence:
        # No evidence against the layout, or too little to doubt it: the layout stands.
        return segments, RolesInfo("channels", "known", confidence if holds else None,
                                   evidence=check.evidence)
    if check.confidence >= settings.swap_confidence:
        swapped = segments["speaker"].map(lambda s: _SWAP.get(s, s))
        return (segments.assign(speaker=swapped),
                RolesInfo("channels", "known", confidence, swapped=True,
                          evidence=("the declared channel layout is the wrong way round: "
                                    "agent and customer swapped", *check.evidence)))
    return segments, RolesInfo("channels", "uncertain", round(1 - check.confidence, 4),
                               evidence=("the words suggest the declared channels are "
                                         "swapped", *check.evidence))


def _party_turns(segments: pd.DataFrame, column: str) -> list[role_model.PartyTurn]:
    return [role_model.PartyTurn(str(getattr(row, column)), str(row.text), float(row.start),
                                 float(row.end))
            for row in segments.itertuples(index=False)]
