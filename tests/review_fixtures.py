"""A small store for the review app's tests: demo calls scored by the pipeline, two teams,
and one account per role."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from pipeline.batch.run import inspect_call
from pipeline.batch.scorer import Scorer
from pipeline.config import Settings
from pipeline.store import AuditEntry, CallRecord, Store
from review.users import add_user

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PASSWORD = "correct horse battery"
# call id → (team, agent); the recording and its transcript are the demo's.
CALLS = {
    "zh-malicious-complaint": ("t1", "A1"),
    "zh-forbidden-phrase": ("t1", "A2"),
    "zh-no-greeting-no-closing": ("t2", "B1"),
    "zh-model-call": ("t2", "B2"),
}
USERS = {  # user → (role, teams, agent id)
    "admin": ("qa_admin", [], None),
    "sup1": ("supervisor", ["t1"], None),
    "sup2": ("supervisor", ["t2"], None),
    "agent1": ("agent", [], "A1"),
    "agent2": ("agent", [], "A2"),
}


def demo_record(scorer: Scorer, call_id: str) -> CallRecord:
    """One of CALLS scored by ``scorer`` from its demo transcript, with its recording."""
    n = list(CALLS).index(call_id)
    team, agent = CALLS[call_id]
    document = json.loads((EXAMPLES / "calls" / f"{call_id}.json").read_text())
    document["call_id"] = call_id
    call = {"call_id": call_id, "audio_path": str(EXAMPLES / "calls" / f"{call_id}.ogg"),
            "transcript_path": None, "layout": "stereo_agent_left", "language": "zh",
            "agent_id": agent, "team": team, "queue": "complaints",
            "started_at": datetime(2026, 11, 20, 9 + n, 0, tzinfo=UTC),
            "customer_id": f"C{n}", "order_id": None, "customer_rating": 4.0, "nps": 8.0,
            "audio_root": str(EXAMPLES / "calls")}
    record = inspect_call(scorer, call, document, {"asr": "test"})
    record.inspection["flags"] = record.inspection["flags"] or ["calibration_sample"]
    return record


def build_store(settings: Settings) -> Store:
    store = Store(settings.store_url)
    scorer = Scorer(settings)
    for call_id in CALLS:
        store.write_call(demo_record(scorer, call_id))
    for username, (role, teams, agent) in USERS.items():
        add_user(store, username, PASSWORD, role, teams, agent)
    return store


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token, "next": "/queue"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def audit_rows(store: Store, action: str) -> list[AuditEntry]:
    with store.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
