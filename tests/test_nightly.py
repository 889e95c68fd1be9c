"""The nightly flow under Prefect: records, flags, summary, bad rows, bad audio, re-runs,
resume after kill -9, Dask workers, and the same words and scores as ``callqa score``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SHARED_AUDIO, needs_shared_audio
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import func, select
from typer.testing import CliRunner

from flows.nightly import dask_runner, nightly
from flows.workers import settings_payload
from pipeline.batch.manifest import CallJob
from pipeline.batch.scorer import Scorer
from pipeline.config import Settings, get_settings
from pipeline.conversation import turns_from_document
from pipeline.store import Inspection, ItemResult, Store, Turn

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


AGREE_HEADER = "call_id,audio_path,layout,language,agent_id,started_at,customer_rating,nps\n"


def agree_row(call_id: str, clip: str) -> str:
    return f"{call_id},{SHARED_AUDIO / clip},mono,en,A1,2026-11-20T10:00:00+08:00,4,7\n"


def asr_cache(home: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in (home / "cache" / "asr").rglob("*.json")}


@pytest.mark.shared_data
@needs_shared_audio()
@pytest.mark.timeout(300)
def test_callqa_score_and_the_nightly_run_agree(settings: Settings, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """One mono recording, the same settings, each path with its own empty ASR cache: the same
    transcript, turns and scores. Mandarin forced through the English-only tiny model makes
    Whisper fall back to sampling (as hard 8 kHz calls do), and the nightly worker decodes
    another such call first, so its decoder has sampled before it reaches this one."""
    from pipeline.cli import app

    nightly_settings = Settings(home=settings.home, asr={"model": "tiny.en"},
                                classify={"registry": settings.classify.registry})
    manifest = tmp_path / "nightly.csv"
    manifest.write_text(AGREE_HEADER + agree_row("warm-up", "nst_ID002.wav")
                        + agree_row("call", "nst_ID001.wav"))
    summary = nightly(manifest=str(manifest), settings_json=settings_payload(nightly_settings))
    assert summary["scored"] == 2, summary

    cli_home = tmp_path / "cli-home"
    cli_home.mkdir()
    (cli_home / "models").symlink_to(settings.home / "models", target_is_directory=True)
    monkeypatch.setenv("CALLQA_HOME", str(cli_home))
    monkeypatch.setenv("CALLQA_CLASSIFY__REGISTRY", str(settings.classify.registry))
    monkeypatch.setenv("CALLQA_ASR__MODEL", "tiny.en")
    monkeypatch.delenv("CALLQA_CONFIG", raising=False)
    get_settings.cache_clear()
    single = tmp_path / "score.csv"
    single.write_text(AGREE_HEADER + agree_row("call", "nst_ID001.wav"))
    out = tmp_path / "card.json"
    try:
        result = CliRunner().invoke(app, ["score", "--manifest", str(single), "--json",
                                          str(out), "--quiet"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output

    # One transcript per (file, settings): same cache key, same words, decoded twice.
    cli_cache, nightly_cache = asr_cache(cli_home), asr_cache(settings.home)
    assert len(cli_cache) == 1 and len(nightly_cache) == 2
    assert cli_cache.items() <= nightly_cache.items()

    card = json.loads(out.read_text())
    with Store(nightly_settings.store_url).session() as session:
        stored = session.scalars(select(Inspection).where(Inspection.call_id == "call")).one()
        turns = session.execute(select(Turn.speaker, Turn.start, Turn.end).where(
            Turn.call_id == "call").order_by(Turn.idx)).all()
        items = session.execute(select(ItemResult.item_id, ItemResult.outcome,
                                       ItemResult.points).where(
            ItemResult.inspection_id == stored.id)).all()
        scores = (stored.score, stored.fatal, stored.composite, stored.metrics)
    inspection = card["inspection"]
    assert scores == (inspection["score"], inspection["fatal"], inspection["composite"],
                      inspection["metrics"])
    assert len(turns) == inspection["metrics"]["turns"] > 0
    # the CLI's turns, as its Scorer built them (a cache hit in its own home: nothing decoded)
    cli_settings = Settings(home=cli_home, asr={"model": "tiny.en"},
                            classify={"registry": settings.classify.registry})
    job = CallJob(call_id="call", source=SHARED_AUDIO / "nst_ID001.wav", layout="mono",
                  language="en")
    document, _ = Scorer(cli_settings).document(job)
    cli_turns = turns_from_document(document)[["speaker", "start", "end"]]
    assert [tuple(t) for t in turns] == list(cli_turns.itertuples(index=False, name=None))
    assert sorted(items) == sorted((i["item_id"], i["outcome"], i["points"])
                                   for i in card["items"])
