#!/usr/bin/env bash
# The one combined GPU check (run on a lent GPU machine, see docs/pipeline.md "GPU checks"): installs the few
# pure-Python wheels the machine's image lacks or has too old (carried in .whl/: trl, datasets, dill,
# multiprocess, fsspec, transformers==5.24.0 as pinned), then runs the presence bench and the
# training-path check, logging both under $OUT (or ./gpu_logs). The wheels go into a directory named
# site-packages: `datasets` pickles functions of modules outside site-packages by value when it
# fingerprints a dataset, which fails on pyarrow types.
set -uo pipefail
OUT=${OUT:-gpu_logs}; mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  S=/tmp/venv/lib/python3.12/site-packages
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$S" .whl/*.whl \
    && export PYTHONPATH="$S"
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"
# presence: eager fast path, compiled LM head, whole model compiled, on Qwen2-0.5B- and Llama-3-8B-like
# models (~7 min on one H100, 2026-11-26). Packed rows under flex: PRESENCE_ARGS="--variants eager,pack-head"
timeout ${PRESENCE_TIMEOUT:-450} python3 bench/bench_presence_gpu.py ${PRESENCE_ARGS:---variants eager,head,all} 2>&1 \
  | grep -v Warning | tee "$OUT/presence_gpu.log"
# the training-path check (measured once already, logs in bench/gpu_logs/): TRAIN=1 to rerun it
if [ "${TRAIN:-0}" = 1 ]; then
  timeout ${TRAIN_TIMEOUT:-200} python3 bench/gpu_train_check.py 2>&1 | grep -v Warning | tee "$OUT/train_gpu.log"
fi
