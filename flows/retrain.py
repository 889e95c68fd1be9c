"""Retraining: labelled samples since the last training → a challenger → compared → promoted.

The trigger is what is new: labelled samples (review decisions and imports) added since the
last run that trained. With fewer than ``min_new_samples`` the run records that it skipped.
The challenger trains on everything (public data, every import, every review decision), so
no earlier sample is forgotten; the registry's rule decides promotion (not worse than the
champion on the fixed validation split). Every run, trained or skipped, is a row in ``runs``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.workers import settings_from_payload
from pipeline.config import Settings, get_settings
from pipeline.models.registry import registry_for
from pipeline.store import Store, as_utc
from pipeline.training.challenger import DEFAULT_DATA, train_challenger
from pipeline.training.train import comparison_table

TRAINED = ("promoted", "not_promoted")


def last_training(store: Store, settings: Settings, task_name: str) -> datetime | None:
    """When the classifiers last trained: the latest retraining run that trained, else the
    champion's creation time (its samples are all in it), else never."""
    for run in store.runs("retrain"):
        summary = run.summary or {}
        if summary.get("status") in TRAINED and summary.get("task") == task_name:
            return as_utc(run.started_at)
    registry = registry_for(settings)
    champion = registry.champion(task_name)
    if champion is None:
        return None
    return as_utc(datetime.fromisoformat(registry.card(champion)["created_at"]))


@task(name="collect-samples", cache_policy=NO_CACHE)
def collect_samples(store: Store, since: datetime | None) -> dict[str, Any]:
    """What labelled samples arrived since the last training, by origin and label."""
    new = store.samples(since=since)
    return {"new_samples": len(new),
            "new_by_origin": {str(k): int(v) for k, v in new["origin"].value_counts().items()},
            "new_by_label": {str(k): int(v) for k, v in new["label"].value_counts().items()}}


@task(name="train-challenger", cache_policy=NO_CACHE)
def train_and_compare(settings: Settings, task_name: str, data_dir: Path | None,
                      promote: bool) -> dict[str, Any]:
    """Train, register, compare with the champion; promote if the registry's rule allows."""
    run = train_challenger(settings, task_name, data_dir=data_dir, from_reviews=True,
                           promote=promote)
    table = comparison_table(run.card)
    return {
        "status": "promoted" if run.decision.promoted and promote else "not_promoted",
        "version": run.version, "reason": run.decision.reason,
        "training_seconds": run.card["training_seconds"],
        "rows": run.card["data"]["rows"],
        "comparison": table.round(4).astype(object).where(table.notna(), None)
        .to_dict(orient="records"),
    }


@flow(name="callqa-retrain")
def retrain(task_name: str = "utterance", data_dir: str | None = None,
            min_new_samples: int = 1, force: bool = False, promote: bool = True,
            run_id: str | None = None, settings_json: str | None = None) -> dict[str, Any]:
    """Retrain the ``task_name`` classifier when labelled samples arrived since the last
    training; returns the run summary (also stored in the ``runs`` table)."""
    logger = get_run_logger()
    settings = settings_from_payload(settings_json) if settings_json else get_settings()
    store = Store.from_settings(settings)
    run_id = run_id or f"retrain-{uuid.uuid4().hex[:12]}"
    since = last_training(store, settings, task_name)
    summary: dict[str, Any] = {"task": task_name,
                               "since": since.isoformat() if since else None,
                               **collect_samples(store, since)}
    store.start_run(run_id, "retrain", summary)
    logger.info("%d labelled samples since %s %s", summary["new_samples"], since or "ever",
                summary["new_by_origin"])
    if summary["new_samples"] < min_new_samples and not force:
        summary.update(status="skipped",
                       reason=f"{summary['new_samples']} new labelled samples "
                              f"(at least {min_new_samples} needed)")
        store.finish_run(run_id, summary)
        logger.info("skipped: %s", summary["reason"])
        return {**summary, "run_id": run_id}
    try:
        summary.update(train_and_compare(settings, task_name,
                                         Path(data_dir) if data_dir else DEFAULT_DATA, promote))
    except Exception as error:
        summary.update(status="failed", reason=f"{type(error).__name__}: {error}")
        store.finish_run(run_id, summary)
        raise
    store.finish_run(run_id, summary)
    logger.info("%s %s: %s", summary["status"], summary["version"], summary["reason"])
    return {**summary, "run_id": run_id}
