"""Load: N concurrent app sessions (default 20) against 1 session alone, measured in the same run.

    .venv/bin/python bench/bench_load.py [--db PATH] [--sessions 20] [--per-session 25] [--full]

Each session is a Streamlit ``AppTest`` of ``app.py`` (the real script, pages, caches and predictor; no
browser, no websocket) in its own process (AppTest keeps one runtime per process), against one database.
All sessions load the page, wait until every one is ready, then upload at the same moment: 25 different
Open LLM Leaderboard rows each (``--full``: the last session uploads all 4,576 rows instead; minutes).
Baseline: the same with one session alone, run first. Prints median and p95 latency of page load and of
upload -> ranking shown for both, and the ratio concurrent / alone; no goal is asserted. Each session's
errors and whether it ranked exactly its own models are printed too (a wrong count is a bug, not load).

Without --db a database is built in a temp dir with the quick test config (as bench/bench_app.py does).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_app import LEADERBOARD, build_db  # noqa: E402 - bench/ is not a package

SESSION = """
import json, sys, time
from pathlib import Path
from streamlit.testing.v1 import AppTest
app, csv, ready, go, out = sys.argv[1:6]
res = {}
try:
    t = time.perf_counter()
    at = AppTest.from_file(app, default_timeout=600).run()
    res["load_s"] = time.perf_counter() - t
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.01)
    t = time.perf_counter()
    at.file_uploader(key="upload").set_value((Path(csv).name, Path(csv).read_bytes(), "text/csv"))
    at.selectbox(key="upload_scale").set_value("normalized").run()
    res["predict_s"] = time.perf_counter() - t
    res["errors"] = [e.message for e in at.exception] + [e.value for e in at.error]
    tables = [d.value for d in at.dataframe if "rank_upper" in d.value.columns]
    res["ranked"] = sorted(tables[0]["hf_id"]) if tables else None
except Exception as exc:
    res["errors"] = [repr(exc)]
    Path(ready).touch()
Path(out).write_text(json.dumps(res))
"""


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def run_sessions(db: Path, parts: list[pd.DataFrame], tmp: Path) -> tuple[list[dict], float]:
    """Start one process per part, release their uploads together; (results, wall seconds from release)."""
    env = {**os.environ, "RM_ADVISOR_DB": str(db), "PYTHONWARNINGS": "ignore"}
    env.pop("RM_ADVISOR_BUNDLE", None)
    go = tmp / "go"
    procs = []
    for i, part in enumerate(parts):
        csv = tmp / f"cands{i}.csv"
        csv.write_text(part.to_csv(index=False))
        with (tmp / f"err{i}.txt").open("w") as err:
            procs.append(subprocess.Popen(
                [sys.executable, "-c", SESSION, str(ROOT / "app.py"), str(csv), str(tmp / f"ready{i}"), str(go),
                 str(tmp / f"out{i}.json")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err))
    try:
        deadline = time.time() + 600
        while time.time() < deadline and not all((tmp / f"ready{i}").exists() for i in range(len(parts))):
            dead = [i for i, p in enumerate(procs) if p.poll() not in (None, 0)]
            if dead:
                raise RuntimeError("\n".join((tmp / f"err{i}.txt").read_text()[-2000:] for i in dead))
            time.sleep(0.1)
        t0 = time.perf_counter()
        go.touch()
        for p in procs:
            p.wait(timeout=900)
        wall = time.perf_counter() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    results = []
    for i, (p, part) in enumerate(zip(procs, parts)):
        out = tmp / f"out{i}.json"
        r = json.loads(out.read_text()) if out.exists() else {
            "errors": [f"exited {p.returncode}: {(tmp / f'err{i}.txt').read_text()[-2000:]}"]}
        r["own_models"] = r.get("ranked") == sorted(set(part["model"]))
        results.append(r)
    return results, wall


def summary(label: str, results: list[dict], wall: float) -> tuple[float, float]:
    load = [r["load_s"] for r in results if "load_s" in r]
    pred = [r["predict_s"] for r in results if "predict_s" in r]
    bad = [(i, r.get("errors")) for i, r in enumerate(results) if r.get("errors") or not r["own_models"]]
    print(f"{label}: all rankings shown {wall:.1f} s after the common start")
    print(f"  page load      : median {statistics.median(load):.2f} s, p95 {p95(load):.2f} s")
    print(f"  upload->ranking: median {statistics.median(pred):.2f} s, p95 {p95(pred):.2f} s")
    print(f"  sessions with an error or not exactly their own models: {len(bad)}" + (f" {bad}" if bad else ""))
    return statistics.median(pred), p95(pred)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, help="database to serve (default: build one in a temp dir)")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--per-session", type=int, default=25, help="leaderboard rows each session uploads")
    ap.add_argument("--full", action="store_true", help="the last session uploads all leaderboard rows")
    args = ap.parse_args()
    lb = pd.read_csv(LEADERBOARD)
    n, k = args.sessions, args.per_session
    parts = [lb.iloc[i * k:(i + 1) * k] for i in range(n)]
    if args.full:
        parts[-1] = lb
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        db = args.db or build_db(tmp)
        (tmp / "alone").mkdir()
        (tmp / "many").mkdir()
        print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {k} candidates per session")
        alone, alone_wall = run_sessions(db, parts[:1], tmp / "alone")
        med1, p1 = summary("1 session alone (baseline)", alone, alone_wall)
        many, many_wall = run_sessions(db, parts, tmp / "many")
        small = many[:-1] if args.full else many
        medn, pn = summary(f"{n} concurrent sessions", small, many_wall)
        if args.full:
            print(f"  all {len(lb):,} leaderboard rows: {many[-1].get('predict_s', float('nan')):.2f} s "
                  f"(1 session, at the same time)")
        print(f"upload->ranking, {n} concurrent vs 1 alone: median {medn:.2f} s vs {med1:.2f} s, "
              f"ratio {medn / med1:.1f}x; p95 {pn:.2f} s vs {p1:.2f} s, ratio {pn / p1:.1f}x")


if __name__ == "__main__":
    main()
