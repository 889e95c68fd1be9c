"""Build ordered turns from segments (or a chat log) and measure the conversation.

Turns: a speaker's consecutive segments are merged across short pauses unless the other side
spoke in between; overlapping speech is kept as it happened (turns may overlap in time).
Metrics: talk time and ratio, silences where nobody speaks, overtalk, response latency and
speech rate, per call and per role. Chat logs without times get ``None`` for timed metrics.
``METRICS`` names the scalar ones (``max_silence_s``, ``agent.talk_ratio``): what rubrics compare
and scorecards store, each with where in the call its value comes from.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd

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
    hold_threshold_s: float = 30.0  # silences at least this long count as holds
    min_overtalk_s: float = 0.5  # shorter overlaps are backchannels (嗯, 对), not overtalk


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


# -- metrics --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Silence:
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
    silences: list[Silence] = field(default_factory=list)
    max_silence_s: float | None = None
    silence_count: int | None = None  # silences of at least silence_threshold_s
    hold_count: int | None = None  # silences of at least hold_threshold_s
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

    @property
    def two_sided(self) -> bool:
        """Whether who spoke over whom can be measured: timed turns of separated speakers. One
        mono channel without roles holds one stream of words, whose overlaps ASR never sees:
        its overtalk is unmeasured (None), not zero (a free pass)."""
        return self.timed and self.roles != "unknown"

    def flat(self) -> dict[str, float | int | None]:
        """Every metric in ``METRICS`` by name, e.g. ``max_silence_s``, ``agent.talk_ratio``."""
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


# Registration order is the order of ``flat()``, hence of stored scorecards' metrics.
METRICS: dict[str, MetricSpec] = {}


def metric(name: str, unit: str, description: str, locate: Locator = _nowhere,
           needs_roles: bool = False) -> Callable[[Reader], Reader]:
    """Register the decorated function as how metric ``name`` is read."""
    def register(read: Reader) -> Reader:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        METRICS[name] = MetricSpec(name, read, unit, description, locate, needs_roles)
        return read

    return register


def _field(name: str, unit: str, description: str, locate: Locator = _nowhere,
           needs_roles: bool = False) -> None:
    """A metric that is a scalar field of ConversationMetrics."""
    metric(name, unit, description, locate, needs_roles)(lambda m: getattr(m, name))


def _per_role(name: str, unit: str, description: str,
              locate: Callable[[str], Locator] | None = None) -> None:
    """``agent.<name>`` and ``customer.<name>`` from a per-role field of ConversationMetrics."""
    for role in ROLES:
        metric(f"{role}.{name}", unit, description, locate(role) if locate else _nowhere,
               needs_roles=True)(_role_reader(name, role))


def _role_reader(name: str, role: str) -> Reader:
    return lambda m: getattr(m, name).get(role)


def _longest_silences(m: ConversationMetrics, turns: pd.DataFrame) -> list[MetricSource]:
    return [MetricSource(f"silence of {s.duration:.1f} s", start=s.start, end=s.end)
            for s in sorted(m.silences, key=lambda s: -s.duration)[:5]]


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
_field("max_silence_s", "s", "longest stretch where nobody speaks", _longest_silences)
_field("silence_count", "silences", "silences of at least silence_threshold_s",
       _longest_silences)
_field("hold_count", "silences", "silences of at least hold_threshold_s", _longest_silences)
_per_role("overtalk_count", "times", "times the role started speaking over the other",
          _overtalks_by)
_per_role("overtalk_s", "s", "seconds the role spoke over the other", _overtalks_by)
_field("first_response_latency_s", "s", "customer's first turn ends → agent answers",
       _first_agent_turn, needs_roles=True)
_field("mean_response_latency_s", "s", "mean of customer turn ends → agent starts",
       needs_roles=True)
_field("max_response_latency_s", "s", "longest customer turn end → agent start",
       needs_roles=True)
_per_role("speech_rate", "per_min", "characters (Chinese) or words per minute of talk")


@metric("overtalk_total", "times", "overtalks started by either side", _overtalks_by(None))
def _overtalk_total(m: ConversationMetrics) -> MetricValue:
    return len(m.overtalks) if m.two_sided else None


def measure(turns: pd.DataFrame, language: str, duration_s: float | None = None,
            settings: ConversationSettings | None = None,
            roles: Roles | None = None) -> ConversationMetrics:
    """Metrics of one conversation from its TurnSchema rows. ``roles`` defaults to what the
    turns say (``roles_of``); with roles unknown, per-role and two-sided metrics are None."""
    settings = settings or ConversationSettings()
    turns = TurnSchema.validate(turns)
    roles = roles or roles_of(turns)
    timed = len(turns) > 0 and bool(turns["start"].notna().all() and turns["end"].notna().all())
    rate_unit = "chars_per_min" if language == "zh" else "words_per_min"
    if not timed:
        return ConversationMetrics(
            timed=False, duration_s=duration_s, turns=len(turns),
            talk_time_s=dict.fromkeys(ROLES), talk_ratio=dict.fromkeys(ROLES),
            overtalk_count=dict.fromkeys(ROLES), overtalk_s=dict.fromkeys(ROLES),
            speech_rate=dict.fromkeys(ROLES), speech_rate_unit=rate_unit, roles=roles,
        )
    duration = duration_s if duration_s is not None else float(turns["end"].max())
    talk = {role: _union_length(_intervals(turns, role)) for role in ROLES}
    total_talk = sum(talk.values())
    silences = _silences(_intervals(turns, None), duration)
    overtalks = _overtalks(turns, settings.min_overtalk_s)
    latencies = _response_latencies(turns)
    first = _first_response_latency(turns)
    counted = [s for s in silences if s.duration >= settings.silence_threshold_s]
    metrics = ConversationMetrics(
        timed=True,
        duration_s=round(duration, 3),
        turns=len(turns),
        talk_time_s={role: round(talk[role], 3) for role in ROLES},
        talk_ratio={role: round(talk[role] / total_talk, 4) if total_talk else None
                    for role in ROLES},
        silences=counted,
        max_silence_s=max((s.duration for s in silences), default=0.0),
        silence_count=len(counted),
        hold_count=sum(s.duration >= settings.hold_threshold_s for s in silences),
        overtalks=overtalks,
        overtalk_count={role: sum(o.by == role for o in overtalks) for role in ROLES},
        overtalk_s={role: round(sum(o.overlap_s for o in overtalks if o.by == role), 3)
                    for role in ROLES},
        first_response_latency_s=first,
        response_latencies_s=latencies,
        mean_response_latency_s=round(sum(latencies) / len(latencies), 3) if latencies else None,
        max_response_latency_s=max(latencies) if latencies else None,
        speech_rate={role: _speech_rate(turns, role, talk[role], language) for role in ROLES},
        speech_rate_unit=rate_unit,
        roles=roles,
    )
    if roles == "unknown":
        # One stream of words without roles: silences and length are still the call's, but
        # nothing is the agent's or the customer's (not 0 s of agent talk: unmeasured), and no
        # overlap can be heard on one channel (``two_sided``).
        unmeasured = dict.fromkeys(ROLES)
        return replace(metrics, talk_time_s=unmeasured, talk_ratio=unmeasured,
                       overtalks=[], overtalk_count=unmeasured, overtalk_s=unmeasured,
                       speech_rate=unmeasured)
    return metrics


def _intervals(turns: pd.DataFrame, role: str | None) -> list[tuple[float, float]]:
    chosen = turns if role is None else turns[turns["speaker"] == role]
    return sorted(zip(chosen["start"], chosen["end"], strict=True))


def _merged(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _union_length(intervals: list[tuple[float, float]]) -> float:
    return sum(end - start for start, end in _merged(intervals))


def _silences(intervals: list[tuple[float, float]], duration: float) -> list[Silence]:
    """Gaps where nobody speaks, including before the first and after the last word."""
    silences, cursor = [], 0.0
    for start, end in _merged(intervals):
        if start > cursor:
            silences.append(Silence(round(cursor, 3), round(start, 3)))
        cursor = max(cursor, end)
    if duration > cursor:
        silences.append(Silence(round(cursor, 3), round(duration, 3)))
    return silences


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
