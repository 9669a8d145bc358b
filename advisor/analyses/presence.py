"""Pre-training presence analysis (paper 5.2): family rule, per-subset summaries, regression experiment.

Inputs are plain DataFrames read from the database (``presence_scores``: model, doc_id, subset, score;
the ``models`` facts; the published tables), no torch: the presence stage (``pipeline/presence/stage.py``)
computes its tables with the four below, the app's Pre-training data page shows ``documents`` and ``rounds_table``.

* ``family_map``: which model's score distribution stands for each model. A model with its own scores
  uses them; with ``rule=True`` (the paper's rule) a model without scores reuses those of the largest
  scored member of its family trained on the same number of tokens (``models`` table / Table 3).
* ``subset_summary``: count, mean, std and quantiles per (model, subset), plus subset ``all``.
* ``presence_features``: each model's mean score per subset as predictor features ``presence_<subset>``.
* ``regression_experiment``: the paper's predictor spec (``paper_enet``) through the predictor's honest
  evaluation (``advisor.predict.evaluation.evaluate``: 10-fold CV, one family held out at a time) with the
  base features and with the presence means added; reports both errors and their difference, or says
  plainly that there are too few models with both presence scores and RewardBench results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SUBSET_LABELS = {"RedPajamaGithub": "github", "RedPajamaBook": "book", "RedPajamaArXiv": "arxiv",
                 "RedPajamaWikipedia": "wikipedia", "RedPajamaStackExchange": "stackexchange",
                 "RedPajamaCommonCrawl": "commoncrawl", "RedPajamaC4": "c4"}
PREFIX = "presence_"


def subset_label(subset: str) -> str:
    return SUBSET_LABELS.get(subset, subset.lower())


def family_map(models: pd.DataFrame, scored, rule: bool = True) -> pd.DataFrame:
    """One row per model (all of ``models`` plus any scored model not in it): whose scores stand for it.

    ``models`` needs columns hf_id, family, params_b, pretrain_tokens_t. Columns of the result: hf_id,
    source_model (None when no distribution applies), family, pretrain_tokens_t, reason.
    """
    need = {"hf_id", "family", "params_b", "pretrain_tokens_t"}
    missing = need - set(models.columns)
    if missing:
        raise ValueError(f"models table lacks column(s) {sorted(missing)}; it needs {sorted(need)}")
    scored = list(dict.fromkeys(scored))
    facts = models.drop_duplicates("hf_id").set_index("hf_id")
    rows = []
    for hf_id in list(facts.index) + [m for m in scored if m not in facts.index]:
        fam = facts.family.get(hf_id) if hf_id in facts.index else None
        tokens = facts.pretrain_tokens_t.get(hf_id) if hf_id in facts.index else None
        if hf_id in scored:
            rows.append((hf_id, hf_id, fam, tokens, "own scores"))
            continue
        source, reason = None, "no scores"
        if rule and fam is not None and pd.notna(fam) and tokens is not None and pd.notna(tokens):
            peers = facts[(facts.family == fam) & np.isclose(facts.pretrain_tokens_t.astype(float), float(tokens))
                          & facts.index.isin(scored)]
            if len(peers):
                source = peers.params_b.astype(float).idxmax()
                reason = (f"family rule: largest scored {fam} member with {float(tokens):g}T tokens "
                          f"({facts.params_b[source]:g}B)")
            else:
                reason = f"no scored {fam} member trained on {float(tokens):g}T tokens"
        elif not rule:
            reason = "no scores (family rule off)"
        rows.append((hf_id, source, fam, tokens, reason))
    return pd.DataFrame(rows, columns=["hf_id", "source_model", "family", "pretrain_tokens_t", "reason"])


def subset_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (model, subset) and per (model, 'all'): n_docs, mean, std, q05, q25, median, q75, q95."""
    s = scores[np.isfinite(scores.score)]
    both = pd.concat([s, s.assign(subset="all")], ignore_index=True)
    g = both.groupby(["model", "subset"], sort=False).score
    out = g.agg(n_docs="count", mean="mean", std="std").reset_index()
    for q, name in ((0.05, "q05"), (0.25, "q25"), (0.5, "median"), (0.75, "q75"), (0.95, "q95")):
        out[name] = g.quantile(q).to_numpy()
    return out


def presence_features(summary: pd.DataFrame, fmap: pd.DataFrame, subsets=None) -> pd.DataFrame:
    """Index hf_id, columns ``presence_<subset>``: the mean score per subset of each model's source."""
    per = summary[summary.subset != "all"]
    if subsets is not None:
        per = per[per.subset.isin(list(subsets))]
    wide = per.pivot(index="model", columns="subset", values="mean")
    wide.columns = [PREFIX + subset_label(c) for c in wide.columns]
    m = fmap.dropna(subset=["source_model"])
    out = wide.reindex(m.source_model.to_numpy())
    out.index = pd.Index(m.hf_id.to_numpy(), name="hf_id")
    return out.dropna(how="all")


def regression_experiment(X: pd.DataFrame, y: pd.Series, presence: pd.DataFrame, groups: pd.Series | None = None,
                          min_models: int = 12, spec="paper_enet", folds: int = 10, cv: int = 10,
                          n_jobs: int = 2) -> pd.DataFrame:
    """Honest error of the paper's predictor on ``X``'s features, without and with the presence means.

    Both arms are the predictor spec ``spec`` (a registry name or a ``Spec``; default the paper's Elastic
    Net) with other inputs, ``X``'s columns and ``X``'s columns plus the presence columns, evaluated by
    ``advisor.predict.evaluation.evaluate`` on the same folds, each training part running the spec's own
    ``cv``-fold search: 'nested' is one repeat of ``folds``-fold CV; 'lofo' (when ``groups`` gives every
    model a family and there are at least 3) holds one family out at a time (evaluate's lineage-out
    protocol with the families as lineages). Only models with every base feature, every presence column
    and a target are used (the same models in both arms). Returns one row per (cv, features): cv in
    {'nested', 'lofo'}, features in {'base', 'base+presence'}, with n_models, mae, mae_change (with minus
    without, negative = presence helps), status ('ok' or 'insufficient_data') and a note.
    """
    base_cols, pres_cols = list(X.columns), list(presence.columns)
    data = X.join(presence, how="inner").join(y.rename("__y"), how="inner").dropna()
    n = len(data)
    if n < min_models or not pres_cols:
        note = (f"only {n} model(s) have the base features, presence scores (own or by the family rule) and "
                f"a RewardBench result; the experiment needs at least {min_models}. Presence scores need the "
                "real models (one GPU pass per family representative), which this database does not have yet")
        return pd.DataFrame([{"cv": "nested", "features": "base+presence", "n_models": n, "mae": np.nan,
                              "mae_change": np.nan, "status": "insufficient_data", "note": note}])
    from dataclasses import replace

    from advisor.predict import evaluation, specs

    yv = data.pop("__y")
    model = specs.resolve(spec)
    arms = {"base": replace(model, inputs=tuple(base_cols)),
            "base+presence": replace(model, name=f"{model.name}+presence", inputs=tuple(base_cols + pres_cols))}
    g = None if groups is None else pd.Series(groups).reindex(data.index)
    lofo = g is not None and g.notna().all() and g.nunique() >= 3
    cfg = evaluation.EvalConfig(candidates=[], extra_specs=list(arms.values()), baselines=[], repeats=1,
                                folds=folds, cv=cv, n_jobs=n_jobs)
    oof = evaluation.evaluate(data, yv.to_frame("score"), g if lofo else pd.Series("all", index=data.index), cfg)
    mae = (oof.y - oof.prediction).abs().groupby([oof.protocol, oof.name]).mean()
    rows = []
    for protocol, name in [("nested", "nested")] + ([("lineage_out", "lofo")] if lofo else []):
        base = float(mae[(protocol, arms["base"].name)])
        for label, arm in arms.items():
            m = float(mae[(protocol, arm.name)])
            rows.append({"cv": name, "features": label, "n_models": n, "mae": m,
                         "mae_change": m - base if label != "base" else 0.0, "status": "ok",
                         "note": f"{len(pres_cols)} presence feature(s): {', '.join(pres_cols)}"})
    return pd.DataFrame(rows)


def documents(summary: pd.DataFrame) -> dict:
    """{subset: documents per model} the published estimates rest on (the summary's n_docs)."""
    if summary is None or summary.empty or "n_docs" not in summary:
        return {}
    return summary.groupby("subset").n_docs.max().dropna().astype(int).to_dict()


def rounds_table(rounds: pd.DataFrame | None) -> pd.DataFrame:
    """The sequential rounds, one row per round (the widest interval over the models), for display."""
    if rounds is None or rounds.empty:
        return pd.DataFrame()
    g = rounds.groupby("round", sort=True)
    out = g.agg(documents_per_model=("n_documents", "max"), mean_halfwidth=("mean_hw", "max"),
                bin_halfwidth=("hist_hw", "max"), jsd_halfwidth=("jsd_hw", "max"),
                width_over_tolerance=("ratio", "max"),
                level=("level", "max"), stopped=("stopped", "max"), reason=("reason", "first")).reset_index()
    return out
