"""The audit log, newest first, for QA admins."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from pipeline.store import AuditEntry
from review.deps import Signed, StoreDep, page

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, viewer: Signed, store: StoreDep) -> HTMLResponse:
    if viewer.role != "qa_admin":
        raise HTTPException(403, "QA admins only")
    with store.session() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())
                               .limit(500)).all()
    return page(request, "audit.html", viewer, rows=rows)
