"""Does the advisor's ordering of base models carry over to other recipes? (no torch)

The advisor predicts RewardBench for the paper's recipes (HelpSteer2 regression / Bradley-Terry). Public
groups trained one recipe on several bases (``external_rm_results``, evaluation only). For each
*comparison* (one group x RewardBench version x recipe cell: data, method, hyperparameters) with at least
``MIN_BASES`` bases that have benchmark features, we compare the advisor's predicted order of the bases
with the observed order:

* Spearman and Kendall (scipy, with their p-values: few bases, so wide uncertainty);
* pairwise order agreement over all base pairs, and over the pairs whose observed gap is larger than the
  group's seed-to-seed noise (``NOISE_Z`` x the standard deviation of a difference of two single runs,
  pooled over the group's repeated identical configurations), where the group has seeds;
* whether the top pick agrees; base vs post-trained within one lineage (the paper's Table 1 lineage,
  read from ``post_training``), as a change in percent of the base's score.

The same numbers are computed for two simple baselines (bigger is better: ``params_b``; the mean of the
six Open LLM Leaderboard v2 tasks), so the advisor's agreement can be read against them, and for the
paper's own measured RM scores where a base is one of its 40 (the ceiling of any predictor of the paper's
target: if the paper's recipe does not order the bases as another recipe does, no advisor of it can).

Predictions come from ``advisor.predict.shortlist.predict_candidates`` on the bases' features: the database's
feature matrix for models it has, else the Open LLM Leaderboard v2 final table (``leaderboard_v2``);
missing features are imputed the way the app imputes them, and each row says so.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from advisor.core import registry
from advisor.db import store

MIN_BASES = 3
NOISE_Z = 2.0
KEYS = ["rm_group", "rewardbench_version", "recipe_method", "recipe_data", "hyperparameters"]
BASELINES = {"baseline_params": "params_b", "baseline_oll_mean": "OLL v2 mean"}
METHOD_LABELS = {**{m: f"advisor ({registry.METHOD_LABELS[m]})" for m in registry.METHODS},
                 "baseline_params": "baseline: bigger is better", "baseline_oll_mean": "baseline: OLL v2 mean",
                 "paper_regression": "measured: paper recipe (Regression)",
                 "paper_bradley_terry": "measured: paper recipe (Bradley-Terry)"}
VERSION_LABELS = {"v1": "RewardBench v1", "v2": "RewardBench 2"}


def bundle_facts(bundle, con=None) -> dict:
    """What this module reads from a served bundle besides ``predict_candidates``: its features and
    primary scale, its methods, the models it was trained on and each method's out-of-fold predictions
    of the overall score (the served procedure's, from ``predictions_oof`` of ``con``: the first nested
    repeat, else lineage-out) with the served interval half-width. (The only code to adapt if bundles
    change.)"""
    scale = bundle.scale
    oof = {}
    for m in bundle.methods:
        half = float(bundle.entry(scale, m, "score").halfwidth)
        series = None
        if con is not None and store.has_table(con, "predictions_oof"):
            df = store.frame(con, """SELECT protocol, "repeat", hf_id, prediction FROM predictions_oof
                                     WHERE scale = ? AND method = ? AND target = 'score'
                                     AND name = 'served'""", [scale, m])
            for proto in ("nested", "lineage_out"):
                d = df[df.protocol == proto]
                if len(d):
                    d = d[d["repeat"] == d["repeat"].min()]
                    series = d.set_index("hf_id")["prediction"]
                    break
        oof[m] = (series, half)
    return {"features": list(bundle.features), "scale": scale, "methods": tuple(bundle.methods),
            "in_training": set(bundle.X_train().index), "oof": oof}


def comparison_id(key: tuple) -> str:
    group, version, method, data, hp = key
    return f"{group} | {VERSION_LABELS.get(version, version)} | {method} | {data} | {hp}"


# --- features and predictions ----------------------------------------------------------------------

def base_features(con, bases, features, scale: str = "normalized") -> pd.DataFrame:
    """Bases x features (index hf_id) plus ``feature_source``: the database's feature matrix where it has
    the model, else the Open LLM Leaderboard v2 final table (normalized scale only). params_b <= 0 is unknown."""
    bases = sorted(set(bases))
    known = store.feature_matrix(con, features, registry.model_scales(features, scale), models=bases)
    bench = [f for f in features if f not in registry.TRAINING_METRICS]
    have = known[bench].notna().any(axis=1)
    out = known.copy()
    out["feature_source"] = np.where(have, "database", None)
    missing = [b for b in bases if not have.get(b, False)]
    if missing and store.has_table(con, "leaderboard_v2"):
        lb = store.frame(con, "SELECT * FROM leaderboard_v2 WHERE duplicate_of_rank IS NULL AND hf_id IN "
                              "(SELECT unnest(?))", [missing]).drop_duplicates("hf_id").set_index("hf_id")
        for b in lb.index:
            for f in features:
                if f in lb.columns and (scale == "normalized" or f not in registry.OLL_V2_TASKS):
                    out.loc[b, f] = lb.loc[b, f]
            if "params_b" in features and pd.isna(out.loc[b, "params_b"]):
                out.loc[b, "params_b"] = lb.loc[b, "params_b"]
            out.loc[b, "feature_source"] = "Open LLM Leaderboard v2 table"
    if "params_b" in out:
        out.loc[out["params_b"] <= 0, "params_b"] = np.nan  # 0 / -1 = unknown on the leaderboard
    return out


def predict_bases(bundle, feats: pd.DataFrame, methods=None, out_of_fold: bool = True,
                  facts: dict | None = None) -> pd.DataFrame:
    """Long frame: hf_id, advisor_method, predicted, lower, upper, in_domain, imputed, in_training,
    prediction_kind.

    Bases with none of the benchmark features, or without a size (never imputed:
    ``advisor.predict.candidates``), are left out. The advisor methods go through
    ``advisor.predict.shortlist.predict_candidates``; for a base the predictor was trained on, ``out_of_fold``
    replaces that in-sample fit by its cross-validated prediction from the fold that held it out
    (``bundle_facts``: the served procedure's out-of-fold prediction, +- its half-width), so no base is
    scored by a model that saw its paper RM result. The baselines are the size and the OLL v2 mean."""
    from advisor.predict.shortlist import predict_candidates

    facts = facts or bundle_facts(bundle)
    features = facts["features"]
    bench = [f for f in features if f not in registry.TRAINING_METRICS]
    usable = feats[feats[bench].notna().any(axis=1)]
    if "params_b" in usable.columns:
        usable = usable[usable["params_b"] > 0]
    if usable.empty:
        return pd.DataFrame(columns=["hf_id", "advisor_method", "predicted", "lower", "upper", "in_domain",
                                     "imputed", "in_training", "prediction_kind"])
    cands = usable[features].reset_index().rename(columns={"index": "hf_id"})
    cands["scale"] = facts["scale"]
    in_training = facts["in_training"]
    rows = []
    for m in (methods or facts["methods"]):
        p = predict_candidates(bundle, cands, method=m)
        oof, half = facts["oof"][m] if out_of_fold else (None, np.nan)
        for r in p.itertuples():
            row = {"hf_id": r.hf_id, "advisor_method": m, "predicted": r.prediction, "lower": r.lower,
                   "upper": r.upper, "in_domain": bool(r.in_domain), "imputed": "; ".join(r.imputed),
                   "in_training": r.hf_id in in_training, "prediction_kind": "predicted"}
            if oof is not None and r.hf_id in oof.index:
                v = float(np.clip(oof[r.hf_id], 0.0, 100.0))
                row.update(predicted=v, lower=max(0.0, v - half), upper=min(100.0, v + half),
                           prediction_kind="out-of-fold (CV)")
            rows.append(row)
    oll = [f for f in registry.OLL_V2_TASKS if f in usable.columns]
    for name, values in (("baseline_params", usable.get("params_b")),
                         ("baseline_oll_mean", usable[oll].mean(axis=1) if oll else None)):
        if values is None:
            continue
        for hf_id, v in values.items():
            if pd.notna(v):
                rows.append({"hf_id": hf_id, "advisor_method": name, "predicted": float(v), "lower": np.nan,
                             "upper": np.nan, "in_domain": True, "imputed": "", "in_training": hf_id in in_training,
                             "prediction_kind": "baseline"})
    return pd.DataFrame(rows)


def paper_measured(rm: pd.DataFrame) -> pd.DataFrame:
    """The paper's measured RewardBench score of a base (its own recipe) as one more 'predictor': the
    ceiling for anything that predicts the paper's target. ``rm``: rm_results rows (source 'paper')."""
    if rm is None or rm.empty:
        return pd.DataFrame()
    out = rm[["hf_id", "method", "score"]].rename(columns={"score": "predicted"})
    out["advisor_method"] = "paper_" + out.pop("method")
    return out.assign(lower=np.nan, upper=np.nan, in_domain=True, imputed="", in_training=True,
                      prediction_kind="measured (paper recipe)")


# --- agreement -------------------------------------------------------------------------------------

def seed_sd(runs: pd.DataFrame) -> float:
    """Pooled standard deviation of one run, from identical configurations repeated with other seeds
    (rows sharing KEYS and base); NaN when the frame has no repeats."""
    num = den = 0.0
    for _, g in runs.groupby([*KEYS, "base_hf_id"], dropna=False):
        if len(g) >= 2:
            num += float(g["score"].var(ddof=1)) * (len(g) - 1)
            den += len(g) - 1
    return math.sqrt(num / den) if den else float("nan")


def pairwise(observed: pd.Series, predicted: pd.Series, min_gap: float = 0.0) -> tuple[int, float]:
    """(pairs, fraction ordered alike) over base pairs whose observed gap exceeds ``min_gap`` (a tie in
    the prediction counts half)."""
    n = agree = 0
    for a, b in itertools.combinations(observed.index, 2):
        d_obs = observed[a] - observed[b]
        if abs(d_obs) <= min_gap or d_obs == 0:
            continue
        d_pred = predicted[a] - predicted[b]
        n += 1
        agree += 0.5 if d_pred == 0 else float(np.sign(d_pred) == np.sign(d_obs))
    return n, (agree / n if n else float("nan"))


def spearman_exact(x, y, max_n: int = 8) -> tuple[float, float]:
    """Spearman's rho with a two-sided permutation p-value over every ordering when n <= ``max_n``
    (the t approximation scipy uses says p = 0 for a perfect order of 3 bases; the exact value is 1/3)."""
    from scipy import stats  # here, not at the top: the verdict's caveat (rank, the Predict page) needs no scipy

    rho = float(stats.spearmanr(x, y).statistic)
    n = len(x)
    if n > max_n:
        return rho, float(stats.spearmanr(x, y).pvalue)
    rx = stats.rankdata(x)
    perms = np.array(list(itertools.permutations(stats.rankdata(y))))  # every ordering, n! x n
    dx = rx - rx.mean()
    dp = perms - perms.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dp @ dx) / (np.sqrt((dp ** 2).sum(axis=1)) * np.sqrt((dx ** 2).sum()))
    return rho, float(np.mean(np.abs(r) >= abs(rho) - 1e-12))


@dataclass
class TransferResult:
    agreement: pd.DataFrame
    per_base: pd.DataFrame
    lineage: pd.DataFrame
    summary: dict


def _per_base(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby("base_hf_id")
    return pd.DataFrame({"observed": g["score"].mean(), "observed_sd": g["score"].std(ddof=1),
                         "n_runs": g.size(), "rm_ids": g["rm_id"].agg(lambda s: "; ".join(sorted(s)))})


def analyse(external: pd.DataFrame, preds: pd.DataFrame, lineage: dict[str, list[str]] | None = None,
            min_bases: int = MIN_BASES) -> TransferResult:
    """Agreement per comparison and advisor method; ``external`` has the columns of external_rm_results
    (scores in percent); ``preds`` is ``predict_bases``'s output; ``lineage`` = {base: [post-trained]}."""
    from scipy.stats import kendalltau

    agree_rows, base_rows, lin_rows = [], [], []
    noise = {k: seed_sd(g) for k, g in external.groupby(["rm_group", "rewardbench_version"])}
    for key, runs in external.groupby(KEYS, dropna=False):
        comp = comparison_id(key)
        obs = _per_base(runs)
        sd = noise.get((key[0], key[1]), float("nan"))
        gap = float("nan") if math.isnan(sd) else NOISE_Z * math.sqrt(2) * sd
        for m, p in preds.groupby("advisor_method"):
            p = p.set_index("hf_id")
            both = obs.join(p, how="inner")
            row = {"comparison": comp, **dict(zip(KEYS, key)), "advisor_method": m, "n_bases": len(both),
                   "n_bases_total": len(obs)}
            if len(both) >= 2:
                both = both.assign(observed_rank=both.observed.rank(ascending=False, method="min").astype(int),
                                   predicted_rank=both.predicted.rank(ascending=False, method="min").astype(int))
                for b, r in both.iterrows():
                    base_rows.append({"comparison": comp, "advisor_method": m, "base_hf_id": b, "rm_ids": r.rm_ids,
                                      "n_runs": int(r.n_runs), "observed": r.observed, "observed_sd": r.observed_sd,
                                      "predicted": r.predicted, "lower": r.lower, "upper": r.upper,
                                      "observed_rank": int(r.observed_rank), "predicted_rank": int(r.predicted_rank),
                                      "in_domain": bool(r.in_domain), "imputed": r.imputed,
                                      "in_training": bool(r.in_training),
                                      "prediction_kind": getattr(r, "prediction_kind", "predicted")})
                for base, posts in ((lineage or {}) if m != "baseline_params" else {}).items():  # size: no lineage
                    if base not in both.index:
                        continue
                    for post in posts:
                        if post in both.index:
                            o = 100 * (both.observed[post] / both.observed[base] - 1)
                            q = 100 * (both.predicted[post] / both.predicted[base] - 1)
                            lin_rows.append({"comparison": comp, "advisor_method": m, "base_hf_id": base,
                                             "post_trained_hf_id": post, "observed_delta_pct": o,
                                             "predicted_delta_pct": q, "same_sign": bool(np.sign(o) == np.sign(q))})
            if len(both) < min_bases:
                row["note"] = f"fewer than {min_bases} bases with benchmark features"
                agree_rows.append(row)
                continue
            if both.predicted.nunique() < 2 or both.observed.nunique() < 2:
                row["note"] = "all bases tie" + (" in the prediction" if both.predicted.nunique() < 2 else "")
                agree_rows.append(row)
                continue
            rho, rho_p = spearman_exact(both.predicted.to_numpy(), both.observed.to_numpy())
            tau, tau_p = kendalltau(both.predicted, both.observed)  # exact p for small n without ties
            n_pairs, agree = pairwise(both.observed, both.predicted)
            n_far, agree_far = (None, float("nan")) if math.isnan(gap) else pairwise(both.observed, both.predicted, gap)
            top_o, top_p = both.observed.idxmax(), both.predicted.idxmax()
            row.update(spearman=float(rho), spearman_p=float(rho_p), kendall=float(tau), kendall_p=float(tau_p),
                       pairs=n_pairs, pairs_agree=agree, seed_sd=sd, pairs_beyond_noise=n_far,
                       pairs_agree_beyond_noise=agree_far, top_observed=top_o, top_predicted=top_p,
                       top_agrees=bool(top_o == top_p), n_out_of_domain=int((~both.in_domain.astype(bool)).sum()),
                       n_imputed=int((both.imputed.fillna("") != "").sum()),
                       n_in_training=int(both.in_training.astype(bool).sum()), note="")
            agree_rows.append(row)
    cols = ["comparison", *KEYS, "advisor_method", "n_bases", "n_bases_total", "spearman", "spearman_p", "kendall",
            "kendall_p", "pairs", "pairs_agree", "seed_sd", "pairs_beyond_noise", "pairs_agree_beyond_noise",
            "top_observed", "top_predicted", "top_agrees", "n_out_of_domain", "n_imputed", "n_in_training", "note"]
    agreement = pd.DataFrame(agree_rows).reindex(columns=cols)
    agreement = agreement.astype({"pairs": "Int64", "pairs_beyond_noise": "Int64"})
    lin_cols = ["comparison", "advisor_method", "base_hf_id", "post_trained_hf_id", "observed_delta_pct",
                "predicted_delta_pct", "same_sign"]
    lin = pd.DataFrame(lin_rows).reindex(columns=lin_cols)
    return TransferResult(agreement, pd.DataFrame(base_rows), lin, summarise(agreement, lin))


def summarise(agreement: pd.DataFrame, lineage: pd.DataFrame) -> dict:
    """Across comparisons, per method: how many evaluated, median Spearman, how many positive, top-pick
    hits, pooled pairwise agreement, the comparisons where the order is reversed (Spearman < 0), and the
    lineage sign agreement. Comparisons share bases and runs, so they are not independent evidence."""
    out = {}
    done = agreement[agreement.spearman.notna()]
    for m, g in done.groupby("advisor_method"):
        pairs = g.pairs.fillna(0)
        far = g.pairs_beyond_noise.fillna(0)
        lin = lineage[lineage.advisor_method == m] if len(lineage) else lineage
        out[m] = {
            "comparisons": len(g), "groups": int(g.rm_group.nunique()),
            "median_spearman": round(float(g.spearman.median()), 3),
            "spearman_positive": int((g.spearman > 0).sum()),
            "spearman_significant_positive": int(((g.spearman > 0) & (g.spearman_p < 0.05)).sum()),
            "top_pick_agrees": int(g.top_agrees.sum()),
            "pairs": int(pairs.sum()),
            "pairs_agree": (round(float((g.pairs_agree.fillna(0) * pairs).sum() / pairs.sum()), 3)
                            if pairs.sum() else None),
            "pairs_beyond_noise": int(far.sum()),
            "pairs_agree_beyond_noise": (round(float((g.pairs_agree_beyond_noise.fillna(0) * far).sum() / far.sum()), 3)
                                         if far.sum() else None),
            "reversed": sorted(g.loc[g.spearman < 0, "comparison"].tolist()),
            "lineage_pairs": len(lin),
            "lineage_same_sign": int(lin.same_sign.sum()) if len(lin) else 0,
        }
    advisor = agreement[agreement.advisor_method.isin(registry.METHODS)]
    skipped = advisor[advisor.spearman.isna()].drop_duplicates("comparison")
    out["not_evaluated"] = [{"comparison": r.comparison, "bases_with_features": int(r.n_bases),
                             "bases": int(r.n_bases_total)} for r in skipped.itertuples()]
    return out


def lineage_from_post_training(post: pd.DataFrame) -> dict[str, list[str]]:
    """{base hf_id: [post-trained hf_ids]} from the ``post_training`` table (the paper's Table 1)."""
    if post is None or post.empty:
        return {}
    base = post.loc[post.stage == "base", "hf_id"].tolist()
    return {b: post.loc[post.stage != "base", "hf_id"].tolist() for b in base}


# --- report ----------------------------------------------------------------------------------------

def _f(v, nd=2):
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else (
        f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def markdown(report: dict | None) -> list[str]:
    """The report section (lines) for reports/reproduction.md, from ``report['transfer']``."""
    if not report:
        return []
    lines = ["", "## Transfer to other recipes (public RMs trained on several bases)", "",
             report.get("note", ""), "",
             ("| group | RewardBench | recipe cell | predictor | bases (with features) | Spearman (p) | Kendall | "
              "pairs ordered alike | beyond seed noise | top pick |"), "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report.get("agreement", []):
        if r.get("spearman") is None:
            continue
        far = (f"{_f(r['pairs_agree_beyond_noise'])} of {r['pairs_beyond_noise']}"
               if r.get("pairs_beyond_noise") is not None else "no seeds")
        cell = "; ".join(str(r[k]) for k in ("recipe_method", "recipe_data", "hyperparameters")).replace("|", "/")
        lines.append(f"| {r['rm_group']} | {VERSION_LABELS.get(r['rewardbench_version'])} | {cell} | "
                     f"{METHOD_LABELS.get(r['advisor_method'], r['advisor_method'])} | "
                     f"{r['n_bases']} of {r['n_bases_total']} | {_f(r['spearman'])} ({_f(r['spearman_p'])}) | "
                     f"{_f(r['kendall'])} | {_f(r['pairs_agree'])} of {r['pairs']} | {far} | "
                     f"{'agrees' if r['top_agrees'] else 'differs'} |")
    lines += ["", "Across comparisons (they share bases and runs: not independent evidence):", ""]
    for m, s in report.get("summary", {}).items():
        if m == "not_evaluated":
            continue
        far = ("" if s["pairs_agree_beyond_noise"] is None else
               f", beyond seed noise {_f(s['pairs_agree_beyond_noise'])} of {s['pairs_beyond_noise']}")
        lin = (f"lineage (base vs post-trained) sign agrees {s['lineage_same_sign']} of {s['lineage_pairs']}"
               if s["lineage_pairs"] else "no lineage comparison")
        rev = ("; order reversed in: " + "; ".join(x.replace("|", "/") for x in s["reversed"])) if s["reversed"] else ""
        lines.append(f"- {METHOD_LABELS.get(m, m)}: {s['comparisons']} comparisons in {s['groups']} groups; median "
                     f"Spearman {s['median_spearman']:+.2f}, positive in {s['spearman_positive']} "
                     f"(p < 0.05 in {s['spearman_significant_positive']}); top pick agrees in {s['top_pick_agrees']}; "
                     f"pairs ordered alike {_f(s['pairs_agree'])} of {s['pairs']}{far}; {lin}{rev}.")
    skipped = report.get("summary", {}).get("not_evaluated", [])
    if skipped:
        lines += ["", "Not evaluated (fewer than 3 bases with benchmark features): " + "; ".join(
            f"{x['comparison'].replace('|', '/')} ({x['bases_with_features']} of {x['bases']})" for x in skipped) + "."]
    return lines


# --- the Across recipes page's prose ------------------------------------------------------------

def summary_table(agreement: pd.DataFrame, lineage: pd.DataFrame) -> pd.DataFrame:
    """``summarise`` of the stored agreement and lineage tables, one row per predictor, shaped for display."""
    if agreement.empty:
        return pd.DataFrame()
    s = summarise(agreement, lineage)
    rows = [{"predictor": METHOD_LABELS.get(m, m), "comparisons": v["comparisons"], "groups": v["groups"],
             "median Spearman": v["median_spearman"], "Spearman > 0": v["spearman_positive"],
             "top pick agrees": v["top_pick_agrees"], "pairs": v["pairs"], "pairs ordered alike": v["pairs_agree"],
             "pairs beyond seed noise": v["pairs_beyond_noise"], "alike beyond noise": v["pairs_agree_beyond_noise"],
             "lineage signs agree": f"{v['lineage_same_sign']} of {v['lineage_pairs']}"}
            for m, v in s.items() if m != "not_evaluated"]
    return pd.DataFrame(rows)


CAVEAT_MARGIN = 0.1  # median Spearman within this of the better baseline's reads "no better than"
CAVEAT_BASELINES = {"baseline_params": "size", "baseline_oll_mean": "the Open LLM Leaderboard mean"}


def recipe_caveat(agreement: pd.DataFrame, method: str) -> str:
    """The verdict's recipe caveat (``advisor.predict.verdict``): how well ``method``'s ranking agreed
    with the measured order of RMs trained with other published recipes, beside the baselines, every
    number read from the stored ``transfer_agreement`` table of the same build. "better" / "no better" /
    "worse" than the better baseline by its median Spearman, with ``CAVEAT_MARGIN`` as the band of "no
    better" (a few bases per comparison: a smaller gap is noise)."""
    s = summarise(agreement, pd.DataFrame()) if not agreement.empty else {}
    base = {k: s[k]["median_spearman"] for k in CAVEAT_BASELINES if k in s}
    if method not in s or not base:
        return ("Whether this ranking carries over to other training recipes is not measured in this "
                "database (no transfer analysis for this method). Fix: `python -m pipeline.run --stages transfer`.")
    ours, best = s[method]["median_spearman"], max(base.values())
    word = ("better than" if ours > best + CAVEAT_MARGIN else
            "no better than" if ours >= best - CAVEAT_MARGIN else "worse than")
    names = " or by ".join(CAVEAT_BASELINES[k] for k in base)
    nums = " and ".join(f"{v:+.2f}" for v in base.values())
    return (f"Across recipes: for RMs trained with other published recipes ({s[method]['comparisons']} "
            f"comparisons in {s[method]['groups']} groups), this ranking agreed with the measured order "
            f"{word} ranking by {names} (median Spearman {ours:+.2f} vs {nums}; the Across recipes page "
            f"has the details).")


def noise_text(row) -> str:
    """Plain words for one agreement row's seed noise."""
    if row.get("seed_sd") is None or pd.isna(row.get("seed_sd")):
        return "no repeated seeds in this group, so the seed-to-seed noise is unknown"
    far = row.get("pairs_beyond_noise")
    text = f"seed-to-seed spread of one run {row['seed_sd']:.2f} points"
    if far is None or pd.isna(far) or int(far) == 0:
        return text + "; no pair of bases differs by more than the noise"
    return (text + f"; {int(far)} pairs differ by more than the noise, ordered alike in "
            f"{row['pairs_agree_beyond_noise']:.0%} of them")
