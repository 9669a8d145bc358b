"""Transfer to other recipes (issue 16), run inside the ``predictor`` stage after the bundle is fit.

``run(ctx, bundle)`` reads ``external_rm_results`` (evaluation only), predicts every base with the
just-fitted bundle (``advisor.analyses.transfer``), writes ``transfer_agreement``, ``transfer_predictions`` and
``transfer_lineage`` (pipeline/sql/55_transfer.sql) and returns the report dict for the JSON key
``transfer``; ``advisor.analyses.transfer.markdown`` renders it for reports/reproduction.md. It also counts the
team's own results (``rm_results.source = 'user'``) and how many entered the fit.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from advisor.analyses import transfer
from advisor.db import store
from pipeline import schema

NOTE = ("Public reward models trained with one recipe on several bases (data/external/external_rm_groups.csv, "
        "bases verified; evaluation only, never training rows). The advisor predicts RewardBench v1 for the "
        "paper's HelpSteer2 recipes; these groups differ in data, method, hyperparameters and some in benchmark "
        "version (RewardBench 2), so only the ORDER of bases is compared. Bases the predictor was trained on "
        "(n_in_training) get their out-of-fold prediction from the CV fold that held them out, not the in-sample "
        "fit; 70B bases lie outside its training range (out of domain, clamped).")


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.replace({np.nan: None}).to_json(orient="records", double_precision=4))


def _write(con, res) -> None:
    """The three tables, columns matched by name; NaN and infinities become NULL."""
    schema.insert(con, "transfer_agreement", res.agreement)
    schema.insert(con, "transfer_predictions", res.per_base)
    schema.insert(con, "transfer_lineage", res.lineage)


def run(ctx, bundle) -> dict:
    con = ctx.con
    if not store.has_table(con, "external_rm_results"):
        return {}
    ext = store.frame(con, "SELECT * FROM external_rm_results")
    facts = transfer.bundle_facts(bundle, con)
    feats = transfer.base_features(con, ext.base_hf_id.unique(), facts["features"], facts["scale"])
    preds = transfer.predict_bases(bundle, feats, facts=facts)
    paper = store.rm_table(con, sources=("paper",), one_per_model=True)
    preds = pd.concat([preds, transfer.paper_measured(paper[paper.hf_id.isin(ext.base_hf_id)])], ignore_index=True)
    post = store.frame(con, "SELECT * FROM post_training") if store.has_table(con, "post_training") else None
    res = transfer.analyse(ext, preds, transfer.lineage_from_post_training(post))
    _write(con, res)
    done = res.agreement[res.agreement.spearman.notna()]
    ctx.log(f"  transfer: {ext.rm_group.nunique()} external groups, {done.comparison.nunique()} comparisons "
            f"with >= {transfer.MIN_BASES} bases with features")
    user = store.frame(con, "SELECT hf_id, method FROM rm_results WHERE source = 'user'")
    others = set(map(tuple, store.frame(con, "SELECT hf_id, method FROM rm_results WHERE source <> 'user'")
                     .to_numpy().tolist()))
    fitted = facts["in_training"]
    in_fit = [h in fitted and (h, m) not in others for h, m in zip(user.hf_id, user.method)]
    return {"note": NOTE, "agreement": _records(res.agreement), "lineage": _records(res.lineage),
            "summary": res.summary,
            "bases": {"total": int(ext.base_hf_id.nunique()),
                      "with_features": int(feats.feature_source.notna().sum())},
            "user_rm_results": {"rows": len(user),
                                "in_fit": int(sum(in_fit)),
                                "note": "a user row enters the fit when its base has every predictor feature and "
                                        "the paper has no row for it (rm_sources order: paper first)"}}
