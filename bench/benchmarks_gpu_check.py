"""GPU check of the benchmark stage (lm-evaluation-harness through pipeline.run, then the database row).

Command:   .venv/bin/python bench/benchmarks_gpu_check.py [--device cuda|cpu] [--dtype bfloat16]
Runtime:   about 40 s on one H100 (mostly lm-eval's task indexing and CUDA start-up); same on CPU.
Needs:     nothing from the network: a tiny local model (pipeline.fixtures) and the offline task group
           of tests/fixtures/lm_eval; real hub models / leaderboard datasets need network access.
Prints:    the device lm-eval ran on, wall time of the run and of the skipped rerun, the ingested
           row (hf_id, benchmark, value, dtype, shots), whether EvalPlus could run here and why not,
           and "OK" or the first mismatch. Exit status 0 only when everything checked passed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    ap.add_argument("--dtype", default=None, help="default: bfloat16 on cuda, float32 on cpu")
    args = ap.parse_args()
    import duckdb
    import torch
    import yaml

    from pipeline import run as runner
    from pipeline.benchmarks.stage import evalplus_status

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = args.dtype or ("bfloat16" if device.startswith("cuda") else "float32")
    tmp = Path(tempfile.mkdtemp(prefix="bench_gpu_"))
    cfg = tmp / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({
        "db": str(tmp / "db.duckdb"), "work_dir": str(tmp / "work"), "stages": ["benchmarks"],
        "benchmarks": {"models": [{"id": "local/tiny-llama", "tiny": "llama", "dtype": dtype}],  # work/models
                       "task_sets": [str(ROOT / "tests/fixtures/lm_eval/tiny_task_set.yaml")],
                       "batch_size": 8, "device": device, "bootstrap_iters": 0}}))
    print(f"device={device} dtype={dtype} torch={torch.__version__} "
          f"gpu={torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}", flush=True)
    t0 = time.perf_counter()
    rc = runner.main(["--config", str(cfg)])
    t1 = time.perf_counter()
    rc2 = runner.main(["--config", str(cfg)])
    t2 = time.perf_counter()
    print(f"run: {t1 - t0:.1f}s (exit {rc}); rerun (skips finished): {t2 - t1:.1f}s (exit {rc2})")
    con = duckdb.connect(str(tmp / "db.duckdb"), read_only=True)
    got = con.execute("SELECT hf_id, benchmark, value, scale, settings FROM benchmark_scores").fetchall()
    con.close()
    problems = []
    if rc or rc2:
        problems.append("pipeline exit status not 0")
    if len(got) != 1:
        problems.append(f"expected 1 benchmark row, got {len(got)}")
    else:
        hf_id, bench, value, scale, settings = got[0]
        st = json.loads(settings)
        print(f"row: {hf_id} {bench} {scale} value={value:.4f} dtype={st['dtype']} shots={st['shots']} "
              f"chat_template={st['chat_template']} harness={st['harness_version']}")
        if not 0.0 <= value <= 1.0 or st["dtype"] != dtype or st["shots"] != 1:
            problems.append("row settings or value out of range")
    print(f"EvalPlus: {evalplus_status(device) or 'can run here'}")
    print("OK" if not problems else "FAILED: " + "; ".join(problems))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
