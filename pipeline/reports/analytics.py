"""The numbers managers read: score trend, top-3 problem areas (team × item failure rate),
agent ranking, risk counts, call outcomes (resolution, complaint categories, dissatisfaction,
agent compliance findings) and how far the AI agrees with people, for one day of the centre.

Days are the service centre's (``schedules.timezone``, default this machine's zone). Where a
call was reviewed, people's answers replace the AI's: the dashboard shows what was decided.

A call whose agent the AI could not judge (speaker roles unknown: a mono recording, flagged
``roles_unknown``) is *not assessable*: counted apart, and left out of the mean score, the
trend, the problem areas and the ranking, where its ``na`` items and the few items judged
without roles would say nothing about the agent. Once people have reviewed it, it counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import ColumnElement, String, case, cast, func, or_, select
from sqlalchemy.orm import Session

from pipeline.scoring import NOT_ASSESSABLE_FLAGS
from pipeline.store import Call, Inspection, ItemResult, ReviewDecision, as_utc

TREND_DAYS = 14
AGREEMENT_DAYS = 30
RESOLUTIONS = ("resolved", "escalated", "not_resolved")
# A call counts as a complaint at the bundled rubrics' threshold for complaint items, a
# customer as dissatisfied at even odds.
COMPLAINT_AT = 0.45
DISSATISFIED_AT = 0.5


@dataclass
class DaySummary:
    day: date | None
    zone: str
    totals: dict[str, Any] = field(default_factory=dict)
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)  # day, team, score, calls
    heat: pd.DataFrame = field(default_factory=pd.DataFrame)  # team × item failure rate
    heat_n: pd.DataFrame = field(default_factory=pd.DataFrame)  # judged items behind a rate
    top3: list[dict[str, Any]] = field(default_factory=list)
    ranking: list[dict[str, Any]] = field(default_factory=list)
    risk: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, Any] = field(default_factory=dict)
    agreement: list[dict[str, Any]] = field(default_factory=list)


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """The day's start and end in UTC."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    return as_utc(start), as_utc(start + timedelta(days=1))


def latest_day(session: Session, scope: ColumnElement[bool], zone: str) -> date | None:
    last = session.scalar(select(func.max(Call.started_at)).join(
        Inspection, Inspection.call_id == Call.call_id).where(scope))
    return as_utc(last).astimezone(ZoneInfo(zone)).date() if last else None


def day_summary(session: Session, scope: ColumnElement[bool], day: date | None,
                zone: str) -> DaySummary:
    """The day's figures over the calls ``scope`` admits (a viewer's ``call_scope()``)."""
    day = day or latest_day(session, scope, zone)
    summary = DaySummary(day, zone)
    if day is None:
        return summary
    start, end = day_bounds(day, zone)
    summary.trend = _trend(session, scope, day, zone)
    today = _inspections(session, scope, start, end)
    if not today.empty:
        assessed = today[today["assessable"]]
        mean = assessed["score"].mean()
        summary.totals = {
            "calls": len(today), "flagged": int(today["flagged"].sum()),
            "reviewed": int((today["status"] == "reviewed").sum()),
            "mean_score": None if pd.isna(mean) else round(float(mean), 1),
            "fatal": int(today["fatal"].sum()),
            "not_assessable": int((~today["assessable"]).sum()),
        }
        # Risk is still assessed on every call (capped at medium without roles: risk.assess).
        summary.risk = {level: int((today["risk_level"] == level).sum())
                        for level in ("low", "medium", "high")}
        summary.outcomes = _outcomes(today)
        if not assessed.empty:
            summary.ranking = _ranking(assessed)
            day_items = _items(session, assessed["inspection_id"].tolist())
            day_items = day_items.merge(assessed[["inspection_id", "team"]], on="inspection_id")
            summary.heat, summary.heat_n, summary.top3 = _heat(day_items)
    first, _ = day_bounds(day - timedelta(days=AGREEMENT_DAYS - 1), zone)
    reviewed = session.scalars(select(Inspection.id).join(
        Call, Call.call_id == Inspection.call_id).where(
        Inspection.current.is_(True), Inspection.status == "reviewed", scope,
        Call.started_at >= first, Call.started_at < end)).all()
    summary.agreement = _agreement(_items(session, sorted(reviewed)))
    return summary


def _trend(session: Session, scope: ColumnElement[bool], day: date, zone: str) -> pd.DataFrame:
    """Mean score and assessable calls per centre day and team over ``TREND_DAYS``, added up in the
    database (a month of a large centre is too many rows to fetch): each call falls in the
    day whose UTC bounds hold it, so days follow the zone's offsets, summer time included."""
    days = [day - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    ends = [day_bounds(d, zone)[1] for d in days]
    bucket = case(*((Call.started_at < e, n) for n, e in enumerate(ends)))
    score = case((Inspection.status == "reviewed", Inspection.human_score),
                 else_=Inspection.score)
    rows = session.execute(
        select(bucket, func.coalesce(Call.team, "(no team)"), func.avg(score), func.count())
        .join(Call, Call.call_id == Inspection.call_id)
        .where(Inspection.current.is_(True), Inspection.status != "failed", scope,
               _assessable(), Call.started_at >= day_bounds(days[0], zone)[0],
               Call.started_at < ends[-1])
        .group_by(bucket, func.coalesce(Call.team, "(no team)"))).all()
    frame = pd.DataFrame([(days[n], team, mean, calls) for n, team, mean, calls in rows
                          if mean is not None],
                         columns=["day", "team", "score", "calls"])
    return frame.sort_values(["day", "team"], ignore_index=True)


def _assessable() -> ColumnElement[bool]:
    """Reviewed, or no not-assessable flag: the one test, in SQL, for the day's rows and the
    trend alike. Flags are a JSON list, read as its text (the same on SQLite and PostgreSQL)."""
    text = func.coalesce(cast(Inspection.flags, String), "[]")  # no flags: none of those
    flagged = or_(*(text.like(f'%"{flag}"%') for flag in sorted(NOT_ASSESSABLE_FLAGS)))
    return or_(Inspection.status == "reviewed", ~flagged)


def _inspections(session: Session, scope: ColumnElement[bool], start: datetime, end: datetime
                 ) -> pd.DataFrame:
    rows = session.execute(
        select(Inspection.id, Call.call_id, Call.started_at, Call.team, Call.agent_id,
               Inspection.score, Inspection.human_score, Inspection.fatal,
               Inspection.risk_level, Inspection.human_risk_level, Inspection.flagged,
               Inspection.status, _assessable(), Inspection.outcome, Inspection.compliance)
        .join(Call, Call.call_id == Inspection.call_id)
        .where(Inspection.current.is_(True), Inspection.status != "failed", scope,
               Call.started_at >= start, Call.started_at < end)).all()
    frame = pd.DataFrame(rows, columns=["inspection_id", "call_id", "started_at", "team",
                                        "agent_id", "ai_score", "human_score", "fatal",
                                        "ai_risk", "human_risk", "flagged", "status",
                                        "assessable", "outcome", "compliance"])
    if frame.empty:
        return frame
    reviewed = frame["status"] == "reviewed"
    frame["assessable"] = frame["assessable"].astype(bool)
    frame["score"] = frame["ai_score"].where(~reviewed, frame["human_score"]).astype(float)
    frame["risk_level"] = frame["ai_risk"].where(~reviewed | frame["human_risk"].isna(),
                                                 frame["human_risk"])
    frame["team"] = frame["team"].fillna("(no team)")
    frame["agent_id"] = frame["agent_id"].fillna("(unknown)")
    return frame


def _outcomes(today: pd.DataFrame) -> dict[str, Any]:
    """The day's call outcomes: how many calls were resolved, escalated or left open; the
    complaints by category, most first; how many customers ended dissatisfied; the agent
    compliance findings by category. Calls without an
    outcome (roles unknown, no encoder) are counted as ``no_outcome``."""
    judged = [o for o in today["outcome"] if isinstance(o, dict) and o.get("resolution")]
    resolution = {r: sum(o["resolution"] == r for o in judged) for r in RESOLUTIONS}
    complaints = [o for o in judged if o.get("category") and o.get("complaint_probability")
                  is not None and o["complaint_probability"] >= COMPLAINT_AT]
    categories = pd.Series([o["category"] for o in complaints], dtype=object).value_counts()
    compliance = pd.Series([f.get("category") for found in today["compliance"]
                            for f in found or []], dtype=object).value_counts()
    return {"judged": len(judged), "no_outcome": len(today) - len(judged),
            "resolution": resolution, "complaints": len(complaints),
            "categories": [{"category": c, "calls": int(n)} for c, n in categories.items()],
            "dissatisfied": sum(o.get("dissatisfied_probability", 0) >= DISSATISFIED_AT
                                for o in judged),
            "compliance": {str(c): int(n) for c, n in compliance.items()},
            "compliance_calls": int(sum(bool(found) for found in today["compliance"]))}


def _items(session: Session, inspection_ids: list[int]) -> pd.DataFrame:
    """Item outcomes: the AI's, and the latest human answer where there is one."""
    rows, answers = [], {}
    for chunk in range(0, len(inspection_ids), 500):
        ids = inspection_ids[chunk:chunk + 500]
        rows += session.execute(select(ItemResult.inspection_id, ItemResult.item_id,
                                       ItemResult.outcome)
                                .where(ItemResult.inspection_id.in_(ids))).all()
        for inspection_id, item_id, human in session.execute(
                select(ReviewDecision.inspection_id, ReviewDecision.item_id,
                       ReviewDecision.human_outcome)
                .where(ReviewDecision.inspection_id.in_(ids)).order_by(ReviewDecision.id)):
            answers[(inspection_id, item_id)] = human
    frame = pd.DataFrame(rows, columns=["inspection_id", "item_id", "ai"])
    frame["human"] = [answers.get((i, item)) for i, item in
                      zip(frame["inspection_id"], frame["item_id"], strict=True)]
    frame["outcome"] = frame["human"].where(frame["human"].notna(), frame["ai"])
    return frame


def _heat(items: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    judged = items[items["outcome"].isin(["pass", "fail"])]
    if judged.empty:
        return pd.DataFrame(), pd.DataFrame(), []
    judged = judged.assign(failed=(judged["outcome"] == "fail").astype(float))
    rate = judged.pivot_table(index="team", columns="item_id", values="failed", aggfunc="mean")
    count = judged.pivot_table(index="team", columns="item_id", values="failed",
                               aggfunc="count")
    overall = judged.groupby("item_id")["failed"].agg(["mean", "sum", "count"])
    overall = overall.sort_values(["mean", "sum"], ascending=False)
    top3 = [{"item_id": item, "rate": float(row["mean"]), "failed": int(row["sum"]),
             "judged": int(row["count"]),
             "worst_team": str(rate[item].idxmax()) if rate[item].notna().any() else None}
            for item, row in overall.head(3).iterrows() if row["sum"] > 0]
    order = list(overall.index)
    return rate[order], count[order], top3


def _ranking(today: pd.DataFrame) -> list[dict[str, Any]]:
    grouped = today.groupby(["agent_id", "team"], as_index=False).agg(
        calls=("call_id", "count"), score=("score", "mean"), fatal=("fatal", "sum"),
        flagged=("flagged", "sum"))
    grouped = grouped.sort_values(["score", "calls"], ascending=[False, False])
    return [{"rank": n + 1, "agent_id": r.agent_id, "team": r.team, "calls": int(r.calls),
             "score": round(float(r.score), 1), "fatal": int(r.fatal),
             "flagged": int(r.flagged)}
            for n, r in enumerate(grouped.itertuples(index=False))]


def _agreement(items: pd.DataFrame) -> list[dict[str, Any]]:
    """Per item on reviewed calls: percent agreement and Cohen's kappa (AI vs people)."""
    rows = []
    reviewed = items[items["human"].notna()]
    for item_id, group in reviewed.groupby("item_id"):
        ai, human = group["ai"].tolist(), group["human"].tolist()
        agree = sum(a == h for a, h in zip(ai, human, strict=True)) / len(ai)
        kappa = None
        if len(set(ai) | set(human)) > 1:
            value = cohen_kappa_score(ai, human)
            kappa = None if pd.isna(value) else round(float(value), 3)
        rows.append({"item_id": item_id, "n": len(ai), "agreement": round(agree, 3),
                     "kappa": kappa})
    return sorted(rows, key=lambda r: (r["kappa"] is None, r["kappa"] or 0, r["agreement"]))
