"""Signing in and out: the login form, the rate-limited login, and logout."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from review.auth import csrf_token, end_sessions, find_user, verify_password
from review.deps import LimiterDep, Signed, StoreDep, checked_form, page

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "login.html", None, next=_safe_next(next))


@router.post("/login")
async def login(request: Request, store: StoreDep, limiter: LimiterDep) -> Response:
    form = await checked_form(request)
    username, password = form.get("username", "").strip(), form.get("password", "")
    address = request.client.host if request.client else "?"
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


@router.post("/logout")
async def logout(request: Request, viewer: Signed, store: StoreDep) -> Response:
    await checked_form(request)
    end_sessions(store, viewer.id)  # a copy of this cookie elsewhere opens nothing either
    store.audit(viewer.username, "logout")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no //host or scheme): no open redirect after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
