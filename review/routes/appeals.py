"""Agents' appeals: the open ones in the viewer's scope, and a reviewer's verdict on one."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pipeline.store import Appeal
from review.decisions import resolve_appeal
from review.deps import Reviewing, SettingsDep, Signed, StoreDep, checked_form, page
from review.queries import open_appeals, visible_call

router = APIRouter()


@router.get("/appeals", response_class=HTMLResponse)
def appeals_page(request: Request, viewer: Signed, store: StoreDep) -> HTMLResponse:
    with store.session() as session:
        rows = open_appeals(session, viewer)
    return page(request, "appeals.html", viewer, rows=rows)


@router.post("/appeals/{appeal_id}/resolve")
async def resolve(request: Request, appeal_id: int, viewer: Reviewing, settings: SettingsDep,
                  store: StoreDep) -> Response:
    form = await checked_form(request)
    with store.session() as session:
        found = session.get(Appeal, appeal_id)
        view = visible_call(session, viewer, found.call_id) if found else None
        if found is None or view is None:
            raise HTTPException(404, "no such appeal")
        if found.status != "open":
            raise HTTPException(409, "this appeal is already resolved")
        if form.get("verdict") not in ("uphold", "reject"):
            raise HTTPException(400, "the verdict is uphold or reject")
        uphold = form["verdict"] == "uphold"
        effect = resolve_appeal(session, view, found, viewer.username, uphold,
                                form.get("note", "")[:2000], settings.scoring)
        call_id = found.call_id
        store.audit(viewer.username, "appeal_upheld" if uphold else "appeal_rejected",
                    call_id, {"appeal": appeal_id, "effect": effect}, within=session)
    return RedirectResponse(f"/calls/{quote(call_id)}?done=appeal-resolved", status_code=303)
