"""What the pages read: the review queue (filters, search, order, pages) and one call."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, Select, String, cast, column, func, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from pipeline.scoring import FLAG_REASONS
from pipeline.store import (
    Appeal,
    Call,
    CallText,
    Inspection,
    ItemResult,
    ReviewDecision,
    Turn,
    as_utc,
)
from pipeline.text import query_grams
from review.auth import Viewer

RISK_LEVELS = ("low", "medium", "high")
COUNT_CAP = 2_000  # "more than 2,000 calls": narrow the filters rather than page on
# Days a filter or the dashboard may ask for: beyond them day arithmetic overflows.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
SORTS = {
    "time": Inspection.started_at,  # the call's start, indexed with ``current``
    "score": func.coalesce(Inspection.human_score, Inspection.score),
    "risk": Inspection.risk_score,
    "uncertainty": Inspection.uncertainty,
}


def parse_day(value: str | None) -> date | None:
    """A YYYY-MM-DD day between FIRST_DAY and LAST_DAY (None when empty); ValueError else."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a day (YYYY-MM-DD): {value[:20]!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"days run from {FIRST_DAY} to {LAST_DAY}")
    return day


def _printable(text: str) -> str:
    """Without control characters (NUL and the like never reach a query)."""
    return "".join(ch for ch in text if ch.isprintable())


@dataclass
class QueueFilters:
    """The queue's query string, parsed (bad values are dropped, not errors)."""

    date_from: date | None = None
    date_to: date | None = None
    team: str | None = None
    agent: str | None = None
    flag: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    risk: str | None = None
    reviewed: str = "no"  # no | yes | all
    flagged_only: bool = True
    q: str = ""
    sort: str = "time"
    descending: bool = True
    page: int = 1

    @classmethod
    def parse(cls, params: dict[str, str], default_sort: str = "time") -> QueueFilters:
        def day(key: str) -> date | None:
            try:
                return parse_day(params.get(key))
            except ValueError:
                return None

        def number(key: str) -> float | None:
            try:
                value = float(params[key]) if params.get(key) else None
            except ValueError:
                return None
            return value if value is None or math.isfinite(value) else None

        sort = params.get("sort") or default_sort
        try:
            page = min(max(1, int(params.get("page") or 1)), COUNT_CAP)
        except ValueError:
            page = 1
        return cls(
            date_from=day("from"), date_to=day("to"),
            team=_printable(params.get("team") or "")[:100] or None,
            agent=_printable(params.get("agent") or "")[:100] or None,
            flag=params.get("flag") if params.get("flag") in FLAG_REASONS else None,
            score_min=number("score_min"), score_max=number("score_max"),
            risk=params.get("risk") if params.get("risk") in RISK_LEVELS else None,
            reviewed=params.get("reviewed") if params.get("reviewed") in ("yes", "all") else "no",
            flagged_only=params.get("flagged", "1") != "0",
            q=_printable(params.get("q") or "").strip()[:200],
            sort=sort if sort in SORTS else "time",
            descending=params.get("order", "desc") != "asc", page=page)

    def query_string(self, **changes: Any) -> str:
        """This filter set as a query string (with ``changes``), for links and pages."""
        from urllib.parse import urlencode

        values = {"from": self.date_from, "to": self.date_to, "team": self.team,
                  "agent": self.agent, "flag": self.flag, "score_min": self.score_min,
                  "score_max": self.score_max, "risk": self.risk, "reviewed": self.reviewed,
                  "flagged": "1" if self.flagged_only else "0", "q": self.q, "sort": self.sort,
                  "order": "desc" if self.descending else "asc", "page": self.page}
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


@dataclass
class QueuePage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    filters: QueueFilters = field(default_factory=QueueFilters)
    capped: bool = False  # more than COUNT_CAP calls match


def _day_start(day: date) -> datetime:
    return as_utc(datetime.combine(day, time.min))


def queue_query(viewer: Viewer, filters: QueueFilters, use_fts: bool = False) -> Select[Any]:
    query = (select(Inspection, Call).join(Call, Call.call_id == Inspection.call_id)
             .where(Inspection.current.is_(True), Inspection.status != "failed",
                    viewer.call_scope()))
    if filters.flagged_only:
        query = query.where(Inspection.flagged.is_(True))
    if filters.reviewed == "no":
        query = query.where(Inspection.status == "scored")
    elif filters.reviewed == "yes":
        query = query.where(Inspection.status == "reviewed")
    if filters.date_from:
        query = query.where(Inspection.started_at >= _day_start(filters.date_from))
    if filters.date_to:
        query = query.where(Inspection.started_at <
                            _day_start(filters.date_to + timedelta(days=1)))
    if filters.team:
        query = query.where(Call.team == filters.team)
    if filters.agent:
        query = query.where(Call.agent_id == filters.agent)
    if filters.flag:  # flags are a JSON list of "reason:detail" strings
        query = query.where(cast(Inspection.flags, String).like(f'%"{filters.flag}%'))
    score = SORTS["score"]
    if filters.score_min is not None:
        query = query.where(score >= filters.score_min)
    if filters.score_max is not None:
        query = query.where(score <= filters.score_max)
    if filters.risk:
        query = query.where(func.coalesce(Inspection.human_risk_level, Inspection.risk_level)
                            == filters.risk)
    if query_grams(filters.q):  # a query of punctuation alone filters nothing
        query = query.where(Inspection.call_id.in_(search_calls(filters.q, use_fts)))
    return query


def search_calls(text: str, use_fts: bool = False) -> Select[Any]:
    """Call ids with a turn whose normalised text contains the normalised ``text`` (so 12315
    also finds 一二三一五). Through the FTS5 bigram index on SQLite (one character as a prefix
    query); a LIKE over the stored grams on other databases."""
    grams = query_grams(text)
    if use_fts:
        phrase = '"' + grams.replace('"', '""') + '"' + (" *" if len(grams) == 1 else "")
        rowids = sql("SELECT rowid FROM call_text_fts WHERE call_text_fts MATCH :phrase"
                     ).bindparams(phrase=phrase).columns(column("rowid", Integer))
        return select(CallText.call_id).where(CallText.id.in_(rowids))
    escaped = grams.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return select(CallText.call_id).where(CallText.grams.like(f"%{escaped}%", escape="\\"))


def queue(session: Session, viewer: Viewer, filters: QueueFilters, page_size: int) -> QueuePage:
    query = queue_query(viewer, filters, use_fts=session.bind.dialect.name == "sqlite")
    order = SORTS[filters.sort]
    if filters.sort == "time":  # in index order: (current, started_at)
        ordering = [order.desc() if filters.descending else order.asc()]
    else:
        ordering = [order.desc().nulls_last() if filters.descending else
                    order.asc().nulls_last(), Inspection.id.desc()]
    # Counting stops at COUNT_CAP + 1 rows: an exact count of 100k rows costs more than the page.
    if filters.sort == "time" and not query_grams(filters.q):
        # The page streams in index order and stops early, and the count, unordered, is free to
        # start from whichever index filters best: two cheap queries.
        total = session.scalar(select(func.count()).select_from(
            query.with_only_columns(Inspection.id).limit(COUNT_CAP + 1).subquery())) or 0
        pages, page = _paging(total, page_size, filters.page)
        rows = session.execute(query.order_by(*ordering).limit(page_size)
                               .offset((page - 1) * page_size)).all()
    else:
        # A search or another order has to collect and sort every match anyway: one query lists
        # the first COUNT_CAP + 1 ids in order, which is the count, and the page is a slice.
        ids = session.scalars(query.with_only_columns(Inspection.id).order_by(*ordering)
                              .limit(COUNT_CAP + 1)).all()
        total = len(ids)
        pages, page = _paging(total, page_size, filters.page)
        shown = ids[(page - 1) * page_size:page * page_size]
        found = {i.id: (i, c) for i, c in session.execute(
            select(Inspection, Call).join(Call, Call.call_id == Inspection.call_id)
            .where(Inspection.id.in_(shown))).all()}
        rows = [found[i] for i in shown]
    return QueuePage([_row(i, c) for i, c in rows], total, page, pages, filters,
                     capped=total > COUNT_CAP)


def _paging(total: int, page_size: int, wanted: int) -> tuple[int, int]:
    """How many pages can be reached (within COUNT_CAP), and the page to show."""
    pages = max(1, -(-min(total, COUNT_CAP) // page_size))
    return pages, min(wanted, pages)


def _row(inspection: Inspection, call: Call) -> dict[str, Any]:
    return {
        "call_id": call.call_id, "started_at": call.started_at, "agent_id": call.agent_id,
        "team": call.team, "queue": call.queue, "duration_s": call.duration_s,
        "score": inspection.human_score if inspection.status == "reviewed" else inspection.score,
        "ai_score": inspection.score, "fatal": inspection.fatal,
        "risk_level": inspection.human_risk_level or inspection.risk_level,
        "flags": inspection.flags or [], "uncertainty": inspection.uncertainty,
        "reviewed": inspection.status == "reviewed", "inspection_id": inspection.id,
    }


def scope_options(session: Session, viewer: Viewer) -> dict[str, list[str]]:
    """Teams and agents the viewer may filter by."""
    teams = session.scalars(select(Call.team).where(viewer.call_scope(), Call.team.is_not(None))
                            .distinct().order_by(Call.team)).all()
    agents = session.scalars(select(Call.agent_id).where(viewer.call_scope(),
                                                         Call.agent_id.is_not(None))
                             .distinct().order_by(Call.agent_id)).all()
    return {"teams": list(teams), "agents": list(agents)}


@dataclass
class CallView:
    """One call as its page shows it: the current inspection, and every review decision and
    appeal the call has had, on this inspection or an earlier version of it."""

    call: Call
    inspection: Inspection | None
    items: list[ItemResult]
    turns: list[Turn]
    decisions: list[ReviewDecision]  # the call's, oldest first
    appeals: list[Appeal]  # the call's, oldest first
    # inspection id → "rubric v2 · 1a2b3c4d" for decisions and appeals on earlier versions
    versions: dict[int, str] = field(default_factory=dict)


def visible_call(session: Session, viewer: Viewer, call_id: str) -> CallView | None:
    """The call if this viewer may see it (else None: the page answers 404, not 403)."""
    call = session.scalars(select(Call).where(Call.call_id == call_id,
                                              viewer.call_scope())).first()
    if call is None:
        return None
    inspection = session.scalars(select(Inspection).where(
        Inspection.call_id == call_id, Inspection.current.is_(True))
        .order_by(Inspection.id.desc())).first()
    turns = session.scalars(select(Turn).where(Turn.call_id == call_id).order_by(Turn.idx)).all()
    decisions = session.scalars(select(ReviewDecision).where(
        ReviewDecision.call_id == call_id).order_by(ReviewDecision.id)).all()
    appeals = session.scalars(select(Appeal).where(
        Appeal.call_id == call_id).order_by(Appeal.id)).all()
    current = inspection.id if inspection is not None else None
    earlier = {row.inspection_id for row in [*decisions, *appeals]} - {current}
    versions = {i.id: f"rubric v{i.rubric_version} · {i.rubric_hash[:8]}"
                for i in session.scalars(select(Inspection).where(Inspection.id.in_(earlier)))}
    items = list(inspection.items) if inspection is not None else []
    return CallView(call, inspection, items, list(turns), list(decisions), list(appeals),
                    versions)


def open_appeals(session: Session, viewer: Viewer) -> list[tuple[Appeal, Call]]:
    query = (select(Appeal, Call).join(Call, Call.call_id == Appeal.call_id)
             .where(viewer.call_scope()).order_by(Appeal.status != "open",
                                                  Appeal.created_at.desc()).limit(200))
    if viewer.role == "agent":
        query = query.where(Appeal.agent == viewer.username)
    return [(a, c) for a, c in session.execute(query).all()]
