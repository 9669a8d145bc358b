"""Every ingester on the real shipped files and on broken copies of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.errors import InputError
from pipeline.ingest import evalplus, lmeval_csv, oll_v1, oll_v2, paper, rewardbench_lb

ROOT = Path(__file__).resolve().parents[3]
PAPER = ROOT / "data" / "paper"


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    """A private copy of data/ that a test may break."""
    d = tmp_path / "data"
    shutil.copytree(ROOT / "data", d, ignore=shutil.ignore_patterns("*.duckdb*", "predictor"))
    return d


def ingest_paper(con, data_dir):
    resolver = paper.ingest_models(con, data_dir)
    paper.ingest_benchmarks(con, data_dir)
    paper.ingest_rm_results(con, data_dir, resolver)
    paper.ingest_post_training(con, data_dir, resolver)
    return resolver


def test_paper_tables_equal_the_paper(con, data_dir):
    ingest_paper(con, data_dir)
    assert con.execute("SELECT count(*) FROM models").fetchone()[0] == 40
    for method, file in (("regression", "rewardbench_regression.csv"),
                         ("bradley_terry", "rewardbench_bradley_terry.csv")):
        want = pd.read_csv(PAPER / file)
        got = con.execute("""SELECT m.display_name AS model, chat, chat_hard, safety, reasoning, score
                             FROM rm_results JOIN models m USING (hf_id) WHERE method = ?""", [method]).fetchdf()
        merged = want.merge(got, on="model", suffixes=("", "_db"))
        assert len(merged) == 40
        for c in ("chat", "chat_hard", "safety", "reasoning", "score"):
            assert (merged[c] == merged[c + "_db"]).all(), c
    # a spot check against the paper text (Table 4, gemma-2-9b-it)
    row = con.execute("""SELECT chat, chat_hard, safety, reasoning, score FROM rm_results
                         WHERE hf_id = 'google/gemma-2-9b-it' AND method = 'regression'""").fetchone()
    assert row == (95.8, 74.1, 88.4, 94.3, 88.1)
    base = con.execute("SELECT hf_id FROM post_training WHERE stage = 'base'").fetchone()[0]
    assert base == "meta-llama/Llama-3.1-8B"
    flagged = con.execute("SELECT name FROM benchmarks WHERE in_paper_table2 ORDER BY name").fetchall()
    assert ("leaderboard_ifeval",) in flagged and ("humaneval_plus",) in flagged and ("mmlu",) in flagged
    # Table 2 rows lm-eval runs as tags/groups flag their registry subtasks; rows the paper lacks stay out
    for name in ("anli_r1", "qasper_bool", "qasper_freeform", "leaderboard_math_hard", "squadv2", "toxigen"):
        assert (name,) in flagged, name
    assert ("qnli",) not in flagged and ("truthfulqa_mc1",) not in flagged


def test_one_publisher_name_per_lineage(con, data_dir):
    """The paper writes Falcon's publisher 'THI' and Yi's '01.ai'; the lineages (Evidence page) 'TII' and
    '01.AI'. The models table (Reward-model results page) takes the lineage's spelling, so a model whose
    lineage is its own publisher shows one name on every page."""
    from pipeline.ingest import lineages

    ingest_paper(con, data_dir)
    lineages.ingest(con, data_dir)
    rows = con.execute("""SELECT m.hf_id, m.publisher, l.lineage FROM models m JOIN model_lineages l USING (hf_id)
                          WHERE l.source LIKE 'publisher in data/paper/models.csv%'""").fetchall()
    assert len(rows) == 37  # the 40 but the three Tulu 3 models (Ai2 fine-tunes: lineage Meta)
    assert [(h, p, lin) for h, p, lin in rows if p != lin] == []
    falcon = con.execute("SELECT DISTINCT publisher FROM models WHERE hf_id LIKE 'tiiuae/%'").fetchall()
    assert falcon == [("TII",)]
    assert pd.read_csv(PAPER / "models.csv").publisher.isin(["THI", "01.ai"]).sum() == 7  # the paper's spelling kept


def test_oll_v2_both_scales_for_all_40_and_duplicate_rule(con, data_dir):
    resolver = ingest_paper(con, data_dir)
    kept = oll_v2.ingest_raw(con, data_dir, resolver, "prefer_bfloat16")
    oll_v2.ingest_final(con, data_dir, resolver, kept)
    n = dict(con.execute("SELECT scale, count(DISTINCT hf_id) FROM benchmark_scores GROUP BY scale").fetchall())
    assert n == {"raw": 40, "normalized": 40}
    # Meta-Llama-3-8B-Instruct: bfloat16 IFEval 0.7408 vs float16 0.4782; the rule keeps bfloat16 on both scales
    ifeval = dict(con.execute("""SELECT scale, value FROM benchmark_scores WHERE benchmark = 'leaderboard_ifeval'
                                 AND hf_id = 'meta-llama/Meta-Llama-3-8B-Instruct'""").fetchall())
    assert ifeval == {"raw": 0.7408, "normalized": 74.08}
    assert con.execute("SELECT count(*) FROM leaderboard_v2").fetchone()[0] == 4576
    assert con.execute("SELECT count(*) FROM leaderboard_v2 WHERE duplicate_of_rank IS NOT NULL").fetchone()[0] >= 4


def test_oll_v2_other_rules_pick_other_submission(con, data_dir):
    resolver = ingest_paper(con, data_dir)
    kept = oll_v2.ingest_raw(con, data_dir, resolver, "prefer_float16")
    assert kept["meta-llama/Meta-Llama-3-8B-Instruct"]["IFEval"] == pytest.approx(0.4782)
    oll_v2.ingest_final(con, data_dir, resolver, kept)
    v = con.execute("""SELECT value FROM benchmark_scores WHERE benchmark = 'leaderboard_ifeval'
                       AND scale = 'normalized' AND hf_id = 'meta-llama/Meta-Llama-3-8B-Instruct'""").fetchone()[0]
    assert v == 47.82
    with pytest.raises(InputError, match="oll_v2_duplicate_rule"):
        oll_v2.pick_submission([{"precision": "bfloat16"}], "newest")


def test_other_sources_cover_what_they_have(con, data_dir):
    resolver = ingest_paper(con, data_dir)
    assert oll_v1.ingest(con, data_dir, resolver) == 14
    assert evalplus.ingest(con, data_dir, resolver) == 8
    assert lmeval_csv.ingest(con, data_dir, resolver) == 12
    assert rewardbench_lb.ingest(con, data_dir) == 384
    # EvalPlus names its Llama 3 entry 'Llama3-8B-instruct': resolved through data/model_aliases.csv
    he = con.execute("""SELECT value FROM benchmark_scores WHERE benchmark = 'humaneval_plus'
                        AND hf_id = 'meta-llama/Meta-Llama-3-8B-Instruct'""").fetchone()
    assert he is not None and 0 < he[0] < 100
    mmlu = con.execute("""SELECT value, scale FROM benchmark_scores WHERE benchmark = 'mmlu'
                          AND hf_id = 'meta-llama/Llama-3.1-8B-Instruct'""").fetchone()
    assert mmlu[1] == "raw" and 0.5 < mmlu[0] < 0.8
    # a fine-tune that shares a name with a paper model under another org is not taken for it
    assert resolver.exact("someone/Qwen2.5-7B-Instruct") is None


def break_csv(path: Path, fn) -> None:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df).to_csv(path, index=False)


@pytest.mark.parametrize("breakage, message", [
    (lambda df: df.drop(columns=["score"]), r"missing column\(s\) \['score'\]"),
    (lambda df: df.assign(safety=["n/a"] + list(df.safety[1:])), r"row 2, field 'safety': 'n/a' is not a number"),
    (lambda df: df.assign(model=["Llama-9-70B-Imaginary"] + list(df.model[1:])),
     r"row 2, field 'model': unknown model"),
    (lambda df: df.assign(chat=["140"] + list(df.chat[1:])), r"outside 0-100"),
])
def test_broken_rm_table_is_refused_with_row_and_field(con, data_dir, breakage, message):
    break_csv(data_dir / "paper" / "rewardbench_regression.csv", breakage)
    resolver = paper.ingest_models(con, data_dir)
    with pytest.raises(InputError, match=message) as exc:
        paper.ingest_rm_results(con, data_dir, resolver)
    assert "Fix:" in str(exc.value)


def test_empty_and_missing_files(con, data_dir):
    (data_dir / "paper" / "models.csv").write_text("")
    with pytest.raises(InputError, match="file is empty"):
        paper.ingest_models(con, data_dir)
    (data_dir / "paper" / "models.csv").write_text("model,hf_id\n")
    with pytest.raises(InputError, match="no data rows"):
        paper.ingest_models(con, data_dir)
    (data_dir / "paper" / "models.csv").unlink()
    with pytest.raises(InputError, match="file not found"):
        paper.ingest_models(con, data_dir)


def test_broken_leaderboard_files(con, data_dir):
    resolver = paper.ingest_models(con, data_dir)
    raw = data_dir / "public" / oll_v2.RAW_FILE
    break_csv(raw, lambda df: df.assign(BBH=["55.2"] + list(df.BBH[1:])))
    with pytest.raises(InputError, match=r"row 2, field 'BBH'.*outside 0-1.*divide percentages by 100"):
        oll_v2.ingest_raw(con, data_dir, resolver, "prefer_bfloat16")
    break_csv(raw, lambda df: df.assign(model=["nobody/unknown-model"] + list(df.model[1:]),
                                        BBH=["0.5"] + list(df.BBH[1:])))
    with pytest.raises(InputError, match="unknown model 'nobody/unknown-model'"):
        oll_v2.ingest_raw(con, data_dir, resolver, "prefer_bfloat16")
    final = data_dir / "public" / oll_v2.FINAL_FILE
    original = final.read_text()
    for rank, message in (("inf", r"row 2, field 'rank': inf is outside 1-2147483647"),
                          ("2147483648", r"field 'rank'.*outside"),
                          ("1.5", r"field 'rank': 1.5 is not a whole number")):
        break_csv(final, lambda df, r=rank: df.assign(rank=[r] + list(df["rank"][1:])))
        with pytest.raises(InputError, match=message):
            oll_v2.ingest_final(con, data_dir, resolver, {})
        final.write_text(original)
    break_csv(final, lambda df: df.drop(columns=["MUSR"]))
    with pytest.raises(InputError, match="missing column"):
        oll_v2.ingest_final(con, data_dir, resolver, {})
    v1 = data_dir / "public" / oll_v1.FILE
    break_csv(v1, lambda df: df.assign(ARC=["high"] + list(df.ARC[1:])))
    with pytest.raises(InputError, match=r"row 2, field 'ARC': 'high' is not a number"):
        oll_v1.ingest(con, data_dir, resolver)
    lm = data_dir / "public" / lmeval_csv.FILE
    lm.write_text("model_name,foo\nx,1\n")
    with pytest.raises(InputError, match="no 'task\\(metric,filter\\)' columns"):
        lmeval_csv.ingest(con, data_dir, resolver)
    rb = data_dir / "public" / rewardbench_lb.FILE
    break_csv(rb, lambda df: df.assign(source_name=["RewardBench 9"] + list(df.source_name[1:])))
    with pytest.raises(InputError, match="unknown source 'RewardBench 9'"):
        rewardbench_lb.ingest(con, data_dir)


def test_broken_evalplus_json(con, data_dir):
    resolver = paper.ingest_models(con, data_dir)
    path = data_dir / "public" / evalplus.FILE
    path.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        evalplus.ingest(con, data_dir, resolver)
    path.write_text(json.dumps({"m": {"pass@1": {"humaneval": "high"}}}))
    with pytest.raises(InputError, match=r"field 'm.pass@1.humaneval'.*not a number"):
        evalplus.ingest(con, data_dir, resolver)
    path.write_text(json.dumps({"m": {"link": "x"}}))
    with pytest.raises(InputError, match="has no 'pass@1'"):
        evalplus.ingest(con, data_dir, resolver)
