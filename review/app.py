"""The supervisors' review app: FastAPI, server-rendered pages, a little JavaScript.

Every page needs a signed-in user; what they see is cut to their role's scope in the query
itself (a call outside it is a 404, never a 403 that would confirm it exists). Every form
carries the session's CSRF token; every view of a call and every decision is audited.

This module assembles the app; the routes live in ``review.routes``, one module per resource,
and what they share (settings, store, the viewer, CSRF, rendering) in ``review.deps``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from pipeline.config import Settings, get_settings
from pipeline.errors import ConfigError
from pipeline.store import Store
from pipeline.support.fsutil import ensure_dir
from review.auth import LoginLimiter
from review.deps import NotSignedIn, make_templates
from review.routes import ROUTERS

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
    app.state.templates = make_templates()
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

    @app.exception_handler(NotSignedIn)
    async def to_login(request: Request, _: NotSignedIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    # The page styles live with the daily report, which inlines them; the app serves both.
    app.mount("/static", StaticFiles(directory=HERE / "static",
                                     packages=[("pipeline.reports", "static")]), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app


def _secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
