"""The review app's routes, one ``APIRouter`` per resource; ``review.app`` includes them all."""

from __future__ import annotations

from fastapi import APIRouter

from review.routes import appeals, audit, auth, calls, dashboard, health, queue

ROUTERS: tuple[APIRouter, ...] = (auth.router, health.router, queue.router, calls.router,
                                  appeals.router, dashboard.router, audit.router)
