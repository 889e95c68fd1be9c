"""The schedules ``callqa serve`` runs: the nightly batch (02:00) and weekly retraining.

Settings are read when a run starts (``callqa.toml`` / ``CALLQA_*``), not frozen into the
deployment, so a changed rubric or source folder applies from the next night.
"""

from __future__ import annotations

import os
from typing import Any

from prefect import flow
from prefect.schedules import Cron

from flows.nightly import dask_runner, nightly
from flows.retrain import retrain
from pipeline.config import Settings, get_settings, local_timezone

NIGHTLY = "callqa-nightly-scheduled"


@flow(name=NIGHTLY)
def scheduled_nightly(lookback_days: int | None = None) -> dict[str, Any]:
    """The nightly batch as the schedule runs it: configured source, calls of the last days,
    Dask when ``nightly.workers`` > 1 or ``CALLQA_DASK_ADDRESS`` names a scheduler."""
    settings = get_settings()
    schedule = settings.schedules
    source, manifest = schedule.source, schedule.manifest
    if source is None and manifest is None:
        raise ValueError("set schedules.source or schedules.manifest in callqa.toml")
    address = os.environ.get("CALLQA_DASK_ADDRESS")
    run = nightly
    if address or settings.nightly.workers > 1:
        run = nightly.with_options(task_runner=dask_runner(address, settings.nightly.workers))
    return run(source=str(source) if source else None,
               manifest=str(manifest) if manifest else None,
               lookback_days=lookback_days or schedule.lookback_days)


def deployments(settings: Settings) -> list[Any]:
    """The nightly and weekly-retraining deployments, for ``prefect.serve``."""
    schedule = settings.schedules
    timezone = schedule.timezone or local_timezone()
    return [
        scheduled_nightly.to_deployment(
            name="nightly", schedule=Cron(schedule.nightly, timezone=timezone),
            parameters={"lookback_days": schedule.lookback_days},
            description="Score the last days' unscored calls and flag them for review."),
        retrain.to_deployment(
            name="weekly-retrain", schedule=Cron(schedule.retrain, timezone=timezone),
            parameters={"min_new_samples": schedule.retrain_min_new_samples},
            description="Retrain on new labelled samples; promote by the registry's rule."),
    ]
