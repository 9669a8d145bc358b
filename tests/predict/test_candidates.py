"""advisor/predict/candidates.py: the candidate table, completed by hub id from the database's tables
(passed in, here built by hand or read from the shipped CSVs): the size looked up or the row not
ranked (never imputed), the leaderboard row for missing cells, known models' features, and the
provenance of every cell."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from advisor.core import registry, scales
from advisor.formats import upload
from advisor.predict import candidates
from advisor.predict.specs import BASE_FEATURES

ROOT = Path(__file__).resolve().parents[2]
TASKS = list(registry.OLL_V2_TASKS)
LB_ROWS = [  # hf_id, params_b, the six tasks (normalized)
    ("Org/Listed-7B", 7.6, 70.0, 35.0, 48.34, 10.0, 9.0, 36.0),
    ("org/zero-size", 0.0, 50.0, 20.0, 5.0, 2.0, 3.0, 10.0),
    ("org/minus-size", -1.0, 50.0, 20.0, 5.0, 0.0, 3.0, 10.0),
    ("org/paper-model", 7.6, 75.0, 34.0, 50.0, 5.5, 8.5, 36.5),
]
REFERENCE = candidates.Reference(
    leaderboard=pd.DataFrame(LB_ROWS, columns=["hf_id", "params_b", *TASKS]),
    models=pd.DataFrame([("org/paper-model", 7.62, 18.0, True), ("org/tiny-run", 0.01, None, False)],
                        columns=["hf_id", "params_b", "pretrain_tokens_t", "in_paper"]))


def table(csv: str, scale: str = "auto", reference=REFERENCE, picks=()):
    parts = [upload.parse_csv(csv.encode(), "c.csv", scale=scale)]
    if picks:
        parts.append(upload.leaderboard_candidates(reference.leaderboard, picks))
    t, errors, warnings, notes = candidates.gather(parts, reference)
    assert errors == [], errors
    return t.set_index("hf_id"), warnings, notes


def test_every_column_of_the_contract_and_every_cell_has_a_provenance():
    t, _, _ = table("model,IFEval,BBH,Params (B)\norg/a,70,30,7\n")
    for c in (*BASE_FEATURES, *candidates.EXTRA_COLUMNS, "source", *upload.LABEL_COLUMNS):
        assert c in t.columns, c
    assert candidates.BASE_FEATURES == BASE_FEATURES  # the predictor's base features, one list
    for f in BASE_FEATURES:
        prov = t[f"prov_{f}"]
        assert set(prov) <= {*scales.PROVENANCE, ""}
        assert ((prov == "") == t[f].isna()).all(), f  # a provenance exactly where there is a value
    a = t.loc["org/a"]
    assert (a["prov_leaderboard_ifeval"], a["prov_params_b"], a["prov_leaderboard_gpqa"]) == ("given", "given", "")
    assert a["size_source"] == "given" and a["not_ranked"] == "" and not a["known"]


def test_size_is_never_imputed_a_row_of_unknown_size_is_not_ranked_with_the_fix():
    t, warnings, _ = table("model,IFEval,BBH,Params (B)\norg/unknown,70,30,\norg/sized,60,30,3\n")
    assert t.loc["org/unknown", "not_ranked"] == candidates.SIZE_UNKNOWN == "size unknown: add Params (B)"
    assert math.isnan(t.loc["org/unknown", "params_b"]) and t.loc["org/unknown", "size_source"] == ""
    assert t.loc["org/sized", "not_ranked"] == ""
    assert warnings == ["c.csv: 1 model(s) not ranked, size unknown: add Params (B): 'org/unknown'. Their size "
                        "is neither given nor in the Open LLM Leaderboard v2 table or the paper's models, and a "
                        "size is never imputed. Fix: add a 'Params (B)' column with the size in billions of "
                        "parameters (e.g. 4.0)."]


def test_size_looked_up_by_hub_id_with_provenance_and_its_source():
    t, _, notes = table("model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO\n"
                        "org/listed-7b,70,35,48,10,9,36\norg/paper-model,75,34,50,5.5,8.5,36.5\n")
    listed = t.loc["Org/Listed-7B"]  # hub ids ignore case: the table's spelling is kept
    assert listed["params_b"] == 7.6 and listed["prov_params_b"] == "looked up"
    assert listed["size_source"] == "looked up: Open LLM Leaderboard v2 table"
    paper = t.loc["org/paper-model"]  # the paper's models first: the size the predictor was trained on
    assert paper["params_b"] == 7.62 and paper["size_source"] == "looked up: the paper's models"
    assert ("c.csv: looked up by model id (provenance 'looked up'): Org/Listed-7B: #Params (B) 7.6 (Open LLM "
            "Leaderboard v2 table); org/paper-model: #Pre-training Tokens (T) 18 (the paper's models), "
            "#Params (B) 7.62 (the paper's models).") in notes


@pytest.mark.parametrize("model", ["org/zero-size", "org/minus-size"])
def test_zero_or_negative_leaderboard_sizes_are_unknown(model):
    typed, _, _ = table(f"model,IFEval\n{model},50\n")
    picked, _, _ = table("model,IFEval,Params (B)\norg/other,50,3\n", picks=[model])
    for t in (typed, picked):
        row = t.loc[model]
        assert math.isnan(row["params_b"]) and row["prov_params_b"] == "" and row["size_source"] == ""
        assert row["not_ranked"] == candidates.SIZE_UNKNOWN
    given_zero, _, _ = table("model,IFEval,Params (B)\norg/listed-7b,50,0\n")  # a 0 typed is unknown too
    assert given_zero.loc["Org/Listed-7B", "params_b"] == 7.6


def test_the_leaderboard_row_fills_the_missing_cells_of_a_normalized_row_and_says_so():
    t, _, notes = table("model,IFEval,BBH,Params (B)\norg/listed-7b,71,36,7\n")
    row = t.loc["Org/Listed-7B"]
    assert (row["leaderboard_ifeval"], row["prov_leaderboard_ifeval"]) == (71.0, "given")  # the upload wins
    assert (row["leaderboard_math_hard"], row["prov_leaderboard_math_hard"]) == (48.34, "leaderboard")
    assert [row[f"prov_{x}"] for x in TASKS] == ["given", "given", *["leaderboard"] * 4]
    assert row["params_b"] == 7 and row["size_source"] == "given"
    assert not row["partial"] and row["missing"] == ""
    assert row["note"] == "from the Open LLM Leaderboard v2 table: MATH Lvl 5, GPQA, MUSR, MMLU-PRO"
    assert ("c.csv, model 'Org/Listed-7B': MATH Lvl 5, GPQA, MUSR, MMLU-PRO taken from the model's row in the "
            "Open LLM Leaderboard v2 table, which the input lacked (provenance 'leaderboard').") in notes


def test_the_leaderboard_row_reaches_a_raw_row_only_by_exact_conversion():
    t, _, notes = table("model,IFEval,GPQA,Params (B),settings\norg/listed-7b,0.7,0.4,7,other\n", scale="raw")
    row = t.loc["Org/Listed-7B"]
    assert row["scale"] == "raw"
    assert row["leaderboard_math_hard"] == pytest.approx(0.4834)  # 48.34 normalized = raw x 100
    assert row["leaderboard_mmlu_pro"] == pytest.approx(0.1 + 0.36 * 0.9)  # chance 1/10
    assert row["prov_leaderboard_math_hard"] == row["prov_leaderboard_mmlu_pro"] == "converted"
    assert math.isnan(row["leaderboard_bbh"]) and math.isnan(row["leaderboard_musr"])  # no exact rule
    assert row["partial"] and row["missing"] == "BBH, MUSR"
    assert row["note"].startswith("other / unknown settings: less certain; partial: 4 of 6 leaderboard tasks; ")
    note = next(n for n in notes if n.startswith("c.csv, model 'Org/Listed-7B'"))
    assert "MATH Lvl 5 (normalized 48.34 -> raw 0.4834, exact)" in note and "(provenance 'converted')" in note
    assert "not taken, no exact conversion to raw: BBH (" in note


def test_known_models_use_their_known_features():
    picked, _, _ = table("model,IFEval,Params (B)\norg/other,50,3\n", picks=["org/paper-model"])
    row = picked.loc["org/paper-model"]
    assert row["known"] and row["pretrain_tokens_t"] == 18 and row["prov_pretrain_tokens_t"] == "looked up"
    assert row["params_b"] == 7.6 and row["prov_params_b"] == "leaderboard"  # the picked row's own size
    assert row["size_source"] == "leaderboard: Open LLM Leaderboard v2 table"
    assert [row[f"prov_{x}"] for x in TASKS] == ["leaderboard"] * 6
    assert not picked.loc["org/other", "known"]
    typed, _, _ = table("model,IFEval,#Pre-training Tokens (T),Params (B)\norg/paper-model,70,15,7\n")
    assert typed.loc["org/paper-model", "pretrain_tokens_t"] == 15  # a given value is never replaced
    assert typed.loc["org/paper-model", "prov_pretrain_tokens_t"] == "given"


def test_recent_bases_example_qwen3_4b_is_not_ranked_against_the_shipped_tables():
    """Issue 24: Qwen3-4B, Qwen3-4B-Base and Qwen3-1.7B-Base have no size in data/examples/recent_bases.csv
    and are in neither the shipped leaderboard table nor the paper's models: not ranked, with the reason
    (before, their size was imputed and Qwen3-4B ranked 5th). Every other row keeps its given size."""
    lb = pd.read_csv(ROOT / "data" / "public" / "open_llm_leaderboard_v2_final_20250509_modelrank.csv")
    lb = lb.rename(columns={"model": "hf_id", "IFEval": "leaderboard_ifeval", "BBH": "leaderboard_bbh",
                            "MATH_Lvl5": "leaderboard_math_hard", "GPQA": "leaderboard_gpqa",
                            "MUSR": "leaderboard_musr", "MMLU_PRO": "leaderboard_mmlu_pro"})
    models = pd.read_csv(ROOT / "data" / "paper" / "models.csv").assign(in_paper=True)
    ref = candidates.Reference(lb, models[["hf_id", "params_b", "pretrain_tokens_t", "in_paper"]])
    path = ROOT / "data" / "examples" / "recent_bases.csv"
    t, _, _, _ = candidates.gather([upload.parse_upload(path.read_bytes(), path.name)], ref)
    t = t.set_index("hf_id")
    unsized = {"Qwen/Qwen3-4B", "Qwen/Qwen3-4B-Base", "Qwen/Qwen3-1.7B-Base"}
    assert set(t.index[t["not_ranked"] != ""]) == unsized
    assert set(t.loc[list(unsized), "not_ranked"]) == {"size unknown: add Params (B)"}
    assert t.loc[list(unsized), "params_b"].isna().all()
    assert set(t.loc[~t.index.isin(unsized), "size_source"]) == {"given"}


def test_completion_takes_the_database_tables_from_its_caller_and_never_opens_the_database():
    import ast

    tree = ast.parse((ROOT / "advisor" / "predict" / "candidates.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and (m.startswith("advisor.db") or m.startswith("duckdb"))}
    empty, _, _, _ = candidates.gather([upload.parse_csv(b"model,IFEval\norg/a,50\n", "e.csv")],
                                       candidates.Reference.empty())
    assert empty.loc[0, "not_ranked"] == candidates.SIZE_UNKNOWN and not empty.loc[0, "known"]
