"""Run every benchmark in one go and print one table of figures and ratios, measured side by side.

    .venv/bin/python bench/run_all.py [--quick] [--only app,merge] [--skip presence] [--db PATH]
                                      [--out bench/last_run.md] [--timeout 1200]

Every ``bench/bench_*.py`` script runs in its own subprocess, one after the other, on this machine;
each measures the project's code and its baseline in the same run and prints both with the ratio.
This runner collects those figures into one table (benchmark, project, baseline, ratio, target)
and writes ``bench/last_run.md``: the table, the machine (CPU model, cores usable, load average
before and after, memory, GPU), library versions, the git commit, and every script's full output.

What runs (see each script's docstring for the method):

* ``bench_predictor.py``: the predictor's grid search vs scikit-learn GridSearchCV (paper grid).
* ``bench_merge.py``: exhaustive merge-vector search vs the per-vector loop of eq. 6-7.
* ``bench_presence.py``: the presence scorer vs the naive one-document loop (tokens/s).
* ``bench_app.py``: first page render vs a hello-world Streamlit app (needs chromium), and app
  prediction latency (upload parse + predict) for 25 and 4,576 candidates vs the bare estimators.
* ``bench_load.py``: upload -> ranking latency of 20 concurrent app sessions vs 1 session alone.
* ``bench_presence_gpu.py`` and other ``*_gpu*`` scripts: only when a CUDA GPU is visible.
* any other ``bench_*.py``: run with no arguments, its ratio lines ("...x") are copied to the table.

``--quick`` passes lighter arguments (fewer repeats and documents; no browser) for a check in a few
minutes; the numbers in docs/performance.md come from a full run. The machine is shared in development: each script
keeps the best (or median) of its repeats, and the load average is recorded beside the numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
NUM = r"([0-9][0-9,]*\.?[0-9]*(?:e[-+]?\d+)?)"


@dataclass
class Row:
    benchmark: str
    project: str
    baseline: str
    ratio: str
    target: str = ""


@dataclass
class Result:
    script: str
    args: list[str]
    rc: int | None
    seconds: float
    output: str
    rows: list[Row] = field(default_factory=list)
    note: str = ""


# ------------------------------------------------------------------------------ parsers, one per script

def _f(m, i) -> str:
    return m.group(i).replace(",", "")


def parse_predictor(out: str) -> list[Row]:
    rows = []
    ref = re.search(r"GridSearchCV \(sklearn defaults.*?\): " + NUM + r" s", out)
    fast = re.search(r"fast search \+ refit .*?: " + NUM + r" s", out)
    ratio = re.search(r"ratio GridSearchCV / fast = " + NUM + r"x; same configuration: (\w+); CV MAE difference "
                      + NUM + "%", out)
    if ref and fast and ratio:
        rows.append(Row("predictor fit: paper grid (60 configs x 10 folds), 40 models",
                        f"{_f(fast, 1)} s", f"GridSearchCV {_f(ref, 1)} s", f"{_f(ratio, 1)}x",
                        f"< 1.5 s, same config or MAE within 1% (same: {ratio.group(2)}, "
                        f"MAE diff {_f(ratio, 3)}%)"))
    shared = re.search(r"5 targets, one shared search: " + NUM + r" s wall .*? five searches " + NUM
                       + r" s .*?identical results: (\w+)", out)
    if shared:
        a, b = float(_f(shared, 1)), float(_f(shared, 2))
        rows.append(Row("predictor fit: 5 RewardBench targets, one shared search", f"{a:g} s",
                        f"5 separate searches {b:g} s", f"{b / a:.1f}x" if a else "-",
                        f"identical results: {shared.group(3)}"))
    return rows


def parse_merge(out: str) -> list[Row]:
    rows = []
    fast = re.search(r"exhaustive search \(numpy, (\d+) threads\): " + NUM + r" s", out)
    loop = re.search(r"per-vector loop: .*?-> " + NUM + r" s for the grid \((.*?)\)", out)
    speed = re.search(r"speed-up: " + NUM + r"x", out)
    same = re.search(r"identical counts.*?: (\w+)", out)
    if fast and loop and speed:
        rows.append(Row("merge-vector search: 4,084,101 vectors (eq. 6-7)", f"{_f(fast, 2)} s (numpy)",
                        f"per-vector loop {_f(loop, 1)} s ({loop.group(2)})", f"{_f(speed, 1)}x",
                        f"< 2 s, >= 30x; identical: {same.group(1) if same else '?'}"))
    gpu = re.search(r"exhaustive search \(torch, (.*?)\): " + NUM + r" s", out)
    if gpu and fast:
        rows.append(Row(f"merge-vector search on {gpu.group(1)}", f"{_f(gpu, 2)} s (torch)",
                        f"numpy {_f(fast, 2)} s", f"{float(_f(fast, 2)) / float(_f(gpu, 2)):.1f}x"))
    return rows


def parse_presence(out: str) -> list[Row]:
    rows = []
    for section in out.split("model: ")[1:]:
        rows += _presence_rows(section)
    return rows


def _presence_rows(out: str) -> list[Row]:
    naive = re.search(r"naive loop .*?: +" + NUM + r" tokens/s", out)
    model = re.match(r"(\S+)", out)
    rows = []
    for m in re.finditer(r"project scorer, (\S+): +" + NUM + r" tokens/s += " + NUM
                         + r"x naive; max \|score diff\| (\S+)", out):
        rows.append(Row(f"presence scoring ({m.group(1)}), {model.group(1) if model else '?'}, CPU",
                        f"{_f(m, 2)} tokens/s",
                        f"naive loop {_f(naive, 1) if naive else '?'} tokens/s", f"{_f(m, 3)}x",
                        f">= 5x on 2 cores; max score diff {m.group(4)}"))
    return rows


def parse_app(out: str) -> list[Row]:
    rows = []
    first = re.search(r"first page rendered after server start: app " + NUM + r"s .*?baseline hello-world app "
                      + NUM + r"s, ratio " + NUM + r"x", out)
    if first:
        rows.append(Row("app: first page rendered (Chromium)", f"{_f(first, 1)} s",
                        f"hello-world app {_f(first, 2)} s", f"{_f(first, 3)}x", "< 3 s"))
    elif "first render: skipped" in out:
        rows.append(Row("app: first page rendered (Chromium)", "skipped", "-", "-", "chromium missing"))
    for m in re.finditer(r"upload \+ predict " + NUM + r" rows \(" + NUM + r" distinct models\): " + NUM
                         + r"s \((.*?)\); bare estimators on the same rows " + NUM + r"s; ratio " + NUM + "x",
                         out):
        n = int(_f(m, 1))
        rows.append(Row(f"app prediction latency, {n:,} uploaded candidates", f"{_f(m, 3)} s ({m.group(4)})",
                        f"bare estimators {_f(m, 5)} s", f"{_f(m, 6)}x", "< 0.5 s" if n == 25 else ""))
    return rows


def parse_generic(out: str) -> list[Row]:
    """Lines of an unknown script that state a ratio ('... 12.3x ...')."""
    return [Row(line.strip()[:90], "", "", re.search(r"([0-9.]+)x\b", line).group(0))
            for line in out.splitlines() if re.search(r"\b[0-9.]+x\b", line)]


PARSERS = {"bench_predictor.py": parse_predictor, "bench_merge.py": parse_merge,
           "bench_presence.py": parse_presence, "bench_app.py": parse_app}


# ------------------------------------------------------------------------------ the machine

def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def gpu_name() -> str | None:
    names = sh(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"])
    return names.replace("\n", "; ") or None


def machine() -> dict[str, str]:
    info = {}
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    info["CPU"] = model.group(1) if model else platform.processor() or platform.machine()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info["cores"] = f"{usable} usable of {os.cpu_count()} visible"
    meminfo = Path("/proc/meminfo")
    mem = re.search(r"MemTotal:\s*(\d+) kB", meminfo.read_text()) if meminfo.exists() else None
    info["memory"] = f"{int(mem.group(1)) / 2**20:.0f} GiB" if mem else "?"
    info["GPU"] = gpu_name() or "none"
    info["OS"] = platform.platform()
    info["Python"] = platform.python_version()
    versions = sh([sys.executable, "-c", "import importlib.metadata as m\n"
                   "print(', '.join(f'{p} {m.version(p)}' for p in ('numpy','scikit-learn','torch','transformers',"
                   "'duckdb','streamlit','pandas')))"])
    info["libraries"] = versions or "?"
    info["commit"] = sh(["git", "describe", "--always", "--dirty"]) or "?"
    return info


# ------------------------------------------------------------------------------ running

def script_args(name: str, quick: bool, db: Path | None) -> list[str]:
    args = {
        "bench_predictor.py": ["--repeat", "1" if quick else "3"] + (["--db", str(db)] if db else []),
        "bench_merge.py": ["--loop-vectors", "20000"] if quick else [],
        "bench_presence.py": ["--docs", "20", "--repeats", "1", "--models", "tiny"] if quick else [],
        "bench_app.py": (["--repeats", "1", "--skip-browser"] if quick else ["--repeats", "3"]),
        "bench_load.py": ["--sessions", "4"] if quick else [],
        # docs/performance.md's 100-seed numbers take ~20 min on 2 cores: run the script alone for those
        "bench_presence_sequential.py": (["--seeds", "3", "--docs-per-subset", "50000", "--smoke-docs", "60"]
                                         if quick else ["--seeds", "20", "--smoke-docs", "200"]),
    }
    return args.get(name, [])


def needs_gpu(name: str) -> bool:
    return "gpu" in name


def run_script(path: Path, args: list[str], timeout: int) -> Result:
    t0 = time.perf_counter()
    cmd = [sys.executable, str(path), *args]
    print(f"\n$ {' '.join([Path(sys.executable).name, path.relative_to(ROOT).as_posix(), *args])}", flush=True)
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONWARNINGS": "ignore", "TQDM_DISABLE": "1"})
        rc, out = proc.returncode, proc.stdout + (("\n[stderr]\n" + proc.stderr[-3000:]) if proc.returncode else "")
    except subprocess.TimeoutExpired as exc:
        rc, out = None, (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        out += f"\n[timed out after {timeout} s]"
    secs = time.perf_counter() - t0
    print(out.rstrip(), flush=True)
    res = Result(path.name, args, rc, secs, out)
    if rc == 0:
        res.rows = PARSERS.get(path.name, parse_generic)(out)
        if not res.rows:
            res.note = "ran, but printed no figure this runner recognises (see its output)"
    else:
        res.note = "timed out" if rc is None else f"failed (exit {rc})"
    return res


def build_db(tmp: Path) -> Path:
    db = tmp / "advisor.duckdb"
    proc = subprocess.run([sys.executable, "-m", "pipeline.run", "--db", str(db), "--work-dir", str(tmp / "work"),
                           "--stages", "ingest"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        sys.exit("building the database failed:\n" + proc.stdout[-2000:] + proc.stderr[-2000:])
    return db


def table(results: list[Result]) -> str:
    head = "| benchmark | project | baseline (same run) | ratio | target / check |\n|---|---|---|---|---|\n"
    lines = []
    for r in results:
        for row in r.rows:
            lines.append(f"| {row.benchmark} | {row.project} | {row.baseline} | {row.ratio} | {row.target} |")
        if r.note:
            lines.append(f"| {r.script} | {r.note} | | | |")
    return head + "\n".join(lines) + "\n"


def plain_table(results: list[Result]) -> str:
    rows = [("benchmark", "project", "baseline (same run)", "ratio")]
    for r in results:
        rows += [(x.benchmark, x.project, x.baseline, x.ratio) for x in r.rows]
        if r.note:
            rows.append((r.script, r.note, "", ""))
    widths = [min(60, max(len(c[i]) for c in rows)) for i in range(4)]
    fmt = lambda c: "  ".join(str(v)[:w].ljust(w) for v, w in zip(c, widths))  # noqa: E731
    return "\n".join([fmt(rows[0]), "  ".join("-" * w for w in widths), *map(fmt, rows[1:])])


def write_report(path: Path, results: list[Result], info: dict, loads: tuple, started: str, wall: float,
                 argv: list[str]) -> None:
    parts = [f"# Benchmarks: last run\n\nRun {started} with `python bench/run_all.py {' '.join(argv)}` "
             f"({wall / 60:.1f} min in all). Each script measures the project's code and its baseline in the "
             "same process, one script after the other; ratios compare figures from the same run.\n",
             "## Machine\n", *[f"- {k}: {v}" for k, v in info.items()],
             f"- load average (1 min) before / after: {loads[0]:.2f} / {loads[1]:.2f}"
             " (the development machine is shared; a high load inflates absolute times)\n",
             "## Figures\n", table(results), "## Output of each script\n"]
    for r in results:
        status = "ok" if r.rc == 0 else r.note
        parts.append(f"### {r.script} {' '.join(r.args)}\n\n{r.seconds:.0f} s, {status}\n\n"
                     f"```\n{r.output.strip()}\n```\n")
    path.write_text("\n".join(parts))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="lighter arguments: a check, not the numbers in docs/")
    ap.add_argument("--only", help="comma-separated script names or stems (e.g. app,merge)")
    ap.add_argument("--skip", help="comma-separated script names or stems to leave out")
    ap.add_argument("--db", type=Path, help="database for bench_predictor (default: data/advisor.duckdb, "
                    "else one built in a temp dir)")
    ap.add_argument("--out", type=Path, default=BENCH / "last_run.md")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per script")
    args = ap.parse_args(argv)

    def pick(spec):
        return {s.strip().removeprefix("bench_").removesuffix(".py") for s in (spec or "").split(",") if s.strip()}

    only, skip = pick(args.only), pick(args.skip)
    scripts = []
    for p in sorted(BENCH.glob("bench_*.py")):
        stem = p.stem.removeprefix("bench_")
        if (only and stem not in only) or stem in skip:
            continue
        scripts.append(p)
    has_gpu = gpu_name() is not None
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    info = machine()
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or (ROOT / "data" / "advisor.duckdb")
        if any(p.name == "bench_predictor.py" for p in scripts) and not db.exists():
            db = build_db(Path(tmp))
        for p in scripts:
            if needs_gpu(p.name) and not has_gpu:
                results.append(Result(p.name, [], None, 0.0, "skipped: no CUDA GPU visible",
                                      note="skipped: no GPU on this machine"))
                continue
            results.append(run_script(p, script_args(p.name, args.quick, db), args.timeout))
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()[0]
    print("\n" + "=" * 100)
    print(f"all benchmarks, {started}, {info['CPU']}, {info['cores']}, GPU: {info['GPU']}, "
          f"load {load0:.2f} -> {load1:.2f}, {wall / 60:.1f} min")
    print(plain_table(results))
    write_report(args.out, results, info, (load0, load1), started, wall, argv if argv is not None else sys.argv[1:])
    print(f"\nwrote {args.out}")
    return 0 if all(r.rc == 0 or r.note.startswith("skipped") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
