"""The nightly batch: every call of the day transcribed, classified, scored, stored and flagged.

Thin by design: each task calls one ``pipeline`` function. One call is one unit of work
(``process_call``), submitted to the task runner (threads in process, or Dask workers); its
stages are tasks inside it, so each has its own retries and its own record in Prefect.

Resumable: calls already scored with tonight's rubric and classifier versions are skipped, and
every write replaces the call's rows for the same versions, so a run killed half-way and run
again ends with exactly one inspection per call.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.workers import (
    Worker,
    current_versions,
    settings_from_payload,
    settings_payload,
    worker_for,
)
from pipeline.batch.manifest import CallJob
from pipeline.batch.run import collect, failure_reason, inspect_call, is_transient
from pipeline.config import Settings, centre_timezone, get_settings
from pipeline.risk import RiskSettings
from pipeline.store import CallRecord, Store
from pipeline.support import deadline


def _retry_transient(_task: Any, _run: Any, state: Any) -> bool:
    try:
        state.result()
    except Exception as error:
        return is_transient(error)
    return False


@task(name="transcribe", retries=2, retry_delay_seconds=2, retry_condition_fn=_retry_transient,
      cache_policy=NO_CACHE)
def transcribe_call(worker: Worker, call: dict[str, Any]) -> tuple[dict, dict[str, str]]:
    """The call's words: ASR (cached by audio hash and settings) or its transcript JSON."""
    return worker.scorer.document(CallJob.from_row(call))


@task(name="score", cache_policy=NO_CACHE)
def score_call(worker: Worker, call: dict[str, Any], document: dict, versions: dict[str, str],
               run_id: str) -> CallRecord:
    """Conversation, classifiers, rubric, risk (with the customer's history) and flags."""
    history = worker.store.customer_history(call.get("customer_id"), call.get("started_at"),
                                            RiskSettings().history_window_days,
                                            exclude_call=str(call["call_id"]))
    return inspect_call(worker.scorer, call, document, versions, run_id, history)


@task(name="write-inspection", retries=3, retry_delay_seconds=1,
      retry_condition_fn=_retry_transient, cache_policy=NO_CACHE)
def write_inspection(worker: Worker, record: CallRecord) -> int:
    return worker.store.write_call(record)


@task(name="process-call", cache_policy=NO_CACHE)
def process_call(call: dict[str, Any], run_id: str, payload: str) -> dict[str, Any]:
    """One call end to end. A failure is recorded on the call, never raised to the batch."""
    worker = worker_for(payload)
    call_id = str(call["call_id"])
    clock = StageClock()
    try:
        with deadline.call_budget(worker.settings.limits.call_timeout_s):
            with clock("transcribe"):
                document, versions = transcribe_call(worker, call)
            with clock("score"):
                record = score_call(worker, call, document, versions, run_id)
            deadline.check("scoring")
            with clock("write"):
                write_inspection(worker, record)
    except Exception as error:
        reason = failure_reason(error)
        worker.store.write_failure(call, f"{reason}: {error}", run_id)
        return {"call_id": call_id, "status": "failed", "reason": reason,
                "seconds": clock.seconds}
    return {"call_id": call_id, "status": "scored", "flags": record.inspection["flags"],
            "seconds": clock.seconds, "audio_s": record.call.get("duration_s") or 0.0}


class StageClock:
    """Wall seconds per stage of one call (``with clock("score"): ...``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(time.perf_counter() - start, 3)


@flow(name="callqa-nightly", task_runner=ThreadPoolTaskRunner(max_workers=1))
def nightly(source: str | None = None, manifest: str | None = None,
            date_from: date | None = None, date_to: date | None = None, rescore: bool = False,
            run_id: str | None = None, settings_json: str | None = None,
            lookback_days: int | None = None) -> dict[str, Any]:
    """Score the day's calls; returns the run summary (also stored in the ``runs`` table).

    ``settings_json``: ``flows.workers.settings_payload`` (no secrets; default: this process's
    settings). ``lookback_days`` (the schedule's form): the calls of the last N days up to
    yesterday.
    """
    logger = get_run_logger()
    settings = settings_from_payload(settings_json) if settings_json else get_settings()
    payload = settings_payload(settings)
    run_id = run_id or f"nightly-{uuid.uuid4().hex[:12]}"
    store = Store.from_settings(settings)
    if lookback_days and date_from is None:
        today = datetime.now(UTC).date()
        date_from, date_to = today - timedelta(days=lookback_days), today - timedelta(days=1)
    batch = collect(settings, Path(source) if source else None,
                    Path(manifest) if manifest else None, date_from, date_to)
    for problem in batch.problems:
        logger.warning("manifest %s", problem)
    versions = current_versions(settings)
    done = set() if rescore else store.scored_calls(
        [str(c["call_id"]) for c in batch.calls], versions["rubric_hashes"],
        versions["classifier"])
    todo = [c for c in batch.calls if str(c["call_id"]) not in done]
    store.start_run(run_id, "nightly", {"calls": len(batch.calls), "to_score": len(todo),
                                        "already_scored": len(done)})
    logger.info("%d calls: %d to score, %d already scored, %d bad manifest rows",
                len(batch.calls), len(todo), len(done), len(batch.problems))
    futures = [process_call.submit(call, run_id, payload) for call in todo]
    outcomes = [future.result() for future in futures]
    summary = summarize(outcomes, len(done), batch.problems)
    summary["run_id"] = run_id
    scored = {o["call_id"] for o in outcomes if o["status"] == "scored"}
    if scored:
        store.optimize()  # fresh planner statistics for the review app's queue and search
    scored_days = report_days([c for c in todo if str(c["call_id"]) in scored], settings)
    summary["reports"] = [str(daily_report(store, settings, day)) for day in scored_days]
    store.finish_run(run_id, summary)
    logger.info("scored %d, failed %d %s, flagged %d", summary["scored"], summary["failed"],
                summary["failed_by_reason"], summary["flagged"])
    return summary


def report_days(calls: list[dict[str, Any]], settings: Settings, most: int = 7) -> list[date]:
    """The centre's days the scored calls fall on (the latest ``most``): one report each."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(centre_timezone(settings))
    days = {c["started_at"].astimezone(zone).date() for c in calls
            if c.get("started_at") is not None}
    return sorted(days)[-most:]


@task(name="daily-report", cache_policy=NO_CACHE)
def daily_report(store: Store, settings: Settings, day: date) -> Path:
    """The day's report as one HTML file under ``nightly.report_dir``."""
    from pipeline.reports.daily import write_report

    return write_report(store, settings, day, settings.nightly.report_dir or
                        settings.home / "reports")


def summarize(outcomes: list[dict[str, Any]], skipped: int, problems: list[Any]
              ) -> dict[str, Any]:
    failed = Counter(o["reason"] for o in outcomes if o["status"] == "failed")
    flags = Counter(flag.split(":", 1)[0] for o in outcomes if o["status"] == "scored"
                    for flag in o["flags"])
    stages: Counter[str] = Counter()
    for outcome in outcomes:
        stages.update(outcome.get("seconds") or {})
    return {
        "scored": sum(o["status"] == "scored" for o in outcomes),
        "failed": sum(failed.values()),
        "failed_by_reason": dict(failed),
        "flagged": sum(bool(o.get("flags")) for o in outcomes if o["status"] == "scored"),
        "flags_by_reason": dict(flags),
        "skipped_already_scored": skipped,
        "bad_manifest_rows": [str(p) for p in problems],
        "audio_seconds": round(sum(o.get("audio_s") or 0.0 for o in outcomes), 1),
        "stage_seconds": {stage: round(value, 2) for stage, value in stages.items()},
    }


def dask_runner(address: str | None, workers: int) -> Any:
    """A Dask task runner: an existing scheduler, or a local cluster on the loopback address."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                          "processes": True, "host": "127.0.0.1",
                                          "dashboard_address": None})
