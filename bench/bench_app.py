"""Speed of the advisor app. `python bench/bench_app.py [--db PATH] [--repeats N] [--skip-browser]`

Measures, and prints with the goal and a baseline measured in the same run:

1. first page rendered: seconds from `streamlit run app.py` being started to the Predict page's title
   being visible in Chromium (the browser is launched before the server, so its start is not counted).
   Goal: < 3 s. Baseline: the same for a one-line Streamlit app (`st.title("hello")`), i.e. the
   framework's own start-up on this machine.
2. prediction for 25 uploaded candidates (25 Open LLM Leaderboard rows as CSV bytes): parsing
   (advisor.formats.upload), the candidate table (advisor.predict.candidates.gather, completed from the
   database's tables read once beforehand, as the app caches them) +
   advisor.predict.shortlist.predict_candidates of its rankable rows, median of --repeats. Goal: < 0.5 s.
   Baseline: the bare fitted estimators (bundle.predict(X, scale, method, target) for the 5
   targets) on the same 25 complete rows, i.e. the cost of the model itself.
3. the same for all 4,576 leaderboard rows (4,497 distinct models), once (no goal in the issue).

Without --db a database is built in a temp dir with the quick test config (ingest + a degree-1/2
predictor fit), as the app's tests do. Needs /usr/bin/chromium for part 1 (else use --skip-browser).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LEADERBOARD = ROOT / "data" / "public" / "open_llm_leaderboard_v2_final_20250509_modelrank.csv"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUICK_CONFIG = ROOT / "configs" / "quick.yaml"  # ingest + a quick predictor fit


def build_db(tmp: Path) -> Path:
    db = tmp / "advisor.duckdb"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-W", "ignore", "-m", "pipeline.run", "--config", str(QUICK_CONFIG),
                    "--db", str(db), "--work-dir", str(tmp / "work")], cwd=ROOT, check=True, capture_output=True)
    print(f"built {db} in {time.perf_counter() - t:.1f}s")
    return db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def time_first_render(page, script: Path, title: str, env: dict) -> float:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                             "--server.address", "localhost", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://localhost:{port}"
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":  # noqa: S310 - localhost
                    break
            except OSError:
                if time.perf_counter() - t0 > 60:
                    raise RuntimeError(f"{script} did not start in 60 s") from None
                time.sleep(0.05)
        page.goto(url)
        page.get_by_text(title).first.wait_for(timeout=60_000)
        return time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bench_first_render(db: Path, repeats: int) -> None:
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "RM_ADVISOR_DB": str(db)}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        hello = Path(tmp) / "hello.py"
        hello.write_text("import streamlit as st\nst.title('hello')\n")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        base, app = [], []
        for _ in range(repeats):
            base.append(time_first_render(page, hello, "hello", env))
            app.append(time_first_render(page, ROOT / "app.py",
                                         "Which base model should I train my reward model on?", env))
        browser.close()
    b, a = statistics.median(base), statistics.median(app)
    print(f"first page rendered after server start: app {a:.2f}s (median of {repeats}; runs "
          f"{', '.join(f'{x:.2f}' for x in app)}), baseline hello-world app {b:.2f}s, ratio {a / b:.2f}x; "
          f"goal < 3 s: {'MET' if a < 3 else 'NOT MET'}")


def bench_predict(db: Path, repeats: int, full: bool = True) -> None:
    import pandas as pd

    from advisor.core.registry import RM_TARGETS as TARGETS
    from advisor.db import queries
    from advisor.formats import upload
    from advisor.predict import candidates
    from advisor.predict.bundle import load_bundle
    from advisor.predict.shortlist import predict_candidates

    bundle = load_bundle(db)
    reference = candidates.Reference(queries.leaderboard(db), queries.known_models(db))
    lines = LEADERBOARD.read_text().splitlines()
    sizes = [(25, repeats)] + ([(len(lines) - 1, 1)] if full else [])
    for n, runs in sizes:
        data = ("\n".join(lines[:n + 1]) + "\n").encode()
        times, bare = [], []
        for _ in range(runs):
            t = time.perf_counter()
            c = upload.parse_csv(data, "candidates.csv", scale="normalized")
            table = candidates.gather([c], reference)[0]
            rankable = table[table["not_ranked"] == ""]  # a size is never imputed: the rest are listed
            pred = predict_candidates(bundle, rankable, method="regression")
            times.append(time.perf_counter() - t)
            X = rankable.set_index("hf_id").reindex(columns=bundle.features)
            X = X.fillna(bundle.X_train().mean())  # complete rows for the bare-estimator baseline
            t = time.perf_counter()
            for target in TARGETS:
                bundle.predict(X, bundle.scale, "regression", target)
            bare.append(time.perf_counter() - t)
        m, b = statistics.median(times), statistics.median(bare)
        goal = f"; goal < 0.5 s: {'MET' if m < 0.5 else 'NOT MET'}" if n == 25 else ""
        print(f"upload + predict {n:,} rows ({len(pred):,} distinct models): {m:.3f}s "
              f"({m / len(pred) * 1000:.1f} ms/model, median of {runs}); bare estimators on the same rows "
              f"{b:.4f}s; ratio {m / b:.0f}x{goal}")
        assert isinstance(pred, pd.DataFrame)
        assert pred["rank"].dropna().tolist() == list(range(1, pred["rank"].notna().sum() + 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, help="database to serve (default: build one in a temp dir)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-browser", action="store_true", help="skip the first-render measurement")
    ap.add_argument("--skip-full", action="store_true", help="skip the 4,576-candidate run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or build_db(Path(tmp))
        if not args.skip_browser:
            if Path(CHROMIUM).exists():
                bench_first_render(db, args.repeats)
            else:
                print(f"first render: skipped, {CHROMIUM} missing (apt-get install chromium)")
        bench_predict(db, args.repeats, full=not args.skip_full)


if __name__ == "__main__":
    main()
