"""The nightly flow under Prefect: records, flags, summary, bad rows, bad audio, re-runs,
resume after kill -9, and Dask workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import func, select

from flows.nightly import dask_runner, nightly
from flows.workers import settings_payload
from pipeline.config import Settings
from pipeline.store import Inspection, Store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HEADER = "call_id,transcript_path,audio_path,language,agent_id,team,started_at,customer_id\n"


@pytest.fixture(scope="module", autouse=True)
def harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def write_manifest(folder: Path, names: list[str], copies: int = 1) -> Path:
    lines = [HEADER]
    for n in range(copies):
        for name in names:
            call_id = name if copies == 1 else f"{name}-{n}"
            lines.append(f"{call_id},{EXAMPLES / 'scripts' / name}.json,,zh,A1,t1,"
                         f"2026-11-20T10:00:00+08:00,C{n}\n")
    path = folder / "manifest.csv"
    path.write_text("".join(lines))
    return path


def inspections(settings: Settings) -> list[tuple[str, str]]:
    with Store(settings.store_url).session() as session:
        return sorted(session.execute(select(Inspection.call_id, Inspection.status)).all())


def test_nightly_scores_flags_and_reports_bad_rows_and_bad_audio(settings: Settings,
                                                                 tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, ["zh-model-call", "zh-forbidden-phrase",
                                         "zh-malicious-complaint"])
    corrupt = tmp_path / "broken.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with manifest.open("a") as handle:
        handle.write(f"broken,,{corrupt},zh,A1,t1,2026-11-20T11:00:00+08:00,C9\n")
        handle.write(f"french,{EXAMPLES / 'scripts' / 'zh-model-call.json'},,fr,A1,t1,,\n")
        handle.write("no-source,,,zh,A1,t1,,\n")
    summary = nightly(manifest=str(manifest), settings_json=settings_payload(settings))
    assert summary["scored"] == 3 and summary["failed"] == 1
    assert list(summary["failed_by_reason"]) == ["audio:corrupt"]
    assert summary["flags_by_reason"]["fatal"] == 1 and summary["flags_by_reason"]["high_risk"] == 1
    assert [p.split(" ")[1] for p in summary["bad_manifest_rows"]] == ["6", "7"]
    assert "fr" in summary["bad_manifest_rows"][0]
    report = Path(summary["reports"][0])  # the day's report, written after scoring
    assert report.name in {f"callqa-report-2026-11-{d}.html" for d in (19, 20)}  # by zone
    assert report.is_file()
    assert "data:image/png;base64," in report.read_text()
    rows = inspections(settings)
    assert rows == [("broken", "failed"), ("zh-forbidden-phrase", "scored"),
                    ("zh-malicious-complaint", "scored"), ("zh-model-call", "scored")]

    again = nightly(manifest=str(manifest), settings_json=settings_payload(settings))
    assert again["scored"] == 0 and again["skipped_already_scored"] == 3
    rescored = nightly(manifest=str(manifest), rescore=True,
                       settings_json=settings_payload(settings))
    assert rescored["scored"] == 3 and inspections(settings) == rows


def test_dask_local_cluster_with_two_workers(settings: Settings, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, ["zh-model-call", "zh-dead-air", "en-model-call"])
    flow = nightly.with_options(task_runner=dask_runner(None, 2))
    summary = flow(manifest=str(manifest), settings_json=settings_payload(settings))
    assert summary["scored"] == 3 and summary["failed"] == 0
    assert len(inspections(settings)) == 3


def test_a_killed_run_resumes_to_exactly_one_inspection_per_call(env_home: Settings,
                                                                 tmp_path: Path) -> None:
    names = ["zh-model-call", "zh-dead-air", "zh-overtalk", "zh-complaint-bad"]
    manifest = write_manifest(tmp_path, names, copies=15)
    expected = {f"{name}-{n}" for n in range(15) for name in names}
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    command = [sys.executable, "-m", "pipeline.cli", "run", "--manifest", str(manifest)]
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    store = Store(env_home.store_url)
    deadline = time.monotonic() + 240
    written = 0
    while time.monotonic() < deadline and first.poll() is None:
        with store.session() as session:
            written = session.scalar(select(func.count()).select_from(Inspection)) or 0
        if written >= 3:
            break
        time.sleep(0.2)
    assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert 3 <= written < len(expected)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    rows = inspections(env_home)
    assert sorted(call for call, _ in rows) == sorted(expected)
    assert {status for _, status in rows} == {"scored"}
    assert "already scored" in second.stdout
