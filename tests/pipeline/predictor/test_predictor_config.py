"""pipeline.predictor.config and the paper's numbers the report prints (fast: no build)."""

from __future__ import annotations

import pytest

from advisor.predict import evaluation
from pipeline import config
from pipeline.errors import InputError
from pipeline.predictor.config import PredictorConfig, eval_config
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


def _section(**kw) -> PredictorConfig:
    return config.build_section("predictor", {"predictor": kw}, "cfg.yaml")


def test_config_errors_name_the_field_and_the_fix():
    """Types from the registry and the spec file: a bad name is refused at load, listing the valid ones."""
    with pytest.raises(InputError, match=r"cfg.yaml, field 'predictor.rm_sources.0': 'pipelines' is not valid. "
                                         r"Fix: predictor.rm_sources.0 should be 'paper', 'pipeline' or 'user'"):
        _section(rm_sources=["pipelines"])
    with pytest.raises(InputError, match=r"field 'predictor.rm_sources'.*should be a valid list"):
        _section(rm_sources="paper")  # a string, not a list
    with pytest.raises(InputError, match=r"field 'predictor.candidates.0': unknown predictor spec 'ridge_all'. "
                                         r"Fix: use names from advisor/predict/predictor_specs.yaml: "
                                         r"ridge_log_params, .*paper_enet"):
        _section(candidates=["ridge_all"])
    with pytest.raises(InputError, match=r"field 'predictor.candidates'.*should have at least 1 item"):
        _section(candidates=[])
    with pytest.raises(InputError, match=r"field 'predictor.scales.0': 'percent' is not valid.*"
                                         r"should be 'normalized' or 'raw'"):
        _section(scales=["percent"])
    with pytest.raises(InputError, match=r"field 'predictor.paper_reference_scales.0'.*'normalized' or 'raw'"):
        _section(paper_reference_scales=["percent"])
    with pytest.raises(InputError, match=r"field 'predictor.targets.1': 'helpfulness' is not valid.*"
                                         r"'score', 'chat', 'chat_hard', 'safety' or 'reasoning'"):
        _section(targets=["score", "helpfulness"])
    with pytest.raises(InputError, match=r"field 'predictor.pca_features.0': unknown feature 'ifeval'.*"
                                         r"leaderboard_ifeval"):
        _section(pca_features=["ifeval"])
    with pytest.raises(InputError, match=r"field 'predictor.repeats'.*greater than or equal to 0"):
        _section(repeats=-1)
    with pytest.raises(InputError, match=r"field 'predictor.coverage_min_k5'.*less than or equal to 1"):
        _section(coverage_min_k5=40)
    # the rules across keys run at load too
    with pytest.raises(InputError, match=r"field 'predictor.method'.*bradley_terry/score not among the fitted"):
        _section(methods=["regression"], method="bradley_terry")
    with pytest.raises(InputError, match=r"field 'predictor.paper_reference_targets'.*'chat' is not served"):
        _section(targets=["score"], method="regression", paper_reference_targets=["chat"])
    with pytest.raises(InputError, match=r"field 'predictor.coverage_ks'.*first k is above the last"):
        _section(coverage_ks=[30, 5])
    assert _section(rm_sources=["pipeline", "paper"]).rm_sources == ["pipeline", "paper"]
    assert _section() == PredictorConfig()  # the defaults are valid
