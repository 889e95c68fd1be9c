"""The store: Alembic-created schema, idempotent writes, new versions kept, PII redacted in
stored text but not in scoring; SQLite always, PostgreSQL when Debian's server is installed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.exc import OperationalError

from pipeline.batch import inspect_call
from pipeline.config import Settings
from pipeline.scorecard import Scorer
from pipeline.store import Inspection, ItemResult, Store, Turn, sqlite_url

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def record_for(settings: Settings, name: str = "zh-model-call", extra_text: str = ""):
    document = json.loads((EXAMPLES / "scripts" / f"{name}.json").read_text())
    if extra_text:
        document["turns"].append({"speaker": "customer", "text": extra_text})
    call = {"call_id": name, "audio_path": None, "transcript_path": "x.json",
            "layout": "stereo_agent_left", "language": "zh", "agent_id": "A1", "team": "t1",
            "queue": None, "started_at": None, "customer_id": "C1", "order_id": None,
            "customer_rating": None, "nps": None}
    return inspect_call(Scorer(settings), call, document, {"asr": "test"})


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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
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
