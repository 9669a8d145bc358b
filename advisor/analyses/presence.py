"""Pre-training presence analysis (paper 5.2): family rule, per-subset summaries, regression experiment.

Inputs are plain DataFrames read from the database (``presence_scores``: model, doc_id, subset, score;
the ``models`` facts; the published tables), no torch: the presence stage (``pipeline/presence/stage.py``)
computes its tables with the four below, the app's Pre-training data page shows ``documents`` and ``rounds_table``.

* ``family_map``: which model's score distribution stands for each model. A model with its own scores
  uses them; with ``rule=True`` (the paper's rule) a model without scores reuses those of the largest
  scored member of its family trained on the same number of tokens (``models`` table / Table 3).
* ``subset_summary``: count, mean, std and quantiles per (model, subset), plus subset ``all``.
* ``presence_features``: each model's mean score per subset as predictor features ``presence_<subset>``.
* ``regression_experiment``: the predictor's honest CV (nested CV, leave-one-family-out) with the base
  features and with the presence means added; reports both errors and their difference, or says plainly
  that there are too few models with both presence scores and RewardBench results.
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


def _augmented_predictor_class():
    from advisor.predict.estimator import RMPredictor

    class PresenceAugmentedPredictor(RMPredictor):
        """RMPredictor that also accepts ``presence_*`` columns (not registry benchmarks) as features."""

        def _label(self, feature):
            return feature if feature.startswith(PREFIX) else super()._label(feature)

    return PresenceAugmentedPredictor


def regression_experiment(X: pd.DataFrame, y: pd.Series, presence: pd.DataFrame, groups: pd.Series | None = None,
                          min_models: int = 12, cv: int = 10, outer_cv: int = 10,
                          **predictor_params) -> pd.DataFrame:
    """Honest-CV error of the predictor on ``X``'s features, without and with the presence means.

    Only models with every base feature, every presence column and a target are used (the same models in
    both arms). Returns one row per (cv, features): cv in {'nested', 'lofo'} (leave one family out, when
    ``groups`` is given), features in {'base', 'base+presence'}, with n_models, mae, mae_change
    (with minus without, negative = presence helps), status ('ok' or 'insufficient_data') and a note.
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
    from advisor.predict import evaluation

    cls = _augmented_predictor_class()
    yv = data.pop("__y")
    runs = [("nested", lambda est, A: evaluation.nested_cv(est, A, yv, outer_cv=outer_cv))]
    if groups is not None:
        g = pd.Series(groups).reindex(data.index)
        if g.notna().all() and g.nunique() >= 3:
            runs.append(("lofo", lambda est, A: evaluation.leave_one_family_out(est, A, yv, g)))
    rows = []
    for name, fn in runs:
        maes = {}
        for label, cols in (("base", base_cols), ("base+presence", base_cols + pres_cols)):
            est = cls(features=tuple(cols), cv=cv, **predictor_params)
            maes[label] = fn(est, data[cols]).mae
        for label, mae in maes.items():
            rows.append({"cv": name, "features": label, "n_models": n, "mae": mae,
                         "mae_change": mae - maes["base"] if label != "base" else 0.0, "status": "ok",
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
