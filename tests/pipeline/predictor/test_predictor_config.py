"""pipeline.predictor.config and the paper's numbers the report prints (fast: no build)."""

from __future__ import annotations

import pytest

from advisor.predict import evaluation
from pipeline.errors import InputError
from pipeline.predictor.config import PredictorConfig, check, eval_config
from pipeline.predictor.report import paper_numbers


def test_the_protocol_defaults_have_one_home():
    """PredictorConfig's defaults of the protocol are EvalConfig's, and eval_config hands every
    same-named field back (a field added to one and not the other changes this equality)."""
    assert eval_config(PredictorConfig()) == evaluation.EvalConfig()
    e = eval_config(PredictorConfig(repeats=0, folds=5, cv=3, n_boot=7, candidates=["ridge_log_params"]),
                    extra_specs=["paper_enet"])
    assert (e.repeats, e.folds, e.cv, e.n_boot, e.candidates, e.extra_specs) == \
        (0, 5, 3, 7, ["ridge_log_params"], ["paper_enet"])


def test_the_paper_numbers_are_read_from_data_paper():
    """The numbers as printed in the paper (Table 1's Delta columns; sections 1, 4.1, 4.2, 5.2, Fig. 13)."""
    p = paper_numbers()
    assert p["gains_range"] == [3.1, 14.3] and p["cv_mae"] == 3.2
    assert (p["coverage_gain_top5_10"], p["pca_top5_variance"], p["critical_r_n40"]) == (0.18, 0.968, 0.316)
    assert list(p["table1_delta_pct"]) == ["Llama-3.1-8B-Instruct", "Hermes-3-Llama-3.1-8B", "Llama-3.1-Tulu-3-8B-SFT",
                                           "Llama-3.1-Tulu-3-8B-DPO", "Llama-3.1-Tulu-3-8B"]
    assert p["table1_delta_pct"]["Hermes-3-Llama-3.1-8B"] == {"chat": 1.7, "chat_hard": 32.8, "safety": 29.5,
                                                             "reasoning": -6.4, "score": 11.2}
    assert p["table1_delta_pct"]["Llama-3.1-Tulu-3-8B"]["chat"] == -0.6


def test_config_errors_name_the_field_and_the_fix():
    with pytest.raises(InputError, match=r"predictor.rm_sources \['pipelines'\]: unknown.*paper, pipeline"):
        check(PredictorConfig(rm_sources=["pipelines"]), "cfg.yaml")
    with pytest.raises(InputError, match="predictor.rm_sources"):
        check(PredictorConfig(rm_sources="paper"), "cfg.yaml")  # a string, not a list
    with pytest.raises(InputError, match="unknown predictor spec 'ridge_all'.*ridge_log_params"):
        check(PredictorConfig(candidates=["ridge_all"]), "cfg.yaml")
    with pytest.raises(InputError, match="scale 'percent'"):
        check(PredictorConfig(scales=["percent"]), "cfg.yaml")
    check(PredictorConfig(rm_sources=["pipeline", "paper"]), "cfg.yaml")
