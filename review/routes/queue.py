"""The queue of calls to review (for an agent: their own calls), and the home page that opens it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from review.decisions import RISK_LEVELS
from review.deps import SettingsDep, Signed, StoreDep, page
from review.queries import FLAG_REASONS, QueueFilters, queue, scope_options

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(viewer: Signed) -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, viewer: Signed, settings: SettingsDep,
               store: StoreDep) -> HTMLResponse:
    params = dict(request.query_params)
    if not viewer.reviews:  # agents see all their own calls, reviewed or not
        params.setdefault("flagged", "0")
        params.setdefault("reviewed", "all")
    filters = QueueFilters.parse(params)
    with store.session() as session:
        result = queue(session, viewer, filters, settings.review.page_size)
        options = scope_options(session, viewer)
    return page(request, "queue.html", viewer, result=result, f=filters, options=options,
                flag_reasons=FLAG_REASONS, risk_levels=RISK_LEVELS)
