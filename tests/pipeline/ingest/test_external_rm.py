"""External RM groups (data/external/): the shipped table against the draft and the leaderboard it was
built from, the ingester on the real file and on broken copies of it."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.errors import InputError
from pipeline.ingest import external

ROOT = Path(__file__).resolve().parents[3]
EXT = ROOT / "data" / "external"
LB = ROOT / "data" / "public" / "rewardbench_v1_v2_leaderboard_eee.csv"


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(ROOT / "data", d, ignore=shutil.ignore_patterns("*.duckdb*", "predictor"))
    return d


def test_every_draft_row_is_kept_or_dropped_with_a_reason_and_scores_are_the_leaderboards():
    draft = pd.read_csv(EXT / "external_rm_groups_draft.csv")
    kept = pd.read_csv(EXT / "external_rm_groups.csv")
    dropped = pd.read_csv(EXT / "dropped.csv")
    assert len(draft) == 179 and len(kept) + len(dropped) == 179
    version = {"RewardBench": "v1", "RewardBench 2": "v2"}
    want = {(r.rm, version[r.rb_version]) for r in draft.itertuples()}
    got = set(zip(kept.rm_id, kept.rewardbench_version)) | set(zip(dropped.rm_id, dropped.rewardbench_version))
    assert got == want
    assert dropped["reason"].str.len().min() > 20 and kept["verified_source"].str.len().min() > 20
    lb = pd.read_csv(LB).rename(columns={"model": "rm_id"})
    lb["rewardbench_version"] = lb["source_name"].map(version)
    m = kept.merge(lb, on=["rm_id", "rewardbench_version"], how="left")
    assert m["Score"].notna().all()
    assert (m["score"] == m["Score"]).all()  # copied, never edited
    for ours, theirs in [("chat_hard", "Chat Hard"), ("factuality", "Factuality"), ("ties", "Ties")]:
        assert ((m[ours] == m[theirs]) | (m[ours].isna() & m[theirs].isna())).all()
    # the draft's own score column agrees with the leaderboard too (the draft was not hand-edited)
    d = draft.assign(rewardbench_version=draft.rb_version.map(version)).merge(
        kept, left_on=["rm", "rewardbench_version"], right_on=["rm_id", "rewardbench_version"])
    assert (d["score_x"] == d["score_y"]).all()


def test_verified_bases_of_real_rows():
    kept = pd.read_csv(EXT / "external_rm_groups.csv").set_index(["rm_id", "rewardbench_version"])
    # read in ContextualAI/HALOs config/model/*.yaml (name_or_path) and the RM cards
    assert kept.loc[("ContextualAI/archangel_sft-kto_pythia12-0b", "v1"), "base_hf_id"] == "EleutherAI/pythia-12b"
    assert kept.loc[("ContextualAI/archangel_sft-dpo_llama30b", "v1"), "base_hf_id"] == "huggyllama/llama-30b"
    assert kept.loc[("allenai/Llama-3.1-8B-Base-RM-RB2", "v2"), "base_hf_id"] == "meta-llama/Llama-3.1-8B"
    assert kept.loc[("weqweasdas/RM-Mistral-7B", "v1"), "base_hf_id"] == "mistralai/Mistral-7B-Instruct-v0.2"
    sweep = kept.loc[("allenai/open_instruct_dev-rm_llamabase_3e-6_1_skyworkstulufull__1__1745386507", "v2")]
    assert (sweep.base_hf_id, sweep.recipe_data, sweep.hyperparameters) == \
        ("meta-llama/Llama-3.1-8B", "skyworkstulufull", "lr=3e-06; epochs=1")
    # runs without a base tag are kept only where the SFT card's revision table matches them
    sft = kept[kept.base_hf_id == "allenai/Llama-3.1-Tulu-3-8B-SFT"]
    assert set(sft.verification) <= {"card revision", "card set + name"} and len(sft) == 7
    dropped = pd.read_csv(EXT / "dropped.csv")
    assert set(dropped.group) >= {"allenai RB2 early runs", "Ray2333 GRM -rewardmodel-ft (Skywork-80K)",
                                  "AI2 Tulu-2.5 RMs (data x size)"}


def test_qwen_sweep_runs_have_the_bases_the_rewardbench_2_paper_names():
    """paper-v2.pdf (allenai/reward-bench): App. B/H "Qwen" = Qwen 2.5 7B Instruct; App. C / Table 5 the
    "Qwen 7B Base" sweep. 9 rm_qwen_* and 6 rm_qwenbase_* runs kept; the 2 rm_qwen32b_* runs dropped."""
    kept = pd.read_csv(EXT / "external_rm_groups.csv")
    sweep = kept[kept.rm_id.str.startswith("allenai/open_instruct_dev-rm_qwen")].set_index("rm_id")
    tags = sweep.index.str.extract(r"rm_(qwen|qwenbase|qwen32b)_", expand=False)
    assert sorted(tags) == ["qwen"] * 9 + ["qwenbase"] * 6
    assert set(sweep.base_hf_id[tags == "qwen"]) == {"Qwen/Qwen2.5-7B-Instruct"}
    assert set(sweep.base_hf_id[tags == "qwenbase"]) == {"Qwen/Qwen2.5-7B"}
    assert set(sweep.rewardbench_version) == {"v2"} and set(sweep.group) == {"AI2 RewardBench 2 sweep (open-instruct)"}
    assert sweep.verified_source.str.contains("allenai/reward-bench paper-v2.pdf").all()
    assert sweep.verified_source[tags == "qwen"].str.contains("App. H").all()
    assert sweep.verified_source[tags == "qwenbase"].str.contains("App. C").all()
    assert sweep.verified_source[tags == "qwenbase"].str.contains("Table 5").all()
    # the runs whose 7 published scores are a row of the paper's tables (read in the PDF by hand)
    table = {"allenai/open_instruct_dev-rm_qwen_3e-6_2__1__1743023576": "Table 4 'Qwen 7B Instruct / Tulu'",
             "allenai/open_instruct_dev-rm_qwen_3e-6_3__1__1743023619": "Table 7 'Qwen, Tulu, 3e-6', 3 epochs",
             "allenai/open_instruct_dev-rm_qwen_3e-6_1_skyworks__2__1744576050": "Table 4 'Qwen 7B Instruct / Skywork'",
             "allenai/open_instruct_dev-rm_qwenbase_2e-5_1_skyworkstulufull__1__1745388738": "Table 5 'Qwen 7B Base'"}
    assert set(sweep.index[sweep.verification == "paper table"]) == set(table)
    assert set(sweep.verification) == {"paper table", "paper + name"}
    for rm, where in table.items():
        assert where in sweep.loc[rm, "verified_source"]
    q = sweep.loc["allenai/open_instruct_dev-rm_qwen_3e-6_2__1__1743023576"]
    assert (q.recipe_data, q.hyperparameters, q.seed) == ("tulu", "lr=3e-06; epochs=2", 1)
    # the 32B runs: no source names their base; one of them carries the paper's 'Qwen 7B Instruct' numbers
    dropped = pd.read_csv(EXT / "dropped.csv").set_index("rm_id")
    q32 = dropped[dropped.index.str.contains("rm_qwen32b_")]
    assert len(q32) == 2 and q32.reason.str.contains("no source names its base").all()
    assert "Tables 4 and 5 'Qwen 7B Instruct' (Both)" in q32.loc[
        "allenai/open_instruct_dev-rm_qwen32b_3e-6_skyworkstulufull__8__1748288961", "reason"]
    assert not dropped.index.str.contains(r"rm_qwen_|rm_qwenbase_").any()


def _build_module():
    spec = importlib.util.spec_from_file_location("build_table", EXT / "build_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_qwen_run_whose_scores_are_another_bases_paper_row_is_dropped():
    mod = _build_module()
    # Table 5's 'Qwen 7B Base' numbers (as printed) under a run named as the Instruct model
    pub = pd.Series({"Score": 0.682, "Factuality": 0.699, "Precise IF": 0.362, "Math": 0.683, "Safety": 0.831,
                     "Focus": 0.808, "Ties": 0.711})
    got, reason = mod._sweep("allenai/open_instruct_dev-rm_qwen_2e-5_1_skyworkstulufull__1__1", pub)
    assert got is None and "Table 5 'Qwen 7B Base'" in reason and "disagree" in reason
    got, reason = mod._sweep("allenai/open_instruct_dev-rm_qwenbase_2e-5_1_skyworkstulufull__1__1", pub)
    assert reason is None and got[:1] + got[2:4] == ("Qwen/Qwen2.5-7B", "paper table", "skyworkstulufull")
    # one number off by 0.2 points: no table row, kept on the appendix text and the run name
    got, _ = mod._sweep("allenai/open_instruct_dev-rm_qwenbase_2e-5_1_skyworkstulufull__1__1",
                        pub.replace(0.699, 0.701))
    assert got[2] == "paper + name"


def test_build_script_reproduces_the_shipped_table():
    table, dropped = _build_module().build(EXT / "external_rm_groups_draft.csv")
    table = table.astype({"run": "Int64"})
    shipped = pd.read_csv(EXT / "external_rm_groups.csv")
    pd.testing.assert_frame_equal(table.reset_index(drop=True).astype(str),
                                  shipped.astype({"seed": "Int64", "run": "Int64"}).astype(str), check_dtype=False)
    assert len(dropped) == len(pd.read_csv(EXT / "dropped.csv"))


def test_ingest_real_file_in_percent(con, data_dir):
    assert external.ingest(con, data_dir) == 104
    rows = con.execute("SELECT count(*), count(DISTINCT rm_group) FROM external_rm_results").fetchone()
    assert rows == (104, 5)
    score, fact, chat = con.execute("""SELECT score, factuality, chat FROM external_rm_results
        WHERE rm_id = 'allenai/Llama-3.1-8B-Base-RM-RB2' AND rewardbench_version = 'v2'""").fetchone()
    assert score == pytest.approx(64.9) and chat is None and fact is not None
    assert con.execute("SELECT rows_ingested FROM sources WHERE source_id = 'external_rm_groups'").fetchone()[0] == 104
    # evaluation only: nothing lands in rm_results
    assert con.execute("SELECT count(*) FROM rm_results").fetchone()[0] == 0


def _break(data_dir: Path, edit) -> Path:
    p = data_dir / "external" / "external_rm_groups.csv"
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    df = edit(df)
    df.to_csv(p, index=False)
    return p


@pytest.mark.parametrize("edit, row, field, words", [
    (lambda d: d.assign(score=d.score.where(d.index != 4, "0.9999")), 6, "score", "differs from the leaderboard"),
    (lambda d: d.assign(score=d.score.where(d.index != 0, "85.2")), 2, "score", "outside"),
    (lambda d: d.assign(chat=d.chat.where(d.index != 1, "n/a")), 3, "chat", "not a number"),
    (lambda d: d.assign(rewardbench_version=d.rewardbench_version.where(d.index != 2, "v3")), 4,
     "rewardbench_version", "unknown version"),
    (lambda d: d.assign(base_hf_id=d.base_hf_id.where(d.index != 3, "llama13b")), 5, "base_hf_id", "hub id"),
    (lambda d: d.assign(verified_source=d.verified_source.where(d.index != 5, "")), 7, "verified_source", "empty"),
    (lambda d: pd.concat([d, d.iloc[[0]]], ignore_index=True), 106, "rm_id", "already on row 2"),
    (lambda d: d.assign(rm_id=d.rm_id.where(d.index != 0, "org/not-on-the-leaderboard")), 2, "rm_id",
     "no RewardBench"),
])
def test_broken_external_table_names_row_field_and_fix(con, data_dir, edit, row, field, words):
    _break(data_dir, edit)
    with pytest.raises(InputError) as e:
        external.ingest(con, data_dir)
    assert (e.value.row, e.value.field) == (row, field)
    assert words in e.value.problem and e.value.fix
    assert "external_rm_groups.csv" in e.value.file


def test_missing_column_and_empty_file(con, data_dir):
    p = _break(data_dir, lambda d: d.drop(columns=["verified_source"]))
    with pytest.raises(InputError, match="verified_source"):
        external.ingest(con, data_dir)
    p.write_text("")
    with pytest.raises(InputError, match="file is empty"):
        external.ingest(con, data_dir)
