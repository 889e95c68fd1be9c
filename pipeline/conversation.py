"""Build ordered turns from segments (or a chat log) and measure the conversation.

Turns: a speaker's consecutive segments are merged across short pauses unless the other side
spoke in between; overlapping speech is kept as it happened (turns may overlap in time).
Metrics: talk time and ratio, silences where nobody speaks (dead air, or holds when announced),
speech the ASR gave no words for, overtalk, response latency and speech rate, per call and per
role. Chat logs without times get ``None`` for timed metrics. ``METRICS`` names the scalar ones
(``max_dead_air_s``, ``agent.talk_ratio``): what rubrics compare and scorecards store, each with
where in the call its value comes from.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

import pandas as pd

from pipeline.phrases import Utterance, find
from pipeline.schemas import TURN_COLUMNS, SegmentSchema, TurnSchema
from pipeline.text import normalize_text

ROLES = ("agent", "customer")
# Whether a call's speakers are known to be the agent and the customer. "known": the turns
# carry roles (stereo channels, chat logs). "unknown": no turn does (mono recordings: every
# turn is speaker ``unknown``), so nothing about either role can be judged. "uncertain" is for
# a later diarizer / role assigner with low confidence; callers may pass it over ``roles_of``.
Roles = Literal["known", "uncertain", "unknown"]
ROLES_UNKNOWN = "speaker roles unknown"  # the reason given wherever this stops a judgement
# Chat logs' machine lines (a bot's answers, system notices): kept as turns, never a role.
MACHINE_SPEAKERS = ("bot", "system")
_HANZI = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9\u00C0-\u024F\u0E00-\u0E7F\u1E00-\u1EFF']+")


@dataclass(frozen=True)
class ConversationSettings:
    merge_gap_s: float = 1.0  # a speaker's pause shorter than this does not end the turn
    silence_threshold_s: float = 3.0  # silences at least this long are counted
    # A hold phrase must end at most this long before the silence (a thank-you for waiting
    # start at most this long after it) to make the silence a hold.
    hold_cue_s: float = 3.0
    min_overtalk_s: float = 0.5  # shorter overlaps are backchannels (嗯, 对), not overtalk
    # VAD speech this close to a turn's edge is that turn's (word timestamps and VAD padding
    # disagree by a few hundred ms); stretches of speech without words shorter than
    # asr_gap_min_s are not reported.
    asr_gap_slop_s: float = 0.3
    asr_gap_min_s: float = 2.0


# -- turns ----------------------------------------------------------------------------------


def turns_from_segments(segments: pd.DataFrame,
                        settings: ConversationSettings | None = None) -> pd.DataFrame:
    """Merge SegmentSchema rows into TurnSchema rows, ordered by start time."""
    settings = settings or ConversationSettings()
    segments = SegmentSchema.validate(segments).sort_values(["start", "channel"], kind="stable")
    merged: list[dict[str, Any]] = []
    last_by_speaker: dict[str, int] = {}
    for row in segments.itertuples(index=False):
        previous = last_by_speaker.get(row.speaker)
        confidence = math.exp(row.avg_logprob)
        if previous is not None and _continues(merged, previous, row, settings):
            turn = merged[previous]
            turn["end"] = max(turn["end"], row.end)
            turn["raw_text"] = _join(turn["raw_text"], row.text)
            turn["_conf"].append((confidence, row.end - row.start))
            continue
        last_by_speaker[row.speaker] = len(merged)
        merged.append({"call_id": row.call_id, "speaker": row.speaker, "start": row.start,
                       "end": row.end, "raw_text": row.text,
                       "_conf": [(confidence, row.end - row.start)]})
    rows = [
        {**{k: v for k, v in turn.items() if k != "_conf"}, "confidence": _weighted(turn["_conf"])}
        for turn in merged
    ]
    return _turn_frame(rows)


def turns_from_document(document: dict[str, Any]) -> pd.DataFrame:
    """TurnSchema rows from a transcript JSON (chat logs: no times, order as written)."""
    rows = [
        {"call_id": document["call_id"], "speaker": turn["speaker"], "start": turn.get("start"),
         "end": turn.get("end"), "raw_text": turn["text"], "confidence": turn.get("confidence")}
        for turn in document["turns"]
    ]
    timed = all(row["start"] is not None for row in rows)
    if timed:
        rows.sort(key=lambda row: row["start"])
    return _turn_frame(rows)


def _continues(merged: list[dict[str, Any]], previous: int, row: Any,
               settings: ConversationSettings) -> bool:
    """Same speaker, short pause, and nobody else started speaking since."""
    turn = merged[previous]
    if row.start - turn["end"] > settings.merge_gap_s:
        return False
    return all(other["speaker"] == row.speaker for other in merged[previous + 1:])


def _join(left: str, right: str) -> str:
    return f"{left} {right}" if left and right else left + right


def _weighted(pairs: list[tuple[float, float]]) -> float:
    total = sum(weight for _, weight in pairs)
    if total <= 0:
        return round(sum(value for value, _ in pairs) / len(pairs), 4)
    return round(sum(value * weight for value, weight in pairs) / total, 4)


def _turn_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    for idx, row in enumerate(rows):
        row["idx"] = idx
        row["text"] = normalize_text(row["raw_text"])
    frame = pd.DataFrame(rows, columns=TURN_COLUMNS)
    for column in ("start", "end", "confidence"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return TurnSchema.validate(frame)


def roles_of(turns: pd.DataFrame) -> Roles:
    """"known" when any turn is the agent's or the customer's, else "unknown". Bot and system
    lines (chat logs) are not a role: a chat with only those and ``unknown`` has none."""
    return "known" if turns["speaker"].isin(ROLES).any() else "unknown"


# -- holds ----------------------------------------------------------------------------------


class HoldPhrases(NamedTuple):
    announce: tuple[str, ...]  # said just before a silence: the wait was announced
    thanks: tuple[str, ...]  # said just after one: thanks for having waited


# What makes a silence a hold rather than dead air. Matched exactly on normalised text
# (``pipeline.phrases.find``: Latin phrases as whole words), said by anyone (a customer's
# 稍等我找一下订单号 is not the agent's dead air either), from every language's list, since
# calls code-switch (English inside Malay or Indonesian calls). Apologies for the wait (让您久等了,
# sorry for the wait) are not here: agents say them after unannounced silences too.
HOLD_PHRASES: dict[str, HoldPhrases] = {
    "zh": HoldPhrases(
        ("稍等", "稍候", "帮您查一下", "帮您查询一下", "帮您核实一下", "我查一下"),
        ("感谢您的耐心等待", "谢谢您的耐心等待", "感谢您的等待", "谢谢您的等待")),
    "en": HoldPhrases(
        ("please hold", "hold on", "put you on hold", "hold the line", "one moment",
         "just a moment", "one second", "just a second", "bear with me", "let me check",
         "let me look"),
        ("thank you for holding", "thanks for holding", "thank you for waiting",
         "thanks for waiting")),
    "id": HoldPhrases(
        ("mohon tunggu", "mohon ditunggu", "mohon menunggu", "tunggu sebentar",
         "ditunggu sebentar", "sebentar ya", "saya cek dulu"),
        ("terima kasih sudah menunggu", "terima kasih telah menunggu")),
    "ms": HoldPhrases(
        ("sila tunggu", "tunggu sebentar", "tunggu sekejap", "sekejap ya", "saya semak"),
        ("terima kasih kerana menunggu",)),
    "vi": HoldPhrases(
        ("vui lòng chờ", "vui lòng đợi", "xin chờ", "chờ một chút", "đợi một chút",
         "để em kiểm tra", "để tôi kiểm tra"),
        ()),
    "th": HoldPhrases(("รอสักครู่", "สักครู่นะ", "ขอตรวจสอบ"), ("ขอบคุณที่รอ",)),
}


HoldCue = Literal["announce", "thanks"]


def hold_phrase(raw: str, which: HoldCue) -> str | None:
    """The words of ``raw`` that announce a hold (or thank for waiting), or None."""
    utterance = Utterance(raw)
    for phrases in HOLD_PHRASES.values():
        for phrase in getattr(phrases, which):
            match = find(utterance, phrase)
            if match is not None:
                return match.text
    return None


# -- metrics --------------------------------------------------------------------------------

SilenceKind = Literal["dead_air", "hold"]
SilenceSource = Literal["audio", "turns"]


@dataclass(frozen=True)
class Silence:
    """A stretch where nobody speaks. A ``hold`` when announced: ``cue`` says how (the words
    said in turn ``cue_turn`` just before or just after it); unannounced, ``dead_air``."""

    start: float
    end: float
    kind: SilenceKind = "dead_air"
    cue: str | None = None
    cue_turn: int | None = None

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)

    def describe(self) -> str:
        if self.kind == "hold":
            return f"hold of {self.duration:.1f} s ({self.cue})"
        return f"dead air of {self.duration:.1f} s (no hold announced)"


@dataclass(frozen=True)
class AsrGap:
    """Speech the VAD found on the audio that no turn's words cover: words the ASR dropped,
    never a silence. Pauses inside shorter than a counted silence are part of it."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)


@dataclass(frozen=True)
class Overtalk:
    """``by`` started speaking while ``over`` was still speaking."""

    by: str
    over: str
    start: float
    overlap_s: float
    turn_idx: int  # the interrupting turn


@dataclass(frozen=True)
class ConversationMetrics:
    timed: bool
    duration_s: float | None
    turns: int
    talk_time_s: dict[str, float | None] = field(default_factory=dict)
    talk_ratio: dict[str, float | None] = field(default_factory=dict)
    # "audio": silences are where neither the VAD nor any turn has speech; "turns": only the
    # gaps between turns were known (no VAD: a third-party transcript), so speech the ASR
    # dropped would pass for silence. None when untimed.
    silence_source: SilenceSource | None = None
    silences: list[Silence] = field(default_factory=list)  # those of silence_threshold_s or more
    max_silence_s: float | None = None  # any silence, dead air or hold
    silence_count: int | None = None  # silences of at least silence_threshold_s
    max_dead_air_s: float | None = None  # silences not announced as a hold
    dead_air_count: int | None = None
    max_hold_s: float | None = None
    hold_count: int | None = None  # counted silences announced as a hold (``HOLD_PHRASES``)
    asr_gaps: list[AsrGap] = field(default_factory=list)
    asr_gap_count: int | None = None  # None without the audio's VAD speech
    max_asr_gap_s: float | None = None
    asr_gap_s: float | None = None
    overtalks: list[Overtalk] = field(default_factory=list)
    overtalk_count: dict[str, int | None] = field(default_factory=dict)  # by who started it
    overtalk_s: dict[str, float | None] = field(default_factory=dict)
    first_response_latency_s: float | None = None
    response_latencies_s: list[float] = field(default_factory=list)
    mean_response_latency_s: float | None = None
    max_response_latency_s: float | None = None
    speech_rate: dict[str, float | None] = field(default_factory=dict)
    speech_rate_unit: str = "chars_per_min"
    roles: Roles = "known"
    single_stream: bool = False  # one mono channel, even when diarized into two parties
    overlaps_heard: bool = False  # a single stream whose overlaps the audio model found

    @property
    def two_sided(self) -> bool:
        """Whether who spoke over whom can be measured: timed turns from separate channels,
        or one channel whose overlapping voices were found in the audio (``overlaps``). A
        mono recording's words are one stream whose overlaps the ASR never sees: without
        ``overlaps`` its overtalk is unmeasured (None), not zero (a free pass). Turns all of
        speaker ``unknown`` are such a stream too."""
        return (self.timed and (not self.single_stream or self.overlaps_heard)
                and self.roles != "unknown")

    def flat(self) -> dict[str, float | int | None]:
        """Every metric in ``METRICS`` by name, e.g. ``max_dead_air_s``, ``agent.talk_ratio``."""
        return {name: spec.read(self) for name, spec in METRICS.items()}


# -- the metric registry -------------------------------------------------------------------

MetricValue = float | int | None


@dataclass(frozen=True)
class MetricSource:
    """Where in a call a metric's value comes from: a turn (``turn_idx``) or a stretch of time."""

    why: str
    turn_idx: int | None = None
    start: float | None = None
    end: float | None = None


Reader = Callable[[ConversationMetrics], MetricValue]
Locator = Callable[[ConversationMetrics, pd.DataFrame], list[MetricSource]]


def _nowhere(metrics: ConversationMetrics, turns: pd.DataFrame) -> list[MetricSource]:
    return []


@dataclass(frozen=True)
class MetricSpec:
    """A metric rubrics may compare: how to read it off ``ConversationMetrics``, its unit, and
    how to point at the moments behind its value (shown as evidence)."""

    name: str
    read: Reader
    unit: str
    description: str
    locate: Locator = _nowhere
    needs_roles: bool = False  # only means something when the agent and customer are known
    needs_streams: bool = False  # needs the speakers on separate channels (overlaps)
    needs_audio: bool = False  # needs the VAD's speech on the audio (not only the turns)


# Registration order is the order of ``flat()``, hence of stored scorecards' metrics.
METRICS: dict[str, MetricSpec] = {}


def metric(name: str, unit: str, description: str, locate: Locator = _nowhere,
           needs_roles: bool = False, needs_streams: bool = False,
           needs_audio: bool = False) -> Callable[[Reader], Reader]:
    """Register the decorated function as how metric ``name`` is read."""
    def register(read: Reader) -> Reader:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        METRICS[name] = MetricSpec(name, read, unit, description, locate, needs_roles,
                                   needs_streams, needs_audio)
        return read

    return register


def _field(name: str, unit: str, description: str, locate: Locator = _nowhere,
           needs_roles: bool = False, needs_audio: bool = False) -> None:
    """A metric that is a scalar field of ConversationMetrics."""
    metric(name, unit, description, locate, needs_roles,
           needs_audio=needs_audio)(lambda m: getattr(m, name))


def _per_role(name: str, unit: str, description: str,
              locate: Callable[[str], Locator] | None = None,
              needs_streams: bool = False) -> None:
    """``agent.<name>`` and ``customer.<name>`` from a per-role field of ConversationMetrics."""
    for role in ROLES:
        metric(f"{role}.{name}", unit, description, locate(role) if locate else _nowhere,
               needs_roles=True, needs_streams=needs_streams)(_role_reader(name, role))


def _role_reader(name: str, role: str) -> Reader:
    return lambda m: getattr(m, name).get(role)


def unmeasured_reason(m: ConversationMetrics, spec: MetricSpec) -> str:
    """Why ``spec`` reads None on this call (said where a rubric item is na)."""
    if not m.timed:
        return "no timestamps"
    if spec.needs_audio and m.silence_source != "audio":
        return "no speech detection on the audio, only the transcript's turns"
    if spec.needs_streams and not m.two_sided:
        if m.roles == "unknown":
            return f"{ROLES_UNKNOWN}: one channel, no overlap can be heard"
        return "one channel: no overlap can be heard on a mono recording"
    if spec.needs_roles and m.roles != "known":
        return f"speaker roles {m.roles}"
    return "no data for it in this call"


def _silences_of(kind: SilenceKind | None) -> Locator:
    """The longest counted silences of ``kind`` (of any kind when None)."""
    def locate(m: ConversationMetrics, turns: pd.DataFrame) -> list[MetricSource]:
        where = " between transcript turns" if m.silence_source == "turns" else ""
        chosen = [s for s in m.silences if kind is None or s.kind == kind]
        return [MetricSource(s.describe() + where, start=s.start, end=s.end)
                for s in sorted(chosen, key=lambda s: -s.duration)[:5]]

    return locate


def _longest_asr_gaps(m: ConversationMetrics, turns: pd.DataFrame) -> list[MetricSource]:
    return [MetricSource(f"speech without words, {g.duration:.1f} s", start=g.start, end=g.end)
            for g in sorted(m.asr_gaps, key=lambda g: -g.duration)[:5]]


def _overtalks_by(role: str | None) -> Locator:
    """The first overtalks started by ``role`` (by anyone when None)."""
    def locate(m: ConversationMetrics, turns: pd.DataFrame) -> list[MetricSource]:
        return [MetricSource(f"{o.by} spoke over the {o.over} for {o.overlap_s:.1f} s",
                             turn_idx=o.turn_idx)
                for o in m.overtalks if role is None or o.by == role][:5]

    return locate


def _first_agent_turn(m: ConversationMetrics, turns: pd.DataFrame) -> list[MetricSource]:
    if m.first_response_latency_s is None:
        return []
    answers = turns[turns["speaker"] == "agent"]
    if answers.empty:
        return []
    return [MetricSource("first agent response", turn_idx=int(answers.index[0]))]


_field("timed", "flag", "1 when every turn has start and end times")
_field("duration_s", "s", "length of the call")
_field("turns", "turns", "number of turns")
_per_role("talk_time_s", "s", "time the role speaks, overlapping turns counted once")
_per_role("talk_ratio", "fraction", "the role's share of all talk time")


@metric("silences_from_audio", "flag",
        "1 when silences are measured on the audio's VAD speech, 0 from gaps between turns")
def _silences_from_audio(m: ConversationMetrics) -> MetricValue:
    return None if m.silence_source is None else int(m.silence_source == "audio")


_field("max_silence_s", "s", "longest stretch where nobody speaks, dead air or hold",
       _silences_of(None))
_field("silence_count", "silences", "silences of at least silence_threshold_s, holds included",
       _silences_of(None))
_field("max_dead_air_s", "s", "longest silence no hold phrase announced", _silences_of("dead_air"))
_field("dead_air_count", "silences", "unannounced silences of at least silence_threshold_s",
       _silences_of("dead_air"))
_field("max_hold_s", "s", "longest announced hold", _silences_of("hold"))
_field("hold_count", "holds", "silences of at least silence_threshold_s right after a hold "
       "phrase (请稍等, please hold) or before thanks for waiting", _silences_of("hold"))
_field("asr_gap_count", "gaps", "stretches of speech on the audio the ASR gave no words for",
       _longest_asr_gaps, needs_audio=True)
_field("max_asr_gap_s", "s", "longest stretch of speech without words", _longest_asr_gaps,
       needs_audio=True)
_field("asr_gap_s", "s", "all speech without words", _longest_asr_gaps, needs_audio=True)
_per_role("overtalk_count", "times", "times the role started speaking over the other",
          _overtalks_by, needs_streams=True)
_per_role("overtalk_s", "s", "seconds the role spoke over the other", _overtalks_by,
          needs_streams=True)
_field("first_response_latency_s", "s", "customer's first turn ends → agent answers",
       _first_agent_turn, needs_roles=True)
_field("mean_response_latency_s", "s", "mean of customer turn ends → agent starts",
       needs_roles=True)
_field("max_response_latency_s", "s", "longest customer turn end → agent start",
       needs_roles=True)
_per_role("speech_rate", "per_min", "characters (Chinese) or words per minute of talk")


@metric("overtalk_total", "times", "overtalks started by either side", _overtalks_by(None),
        needs_streams=True)
def _overtalk_total(m: ConversationMetrics) -> MetricValue:
    return len(m.overtalks) if m.two_sided else None


# -- measuring ------------------------------------------------------------------------------

Span = tuple[float, float]


def measure(turns: pd.DataFrame, language: str, duration_s: float | None = None,
            settings: ConversationSettings | None = None, roles: Roles | None = None, *,
            speech: Sequence[Span] | None = None,
            single_stream: bool = False,
            overlaps: Sequence[tuple[float, float, str]] | None = None) -> ConversationMetrics:
    """Metrics of one conversation from its TurnSchema rows.

    ``speech``: where the VAD on the audio found speech, on any channel (seconds). Silences
    are then where neither it nor a turn has speech, and VAD speech no turn covers is reported
    as ASR gaps; without it (chat logs, third-party transcripts) silences are the gaps between
    turns (``silence_source``). ``single_stream``: a mono recording (diarized or not), whose
    overtalk is unmeasured unless ``overlaps`` gives where two voices were heard at once and
    who started each (start, end, role). ``roles`` defaults to what the turns say
    (``roles_of``); unless "known", per-role metrics and response latencies are None.
    """
    settings = settings or ConversationSettings()
    turns = TurnSchema.validate(turns)
    roles = roles or roles_of(turns)
    timed = len(turns) > 0 and bool(turns["start"].notna().all() and turns["end"].notna().all())
    rate_unit = "chars_per_min" if language == "zh" else "words_per_min"
    if not timed:
        return _untimed(len(turns), duration_s, rate_unit, roles, single_stream)
    spans = (None if speech is None
             else merged_spans([(float(a), float(b)) for a, b in speech if b > a]))
    duration = duration_s if duration_s is not None else max(
        [float(turns["end"].max())] + [end for _, end in spans or []])
    spans = None if spans is None else _clipped(spans, duration)
    heard = _intervals(turns, None)
    silences = [_classify(s, turns, settings) for s in _silences(heard + (spans or []), duration)]
    from_audio = single_stream and overlaps is not None
    overtalks = (_overtalks_heard(overlaps or (), turns, settings.min_overtalk_s) if from_audio
                 else _overtalks(turns, settings.min_overtalk_s))
    latencies = _response_latencies(turns)
    metrics = ConversationMetrics(
        timed=True,
        duration_s=round(duration, 3),
        turns=len(turns),
        **_talk_fields(turns, language),
        silence_source="turns" if spans is None else "audio",
        **_silence_fields(silences, settings),
        **_asr_gap_fields(spans, heard, settings),
        overtalks=overtalks,
        overtalk_count={role: sum(o.by == role for o in overtalks) for role in ROLES},
        overtalk_s={role: round(sum(o.overlap_s for o in overtalks if o.by == role), 3)
                    for role in ROLES},
        first_response_latency_s=_first_response_latency(turns),
        response_latencies_s=latencies,
        mean_response_latency_s=round(sum(latencies) / len(latencies), 3) if latencies else None,
        max_response_latency_s=max(latencies) if latencies else None,
        speech_rate_unit=rate_unit,
        roles=roles,
        single_stream=single_stream,
        overlaps_heard=from_audio,
    )
    return _unmeasured(metrics)


def _talk_fields(turns: pd.DataFrame, language: str) -> dict[str, Any]:
    talk = {role: _union_length(_intervals(turns, role)) for role in ROLES}
    total = sum(talk.values())
    return {
        "talk_time_s": {role: round(talk[role], 3) for role in ROLES},
        "talk_ratio": {role: round(talk[role] / total, 4) if total else None for role in ROLES},
        "speech_rate": {role: _speech_rate(turns, role, talk[role], language) for role in ROLES},
    }


def _untimed(turns: int, duration_s: float | None, rate_unit: str, roles: Roles,
             single_stream: bool) -> ConversationMetrics:
    none = dict.fromkeys(ROLES)
    return ConversationMetrics(
        timed=False, duration_s=duration_s, turns=turns, talk_time_s=none, talk_ratio=none,
        overtalk_count=none, overtalk_s=none, speech_rate=none, speech_rate_unit=rate_unit,
        roles=roles, single_stream=single_stream)


def _unmeasured(metrics: ConversationMetrics) -> ConversationMetrics:
    """Blank what this call cannot tell: None (unmeasured), never 0 (a free pass)."""
    none = dict.fromkeys(ROLES)
    if metrics.roles != "known":
        # Nobody's words are known (or only guessed) to be the agent's or the customer's.
        metrics = replace(metrics, talk_time_s=none, talk_ratio=none, speech_rate=none,
                          first_response_latency_s=None, response_latencies_s=[],
                          mean_response_latency_s=None, max_response_latency_s=None)
    if not metrics.two_sided:
        # One channel: the ASR hears one voice at a time, so overlaps never reach the turns.
        metrics = replace(metrics, overtalks=[], overtalk_count=none, overtalk_s=none)
    elif metrics.roles != "known":
        metrics = replace(metrics, overtalk_count=none, overtalk_s=none)
    return metrics


def _silence_fields(silences: list[Silence], settings: ConversationSettings) -> dict[str, Any]:
    counted = [s for s in silences if s.duration >= settings.silence_threshold_s]
    dead_air = [s for s in silences if s.kind == "dead_air"]
    holds = [s for s in counted if s.kind == "hold"]
    return {
        "silences": counted,
        "max_silence_s": _longest(silences),
        "silence_count": len(counted),
        "max_dead_air_s": _longest(dead_air),
        "dead_air_count": sum(s.duration >= settings.silence_threshold_s for s in dead_air),
        "max_hold_s": _longest(holds),
        "hold_count": len(holds),
    }


def _longest(stretches: Sequence[Silence | AsrGap]) -> float:
    return max((s.duration for s in stretches), default=0.0)


def _classify(silence: Silence, turns: pd.DataFrame, settings: ConversationSettings) -> Silence:
    """A counted silence is a hold when a turn ending just before it announces one, or a
    turn starting just after it thanks for waiting."""
    if silence.duration < settings.silence_threshold_s:
        return silence
    near = settings.hold_cue_s
    before = turns[(turns["end"] >= silence.start - near) & (turns["end"] <= silence.start)]
    after = turns[(turns["start"] >= silence.end) & (turns["start"] <= silence.end + near)]
    cues: tuple[tuple[pd.DataFrame, HoldCue, str], ...] = (
        (before.iloc[::-1], "announce", "announced"), (after, "thanks", "thanked for waiting"))
    for rows, which, how in cues:
        for row in rows.itertuples(index=False):
            said = hold_phrase(str(row.raw_text), which)
            if said is not None:
                return replace(silence, kind="hold", cue=f"{how}: “{said}”",
                               cue_turn=int(row.idx))
    return silence


def _asr_gap_fields(speech: list[Span] | None, heard: list[Span],
                    settings: ConversationSettings) -> dict[str, Any]:
    if speech is None:
        return {}
    gaps = _asr_gaps(speech, heard, settings)
    return {"asr_gaps": gaps, "asr_gap_count": len(gaps), "max_asr_gap_s": _longest(gaps),
            "asr_gap_s": round(sum(g.duration for g in gaps), 3)}


def _asr_gaps(speech: list[Span], heard: list[Span],
              settings: ConversationSettings) -> list[AsrGap]:
    """VAD speech outside every turn (widened by the slop), joined across pauses too short
    to be silences when no turn lies between, kept when at least ``asr_gap_min_s``."""
    slop = settings.asr_gap_slop_s
    covered = merged_spans([(start - slop, end + slop) for start, end in heard])
    joined: list[Span] = []
    for start, end in _subtract(speech, covered):
        if joined and start - joined[-1][1] < settings.silence_threshold_s \
                and not _overlaps(covered, joined[-1][1], start):
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return [AsrGap(round(start, 3), round(end, 3)) for start, end in joined
            if end - start >= settings.asr_gap_min_s]


def _intervals(turns: pd.DataFrame, role: str | None) -> list[Span]:
    chosen = turns if role is None else turns[turns["speaker"] == role]
    return sorted(zip(chosen["start"], chosen["end"], strict=True))


def merged_spans(intervals: list[Span]) -> list[Span]:
    """Sorted, overlapping spans joined: where any of them covers."""
    out: list[Span] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _clipped(intervals: list[Span], duration: float) -> list[Span]:
    return [(max(0.0, start), min(end, duration)) for start, end in intervals
            if end > 0.0 and start < duration]


def _subtract(intervals: list[Span], minus: list[Span]) -> list[Span]:
    """Parts of ``intervals`` outside ``minus`` (both merged and sorted)."""
    out: list[Span] = []
    for start, end in intervals:
        cursor = start
        for cut_start, cut_end in minus:
            if cut_start >= end:
                break
            if cut_end > cursor:
                if cut_start > cursor:
                    out.append((cursor, cut_start))
                cursor = cut_end
        if cursor < end:
            out.append((cursor, end))
    return out


def _overlaps(intervals: list[Span], start: float, end: float) -> bool:
    return any(a < end and b > start for a, b in intervals)


def _union_length(intervals: list[Span]) -> float:
    return sum(end - start for start, end in merged_spans(intervals))


def _silences(intervals: list[Span], duration: float) -> list[Silence]:
    """Gaps where nobody speaks, including before the first and after the last word."""
    return [Silence(round(start, 3), round(end, 3))
            for start, end in _subtract([(0.0, duration)], merged_spans(intervals))]


def _overtalks(turns: pd.DataFrame, min_overlap_s: float) -> list[Overtalk]:
    events = []
    rows = list(turns.itertuples(index=False))
    for turn in rows:
        for other in rows:
            if other.speaker == turn.speaker or not other.start < turn.start < other.end:
                continue
            overlap = min(other.end, turn.end) - turn.start
            if overlap >= min_overlap_s:
                events.append(Overtalk(turn.speaker, other.speaker, round(turn.start, 3),
                                       round(overlap, 3), int(turn.idx)))
                break
    return events


def _overtalks_heard(overlaps: Sequence[tuple[float, float, str]], turns: pd.DataFrame,
                     min_overlap_s: float) -> list[Overtalk]:
    """Overtalk on one channel: the audio's overlaps, each tied to the interrupting turn
    (the starter's turn that begins nearest the overlap)."""
    events = []
    for start, end, by in overlaps:
        if end - start < min_overlap_s or by not in ROLES:
            continue
        own = turns[turns["speaker"] == by]
        if own.empty:
            continue
        nearest = own.iloc[int((own["start"] - start).abs().to_numpy().argmin())]
        over = next(role for role in ROLES if role != by)
        events.append(Overtalk(by, over, round(float(start), 3), round(float(end - start), 3),
                               int(nearest["idx"])))
    return events


def _response_latencies(turns: pd.DataFrame) -> list[float]:
    """Customer stops → agent starts, for every customer turn the agent answers next."""
    latencies = []
    rows = list(turns.itertuples(index=False))
    for current, following in itertools.pairwise(rows):
        if current.speaker == "customer" and following.speaker == "agent":
            latencies.append(round(max(0.0, following.start - current.end), 3))
    return latencies


def _first_response_latency(turns: pd.DataFrame) -> float | None:
    customer = turns[turns["speaker"] == "customer"]
    if customer.empty:
        return None
    first_end = float(customer["end"].iloc[0])
    answers = turns[(turns["speaker"] == "agent") & (turns["end"] > first_end)]
    if answers.empty:
        return None
    return round(max(0.0, float(answers["start"].iloc[0]) - first_end), 3)


def _speech_rate(turns: pd.DataFrame, role: str, talk_s: float, language: str) -> float | None:
    if talk_s <= 0:
        return None
    text = "".join(turns.loc[turns["speaker"] == role, "raw_text"])
    units = len(_HANZI.findall(text)) if language == "zh" else len(_WORD.findall(text))
    return round(units / (talk_s / 60.0), 1)
