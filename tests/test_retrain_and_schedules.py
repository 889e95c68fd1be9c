"""The retraining flow (samples since the last training → challenger → promotion → run record)
and the schedules: deployments, prefect.yaml, and `callqa serve` against a real Prefect
server on 127.0.0.1 running the nightly deployment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from ports import free_port
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import select

from flows.retrain import retrain
from flows.schedules import deployments, scheduled_nightly
from flows.workers import settings_payload
from pipeline.config import ScheduleSettings, Settings
from pipeline.models.registry import Registry
from pipeline.store import Inspection, Run, Store

ROOT = Path(__file__).resolve().parents[1]
COMPLAINTS = ["我要投诉你们", "我要去12315投诉", "太差了我要投诉", "再不处理就投诉到底",
              "我要投诉快递", "投诉你们客服", "必须投诉", "我一定投诉"]
OTHERS = ["谢谢你", "好的没问题", "您好", "嗯嗯", "收到了谢谢", "很满意", "好的再见", "可以的"]


def labelled(copies: int, tag: str = "") -> pd.DataFrame:
    rows = []
    for k in range(copies):
        for i, text in enumerate(COMPLAINTS + OTHERS):
            rows.append({"text": f"{text}{tag}{'!' * k}", "label": "customer.complaint",
                         "value": int(i < len(COMPLAINTS)), "source": "test",
                         "group": f"{tag}g{k}-{i}"})
    return pd.DataFrame(rows)


@pytest.fixture
def tfidf_settings(settings: Settings) -> Settings:
    return Settings(home=settings.home,
                    classify={"registry": settings.classify.registry, "method": "tfidf"})


def test_retrain_trains_only_on_news_records_runs_and_promotes(tfidf_settings: Settings,
                                                               tmp_path: Path) -> None:
    payload = settings_payload(tfidf_settings)
    no_public_data = str(tmp_path / "no-public-data")
    store = Store(tfidf_settings.store_url)
    with prefect_test_harness(server_startup_timeout=120):
        first = retrain(data_dir=no_public_data, settings_json=payload)
        assert first["status"] == "skipped" and first["new_samples"] == 0

        store.add_samples(labelled(6), "import")
        trained = retrain(data_dir=no_public_data, settings_json=payload)
        assert trained["status"] == "promoted" and trained["new_by_origin"] == {"import": 96}
        registry = Registry(tfidf_settings.classify.registry)
        assert registry.champion("utterance") == trained["version"]
        assert [row["label"] for row in trained["comparison"]] == ["customer.complaint"]

        quiet = retrain(data_dir=no_public_data, settings_json=payload)
        assert quiet["status"] == "skipped" and quiet["new_samples"] == 0
        assert quiet["since"] is not None

        store.add_samples(labelled(2, tag="审"), "review")
        again = retrain(data_dir=no_public_data, settings_json=payload)
        assert again["new_by_origin"] == {"review": 32}
        assert again["status"] in ("promoted", "not_promoted") and again["version"]
        assert again["rows"]["train"] + again["rows"]["validation"] == 128  # all, not only new
        assert registry.versions() == sorted([trained["version"], again["version"]])
    with store.session() as session:
        runs = session.scalars(select(Run).where(Run.kind == "retrain")
                               .order_by(Run.started_at)).all()
        assert [r.summary["status"] for r in runs] == [
            "skipped", "promoted", "skipped", again["status"]]
        assert all(r.finished_at is not None for r in runs)


def test_deployments_and_prefect_yaml_schedule_the_same_flows() -> None:
    settings = Settings(schedules={"timezone": "Asia/Shanghai"})
    nightly_dep, retrain_dep = deployments(settings)
    assert nightly_dep.flow_name == "callqa-nightly-scheduled"
    assert retrain_dep.flow_name == "callqa-retrain"
    crons = [(d.schedules[0].schedule.cron, d.schedules[0].schedule.timezone)
             for d in (nightly_dep, retrain_dep)]
    assert crons == [("0 2 * * *", "Asia/Shanghai"), ("0 3 * * 0", "Asia/Shanghai")]
    defaults = ScheduleSettings()
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    by_name = {d["name"]: d for d in spec["deployments"]}
    assert by_name["nightly"]["entrypoint"] == "flows/schedules.py:scheduled_nightly"
    assert by_name["nightly"]["schedules"][0]["cron"] == defaults.nightly
    assert by_name["nightly"]["parameters"] == {"lookback_days": defaults.lookback_days}
    assert by_name["weekly-retrain"]["entrypoint"] == "flows/retrain.py:retrain"
    assert by_name["weekly-retrain"]["schedules"][0]["cron"] == defaults.retrain
    assert by_name["weekly-retrain"]["parameters"] == {
        "min_new_samples": defaults.retrain_min_new_samples}
    for deployment in spec["deployments"]:  # every entrypoint names a real flow
        path, name = deployment["entrypoint"].split(":")
        assert f"def {name}(" in (ROOT / path).read_text()
    assert scheduled_nightly.name == "callqa-nightly-scheduled"


def _api(url: str, body: dict | None = None, attempts: int = 5) -> dict:
    """One call to the Prefect API; a busy server's 503 is retried."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method="POST" if body is not None else "GET")
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == attempts - 1:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


@pytest.mark.slow
def test_callqa_serve_runs_the_nightly_deployment_on_a_local_prefect_server(
        env_home: Settings, tmp_path: Path) -> None:
    """`callqa serve` starts `prefect server start` on 127.0.0.1, registers both schedules,
    and a run of the nightly deployment scores yesterday's calls into the store."""
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT10:00:00+00:00")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "call_id,transcript_path,language,agent_id,team,started_at\n"
        f"served-1,{ROOT / 'examples/scripts/zh-model-call.json'},zh,A1,t1,{yesterday}\n"
        f"served-2,{ROOT / 'examples/scripts/zh-dead-air.json'},zh,A1,t1,{yesterday}\n"
        f"too-old,{ROOT / 'examples/scripts/zh-dead-air.json'},zh,A1,t1,2026-01-01T10:00:00Z\n")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", "--port",
                              str(port), "--manifest", str(manifest)], cwd=ROOT, env=env,
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        deployment = None
        deadline = time.monotonic() + 240
        while deployment is None and time.monotonic() < deadline:
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                deployment = _api(f"{api}/deployments/name/callqa-nightly-scheduled/nightly")
                _api(f"{api}/deployments/name/callqa-retrain/weekly-retrain")
            except OSError:
                deployment = None
                time.sleep(2)
        assert deployment is not None, (tmp_path / "serve.log").read_text()
        assert deployment["schedules"][0]["schedule"]["cron"] == "0 2 * * *"
        run = _api(f"{api}/deployments/{deployment['id']}/create_flow_run", {})
        state = None
        while time.monotonic() < deadline + 120:
            state = _api(f"{api}/flow_runs/{run['id']}")["state"]["type"]
            if state in ("COMPLETED", "FAILED", "CRASHED"):
                break
            time.sleep(2)
        assert state == "COMPLETED", (tmp_path / "serve.log").read_text()
    finally:
        serve.terminate()
        serve.wait(60)
        log.close()
    with Store(env_home.store_url).session() as session:
        scored = sorted(session.scalars(select(Inspection.call_id)).all())
    assert scored == ["served-1", "served-2"]  # the lookback leaves the old call alone
