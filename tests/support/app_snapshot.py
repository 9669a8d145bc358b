"""Everything the app shows, as data: a before/after snapshot for refactors (issue 18).

``collect(db)`` opens every page in Streamlit's AppTest against a database built by the pipeline, walks
the element tree of each (plus a few interactions: candidates picked from the leaderboard, both methods,
both evidence protocols) and returns every element's shown content: text of markdown, captions, alerts
and headings, each dataframe's values, each plotly figure's spec, widget labels/options/values, metrics;
and the ``rank`` command's output on data/examples/recent_bases.csv for both methods.
Volatile content (build time, run ids, temp paths, durations) is masked, floats are rounded to 9
significant digits (a refactor may reorder floating-point sums; nothing on screen shows 9 digits), and
``differences`` compares numbers up to floating-point noise (relative 1e-9, or one step of that 9th digit),
the figures' base64 typed arrays decoded (their raw float64 values: relative 1e-9): the same pins on another
CPU or BLAS change the last bits.

``python tests/support/app_snapshot.py DB OUT.json`` writes a snapshot; ``tests/app/test_app_snapshot.py`` compares
the current app with the one in tests/fixtures/app_snapshot.json.gz, taken before the refactor.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (name, page, actions): an action is (kind, key, value) applied in order, each followed by a rerun.
SCENARIOS = [
    ("home", None, []),
    ("predict_pick_regression", "predict", [("button", "lb_add_top", None)]),
    ("predict_pick_bradley_terry", "predict", [("button", "lb_add_top", None), ("radio", "method", "bradley_terry")]),
    ("predict_known_models", "predict", [("radio", "lb_status", "known"), ("button", "lb_add_top", None)]),
    ("predict_new_models_bt", "predict", [("radio", "lb_status", "new"), ("button", "lb_add_top", None),
                                          ("radio", "method", "bradley_terry")]),
    ("evidence", "evidence", []),
    ("evidence_nested", "evidence", [("radio", "ev_protocol", "nested")]),
    ("evidence_bt", "evidence", [("radio", "ev_method", "bradley_terry")]),
    ("rm_results", "rm_results", []),
    ("across_recipes", "across_recipes", []),
    ("benchmarks", "benchmarks", []),
    ("benchmarks_bt", "benchmarks", [("radio", "bm_method", "bradley_terry")]),
    ("pretraining", "pretraining", []),
    ("capabilities", "capabilities", []),
    ("data", "data", []),
]

_MASKS = [
    (re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}"), "<run-id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"), "<time>"),
    (re.compile(r"\b\d+\.\d+\.\d+\+[0-9a-f]{12}\b"), "<predictor-version>"),  # hashes the code files
    (re.compile(r"/tmp/[^\s'\")\]|`,]+"), "<tmp>"),
    (re.compile(re.escape(str(ROOT)) + "/?"), ""),  # a path inside the checkout, shown relative
]
VOLATILE_COLUMNS = {"code_version", "hostname", "python"}  # the runs table: which checkout and machine built it
_SKIP_KEYS = {"id", "form_id", "formId", "key"}


def _mask(s: str) -> str:
    for rx, sub in _MASKS:
        s = rx.sub(sub, s)
    return s


def _clean(v):
    """JSON-able, masked, floats rounded to 9 significant digits."""
    if isinstance(v, float):
        return v if not math.isfinite(v) or v == 0 else float(f"{v:.9g}")
    if isinstance(v, str):
        return _mask(v)
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items() if k not in _SKIP_KEYS}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item"):  # numpy scalar
        return _clean(v.item())
    return v


def _frame(df) -> dict:
    import pandas as pd

    df = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    rows = json.loads(df.to_json(orient="split", date_format="iso", double_precision=15, default_handler=str))
    volatile = [i for i, c in enumerate(df.columns) if str(c) in VOLATILE_COLUMNS]
    for row in rows["data"]:
        for i in volatile:
            row[i] = f"<{df.columns[i]}>"
    return _clean({"columns": [str(c) for c in df.columns], "data": rows["data"]})


_NO_VALUE = object()


def _value(node):
    """``node.value``, or _NO_VALUE for elements without one (AppTest raises for e.g. dividers)."""
    try:
        return node.value
    except Exception:  # noqa: BLE001 - AppTest raises different errors per element type
        return _NO_VALUE


def _element(node) -> dict | None:
    from google.protobuf.json_format import MessageToDict

    kind = node.type
    if kind in ("dataframe", "table"):
        return {"type": kind, "value": _frame(node.value)}
    if kind == "plotly_chart":
        spec = json.loads(node.proto.spec)
        spec.get("layout", {}).pop("template", None)  # plotly's theme, not data
        return {"type": kind, "spec": _clean(spec)}
    proto = getattr(node, "proto", None)
    if proto is None:
        return None
    d = MessageToDict(proto)
    for k in ("id", "formId", "setValue", "rawValues", "widgetId"):
        d.pop(k, None)
    value = _value(node)
    if value is not _NO_VALUE:
        d["_value"] = value if isinstance(value, (str, int, float, bool, list, tuple, type(None))) else str(value)
    return {"type": kind, "proto": _clean(d)}


def _walk(node, out: list) -> None:
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        proto = getattr(node, "proto", None)
        if proto is not None and node.type not in ("main", "sidebar", "root", None):
            from google.protobuf.json_format import MessageToDict

            block = MessageToDict(proto)
            block.pop("id", None)
            out.append({"type": f"block:{node.type}", "proto": _clean(block)})
        for k in sorted(children):
            _walk(children[k], out)
        return
    el = _element(node)
    if el is not None:
        out.append(el)


def _apply(at, kind: str, key: str, value):
    if kind == "button":
        at.button(key=key).click()
    elif kind == "radio":
        at.radio(key=key).set_value(value)
    elif kind == "selectbox":
        at.selectbox(key=key).set_value(value)
    at.run()


def collect(db: Path) -> dict:
    from streamlit.testing.v1 import AppTest

    os.environ["RM_ADVISOR_DB"] = str(db)
    os.environ.pop("RM_ADVISOR_BUNDLE", None)
    snap = {}
    for name, page, actions in SCENARIOS:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
        if page:
            at.switch_page(f"pages/{page}.py").run()
        for kind, key, value in actions:
            _apply(at, kind, key, value)
        if at.exception:
            raise AssertionError(f"{name}: {[e.value for e in at.exception]}")
        out: list = []
        _walk(at.main, out)
        if at.sidebar.children:
            _walk(at.sidebar, out)
        snap[name] = out
    snap.update(cli(db))
    return snap


def cli(db: Path) -> dict:
    """``python -m advisor rank`` on the shipped example candidates, both methods: stdout and stderr."""
    import subprocess

    out = {}
    for method in ("regression", "bradley_terry"):
        proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "advisor", "rank",  # noqa: S603 - our CLI
                               "data/examples/recent_bases.csv", "--db", str(db), "--method", method],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        out[f"cli_rank_{method}"] = [{"type": "cli", "returncode": proc.returncode,
                                      "stdout": _mask(proc.stdout), "stderr": _mask(proc.stderr)}]
    return out


def load(path: Path) -> dict:
    with gzip.open(path, "rt") as fh:
        return json.load(fh)


def save(snap: dict, path: Path) -> None:
    data = json.dumps(snap, indent=0, sort_keys=True).encode()
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as fh:
        fh.write(data)  # mtime 0: the same snapshot gives the same bytes


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    save(collect(Path(sys.argv[1])), Path(sys.argv[2]))


REL_TOL = 1e-9  # numbers: relative tolerance (a CPU or BLAS build changes the last bits of computed floats)
ABS_TOL = 1e-15  # a number that is zero up to rounding (noise of sums of values of order 1); p-values of 1e-9 show


def _close(a: float, b: float, rounded: bool = True) -> bool:
    """Two numbers equal up to floating-point noise: within REL_TOL (or ABS_TOL), or (``rounded``: numbers
    ``_clean`` rounded to 9 significant digits) one step apart in that 9th digit, where two values a hair
    apart land on neighbours."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    scale = max(abs(a), abs(b))
    step = 1.000001 * 10.0 ** (math.floor(math.log10(scale)) - 8) if rounded else 0.0  # 9th significant digit
    return abs(a - b) <= max(REL_TOL * scale, ABS_TOL, step)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _typed_array(x):
    """The numbers of a plotly typed array (``{"dtype": "f8", "bdata": base64[, "shape"]}``, how plotly 6
    writes numeric arrays into a figure's JSON), or None when ``x`` is not one."""
    if not (isinstance(x, dict) and isinstance(x.get("bdata"), str) and isinstance(x.get("dtype"), str)):
        return None
    import base64
    import binascii

    import numpy as np

    try:
        return np.frombuffer(base64.b64decode(x["bdata"], validate=True), dtype=np.dtype(x["dtype"]))
    except (binascii.Error, ValueError, TypeError):
        return None


def differences(before, after, path: str = "", limit: int = 20) -> list[str]:
    """Where two snapshots differ, as 'path: before != after' lines (at most ``limit``). Text, ids, keys,
    types and order compare exactly; numbers (the tables' cells and the figures' typed arrays, decoded)
    compare up to floating-point noise (``_close``): the same pins on another CPU change the last bits."""
    out: list[str] = []

    def walk(x, y, p):
        if len(out) >= limit:
            return
        xa, ya = _typed_array(x), _typed_array(y)
        if xa is not None and ya is not None:
            same = (x.get("dtype"), x.get("shape"), xa.shape) == (y.get("dtype"), y.get("shape"), ya.shape)
            bad = [i for i, (a, b) in enumerate(zip(xa.tolist(), ya.tolist()))
                   if not _close(a, b, rounded=False)] if same else [0]
            if bad:
                i = bad[0]
                out.append(f"{p}: {x.get('dtype')} array of {len(xa)} != {len(ya)} values, first difference at "
                           f"[{i}]: {xa[i] if i < len(xa) else None!r} != {ya[i] if i < len(ya) else None!r}")
        elif _number(x) and _number(y):
            if not _close(float(x), float(y)):
                out.append(f"{p}: {x!r} != {y!r}")
        elif type(x) is not type(y):
            out.append(f"{p}: {str(x)[:160]!r} != {str(y)[:160]!r}")
        elif isinstance(x, dict):
            for k in sorted(set(x) | set(y)):
                walk(x.get(k), y.get(k), f"{p}/{k}")
        elif isinstance(x, list):
            if len(x) != len(y):
                out.append(f"{p}: {len(x)} items != {len(y)} items")
            for i, (a, b) in enumerate(zip(x, y)):
                walk(a, b, f"{p}[{i}]")
        elif x != y:
            out.append(f"{p}: {str(x)[:160]!r} != {str(y)[:160]!r}")

    walk(before, after, path)
    return out
