"""Load held by one server: N concurrent real browser sessions, each uploading its own CSV, against one
``streamlit run app.py`` on localhost (issue 27, "Load held").

    .venv/bin/python bench/bench_load_browser.py --db PATH [--sessions 10] [--rows 8] [--timeout 600]

Chromium (/usr/bin/chromium, Playwright) opens N pages at once; each loads the Predict page, then uploads
a CSV generated for it (different models and values per session, so no cached result is reused) and
waits for its ranking. Reports: sessions held (ranked, no error or exception on the page), the server
process's CPU seconds per ranking (user + system over the upload phase / rankings), its resident memory
(before, peak, after) and each session's latency. Loopback only; bounded by --sessions (at most 50) and
--timeout. No goal is asserted: bench numbers go to docs/reliability-security.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
HEADER = "Model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B)"


def csv_for(session: int, rows: int) -> bytes:
    """A candidate file of its own for each session: other model ids, other values."""
    rng = random.Random(session)
    lines = [HEADER]
    for r in range(rows):
        q = rng.uniform(0.1, 0.9)
        tasks = [round(max(0.5, min(95, 80 * q + rng.gauss(0, 6))), 2) for _ in range(6)]
        lines.append(",".join([f"load{session}/m{r}", *map(str, tasks), str(round(rng.uniform(0.5, 14), 1))]))
    return ("\n".join(lines) + "\n").encode()


def proc_stats(pid: int) -> tuple[float, int]:
    """(user + system CPU seconds, resident bytes) of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return cpu, int(fields[21]) * os.sysconf("SC_PAGE_SIZE")


def start_server(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RM_ADVISOR_DB": str(db)}
    env.pop("RM_ADVISOR_BUNDLE", None)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "localhost", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=10).read() == b"ok":  # noqa: S310 - localhost
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"streamlit did not start:\n{log.read_text()[-2000:]}")


async def session(browser, url: str, i: int, rows: int, go: asyncio.Event, ready: list, timeout_ms: int) -> dict:
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(timeout_ms)
    out = {"session": i}
    try:
        t = time.perf_counter()
        await page.goto(url)
        await page.get_by_text("No candidates yet").wait_for()
        out["load_s"] = round(time.perf_counter() - t, 2)
        ready.append(i)
        await go.wait()
        t = time.perf_counter()
        await page.get_by_role("tab", name="Upload CSV / lm-eval JSON").click()
        await page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            files=[{"name": f"load{i}.csv", "mimeType": "text/csv", "buffer": csv_for(i, rows)}])
        await page.get_by_text("Candidates ranked").wait_for()
        await page.get_by_text(f"load{i}/m0").first.wait_for()
        out["rank_s"] = round(time.perf_counter() - t, 2)
        out["held"] = await page.locator('[data-testid="stException"]').count() == 0
    except Exception as exc:  # noqa: BLE001 - a session that failed is counted, not fatal
        out["held"], out["error"] = False, f"{type(exc).__name__}: {str(exc)[:200]}"
        if "load_s" not in out:
            ready.append(i)
    finally:
        await page.close()
    return out


async def drive(url: str, n: int, rows: int, timeout_s: float, pid: int, memory: list) -> tuple[list, float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        go, ready = asyncio.Event(), []
        tasks = [asyncio.create_task(session(browser, url, i, rows, go, ready, int(timeout_s * 1000)))
                 for i in range(n)]
        while len(ready) < n:
            await asyncio.sleep(0.2)  # every page loaded (or failed): upload together
        cpu0 = proc_stats(pid)[0]
        memory.clear()
        go.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), timeout_s)
        cpu = proc_stats(pid)[0] - cpu0
        await browser.close()
    return results, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a database the pipeline built")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--rows", type=int, default=8, help="candidate rows per session's CSV")
    ap.add_argument("--timeout", type=float, default=600, help="seconds for the whole upload phase")
    args = ap.parse_args(argv)
    n = max(1, min(args.sessions, 50))
    log = Path(tempfile.mkdtemp()) / "server.log"
    proc, url = start_server(Path(args.db).resolve(), log)
    memory: list[int] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set() and proc.poll() is None:
            memory.append(proc_stats(proc.pid)[1])
            time.sleep(0.25)

    threading.Thread(target=sample, daemon=True).start()
    try:
        rss0 = proc_stats(proc.pid)[1]
        results, cpu = asyncio.run(drive(url, n, args.rows, args.timeout, proc.pid, memory))
        rss1 = proc_stats(proc.pid)[1]
    finally:
        stop.set()
        proc.terminate()
        proc.wait(timeout=60)
    held = [r for r in results if r.get("held")]
    ranks = sorted(r["rank_s"] for r in held)
    mb = 2**20
    print(json.dumps({"sessions": n, "rows_per_session": args.rows, "held": len(held),
                      "server_cpu_s_per_ranking": round(cpu / max(1, len(held)), 2), "server_cpu_s": round(cpu, 1),
                      "server_rss_mb": {"before": round(rss0 / mb), "peak": round(max(memory or [rss1]) / mb),
                                        "after": round(rss1 / mb)},
                      "rank_s_median": ranks[len(ranks) // 2] if ranks else None,
                      "rank_s_max": ranks[-1] if ranks else None,
                      "failures": [r for r in results if not r.get("held")]}, indent=1))
    return 0 if len(held) == n else 1


if __name__ == "__main__":
    sys.exit(main())
