"""CLI commands for operations: the nightly run, its schedules, and exports from the store."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.cli.console import day_option, err, fail, load_settings, out
from pipeline.errors import CallqaError
from pipeline.support.fsutil import atomic_open

if TYPE_CHECKING:
    import pandas as pd


def run(
    source: Annotated[Path | None, typer.Option(help="folder of recordings (day folders)")] = None,
    manifest: Annotated[Path | None, typer.Option(help="manifest CSV")] = None,
    date_: Annotated[str | None, typer.Option("--date", help="the day (or first day) YYYY-MM-DD")
                     ] = None,
    to: Annotated[str | None, typer.Option(help="last day of a range (with --date)")] = None,
    dask_address: Annotated[str | None, typer.Option(help="tcp://host:port of a Dask scheduler")
                            ] = None,
    workers: Annotated[int | None, typer.Option(help="local Dask worker processes")] = None,
    rescore: Annotated[bool, typer.Option(help="score again calls already scored")] = False,
) -> None:
    """Run the nightly flow once: score every call of the day and store the inspections."""
    # The ephemeral Prefect server migrates its database on first start, which can take
    # longer than Prefect's 20 s default on a small machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from flows.nightly import dask_runner, nightly
    from flows.workers import settings_payload
    from pipeline.store import Store, display_url

    settings = load_settings()
    if source is None and manifest is None:
        fail("give --source DIR or --manifest FILE")
    workers = workers or settings.nightly.workers
    flow = nightly
    if dask_address or workers > 1:
        flow = nightly.with_options(task_runner=dask_runner(dask_address, workers))
    run_id = f"nightly-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    store = Store.from_settings(settings)
    done = threading.Event()
    result: dict[str, Any] = {}

    def go() -> None:
        try:
            result["summary"] = flow(
                source=str(source) if source else None,
                manifest=str(manifest) if manifest else None,
                date_from=day_option(date_), date_to=day_option(to), rescore=rescore, run_id=run_id,
                settings_json=settings_payload(settings))
        except Exception as error:
            result["error"] = error
        finally:
            done.set()

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    with Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        bar = progress.add_task("calls", total=None)
        while not done.wait(0.5):
            planned, finished = store.run_progress(run_id)
            progress.update(bar, total=planned, completed=finished)
    if "error" in result:
        fail(f"the nightly flow failed: {result['error']}", code=1)
    _print_summary(result["summary"], display_url(settings.store_url))


def retrain(
    task: Annotated[str, typer.Option(help="utterance or call")] = "utterance",
    force: Annotated[bool, typer.Option(help="train even without new labelled samples")
                     ] = False,
    min_new: Annotated[int | None, typer.Option(help="new samples needed (default: config)")
                       ] = None,
    data: Annotated[Path | None, typer.Option(help="public data directory (../shared/data)")
                    ] = None,
) -> None:
    """Run the retraining flow once: new labelled samples → challenger → compare → promote."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from flows.retrain import retrain as retrain_flow
    from flows.workers import settings_payload

    settings = load_settings()
    minimum = settings.schedules.retrain_min_new_samples if min_new is None else min_new
    try:
        summary = retrain_flow(task_name=task, data_dir=str(data) if data else None,
                               min_new_samples=minimum, force=force,
                               settings_json=settings_payload(settings))
    except (ValueError, CallqaError) as error:
        fail(f"retraining failed: {error}", code=1)
    out.print(f"[bold]{summary['run_id']}[/]: {summary['new_samples']} new labelled samples "
              f"since {summary['since'] or 'ever'} → {summary['status']}")
    if summary["status"] != "skipped":
        out.print(f"  challenger {summary['version']}: {escape(str(summary['reason']))}")
    else:
        out.print(f"  {escape(str(summary['reason']))}")


def serve(
    api_url: Annotated[str | None, typer.Option(
        help="Prefect API of a running `prefect server start` (default: PREFECT_API_URL, "
             "else one is started on 127.0.0.1)")] = None,
    port: Annotated[int, typer.Option(help="port of the Prefect server started here")] = 4200,
    source: Annotated[Path | None, typer.Option(help="recordings folder the nightly run reads")
                      ] = None,
    manifest: Annotated[Path | None, typer.Option(help="manifest the nightly run reads")
                        ] = None,
) -> None:
    """Start the schedules: the nightly run (02:00 local) and weekly retraining."""
    if source is not None:
        os.environ["CALLQA_SCHEDULES__SOURCE"] = str(source.resolve())
    if manifest is not None:
        os.environ["CALLQA_SCHEDULES__MANIFEST"] = str(manifest.resolve())
    settings = load_settings(fresh=True)
    if settings.schedules.source is None and settings.schedules.manifest is None:
        fail("give --source or --manifest, or set [schedules] source in callqa.toml")
    server = None
    api_url = api_url or os.environ.get("PREFECT_API_URL")
    if api_url is None:
        server, api_url = _start_prefect_server(port)
    os.environ["PREFECT_API_URL"] = api_url  # before Prefect reads its settings
    from prefect import serve as prefect_serve

    from flows.schedules import deployments

    out.print(f"Prefect API {api_url}; schedules: nightly '{settings.schedules.nightly}', "
              f"retraining '{settings.schedules.retrain}'")
    try:
        prefect_serve(*deployments(settings))
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)


def _start_prefect_server(port: int) -> tuple[Any, str]:
    """`prefect server start` on the loopback address; returns (process, API URL)."""
    import subprocess
    import sys
    import time
    import urllib.request

    url = f"http://127.0.0.1:{port}/api"
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
               "--port", str(port)]
    err.print(f"starting a Prefect server on 127.0.0.1:{port}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"the Prefect server exited ({process.returncode}); is port {port} free?",
                  code=1)
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(1)
    process.terminate()
    fail("the Prefect server did not start within 180 s", code=1)


def _print_summary(summary: dict[str, Any], url: str) -> None:
    out.print(f"[bold]run {summary['run_id']}[/]: scored {summary['scored']}, "
              f"failed {summary['failed']}, flagged {summary['flagged']}, "
              f"already scored {summary['skipped_already_scored']}")
    for reason, count in summary["failed_by_reason"].items():
        out.print(f"  failed  {escape(reason)}: {count}")
    for reason, count in summary["flags_by_reason"].items():
        out.print(f"  flagged {escape(reason)}: {count}")
    for problem in summary["bad_manifest_rows"]:  # rows and file names: anyone's text
        out.print(f"  [yellow]skipped {escape(problem)}[/]")
    out.print(f"records: {escape(url)}")
    for report in summary.get("reports", []):
        out.print(f"report: {escape(report)}")


def export(
    out_path: Annotated[Path, typer.Argument(metavar="OUT", help="output file")],
    date_from: Annotated[str | None, typer.Option("--from", help="first day (call start, UTC)")
                         ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="last day, inclusive")] = None,
    format_: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
) -> None:
    """Export inspections with their calls' facts (one row per inspection)."""
    from pipeline.store import Store

    if format_ not in ("parquet", "csv"):
        fail("--format must be parquet or csv")
    first, last = day_option(date_from), day_option(date_to)
    start = datetime(first.year, first.month, first.day) if first else None
    end = datetime(last.year, last.month, last.day) + timedelta(days=1) if last else None
    settings = load_settings()
    try:
        rows = Store.from_settings(settings).inspection_rows(start, end)
    except CallqaError as error:
        fail(str(error))
    with atomic_open(out_path, "w" if format_ == "csv" else "wb",
                     file_mode=settings.file_mode) as handle:
        if format_ == "csv":
            csv_safe(rows).to_csv(handle, index=False)
        else:
            rows.to_parquet(handle, index=False)
    out.print(f"{len(rows)} inspections → {escape(str(out_path))}")


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'`` (OWASP)."""
    import pandas as pd

    def cell(value: object) -> object:
        if isinstance(value, str) and value.startswith(_FORMULA_START):
            return "'" + value
        return value

    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(cell)
    return out
