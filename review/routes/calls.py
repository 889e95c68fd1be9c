"""One call: its page, its recording, a reviewer's decision and an agent's appeal."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from pipeline.batch.recordings import servable
from pipeline.config import Settings
from pipeline.store import Appeal
from review.decisions import OUTCOMES, RISK_LEVELS, latest_answers, record_decision
from review.deps import Reviewing, SettingsDep, Signed, StoreDep, checked_form, page
from review.queries import CallView, visible_call

router = APIRouter()


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(request: Request, call_id: str, viewer: Signed, settings: SettingsDep,
              store: StoreDep) -> HTMLResponse:
    with store.session() as session:
        view = visible_call(session, viewer, call_id)
        if view is None:
            raise HTTPException(404, "no such call")
        answers = latest_answers(view)
    store.audit(viewer.username, "view_call", call_id)
    return page(request, "call.html", viewer, view=view, answers=answers,
                has_audio=_recording(view, settings) is not None, outcomes=OUTCOMES,
                risk_levels=RISK_LEVELS, message=request.query_params.get("done"))


@router.get("/calls/{call_id}/audio")
def call_audio(call_id: str, viewer: Signed, settings: SettingsDep,
               store: StoreDep) -> Response:
    with store.session() as session:
        view = visible_call(session, viewer, call_id)
    found = _recording(view, settings) if view is not None else None
    if found is None:  # not verified audio of this call inside its root: nothing to say
        raise HTTPException(404, "no audio")
    path, media = found
    return FileResponse(path, media_type=media)  # answers Range requests with 206


@router.post("/calls/{call_id}/decision")
async def decide(request: Request, call_id: str, viewer: Reviewing, settings: SettingsDep,
                 store: StoreDep) -> Response:
    form = await checked_form(request)
    answers = {key.removeprefix("item:"): value for key, value in form.items()
               if key.startswith("item:")}
    with store.session() as session:
        view = visible_call(session, viewer, call_id)
        if view is None:
            raise HTTPException(404, "no such call")
        try:
            outcome = record_decision(session, view, viewer.username, answers,
                                      form.get("risk") or None,
                                      form.get("comment", "")[:2000], settings.scoring)
        except ValueError as error:
            raise HTTPException(400, str(error)) from error
        # One transaction: the answers, the score, the samples they teach and the audit
        # row are stored together or not at all.
        new = (store.add_samples(outcome.samples, "review", within=session)
               if len(outcome.samples) else 0)
        store.audit(viewer.username, "decision", call_id, {
            "changed": {k: list(v) for k, v in outcome.changed.items()},
            "score_before": outcome.score_before, "score_after": outcome.score_after,
            "samples": len(outcome.samples), "new_samples": new}, within=session)
    return RedirectResponse(f"/calls/{quote(call_id)}?done=decision", status_code=303)


@router.post("/calls/{call_id}/appeals")
async def appeal(request: Request, call_id: str, viewer: Signed, store: StoreDep) -> Response:
    form = await checked_form(request)
    if viewer.role != "agent":
        raise HTTPException(403, "appeals are made by the call's agent")
    reason = form.get("reason", "").strip()[:2000]
    with store.session() as session:
        view = visible_call(session, viewer, call_id)
        if view is None or view.inspection is None:
            raise HTTPException(404, "no such call")
        items = {i.item_id: i for i in view.items}
        if form.get("item") not in items or not reason:
            raise HTTPException(400, "choose an item and give a reason")
        disputed = latest_answers(view).get(form["item"], items[form["item"]].outcome)
        session.add(Appeal(inspection_id=view.inspection.id, call_id=call_id,
                           item_id=form["item"], outcome=disputed, agent=viewer.username,
                           reason=reason))
        store.audit(viewer.username, "appeal", call_id,
                    {"item": form["item"], "reason": reason}, within=session)
    return RedirectResponse(f"/calls/{quote(call_id)}?done=appeal", status_code=303)


def _recording(view: CallView, settings: Settings) -> tuple[Path, str] | None:
    """The call's recording and its media type while it may be sent, else None; the secrets
    folder is refused even when a configured audio root contains it."""
    call = view.call
    return servable(call.audio_path, call.audio_sha256, call.audio_root,
                    settings.store.audio_roots, forbidden=[settings.secrets_dir])
