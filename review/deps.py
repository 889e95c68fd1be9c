"""What the routes share: the app's settings, store, templates and login limiter (kept on
``app.state``, since every app built by ``create_app`` has its own), the signed-in viewer and
the role checks, the CSRF-checked form and the page renderer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from pipeline.config import Settings
from pipeline.reports.daily import TEMPLATES as REPORT_TEMPLATES
from pipeline.reports.format import FILTERS
from pipeline.store import Store
from review.auth import LoginLimiter, Viewer, csrf_ok, csrf_token, load_viewer

HERE = Path(__file__).resolve().parent


class NotSignedIn(Exception):
    """Raised by the viewer dependency; answered with a redirect to the login page."""


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


def app_store(request: Request) -> Store:
    return request.app.state.store


def login_limiter(request: Request) -> LoginLimiter:
    return request.app.state.limiter


SettingsDep = Annotated[Settings, Depends(app_settings)]
StoreDep = Annotated[Store, Depends(app_store)]
LimiterDep = Annotated[LoginLimiter, Depends(login_limiter)]


def current_viewer(request: Request, store: StoreDep) -> Viewer:
    """The signed-in, active user whose session is still valid (checked on every request:
    logout, a password change, disabling or enabling ends every session at once)."""
    with store.session() as session:
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


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form, once its CSRF token matches the session's. Awaited in the route body,
    after the viewer and the path are checked, rather than declared as a dependency (FastAPI
    runs those before validating the path, so a bad token would outrank a malformed path)."""
    form = await request.form()
    if not csrf_ok(request.session, form.get("csrf_token")):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page")
    return {k: str(v) for k, v in form.items()}


def make_templates() -> Jinja2Templates:
    # The dashboard includes the daily report's body, so both folders are searched.
    templates = Jinja2Templates(directory=[HERE / "templates", REPORT_TEMPLATES])
    templates.env.filters.update(FILTERS)
    return templates


def page(request: Request, name: str, viewer: Viewer | None, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """A template rendered with the viewer and the session's CSRF token every form needs."""
    templates: Jinja2Templates = request.app.state.templates
    context.update(request=request, viewer=viewer, csrf=csrf_token(request.session))
    return templates.TemplateResponse(request, name, context, status_code=status_code)
