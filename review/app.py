"""The supervisors' review app: FastAPI, server-rendered pages, a little JavaScript.

Every page needs a signed-in user; what they see is cut to their role's scope in the query
itself (a call outside it is a 404, never a 403 that would confirm it exists). Every form
carries the session's CSRF token; every view of a call and every decision is audited.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from starlette.middleware.sessions import SessionMiddleware

from pipeline.batch.recordings import servable
from pipeline.config import Settings, centre_timezone, get_settings
from pipeline.errors import ConfigError
from pipeline.reports import analytics, charts
from pipeline.reports.daily import TEMPLATES as REPORT_TEMPLATES
from pipeline.reports.format import FILTERS
from pipeline.store import Appeal, AuditEntry, Store
from pipeline.support.fsutil import ensure_dir
from review.auth import (
    LoginLimiter,
    Viewer,
    csrf_ok,
    csrf_token,
    end_sessions,
    find_user,
    load_viewer,
    verify_password,
)
from review.decisions import (
    OUTCOMES,
    RISK_LEVELS,
    latest_answers,
    record_decision,
    resolve_appeal,
)
from review.queries import (
    FLAG_REASONS,
    CallView,
    QueueFilters,
    open_appeals,
    parse_day,
    queue,
    scope_options,
    visible_call,
)

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'",
}


class NotSignedIn(Exception):
    """Raised by the viewer dependency; answered with a redirect to the login page."""


def session_secret(settings: Settings) -> str:
    """The configured key, else one made once and kept in ``<home>/secrets`` (a 700 folder,
    a 600 file), which the audio route refuses to serve from whatever the roots say."""
    if settings.review.secret_key is not None:
        return settings.review.secret_key.get_secret_value()
    folder = ensure_dir(settings.secrets_dir, 0o700)
    path = folder / "review-secret"
    legacy = settings.home / "review-secret"  # where earlier versions kept it
    if legacy.is_file() and not path.exists():
        os.replace(legacy, path)
    with contextlib.suppress(FileExistsError):  # another process may make it first
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    os.chmod(path, 0o600)  # a key moved from the legacy place keeps no looser mode
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigError(f"{path}: the review signing key is missing or too short")
    return key


def current_viewer(request: Request) -> Viewer:
    """The signed-in, active user whose session is still valid (checked on every request:
    logout, a password change, disabling or enabling ends every session at once)."""
    with request.app.state.store.session() as session:
        viewer = load_viewer(session, request.session.get("uid"), request.session.get("sv"))
    if viewer is None:
        request.session.clear()
        raise NotSignedIn
    return viewer


Signed = Annotated[Viewer, Depends(current_viewer)]


def reviewer(viewer: Signed) -> Viewer:
    if not viewer.reviews:
        raise HTTPException(403, "reviewers only")
    return viewer


Reviewing = Annotated[Viewer, Depends(reviewer)]


def create_app(settings: Settings | None = None, store: Store | None = None,
               host: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    store = store or Store.from_settings(settings)
    config = settings.review
    secure = config.cookie_secure
    if secure is None:
        secure = (host or config.host) not in LOOPBACK
    app = FastAPI(title="callqa review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings, app.state.store = settings, store
    app.state.limiter = LoginLimiter(config.login_attempts, config.login_window_s,
                                     config.login_attempts_address_factor)
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings),
                       session_cookie="callqa_session", same_site="lax", https_only=secure,
                       max_age=int(config.session_hours * 3600))

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        return _secured(await call_next(request))

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> Response:
        # Answered by Starlette's outermost middleware, past ours: the headers go on here.
        log.exception("%s %s failed", request.method, request.url.path, exc_info=error)
        return _secured(HTMLResponse("<h1>Something went wrong</h1><p>The error was logged."
                                     "</p>", status_code=500))

    # The page styles live with the daily report, which inlines them; the app serves both.
    app.mount("/static", StaticFiles(directory=HERE / "static",
                                     packages=[("pipeline.reports", "static")]), name="static")
    templates = Jinja2Templates(directory=[HERE / "templates", REPORT_TEMPLATES])
    templates.env.filters.update(FILTERS)

    @app.exception_handler(NotSignedIn)
    async def to_login(request: Request, _: NotSignedIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    def page(request: Request, name: str, viewer: Viewer | None, status_code: int = 200,
             **context: Any) -> HTMLResponse:
        context.update(request=request, viewer=viewer, csrf=csrf_token(request.session))
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    async def checked_form(request: Request) -> dict[str, str]:
        form = await request.form()
        if not csrf_ok(request.session, form.get("csrf_token")):
            raise HTTPException(403, "missing or wrong CSRF token; reload the page")
        return {k: str(v) for k, v in form.items()}

    # -- signing in -----------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return page(request, "login.html", None, next=_safe_next(next))

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await checked_form(request)
        username, password = form.get("username", "").strip(), form.get("password", "")
        address = request.client.host if request.client else "?"
        limiter: LoginLimiter = app.state.limiter
        wait = limiter.retry_after(address, username)
        if wait:
            lock, attempts, row = limiter.blocked_attempt(address, username)
            if row is None:
                limiter.set_audit_row(lock, store.audit(
                    username or "?", "login_blocked", address, {"lock": lock, "attempts": 1}))
            elif attempts % 10 == 0:  # one row per lock, its count kept roughly current
                store.update_audit(row, {"attempts": attempts})
            response = page(request, "login.html", None, 429, next=_safe_next(form.get("next")),
                            error=f"Too many failed attempts; try again in {wait} s.")
            response.headers["Retry-After"] = str(wait)
            return response
        with store.session() as session:
            user = find_user(session, username)
            valid = verify_password(user.password_hash if user else None, password)
            user_id = user.id if user is not None and user.active and valid else None
            version = user.session_version if user is not None else 0
        if user_id is None:
            limiter.failed(address, username)
            store.audit(username or "?", "login_failed", address)
            return page(request, "login.html", None, 401, next=_safe_next(form.get("next")),
                        error="Wrong user name or password.")
        limiter.succeeded(username)
        request.session.clear()  # a fresh session (and CSRF token) on every sign-in
        request.session["uid"], request.session["sv"] = user_id, version
        csrf_token(request.session)
        store.audit(username, "login", address)
        return RedirectResponse(_safe_next(form.get("next")), status_code=303)

    @app.post("/logout")
    async def logout(request: Request, viewer: Signed) -> Response:
        await checked_form(request)
        end_sessions(store, viewer.id)  # a copy of this cookie elsewhere opens nothing either
        store.audit(viewer.username, "logout")
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # -- the queue ------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def home(viewer: Signed) -> Response:
        return RedirectResponse("/queue", status_code=303)

    @app.get("/queue", response_class=HTMLResponse)
    def queue_page(request: Request, viewer: Signed) -> HTMLResponse:
        params = dict(request.query_params)
        if not viewer.reviews:  # agents see all their own calls, reviewed or not
            params.setdefault("flagged", "0")
            params.setdefault("reviewed", "all")
        filters = QueueFilters.parse(params)
        with store.session() as session:
            result = queue(session, viewer, filters, config.page_size)
            options = scope_options(session, viewer)
        return page(request, "queue.html", viewer, result=result, f=filters, options=options,
                    flag_reasons=FLAG_REASONS, risk_levels=RISK_LEVELS)

    # -- one call -------------------------------------------------------------------------------

    @app.get("/calls/{call_id}", response_class=HTMLResponse)
    def call_page(request: Request, call_id: str,
                  viewer: Signed) -> HTMLResponse:
        with store.session() as session:
            view = visible_call(session, viewer, call_id)
            if view is None:
                raise HTTPException(404, "no such call")
            answers = latest_answers(view)
        store.audit(viewer.username, "view_call", call_id)
        return page(request, "call.html", viewer, view=view, answers=answers,
                    has_audio=recording(view) is not None, outcomes=OUTCOMES,
                    risk_levels=RISK_LEVELS, message=request.query_params.get("done"))

    def recording(view: CallView) -> tuple[Path, str] | None:
        call = view.call
        return servable(call.audio_path, call.audio_sha256, call.audio_root,
                        settings.store.audio_roots, forbidden=[settings.secrets_dir])

    @app.get("/calls/{call_id}/audio")
    def call_audio(call_id: str, viewer: Signed) -> Response:
        with store.session() as session:
            view = visible_call(session, viewer, call_id)
        found = recording(view) if view is not None else None
        if found is None:  # not verified audio of this call inside its root: nothing to say
            raise HTTPException(404, "no audio")
        path, media = found
        return FileResponse(path, media_type=media)  # answers Range requests with 206

    @app.post("/calls/{call_id}/decision")
    async def decide(request: Request, call_id: str,
                     viewer: Reviewing) -> Response:
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

    @app.post("/calls/{call_id}/appeals")
    async def appeal(request: Request, call_id: str,
                     viewer: Signed) -> Response:
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

    @app.get("/appeals", response_class=HTMLResponse)
    def appeals_page(request: Request, viewer: Signed) -> HTMLResponse:
        with store.session() as session:
            rows = open_appeals(session, viewer)
        return page(request, "appeals.html", viewer, rows=rows)

    @app.post("/appeals/{appeal_id}/resolve")
    async def resolve(request: Request, appeal_id: int,
                      viewer: Reviewing) -> Response:
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

    # -- dashboard and audit ------------------------------------------------------------------

    @app.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request, viewer: Reviewing) -> HTMLResponse:
        try:
            day = parse_day(request.query_params.get("date"))
        except ValueError as error:
            raise HTTPException(400, str(error)) from error
        with store.session() as session:
            data = analytics.day_summary(session, viewer.call_scope(), day,
                                         centre_timezone(settings))
        return page(request, "dashboard.html", viewer, data=data,
                    images=charts.render_all(data))

    @app.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request, viewer: Signed) -> HTMLResponse:
        if viewer.role != "qa_admin":
            raise HTTPException(403, "QA admins only")
        with store.session() as session:
            rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())
                                   .limit(500)).all()
        return page(request, "audit.html", viewer, rows=rows)

    return app


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no //host or scheme): no open redirect after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
