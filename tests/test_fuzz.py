"""Property-based fuzzing (hypothesis) of every ingester and of the app's upload parser.

The property: any bytes give either a parsed table or a clear error, never an unhandled exception.

* pipeline ingesters (``pipeline/ingest/*.py``): the result is rows in the database or an
  ``InputError`` whose message names the file and says ``Fix: ...``; any other exception fails.
* ``advisor.formats.results.parse``: a ``Parsed`` or a ``ValueError`` naming the file (and field) with a fix.
* ``advisor.formats.upload.parse_upload`` (what the app calls on an uploaded CSV/JSON): never raises on user
  input; problems come back as messages with a fix, and the frame always has an ``hf_id`` column.

Inputs are drawn from three families so the fuzzer reaches past the first check: random bytes,
structural mutations of the real shipped file (cells replaced with hostile values, columns dropped
or duplicated, rows duplicated, truncation, inserted bytes, a non-UTF-8 byte) and, for JSON,
mutations of a valid lm-eval results object at random paths. ``FUZZ_EXAMPLES`` (default 20) sets
``max_examples`` per property; the file runs in well under a minute at the default. In CI (``CI=true``)
the ``ci`` hypothesis profile of tests/conftest.py derandomizes every property, so a failure replays.

The escaping rules of ``advisor.core.untrusted`` are fuzzed too: any text renders as exactly its characters
through ``md_text``, and no text cell of a CSV export starts a formula.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.formats import results, upload
from pipeline import schema
from pipeline.errors import InputError
from pipeline.ingest import common, evalplus, lmeval_csv, lmeval_json, oll_v1, oll_v2, paper, rewardbench_lb

ROOT = Path(__file__).resolve().parent.parent
N = int(os.environ.get("FUZZ_EXAMPLES", "20"))
# derandomize and the database come from the active hypothesis profile (tests/conftest.py): "ci" (CI=true)
# is derandomized so a CI failure replays exactly; "dev" explores new examples on every run.
FUZZ = settings(max_examples=N, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture, HealthCheck.large_base_example])

HOSTILE = ["", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "1e999", "-1", "101", "1.5",
           "0.5", "abc", '"', '""', "\n", "\r\n", ",", "1,5", "None", "NULL", "null", "\x00", "ü",
           "1e-400", "0x10", "50%", "—", "=cmd|' /C calc'!A0", "9" * 400, "org/model", "a_b_c"]
cell = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str))


# ------------------------------------------------------------------------------ input families

def _sample_lines(path: Path, keep: int = 40) -> list[str]:
    """Header, the rows naming one of the 40 paper models, and a few others: a small real file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    ids = set(pd.read_csv(ROOT / "data" / "paper" / "models.csv")["hf_id"])
    names = ids | {i.split("/")[1] for i in ids}
    hits = [ln for ln in lines[1:] if any(n in ln for n in names)]
    return [lines[0], *hits[:keep], *lines[1:6]]


@st.composite
def mutated_csv(draw, lines: list[str]) -> bytes:
    """A CSV derived from ``lines`` with a few hostile edits."""
    rows = [ln.split(",") for ln in lines]  # naive split: quoted commas become extra cells, fine here
    for _ in range(draw(st.integers(0, 4))):
        if not rows:
            break
        op = draw(st.sampled_from(["cell", "cell", "cell", "drop_col", "dup_col", "dup_row",
                                   "drop_rows", "header_cell", "ragged"]))
        if op in ("cell", "header_cell"):
            i = 0 if op == "header_cell" else draw(st.integers(0, len(rows) - 1))
            if rows[i]:
                j = draw(st.integers(0, len(rows[i]) - 1))
                rows[i][j] = draw(cell)
        elif op == "drop_col" and rows[0]:
            j = draw(st.integers(0, len(rows[0]) - 1))
            rows = [r[:j] + r[j + 1:] for r in rows]
        elif op == "dup_col" and rows[0]:
            j = draw(st.integers(0, len(rows[0]) - 1))
            rows = [r + r[j:j + 1] for r in rows]
        elif op == "dup_row" and len(rows) > 1:
            rows.append(list(rows[draw(st.integers(1, len(rows) - 1))]))
        elif op == "drop_rows":
            rows = rows[:draw(st.integers(0, len(rows)))]
        elif op == "ragged" and len(rows) > 1:
            i = draw(st.integers(1, len(rows) - 1))
            rows[i] = rows[i] + [draw(cell)] * draw(st.integers(1, 3))
    data = "\n".join(",".join(r) for r in rows).encode("utf-8", errors="surrogatepass")
    tail = draw(st.sampled_from(["none", "none", "truncate", "insert", "latin1"]))
    if tail == "truncate" and data:
        data = data[:draw(st.integers(0, len(data)))]
    elif tail == "insert":
        pos = draw(st.integers(0, len(data)))
        data = data[:pos] + draw(st.binary(min_size=1, max_size=20)) + data[pos:]
    elif tail == "latin1":
        data = data.replace(b"a", b"\xe9", 1)
    return data


def csv_inputs(lines: list[str]):
    return st.one_of(mutated_csv(lines), mutated_csv(lines), st.binary(max_size=300),
                     st.text(max_size=300).map(lambda s: s.encode("utf-8", errors="surrogatepass")))


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=8)

LMEVAL_VALID = {
    "results": {
        "leaderboard_ifeval": {"alias": "leaderboard_ifeval", "prompt_level_strict_acc,none": 0.55,
                               "prompt_level_strict_acc_stderr,none": 0.02,
                               "inst_level_strict_acc,none": 0.65, "inst_level_strict_acc_stderr,none": "N/A"},
        "leaderboard_gpqa": {"alias": "leaderboard_gpqa", "acc_norm,none": 0.31},
        "leaderboard_mmlu_pro": {"alias": "leaderboard_mmlu_pro", "acc,none": 0.30},
        "arc_challenge": {"alias": "arc_challenge", "acc,none": 0.5, "acc_norm,none": 0.52},
        "gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.4, "exact_match,flexible-extract": 0.45},
        "my_local_task": {"alias": "my_local_task", "acc,none": 0.9},
    },
    "groups": {}, "group_subtasks": {"leaderboard_gpqa": []},
    "configs": {}, "versions": {"arc_challenge": 1.0}, "n-shot": {"arc_challenge": 25},
    "n-samples": {"arc_challenge": {"original": 1172, "effective": 1172}},
    "config": {"model": "hf", "model_args": "pretrained=Qwen/Qwen2.5-7B-Instruct,dtype=bfloat16",
               "limit": None},
    "lm_eval_version": "0.4.8", "date": 1730000000.0, "model_name": "Qwen/Qwen2.5-7B-Instruct",
}
EVALPLUS_VALID = {"Qwen2.5-7B-Instruct": {"link": "https://huggingface.co/Qwen/Qwen2.5-7B-Instruct",
                                          "pass@1": {"humaneval": 84.1, "humaneval+": 79.3,
                                                     "mbpp": 79.9, "mbpp+": 67.2}}}


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated_json(draw, base: dict) -> bytes:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_value)
    text = json.dumps(doc, allow_nan=True)
    if draw(st.integers(0, 9)) == 0:
        text = text[:draw(st.integers(0, len(text)))]
    return text.encode()


def json_inputs():
    return st.one_of(mutated_json(LMEVAL_VALID), mutated_json(LMEVAL_VALID), mutated_json(EVALPLUS_VALID),
                     json_value.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200))


# ------------------------------------------------------------------------------ fixtures, checks

@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fuzzdata") / "data"
    shutil.copytree(ROOT / "data" / "paper", d / "paper")
    shutil.copy(ROOT / "data" / "model_aliases.csv", d / "model_aliases.csv")
    (d / "public").mkdir()
    return d


@pytest.fixture(scope="module")
def resolver(data_dir):
    con = duckdb.connect()
    schema.create_all(con)
    r = paper.ingest_models(con, data_dir)
    con.close()
    return r


def fresh_con():
    con = duckdb.connect()
    schema.create_all(con)
    return con


def clear_error_or_result(fn):
    """Run ``fn``; an InputError must name the file and give a fix. Anything else propagates."""
    try:
        return fn()
    except InputError as exc:
        msg = str(exc)
        assert exc.problem and exc.fix and "Fix: " in msg and exc.file in msg, msg
        return exc


def clear_value_error(fn, name: str):
    try:
        return fn()
    except ValueError as exc:
        msg = str(exc)
        assert msg.startswith(name) and "Fix: " in msg, msg
        return exc


def public_lines(name: str) -> list[str]:
    return _sample_lines(ROOT / "data" / "public" / name)


# ------------------------------------------------------------------------------ ingesters

@FUZZ
@given(data=csv_inputs(public_lines(oll_v2.RAW_FILE)))
def test_read_table_on_any_bytes(data, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "read_table.csv"
    path.write_bytes(data)
    out = clear_error_or_result(lambda: common.read_table(path, ["model", "IFEval"], numeric=["IFEval"]))
    if isinstance(out, pd.DataFrame):
        assert len(out) > 0 and out["IFEval"].dtype == float and out["IFEval"].notna().all()


def _ingest_csv(data_dir, name: str, data: bytes, fn):
    (data_dir / "public" / name).write_bytes(data)
    con = fresh_con()
    try:
        return clear_error_or_result(lambda: fn(con))
    finally:
        con.close()


@FUZZ
@given(data=csv_inputs(public_lines(oll_v2.RAW_FILE)))
def test_oll_v2_raw(data, data_dir, resolver):
    _ingest_csv(data_dir, oll_v2.RAW_FILE, data,
                lambda con: oll_v2.ingest_raw(con, data_dir, resolver, "prefer_bfloat16"))


@FUZZ
@given(data=csv_inputs(public_lines(oll_v2.FINAL_FILE)))
def test_oll_v2_final(data, data_dir, resolver):
    _ingest_csv(data_dir, oll_v2.FINAL_FILE, data, lambda con: oll_v2.ingest_final(con, data_dir, resolver, {}))


@FUZZ
@given(data=csv_inputs(public_lines(oll_v1.FILE)))
def test_oll_v1(data, data_dir, resolver):
    _ingest_csv(data_dir, oll_v1.FILE, data, lambda con: oll_v1.ingest(con, data_dir, resolver))


@FUZZ
@given(data=csv_inputs(public_lines(lmeval_csv.FILE)))
def test_lmeval_csv(data, data_dir, resolver):
    _ingest_csv(data_dir, lmeval_csv.FILE, data, lambda con: lmeval_csv.ingest(con, data_dir, resolver))


@FUZZ
@given(data=csv_inputs(public_lines(rewardbench_lb.FILE)))
def test_rewardbench_leaderboard(data, data_dir):
    _ingest_csv(data_dir, rewardbench_lb.FILE, data, lambda con: rewardbench_lb.ingest(con, data_dir))


@FUZZ
@given(data=st.one_of(mutated_json(EVALPLUS_VALID), json_inputs()))
def test_evalplus(data, data_dir, resolver):
    _ingest_csv(data_dir, evalplus.FILE, data, lambda con: evalplus.ingest(con, data_dir, resolver))


@FUZZ
@given(data=json_inputs(), model=st.sampled_from([None, "Qwen/Qwen2.5-7B-Instruct"]))
def test_lmeval_json_ingest_file(data, model, tmp_path_factory):
    work = tmp_path_factory.getbasetemp() / "work"
    (work / "results").mkdir(parents=True, exist_ok=True)
    path = work / "results" / "results_fuzz.json"
    path.write_bytes(data)
    con = fresh_con()
    try:
        out = clear_error_or_result(lambda: lmeval_json.ingest_file(con, path, work, model=model))
        if not isinstance(out, InputError):
            n = con.execute("SELECT count(*) FROM benchmark_scores").fetchone()[0]
            assert n == out[0]
            assert con.execute("SELECT count(*) FROM benchmark_scores WHERE value <> value "
                               "OR value < 0 OR value > 100").fetchone()[0] == 0
    finally:
        con.close()


def test_the_valid_seeds_parse():
    """The JSON seeds are valid, so mutations start from the parsed path, not from an early error."""
    parsed = results.parse(json.dumps(LMEVAL_VALID).encode(), name="seed.json")
    assert {s.benchmark for s in parsed.scores} >= {"leaderboard_ifeval", "arc_challenge", "gsm8k"}
    assert parsed.model == "Qwen/Qwen2.5-7B-Instruct" and parsed.unmapped == ["my_local_task"]
    ep = results.parse(json.dumps(EVALPLUS_VALID).encode(), name="ep.json")
    assert {s.benchmark: s.value for s in ep.scores}["humaneval_plus"] == 79.3


# ------------------------------------------------------------------------------ the app's upload parser

@FUZZ
@given(data=json_inputs())
def test_lmeval_parse_any_bytes(data):
    out = clear_value_error(lambda: results.parse(data, name="up.json"), "up.json")
    if isinstance(out, results.Parsed):
        assert all(s.scale in ("raw", "normalized", "percent") for s in out.scores)
        assert all(s.value == s.value for s in out.scores)  # no NaN


def _check_candidates(c: upload.Candidates, name: str):
    assert isinstance(c, upload.Candidates)
    assert "hf_id" in c.frame.columns and c.scale in upload.SCALE_RANGES
    for msg in c.errors + c.warnings:
        assert name in msg, msg
    for msg in c.errors:
        assert "Fix:" in msg, msg
    for col in c.features:  # accepted values are numbers within the column's scale
        vals = c.frame[col].dropna()
        assert pd.api.types.is_float_dtype(c.frame[col]) and (vals >= 0).all()


@FUZZ
@given(data=csv_inputs(public_lines(oll_v2.FINAL_FILE)),
       scale=st.sampled_from(["auto", "raw", "percent", "normalized"]))
def test_upload_csv_any_bytes(data, scale):
    _check_candidates(upload.parse_upload(data, "cands.csv", scale=scale), "cands.csv")


@FUZZ
@given(data=json_inputs(), model=st.sampled_from([None, "", "org/name"]))
def test_upload_json_any_bytes(data, model):
    _check_candidates(upload.parse_upload(data, "results.json", model_id=model), "results.json")


def test_upload_size_and_row_limits():
    big = b"model,IFEval\n" + b"org/m,50\n" * (upload.MAX_UPLOAD_BYTES // 9 + 1)
    assert len(big) > upload.MAX_UPLOAD_BYTES
    for name in ("big.csv", "big.json"):
        c = upload.parse_upload(big, name)
        assert c.frame.empty and len(c.errors) == 1
        assert "the limit is 10 MB" in c.errors[0] and "Fix:" in c.errors[0]
    rows = b"model,IFEval\n" + b"".join(b"org/m%d,50\n" % i for i in range(upload.MAX_ROWS + 1))
    assert len(rows) < upload.MAX_UPLOAD_BYTES
    c = upload.parse_upload(rows, "many.csv")
    assert c.frame.empty and "limit is 20,000" in c.errors[0]
    ok = upload.parse_upload(b"model,IFEval,BBH\norg/a,50,40\norg/b,60,x\n", "ok.csv")
    assert ok.frame["leaderboard_ifeval"].tolist() == [50.0, 60.0]
    assert ok.frame["leaderboard_bbh"].isna().tolist() == [False, True]
    assert any("row 3, column 'BBH'" in e and "Fix:" in e for e in ok.errors)
    for empty in (b"", b"   \n"):
        assert "the file is empty" in upload.parse_upload(empty, "e.csv").errors[0]


def test_streamlit_upload_limit_lets_the_app_check_run():
    """The server must accept files a little over the app's own limit, so the user gets the app's
    message naming the file and the fix (not the browser's generic refusal); and not unbounded."""
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server_mb = cfg["server"]["maxUploadSize"]
    assert upload.MAX_UPLOAD_BYTES / 2**20 < server_mb <= 200


# ------------------------------------------------------------------------------ untrusted text (issue 17)

@FUZZ
@given(text=st.one_of(st.text(max_size=60), st.lists(st.sampled_from(
    ["[", "](", "http://", "www.", "<img ", ">", "&", "`", "*", "_", "~~", "$", ":red[", ":material/x:",
     "|", "#", "-", "1.", "!", "\\", "\n", " ", "a", "&amp;", "<b>"]), max_size=12).map("".join)))
def test_md_text_renders_any_text_as_its_characters(text):
    import html
    import re

    from markdown_it import MarkdownIt

    from advisor.core.untrusted import md_text

    rendered = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(md_text(text))
    assert not re.search(r"<(a|img|em|strong|code|s|del|h\d|ul|ol|blockquote|table|hr|pre)\b", rendered), rendered
    # CommonMark: line endings fold to spaces, NUL becomes U+FFFD
    expected = " ".join(text.replace("\r\n", " ").replace("\r", " ").split("\n")).replace("\x00", "\ufffd")
    visible = html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace("\u200b", "")  # untrusted.ZWSP
    assert " ".join(visible.split()) == " ".join(expected.split())  # whitespace folds, characters stay


@FUZZ
@given(ids=st.lists(st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE)), min_size=1, max_size=6),
       values=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=6, max_size=6))
def test_csv_export_never_starts_a_text_cell_with_a_formula(ids, values):
    import csv
    import io

    from advisor.core.untrusted import FORMULA_START
    from advisor.predict.export import export_shortlist

    df = pd.DataFrame({"hf_id": ids, "prediction": values[:len(ids)]})
    rows = list(csv.reader(io.StringIO(export_shortlist(df, "csv", "v", 0.9), newline="")))
    assert len(rows) == len(ids) + 1 and rows[0][:4] == ["predictor_version", "interval_level", "hf_id", "prediction"]
    for row, hf_id in zip(rows[1:], ids):
        assert not row[2].startswith(FORMULA_START)
        assert row[2] == (("'" + hf_id) if hf_id.startswith(FORMULA_START) else hf_id)
        float(row[3])  # numbers stay numbers


def test_fuzz_settings_follow_the_hypothesis_profile():
    """CI=true selects the derandomized 'ci' profile (tests/conftest.py); FUZZ inherits it."""
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None
    assert FUZZ.derandomize == settings.default.derandomize
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") and not os.environ.get("HYPOTHESIS_PROFILE"):
        assert FUZZ.derandomize
