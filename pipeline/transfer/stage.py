"""``run(ctx)`` of the pipeline stage ``transfer``, run after ``predictor``.

Reads the served bundle this build holds (table ``predictor_bundle``) and ``external_rm_results``
(evaluation only), predicts every base with the bundle (``advisor.analyses.transfer``), writes
``transfer_agreement``, ``transfer_predictions`` and ``transfer_lineage`` (pipeline/sql/55_transfer.sql)
and adds the section ``transfer`` to the predictor's report in the table ``reports`` (JSON key
``transfer``; ``advisor.analyses.transfer.markdown`` renders it for reproduction.md). It also counts the
team's own results (``rm_results.source = 'user'``) and how many entered the fit.

Nothing here stops the publish: the analysis runs behind the build's one guard
(``pipeline.predictor.analyses.guarded``); when it cannot run (no bundle in the build) or fails, the
stage records why in ``skipped_analyses`` (analysis 'transfer') and in the report's skipped analyses, its
tables stay empty, and every other table is published.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from advisor.analyses import transfer
from advisor.db import store
from advisor.predict.bundle import ServedBundle
from pipeline import schema
from pipeline.predictor import analyses
from pipeline.predictor import report as report_mod

NOTE = ("Public reward models trained with one recipe on several bases (data/external/external_rm_groups.csv, "
        "bases verified; evaluation only, never training rows). The advisor predicts RewardBench v1 for the "
        "paper's HelpSteer2 recipes; these groups differ in data, method, hyperparameters and some in benchmark "
        "version (RewardBench 2), so only the ORDER of bases is compared. Bases the predictor was trained on "
        "(n_in_training) get their out-of-fold prediction from the CV fold that held them out, not the in-sample "
        "fit; 70B bases lie outside its training range (out of domain, clamped).")


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.replace({np.nan: None}).to_json(orient="records", double_precision=4))


class NotRun(ValueError):
    """A precondition of the analysis does not hold; the message says which and how to meet it."""


def run(ctx) -> None:
    con = ctx.con
    found: list[dict] = []
    res, section = analyses.guarded("transfer", lambda: analyse(ctx), found, (None, {}))
    skipped = found[0] if found else None
    if skipped:
        ctx.log(f"  skipped transfer: {skipped['reason']}")
        schema.insert(con, "skipped_analyses", [skipped])
    if res is not None:
        schema.insert(con, "transfer_agreement", res.agreement)  # columns by name; NaN -> NULL
        schema.insert(con, "transfer_predictions", res.per_base)
        schema.insert(con, "transfer_lineage", res.lineage)
    report = report_mod.stored(con)
    if report is not None:  # the predictor's report of this build (or the live one's, carried over)
        report["transfer"] = section
        earlier = [s for s in report["skipped_analyses"] if s["analysis"] != "transfer"]  # a previous run's
        report["skipped_analyses"] = [*earlier, skipped] if skipped else earlier
        report_mod.store(ctx, report)


def analyse(ctx):
    """(``advisor.analyses.transfer.analyse``'s result or None without external results, the report's
    section)."""
    con = ctx.con
    if not store.has_table(con, "external_rm_results"):
        return None, {}
    rows = con.execute("SELECT bundle_json FROM predictor_bundle LIMIT 1").fetchall()  # no result left open
    row = rows[0] if rows else None
    if row is None:
        raise NotRun("no predictor bundle in this build: run the predictor stage before transfer "
                     "(stages: [..., predictor, transfer])")
    bundle = ServedBundle.from_json(row[0], where="table predictor_bundle")
    ext = store.frame(con, "SELECT * FROM external_rm_results")
    facts = transfer.bundle_facts(bundle, con)
    feats = transfer.base_features(con, ext.base_hf_id.unique(), facts["features"], facts["scale"])
    preds = transfer.predict_bases(bundle, feats, facts=facts)
    paper = store.rm_table(con, sources=("paper",), one_per_model=True)
    preds = pd.concat([preds, transfer.paper_measured(paper[paper.hf_id.isin(ext.base_hf_id)])], ignore_index=True)
    post = store.frame(con, "SELECT * FROM post_training") if store.has_table(con, "post_training") else None
    res = transfer.analyse(ext, preds, transfer.lineage_from_post_training(post))
    done = res.agreement[res.agreement.spearman.notna()]
    ctx.log(f"  transfer: {ext.rm_group.nunique()} external groups, {done.comparison.nunique()} comparisons "
            f"with >= {transfer.MIN_BASES} bases with features")
    return res, {"note": NOTE, "agreement": _records(res.agreement), "lineage": _records(res.lineage),
                 "summary": res.summary,
                 "bases": {"total": int(ext.base_hf_id.nunique()),
                           "with_features": int(feats.feature_source.notna().sum())},
                 "user_rm_results": _user_results(con, facts["in_training"])}


def _user_results(con, fitted) -> dict:
    """How many of the team's own results (rm_results.source = 'user') entered the served fit."""
    user = store.frame(con, "SELECT hf_id, method FROM rm_results WHERE source = 'user'")
    others = set(map(tuple, store.frame(con, "SELECT hf_id, method FROM rm_results WHERE source <> 'user'")
                     .to_numpy().tolist()))
    in_fit = [h in fitted and (h, m) not in others for h, m in zip(user.hf_id, user.method)]
    return {"rows": len(user), "in_fit": int(sum(in_fit)),
            "note": "a user row enters the fit when its base has every predictor feature and "
                    "the paper has no row for it (rm_sources order: paper first)"}
