"""Attacks on the web pages and the files callqa writes: inputs that used to give 500s, error
pages without the security headers, formula injection in CSV exports, and files any local
user could read."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.config import Settings
from pipeline.reports.daily import write_report
from pipeline.store import Store

ODD_QUERIES = [
    "/dashboard?date=9999-12-31", "/dashboard?date=0001-01-01", "/dashboard?date=2026-02-30",
    "/dashboard?date=%00", "/dashboard?date=2031-01-01",
    "/queue?q=%00", "/queue?q=%00%01abc", "/queue?from=9999-12-31&to=9999-12-31",
    "/queue?from=0001-01-01", "/queue?page=99999999999999999999", "/queue?score_min=nan",
    "/queue?score_max=inf&score_min=-inf", "/queue?sort=%00&order=%00", "/queue?team=%00",
    "/queue?flag=%00&risk=%00&reviewed=%00",
]


@pytest.mark.parametrize("who", ["admin", "sup1"])
def test_odd_queries_answer_4xx_or_a_page_never_500(client_for, who: str) -> None:
    client = client_for(who)
    for url in ODD_QUERIES:
        response = client.get(url, follow_redirects=False)
        assert response.status_code < 500, (url, response.status_code)
        assert response.status_code in (200, 400), (url, response.status_code)


def test_a_supervisor_with_no_teams_gets_empty_pages(client_for, app_store) -> None:
    from review_fixtures import PASSWORD

    from review.users import add_user

    _, store = app_store
    add_user(store, "lonely", PASSWORD, "supervisor", [])
    client = client_for("lonely")
    for url in ("/queue", "/dashboard", "/appeals", "/dashboard?date=2026-11-20"):
        assert client.get(url).status_code == 200, url
    assert client.get("/calls/zh-model-call").status_code == 404


def test_an_empty_day_has_a_dashboard(client_for) -> None:
    response = client_for("admin").get("/dashboard?date=2020-01-01")
    assert response.status_code == 200


def test_a_server_error_keeps_the_security_headers(app_store, monkeypatch) -> None:
    from fastapi.testclient import TestClient
    from review_fixtures import sign_in

    from review.app import create_app
    from review.routes import dashboard

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(dashboard.analytics, "day_summary", broken)
    settings, store = app_store
    client = sign_in(TestClient(create_app(settings, store),
                                raise_server_exceptions=False), "admin")
    response = client.get("/dashboard")
    assert response.status_code == 500
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "boom" not in response.text and "Traceback" not in response.text


def test_csv_export_escapes_formulas(env_home: Settings, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import pandas as pd

    from pipeline.cli import app
    from pipeline.store import CallRecord

    store = Store.from_settings(env_home)
    call = {"call_id": "=HYPERLINK(\"http://x\")", "agent_id": "+cmd|' /C calc'!A0",
            "team": "@SUM(A1)", "queue": "-2+3", "started_at": datetime(2026, 11, 20, tzinfo=UTC)}
    inspection = {"rubric_id": "r", "rubric_version": 1, "rubric_hash": "h", "model_versions": {},
                  "score": -5.0, "fatal": False, "composite": None, "composite_basis": "",
                  "risk_score": 0.0, "risk_level": "low", "risk_reasons": [], "flags": [],
                  "status": "scored"}
    empty = pd.DataFrame(columns=["idx", "speaker", "start", "end", "raw_text", "confidence"])
    items = pd.DataFrame(columns=["item_id", "section", "outcome", "points", "max_points",
                                  "fatal", "evidence", "note"])
    store.write_call(CallRecord(call=call, inspection=inspection, items=items, turns=empty))
    out = tmp_path / "export.csv"
    result = CliRunner().invoke(app, ["export", "--format", "csv", str(out)])
    assert result.exit_code == 0, result.output
    row = next(csv.DictReader(out.open()))
    for column in ("call_id", "agent_id", "team", "queue"):
        assert row[column].startswith("'"), (column, row[column])
    assert row["score"] == "-5.0"  # numbers are numbers, not text to escape
    assert out.stat().st_mode & 0o777 == 0o600


def test_store_and_reports_are_owner_only(app_store, tmp_path: Path) -> None:
    settings, store = app_store
    database = Path(settings.store_url.split("///", 1)[1])
    assert database.stat().st_mode & 0o777 == 0o600
    report = write_report(store, settings, None, tmp_path / "reports")
    assert report.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "reports").stat().st_mode & 0o777 == 0o700
    shared = settings.model_copy(update={"file_mode": 0o640})
    report = write_report(store, shared, None, tmp_path / "shared")
    assert report.stat().st_mode & 0o777 == 0o640  # unless configured otherwise
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o750
