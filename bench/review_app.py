"""Review app response times with 100,000 inspections in SQLite.

Builds (once, kept at ``--db``) a store of N calls copied from the demo calls scored by the
pipeline: 12 teams, 240 agents, 30 days, each call with its turns, item results, transcript
search row and a realistic spread of scores, flags (~25 %), risk levels and uncertainty. Then
times the pages in-process (FastAPI TestClient: routing, session, queries, templates; no
network) as a supervisor of 2 teams and as a QA admin: the queue (default, filtered, sorted by
uncertainty, paged deep, searched) and call pages. Results → ``bench/results/review_app.json``.
Goal: queue p95 < 300 ms, call page p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pipeline.config import Settings  # noqa: E402
from pipeline.support.offline import apply_offline_environment  # noqa: E402

TEAMS = [f"team-{n:02d}" for n in range(12)]
FLAGS = ["low_score:55<60", "high_risk:0.7", "fatal:forbidden-phrases", "low_asr_confidence:0.4",
         "calibration_sample"]


def build(db: Path, calls: int, settings: Settings) -> None:
    from sqlalchemy import insert

    from pipeline.batch.run import inspect_call
    from pipeline.batch.scorer import Scorer
    from pipeline.store import (
        Call,
        CallText,
        Inspection,
        ItemResult,
        Store,
        Turn,
        version_key,
    )
    from pipeline.text import search_grams
    from review.users import add_user

    store = Store(f"sqlite:///{db}")
    scorer = Scorer(settings)
    templates = []
    for path in sorted((ROOT / "examples" / "calls").glob("zh-*.json")):
        document = json.loads(path.read_text())
        call = {"call_id": path.stem, "audio_path": None, "transcript_path": str(path),
                "layout": "stereo_agent_left", "language": "zh", "agent_id": "A",
                "team": "t", "queue": "q", "started_at": None, "customer_id": "C",
                "order_id": None, "customer_rating": 4.0, "nps": 8.0}
        templates.append(inspect_call(scorer, call, document, {"asr": "bench"}))
    grams = [search_grams(str(t) for t in record.turns["raw_text"]) for record in templates]
    rng = random.Random(7)
    start = datetime(2026, 10, 25, tzinfo=UTC)
    batch = 5000
    with store.engine.begin() as connection:
        for first in range(0, calls, batch):
            rows = {"calls": [], "inspections": [], "items": [], "turns": [], "text": []}
            for n in range(first, min(calls, first + batch)):
                record = templates[n % len(templates)]
                call_id = f"call-{n:06d}"
                team = TEAMS[n % len(TEAMS)]
                started = start + timedelta(seconds=rng.randrange(30 * 86400))
                rows["calls"].append({
                    "call_id": call_id, "audio_path": None, "language": "zh",
                    "agent_id": f"{team}-a{rng.randrange(20):02d}", "team": team,
                    "queue": "q", "started_at": started, "customer_id": f"C{rng.randrange(50000)}",
                    "duration_s": rng.uniform(40, 600), "updated_at": started,
                    "customer_rating": 4.0, "nps": 8.0})
                score = max(0.0, min(100.0, rng.gauss(78, 15)))
                flags = [f for f in FLAGS if rng.random() < 0.06]
                inspection = record.inspection
                versions = dict(inspection["model_versions"])
                rows["inspections"].append({
                    "id": n + 1, "call_id": call_id, "rubric_id": inspection["rubric_id"],
                    "rubric_version": inspection["rubric_version"],
                    "rubric_hash": inspection["rubric_hash"], "model_versions": versions,
                    "version_key": version_key(versions), "score": round(score, 2),
                    "fatal": any(f.startswith("fatal") for f in flags), "composite": score,
                    "composite_basis": "rating+qa+nps", "risk_score": rng.random(),
                    "risk_level": rng.choices(["low", "medium", "high"], [85, 11, 4])[0],
                    "risk_reasons": inspection["risk_reasons"], "flags": flags,
                    "flagged": bool(flags), "uncertainty": rng.random(),
                    "metrics": {}, "status": "scored", "created_at": started, "current": True,
                    "started_at": started})
                for item in record.items.itertuples(index=False):
                    rows["items"].append({
                        "inspection_id": n + 1, "item_id": item.item_id, "section": item.section,
                        "outcome": item.outcome, "points": float(item.points),
                        "max_points": float(item.max_points), "fatal": bool(item.fatal),
                        "evidence": item.evidence, "note": str(item.note)})
                for turn in record.turns.itertuples(index=False):
                    rows["turns"].append({
                        "call_id": call_id, "idx": int(turn.idx), "speaker": str(turn.speaker),
                        "start": float(turn.start), "end": float(turn.end),
                        "text": str(turn.raw_text), "pii": []})
                rows["text"].append({"call_id": call_id, "grams": grams[n % len(templates)]})
            connection.execute(insert(Call), rows["calls"])
            connection.execute(insert(Inspection), rows["inspections"])
            connection.execute(insert(ItemResult), rows["items"])
            connection.execute(insert(Turn), rows["turns"])
            connection.execute(insert(CallText), rows["text"])
            print(f"  {min(calls, first + batch)} calls", flush=True)
    add_user(store, "sup", "correct horse battery", "supervisor", TEAMS[:2])
    add_user(store, "admin", "correct horse battery", "qa_admin")


def timed(client, url: str, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return percentiles(times)


def percentiles(times: list[float]) -> dict:
    times = sorted(times)
    return {"p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
            "max_ms": round(times[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) /
                        "callqa-bench-review.db")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "review_app.json")
    args = parser.parse_args()
    apply_offline_environment()
    from fastapi.testclient import TestClient
    from review_fixtures import sign_in

    from pipeline.store import Store
    from review.app import create_app

    home = Path(tempfile.mkdtemp(prefix="callqa-bench-home-"))
    settings = Settings(home=home, store={"url": f"sqlite:///{args.db}"},
                        classify={"enabled": False})
    if not args.db.exists():
        began = time.perf_counter()
        print(f"building {args.calls} calls in {args.db} …", flush=True)
        build(args.db, args.calls, settings)
        print(f"built in {time.perf_counter() - began:.0f} s", flush=True)
    began = time.perf_counter()
    store = Store(settings.store_url)  # an older bench database is migrated here
    migrated_s = time.perf_counter() - began
    began = time.perf_counter()
    store.optimize()  # as the nightly run leaves the store
    optimize_s = time.perf_counter() - began
    app = create_app(settings, store)
    rng = random.Random(3)
    results: dict = {"calls": args.calls, "repeats": args.repeats, "db_mb":
                     round(args.db.stat().st_size / 2**20), "open_and_migrate_s":
                     round(migrated_s, 2), "optimize_s": round(optimize_s, 2)}
    for user, teams in (("sup", TEAMS[:2]), ("admin", TEAMS)):
        client = sign_in(TestClient(app), user, "correct horse battery")
        queue = {
            "default": "/queue",
            "all_calls": "/queue?flagged=0&reviewed=all",
            "filtered": f"/queue?team={teams[1]}&from=2026-11-10&to=2026-11-16&risk=medium",
            "by_uncertainty": "/queue?sort=uncertainty",
            "page_20": "/queue?flagged=0&reviewed=all&page=20",
            "search_12315": "/queue?q=12315&flagged=0&reviewed=all",
            "search_2_chars": "/queue?q=投诉&reviewed=all",
            "search_phrase": "/queue?q=三倍赔偿&flagged=0&reviewed=all",
            "search_no_match": "/queue?q=退一赔三&flagged=0&reviewed=all",
            "search_1_char_scan": "/queue?q=诉&flagged=0&reviewed=all",
        }
        for name, url in queue.items():
            results[f"{user}.queue.{name}"] = timed(client, url, args.repeats)
        calls = [f"call-{rng.randrange(args.calls):06d}" for _ in range(args.repeats)]
        if user == "sup":
            calls = [c for c in (f"call-{n:06d}" for n in range(0, args.calls, 12))][:args.repeats]
        times = []
        for call_id in calls:
            began = time.perf_counter()
            response = client.get(f"/calls/{call_id}")
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.status_code
        results[f"{user}.call_page"] = percentiles(times)
        results[f"{user}.dashboard"] = timed(client, "/dashboard?date=2026-11-20",
                                             max(3, args.repeats // 8))
    queue_p95 = max(v["p95_ms"] for k, v in results.items() if ".queue." in k)
    call_p95 = max(v["p95_ms"] for k, v in results.items() if k.endswith("call_page"))
    results["worst_queue_p95_ms"] = queue_p95
    results["worst_call_page_p95_ms"] = call_p95
    results["queue_p95_vs_300ms"] = round(queue_p95 / 300, 3)
    results["call_page_p95_vs_200ms"] = round(call_p95 / 200, 3)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    for key, value in results.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
