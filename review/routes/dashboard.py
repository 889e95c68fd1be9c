"""The reviewers' dashboard: one day's summary and charts over the calls in their scope."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from pipeline.config import centre_timezone
from pipeline.reports import analytics, charts
from review.deps import Reviewing, SettingsDep, StoreDep, page
from review.queries import parse_day

router = APIRouter()


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, viewer: Reviewing, settings: SettingsDep,
              store: StoreDep) -> HTMLResponse:
    try:
        day = parse_day(request.query_params.get("date"))
    except ValueError as error:
        raise HTTPException(400, str(error)) from error
    with store.session() as session:
        data = analytics.day_summary(session, viewer.call_scope(), day,
                                     centre_timezone(settings))
    return page(request, "dashboard.html", viewer, data=data, images=charts.render_all(data))
