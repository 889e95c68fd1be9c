"""Faults that lost data or leaked secrets: appeals and reviews deleted by a rescore (alone
and concurrently), a changed rubric hiding a review, secrets in Prefect's database, and one
call stalling a batch."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml
from review_fixtures import csrf_from, demo_record
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from pipeline.batch.scorer import Scorer
from pipeline.config import Settings
from pipeline.store import Appeal, Inspection, ReviewDecision, Store

RUBRICS = Path(__file__).resolve().parents[1] / "rubrics"
CALL = "zh-malicious-complaint"  # team t1, agent A1 (user agent1)


def file_appeal(client, item: str, reason: str = "the greeting was there") -> int:
    page = client.get(f"/calls/{CALL}")
    response = client.post(f"/calls/{CALL}/appeals",
                           data={"item": item, "reason": reason,
                                 "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    return response.status_code


def count(store: Store, model) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def current(store: Store, call_id: str = CALL) -> Inspection:
    with store.session() as session:
        return session.scalars(select(Inspection).where(
            Inspection.call_id == call_id, Inspection.current.is_(True))).one()


def test_appeals_survive_a_rescore_with_the_same_versions(client_for, app_store) -> None:
    settings, store = app_store
    agent = client_for("agent1")
    items = [i.item_id for i in store_items(store)]
    for item in items[:3]:
        assert file_appeal(agent, item) == 303
    before = current(store).id
    for _ in range(3):
        store.write_call(demo_record(Scorer(settings), CALL))
    assert count(store, Appeal) == 3
    assert current(store).id == before  # rewritten in place: what hangs on it stays
    assert "the greeting was there" in client_for("sup1").get(f"/calls/{CALL}").text


def store_items(store: Store):
    with store.session() as session:
        inspection = session.scalars(select(Inspection).where(
            Inspection.call_id == CALL, Inspection.current.is_(True))).one()
        return list(inspection.items)


def test_appeals_survive_a_concurrent_rescore(client_for, app_store) -> None:
    settings, store = app_store
    agent = client_for("agent1")
    items = [i.item_id for i in store_items(store)]
    record = demo_record(Scorer(settings), CALL)
    stop = threading.Event()
    errors: list[BaseException] = []

    def rescore() -> None:
        try:
            for _ in range(200):
                if stop.is_set():
                    return
                store.write_call(record)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    thread = threading.Thread(target=rescore)
    thread.start()
    try:
        codes = [file_appeal(agent, items[n % len(items)], f"appeal {n}") for n in range(30)]
    finally:
        stop.set()
        thread.join(60)
    assert not errors and codes == [303] * 30
    assert count(store, Appeal) == 30


def test_inspections_with_people_s_work_cannot_be_deleted(client_for, app_store) -> None:
    _, store = app_store
    assert file_appeal(client_for("agent1"), store_items(store)[0].item_id) == 303
    with pytest.raises(DBAPIError), store.session() as session:
        session.execute(delete(Inspection).where(Inspection.call_id == CALL))
    assert count(store, Appeal) == 1


def changed_rubric(tmp_path: Path, drop: str) -> Path:
    """The Mandarin rubric at version + 1 without the item ``drop``."""
    data = yaml.safe_load((RUBRICS / "ecommerce-zh.yaml").read_text())
    data["version"] += 1
    data["items"] = [item for item in data["items"] if item["id"] != drop]
    path = tmp_path / "ecommerce-zh-v2.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_a_new_rubric_version_keeps_the_review_and_the_appeals(client_for, app_store,
                                                               tmp_path: Path) -> None:
    settings, store = app_store
    supervisor, agent = client_for("sup1"), client_for("agent1")
    items = store_items(store)
    kept, dropped = items[0], items[1]
    assert file_appeal(agent, dropped.item_id, "about an item that will go") == 303
    flipped = "fail" if kept.outcome == "pass" else "pass"
    page = supervisor.get(f"/calls/{CALL}")
    assert supervisor.post(f"/calls/{CALL}/decision", data={
        f"item:{kept.item_id}": flipped, "risk": "low", "comment": "checked",
        "csrf_token": csrf_from(page.text)}, follow_redirects=False).status_code == 303
    reviewed = current(store)
    scorer = Scorer(settings, rubric=str(changed_rubric(tmp_path, dropped.item_id)))
    store.write_call(demo_record(scorer, CALL))
    new = current(store)
    assert new.id != reviewed.id and new.rubric_version == reviewed.rubric_version + 1
    assert new.status == "reviewed" and new.reviewed_by == "sup1"  # not back to "not reviewed"
    assert new.human_risk_level == "low" and new.human_score is not None
    assert count(store, ReviewDecision) > 0 and count(store, Appeal) == 1
    html = supervisor.get(f"/calls/{CALL}").text
    assert "about an item that will go" in html and "checked" in html
    assert f"rubric v{reviewed.rubric_version}" in html  # shown as made on the earlier version
    # The appeal's item is not in the new rubric: resolving it is no 500, and moves no score.
    with store.session() as session:
        appeal_id = session.scalars(select(Appeal.id)).one()
    response = supervisor.post(f"/appeals/{appeal_id}/resolve", data={
        "verdict": "uphold", "note": "ok", "csrf_token": csrf_from(html)},
        follow_redirects=False)
    assert response.status_code == 303
    assert current(store).human_score == new.human_score
    with store.session() as session:
        assert session.get(Appeal, appeal_id).status == "upheld"


def test_upholding_flips_the_disputed_answer_even_after_a_rescore(client_for,
                                                                  app_store) -> None:
    settings, store = app_store
    item = next(i for i in store_items(store) if i.outcome in ("pass", "fail"))
    assert file_appeal(client_for("agent1"), item.item_id) == 303
    store.write_call(demo_record(Scorer(settings), CALL))  # rescored meanwhile
    supervisor = client_for("sup1")
    page = supervisor.get(f"/calls/{CALL}")
    with store.session() as session:
        appeal_id = session.scalars(select(Appeal.id)).one()
    supervisor.post(f"/appeals/{appeal_id}/resolve", data={
        "verdict": "uphold", "note": "", "csrf_token": csrf_from(page.text)})
    with store.session() as session:
        answer = session.scalars(select(ReviewDecision.human_outcome).where(
            ReviewDecision.item_id == item.item_id)).one()
    assert answer == {"pass": "fail", "fail": "pass"}[item.outcome]


# -- the nightly flow under Prefect ------------------------------------------------------------


@pytest.fixture(scope="module")
def prefect_db():
    """A Prefect test server for this module; yields the path of its SQLite database."""
    from prefect.settings import get_current_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        url = get_current_settings().server.database.connection_url.get_secret_value()
        yield Path(url.split("///", 1)[1])


def chat_manifest(folder: Path, names: list[str]) -> Path:
    examples = RUBRICS.parent / "examples" / "scripts"
    lines = ["call_id,transcript_path,language,agent_id,team,started_at\n"]
    lines += [f"{name},{examples / name}.json,zh,A1,t1,2026-11-20T10:00:00+08:00\n"
              for name in names]
    path = folder / "manifest.csv"
    path.write_text("".join(lines))
    return path


def test_no_secret_reaches_prefect_s_database(prefect_db: Path, settings: Settings,
                                              tmp_path: Path) -> None:
    from flows.nightly import nightly
    from flows.workers import settings_payload

    key, marker = "signing-key-" + "k" * 40, "db-marker-7f3a9c"
    database = tmp_path / f"{marker}.db"
    values = settings.model_dump()
    values["store"]["url"] = f"sqlite:///{database}"
    values["review"]["secret_key"] = key
    secret = Settings.model_validate(values)
    manifest = chat_manifest(tmp_path, ["zh-model-call"])
    summary = nightly(manifest=str(manifest), settings_json=settings_payload(secret))
    assert summary["scored"] == 1 and database.is_file()  # the worker found the store
    written = b"".join(p.read_bytes() for p in prefect_db.parent.glob(prefect_db.name + "*"))
    assert str(manifest).encode() in written  # this run's parameters are in what is searched
    assert key.encode() not in written and marker.encode() not in written


def test_a_call_over_its_time_budget_fails_and_the_batch_goes_on(prefect_db: Path,
                                                                   settings: Settings,
                                                                   tmp_path: Path,
                                                                   monkeypatch) -> None:
    from flows.nightly import nightly
    from flows.workers import settings_payload
    from pipeline import scoring

    slow_call = "zh-forbidden-phrase"
    evaluate = scoring.evaluate

    def stalled(loaded, ctx):  # one call whose scoring would run for ever
        if ctx.call_id == slow_call:
            import time

            from pipeline.support import deadline

            while True:
                deadline.check("a stalled item")
                time.sleep(0.05)
        return evaluate(loaded, ctx)

    monkeypatch.setattr(scoring, "evaluate", stalled)
    budget = settings.model_copy(update={"limits": settings.limits.model_copy(
        update={"call_timeout_s": 3.0})})
    summary = nightly(manifest=str(chat_manifest(tmp_path, ["zh-model-call", slow_call])),
                      settings_json=settings_payload(budget))
    assert summary["scored"] == 1 and summary["failed_by_reason"] == {"timeout": 1}
