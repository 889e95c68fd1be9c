"""End-to-end nightly run: hours of audio scored per hour, stages' share, Dask 2 workers vs 1.

Each configuration runs ``callqa run`` in a fresh home (models linked from the real home, so
nothing is re-converted; ASR and classifier caches empty, a new SQLite store), exactly as a
service centre's first night would:

- ``threads``: the default, no Dask (one call at a time in the flow's process);
- ``dask-1`` / ``dask-2``: a Dask ``LocalCluster`` on 127.0.0.1 with 1 or 2 worker processes
  (one thread each), reached through ``--dask-address``.

Wall time is the whole command (Prefect's ephemeral server, model loading, every call); the
flow time is the run's start→finish in the store. Stage shares come from the run summary (wall
seconds per stage, summed over calls). Results → ``bench/results/nightly.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import get_settings  # noqa: E402
from pipeline.support.offline import apply_offline_environment  # noqa: E402


def fresh_home(real_home: Path) -> Path:
    home = Path(tempfile.mkdtemp(prefix="callqa-bench-"))
    (home / "models").symlink_to(real_home / "models")
    return home


def run_once(config: str, manifest: Path, real_home: Path) -> dict:
    home = fresh_home(real_home)
    env = {**os.environ, "CALLQA_HOME": str(home)}
    cluster = None
    command = [sys.executable, "-m", "pipeline.cli", "run", "--manifest", str(manifest)]
    if config.startswith("dask-"):
        from dask.distributed import LocalCluster

        cluster = LocalCluster(n_workers=int(config.split("-")[1]), threads_per_worker=1,
                               processes=True, host="127.0.0.1", dashboard_address=None)
        command += ["--dask-address", cluster.scheduler_address]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if cluster is not None:
        cluster.close()
    if done.returncode != 0:
        raise SystemExit(f"{config} failed:\n{done.stdout}\n{done.stderr}")
    run = latest_run(home)
    summary = run["summary"]
    flow_s = run["flow_s"]
    audio_s = summary["audio_seconds"]
    stages = summary["stage_seconds"]
    total = sum(stages.values()) or 1.0
    return {
        "config": config, "calls": summary["scored"], "failed": summary["failed"],
        "audio_s": audio_s, "wall_s": round(wall, 1), "flow_s": round(flow_s, 1),
        "audio_h_per_h_wall": round(audio_s / wall, 2),
        "audio_h_per_h_flow": round(audio_s / flow_s, 2),
        "stage_seconds": stages,
        "stage_share": {k: round(v / total, 3) for k, v in stages.items()},
    }


def latest_run(home: Path) -> dict:
    from sqlalchemy import select

    from pipeline.store import Run, Store

    store = Store(f"sqlite:///{home / 'callqa.db'}", upgrade=False)
    with store.session() as session:
        run = session.scalars(select(Run).order_by(Run.started_at.desc())).first()
        flow_s = (run.finished_at - run.started_at).total_seconds()
        return {"summary": dict(run.summary), "flow_s": flow_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "examples" / "manifest.csv")
    parser.add_argument("--configs", default="threads,dask-1,dask-2")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "nightly.json")
    args = parser.parse_args()
    apply_offline_environment()
    # This checkout's code, also in Dask workers and the subprocess (so a bench can run from a
    # snapshot while the working tree changes).
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                             os.environ.get("PYTHONPATH")]))
    real_home = get_settings().home
    results = []
    for config in args.configs.split(","):
        result = run_once(config, args.manifest.resolve(), real_home)
        results.append(result)
        print(json.dumps(result), flush=True)
    by = {r["config"]: r for r in results}
    report = {"cores": os.cpu_count(), "results": results}
    if "dask-1" in by and "dask-2" in by:
        report["dask_2_vs_1_speedup_flow"] = round(by["dask-1"]["flow_s"] / by["dask-2"]["flow_s"],
                                                   3)
        report["dask_2_vs_1_speedup_wall"] = round(by["dask-1"]["wall_s"] / by["dask-2"]["wall_s"],
                                                   3)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "results"}))


if __name__ == "__main__":
    main()
