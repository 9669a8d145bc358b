"""Plotly figures of the app, one builder per figure; data in, ``go.Figure`` out, hover names models.

Builders only draw what they are given (the numbers come from ``advisor/`` analysis functions or the
database); they never compute a statistic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from advisor.core import untrusted
from advisor.core.registry import CATEGORY_LABELS, METHOD_LABELS, SIZE_GROUPS, label

BASELINE_COLOR = "#d62728"  # the paper marks the Llama-3.x baseline in red
COLOR = "#1f77b4"
NEUTRAL = "#8c8c8c"  # intervals and reference lines: a mid grey, readable on the light and the dark theme
SERIES = [(COLOR, "circle"), ("#ff7f0e", "diamond"), ("#2ca02c", "square")]  # series set side by side


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10),
                      hoverlabel=dict(namelength=-1))
    return fig


BASELINE_NAME = "Llama-3.x baseline (0 by definition)"


def gains_by_size_group(rm: pd.DataFrame, gains: pd.DataFrame) -> go.Figure:
    """Fig. 2: every model's RewardBench score minus its size group's Llama-3.x baseline, a row of
    panels per method and a panel per size group (its name on top: no separator under the names). The
    baseline, 0 by definition, is a red diamond (trace ``BASELINE_NAME``) and its name red; the group's
    best is labelled with its gain."""
    methods = [m for m in METHOD_LABELS if m in set(gains["method"])]
    groups = [s for s in SIZE_GROUPS if s in set(gains["size_group"])]
    widths = [max(1, int((rm["size_group"] == g).sum())) for g in groups]
    fig = make_subplots(rows=len(methods) or 1, cols=len(groups) or 1, shared_yaxes="rows",
                        column_widths=widths or None, column_titles=groups, row_titles=[
                            METHOD_LABELS[m] for m in methods], horizontal_spacing=0.015, vertical_spacing=0.22)
    for row, method in enumerate(methods, 1):
        g = gains[gains["method"] == method].set_index("size_group")
        sub = rm[rm["method"] == method]
        for col, group in enumerate(groups, 1):
            if group in g.index:
                _gains_panel(fig, sub[sub["size_group"] == group], g.loc[group], row, col)
        fig.update_yaxes(title_text="points vs Llama-3.x", row=row, col=1)
    fig.update_xaxes(tickangle=-60, tickfont=dict(size=10))
    # no legend: the title names the red diamond, and a legend row collided with the title or the groups' names
    return _layout(fig, "Gains over the Llama-3.x baseline (red diamond) of each size group (Fig. 2)",
                   height=560 * max(len(methods), 1)).update_layout(showlegend=False)


def _gains_panel(fig: go.Figure, rows: pd.DataFrame, base: pd.Series, row: int, col: int) -> None:
    """One method x size group of Fig. 2: the other models as bars, the baseline as a red diamond at 0."""
    rows = rows.sort_values(["score", "hf_id"], ascending=[False, True])
    rel = rows["score"] - base["baseline_score"]
    is_base = (rows["hf_id"] == base["baseline_hf_id"]).to_numpy()
    names = [untrusted.html_text(n) for n in rows["display_name"]]
    hover = "%{x}<br>score %{customdata:.1f}<br>vs baseline %{y:+.1f} points<extra></extra>"
    fig.add_trace(go.Bar(x=[n for n, b in zip(names, is_base) if not b], y=rel[~is_base], marker_color=COLOR,
                         name="models of the size group",
                         customdata=rows["score"][~is_base], hovertemplate=hover), row=row, col=col)
    fig.add_trace(go.Scatter(x=[n for n, b in zip(names, is_base) if b], y=rel[is_base], mode="markers",
                             marker=dict(symbol="diamond", size=13, color=BASELINE_COLOR), name=BASELINE_NAME,
                             customdata=rows["score"][is_base],
                             hovertemplate=hover.replace("<extra>", " (the baseline)<extra>")), row=row, col=col)
    fig.update_xaxes(categoryorder="array", categoryarray=names, tickmode="array", tickvals=names,
                     ticktext=[f'<span style="color:{BASELINE_COLOR}">{n}</span>' if b else n
                               for n, b in zip(names, is_base)], row=row, col=col)
    best = rows[rows["hf_id"] == base["best_hf_id"]]
    if len(best):
        fig.add_annotation(x=untrusted.html_text(best["display_name"].iloc[0]), y=float(base["gain_points"]),
                           text=f"{base['gain_points']:+.1f}", showarrow=False, yshift=10, row=row, col=col)


def bt_vs_regression(diff: pd.DataFrame, value_col: str, name_col: str = "display_name") -> go.Figure:
    """Fig. 11: Regression minus Bradley-Terry per model (positive: regression better)."""
    d = diff.sort_values(value_col)
    fig = go.Figure(go.Bar(x=d[value_col], y=d[name_col], orientation="h",
                           marker_color=np.where(d[value_col] >= 0, COLOR, BASELINE_COLOR),
                           hovertemplate="%{y}<br>Regression - Bradley-Terry: %{x:+.1f}<extra></extra>"))
    fig.update_xaxes(title_text="RewardBench: Regression minus Bradley-Terry (points)")
    return _layout(fig, "Bradley-Terry vs Regression (Fig. 11)", height=max(420, 18 * len(d)))


def correlation_heatmap(corr: pd.DataFrame, alpha: float = 0.05) -> go.Figure:
    """Fig. 3: features x RewardBench categories, r in each cell, '*' where significant."""
    c = corr.copy()
    c["feature_label"] = c["feature"].map(label) + " (n=" + c["n"].astype(int).astype(str) + ")"
    feats = list(dict.fromkeys(c["feature_label"]))
    targets = list(dict.fromkeys(c["target"]))
    z = c.pivot(index="feature_label", columns="target", values="r").reindex(index=feats, columns=targets)
    sig = c.pivot(index="feature_label", columns="target", values="significant").reindex(
        index=feats, columns=targets)
    p = c.pivot(index="feature_label", columns="target", values="p_value").reindex(index=feats, columns=targets)
    text = [[("" if pd.isna(z.iat[i, j]) else f"{z.iat[i, j]:.2f}" + ("*" if sig.iat[i, j] is True
                                                                      or sig.iat[i, j] == 1 else ""))
             for j in range(z.shape[1])] for i in range(z.shape[0])]
    fig = go.Figure(go.Heatmap(
        z=z.values, x=[CATEGORY_LABELS.get(t, t) for t in targets], y=feats, zmin=-1, zmax=1,
        colorscale="RdBu", reversescale=False, text=text, texttemplate="%{text}",
        customdata=p.values, colorbar=dict(title="r"),
        hovertemplate="%{y}<br>%{x}: r = %{z:.3f}, p = %{customdata:.3g}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, f"Correlation with RewardBench (Fig. 3); * significant at {alpha:g}",
                   height=max(420, 22 * len(feats)))


CHANCE_NAME = "chance: a random top-k"
THRESHOLD_NAME = "the filter's minimum"


def coverage_curves(curves: pd.DataFrame, highlight: str | None = None, chance: pd.DataFrame | None = None,
                    thresholds: dict[int, float] | None = None) -> go.Figure:
    """Fig. 4/6: coverage of the true top-k by each feature's top-k, k on the x axis. ``chance`` (k,
    coverage: ``advisor.analyses.coverage.chance_coverage``) is drawn as a dotted line (trace
    ``CHANCE_NAME``); ``thresholds`` ({k: minimum coverage}, the filter's k = 5 and 10) as a dotted
    vertical line at each k with a marker at its minimum."""
    fig = go.Figure()
    for feat, g in curves.groupby("feature", sort=False):
        g = g.sort_values("k")
        is_hi = feat == highlight
        fig.add_trace(go.Scatter(
            x=g["k"], y=g["coverage"], mode="lines+markers" if is_hi else "lines",
            name=label(feat) if not is_hi else "Predictor",
            line=dict(width=4 if is_hi else 1.5, color=BASELINE_COLOR if is_hi else None),
            hovertemplate=f"{label(feat)}<br>k=%{{x}}: coverage %{{y:.2f}}<extra></extra>"))
    if chance is not None and len(chance):
        fig.add_trace(go.Scatter(x=chance["k"], y=chance["coverage"], mode="lines", name=CHANCE_NAME,
                                 line=dict(color=NEUTRAL, dash="dot", width=2),
                                 hovertemplate="a random top-k<br>k=%{x}: coverage %{y:.3f} on average"
                                               "<extra></extra>"))
    for k in thresholds or {}:
        fig.add_vline(x=k, line_dash="dot", line_color=NEUTRAL, annotation_text=f"k = {k}",
                      annotation_position="top")
    if thresholds:
        fig.add_trace(go.Scatter(x=list(thresholds), y=list(thresholds.values()), mode="markers",
                                 name=THRESHOLD_NAME, marker=dict(symbol="line-ew-open", size=24, color=NEUTRAL,
                                                                  line=dict(width=3, color=NEUTRAL)),
                                 hovertemplate="the filter keeps coverage >= %{y:.2f} at k = %{x}<extra></extra>"))
    fig.update_xaxes(title_text="k (top-k models)")
    fig.update_yaxes(title_text="coverage", range=[0, 1.02])
    return _layout(fig, "Coverage of the top-k reward models (Fig. 4, 6)")


def pca_explained(ratio: pd.Series) -> go.Figure:
    """Fig. 13: explained variance ratio per component and its running total."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=list(ratio.index.astype(str)), y=ratio.values, name="explained",
                         hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    fig.add_trace(go.Scatter(x=list(ratio.index.astype(str)), y=np.cumsum(ratio.values),
                             name="cumulative", mode="lines+markers",
                             hovertemplate="up to %{x}: %{y:.1%}<extra></extra>"))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return _layout(fig, "PCA explained variance (Fig. 13)")


def pca_loadings(loadings: pd.DataFrame) -> go.Figure:
    """Fig. 12: weights of each benchmark in each principal component."""
    z = loadings.copy()
    z.index = [label(i) for i in z.index]
    m = float(np.nanmax(np.abs(z.values))) if z.size else 1.0
    fig = go.Figure(go.Heatmap(z=z.values, x=[str(c) for c in z.columns], y=list(z.index),
                               zmin=-m, zmax=m, colorscale="RdBu", texttemplate="%{z:.2f}",
                               hovertemplate="%{y}<br>%{x}: %{z:.3f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Principal components' weights (Fig. 12)", height=max(420, 22 * len(z)))


def presence_distributions(scores: pd.DataFrame, model_col: str, subset_col: str,
                           value_col: str, n_docs: dict | None = None) -> go.Figure:
    """Fig. 7: distribution of presence scores per SlimPajama subset, one box per model. ``n_docs``
    ({subset: documents per model}) labels each subset with how many documents its estimates rest on."""
    import plotly.express as px  # only this figure needs it (slow import)

    fig = px.box(scores, x=subset_col, y=value_col, color=model_col, points=False,
                 hover_data=[model_col])
    fig.update_yaxes(title_text="presence score")
    if n_docs:
        subsets = list(dict.fromkeys(scores[subset_col]))
        fig.update_xaxes(tickmode="array", tickvals=subsets,
                         ticktext=[f"{s}<br>n = {int(n_docs[s]):,}" if s in n_docs else str(s) for s in subsets])
    return _layout(fig, "Estimated pre-training data distributions (Fig. 7)", height=480)


def jsd_heatmap(jsd: pd.DataFrame, a: str, b: str, value_col: str, lo_col: str | None = None,
                hi_col: str | None = None, n_col: str | None = None) -> go.Figure:
    """Fig. 8: Jensen-Shannon distance between the models' presence-score distributions; with
    ``lo_col``/``hi_col`` each cell's hover shows its interval (and ``n_col`` the documents it rests on)."""
    def square(col):
        m = jsd.pivot_table(index=a, columns=b, values=col, aggfunc="mean")
        names = sorted(set(m.index) | set(m.columns))
        m = m.reindex(index=names, columns=names)
        return m.combine_first(m.T), names

    m, names = square(value_col)
    hover = "%{y} vs %{x}<br>JSD %{z:.4f}"
    custom = None
    if lo_col and hi_col and {lo_col, hi_col} <= set(jsd.columns) and jsd[[lo_col, hi_col]].notna().any().all():
        parts = [square(lo_col)[0].values, square(hi_col)[0].values]
        hover += " [%{customdata[0]:.4f}, %{customdata[1]:.4f}]"
        if n_col and n_col in jsd.columns and jsd[n_col].notna().any():
            parts.append(square(n_col)[0].values)
            hover += "<br>%{customdata[2]:,} documents per model"
        custom = np.stack(parts, axis=-1)
    fig = go.Figure(go.Heatmap(z=m.values, x=names, y=names, colorscale="Viridis",
                               texttemplate="%{z:.3f}", customdata=custom,
                               hovertemplate=hover + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed")  # the first model on top: the zero diagonal runs down from top-left
    return _layout(fig, "Jensen-Shannon distance between models (Fig. 8)", height=480)


TIER_STYLE = {"measured": ("diamond", "#2ca02c"), "high": ("circle", COLOR), "medium": ("circle-open", COLOR),
              "low": ("x-thin-open", BASELINE_COLOR)}  # marker symbol and colour per confidence tier
CUT_NAME = "interval cut at 0 or 100 (open end: it goes on)"


def ranking(pred: pd.DataFrame, title: str, level: float | None = None) -> go.Figure:
    """The ranked candidates, best at the top: each at the score it is ranked by (a measurement or the
    prediction), one marker per confidence tier (``TIER_STYLE``), and the prediction's interval (at
    ``level``, named on the x axis) as a line with a tick at each end; an end cut at 0 or 100
    (``lower_cut`` / ``upper_cut``) is an open end, an arrow (trace ``CUT_NAME``), not a tick. Measured
    rows are points: no interval."""
    d = pred.sort_values(["ranking_score", "hf_id"], ascending=[True, False])
    y = d["hf_id"].map(untrusted.html_text)
    iv = d[d["ranked_by"] != "measured"]
    iy = y[iv.index]
    fig = go.Figure()
    fig.add_trace(go.Scatter(  # the intervals: one line each, None between
        x=[v for lo, hi in zip(iv["lower"], iv["upper"]) for v in (lo, hi, None)],
        y=[v for name in iy for v in (name, name, None)], mode="lines", name="interval",
        line=dict(color="#999999", width=2), hoverinfo="skip", showlegend=False))
    ends = pd.DataFrame({"x": [*iv["lower"], *iv["upper"]], "y": [*iy, *iy],
                         "cut": [*iv["lower_cut"].astype(bool), *iv["upper_cut"].astype(bool)],
                         "side": ["lower"] * len(iv) + ["upper"] * len(iv)})
    is_cut = ends["cut"].to_numpy(dtype=bool)
    closed, cut = ends.loc[~is_cut], ends.loc[is_cut]
    fig.add_trace(go.Scatter(x=closed["x"], y=closed["y"], mode="markers", name="interval end",
                             marker=dict(symbol="line-ns-open", size=12, color="#999999"),
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=cut["x"], y=cut["y"], mode="markers", name=CUT_NAME,
                             marker=dict(symbol=np.where(cut["side"] == "upper", "arrow-right", "arrow-left"),
                                         size=11, color="#999999"), hoverinfo="skip"))
    for tier, (symbol, color) in TIER_STYLE.items():
        g = d[d["tier"] == tier]
        if g.empty:
            continue
        fig.add_trace(go.Scatter(
            x=g["ranking_score"], y=y[g.index], mode="markers", name=f"{tier} confidence"
            if tier != "measured" else "measured", marker=dict(symbol=symbol, size=10, color=color),
            customdata=np.stack([g["rank"], g["rank_upper"], g["lower"], g["upper"], g["ranked_by"]], axis=1),
            hovertemplate="%{y}<br>%{customdata[4]} %{x:.1f} (prediction's interval [%{customdata[2]:.1f}, "
                          "%{customdata[3]:.1f}])<br>rank %{customdata[0]} (upper-bound rank "
                          "%{customdata[1]})<extra>" + tier + "</extra>"))
    lv = f"{100 * level:.0f}% " if level is not None else ""
    fig.update_xaxes(title_text=f"RewardBench score: measured, or predicted with its {lv}interval")
    fig.update_yaxes(categoryorder="array", categoryarray=list(y))
    return _layout(fig, title, height=max(300, 24 * len(d) + 120))


BUDGET_NAME = "size budget"
FRONTIER_NAME = "cost-quality frontier"
OUTSIDE_NAME = "outside the size budget"


def cost_quality(table: pd.DataFrame, frontier: pd.Series, inside: pd.Series, budget: tuple[float, float],
                 level: float, title: str) -> go.Figure:
    """Score against parameter count (log axis): each row with a size and a score (``ranking_score``, else
    its ``prediction``) at that score, the prediction's interval (at ``level``) as an error bar (none for a
    measured row), one marker per confidence tier, rows outside the size budget hollow and grey (trace
    ``OUTSIDE_NAME``); the Pareto frontier (``frontier``, advisor.predict.verdict.pareto) joined by a line
    (trace ``FRONTIER_NAME``), and the budget drawn as a shaded band (trace ``BUDGET_NAME``; an open upper
    end runs to the right edge)."""
    score = table["ranking_score"].fillna(table["prediction"]) if "ranking_score" in table else table["prediction"]
    d = table.assign(_score=score, _inside=inside, _front=frontier)
    d = d[(d["params_b"] > 0) & d["_score"].notna()].sort_values("params_b")
    lo, hi = (d["params_b"].min(), d["params_b"].max()) if len(d) else (1.0, 10.0)
    x0 = budget[0] if budget[0] > 0 else min(lo, budget[1]) / 1.5  # a log axis has no 0: the left edge
    x1 = budget[1] if np.isfinite(budget[1]) else max(hi, budget[0]) * 1.5  # no upper limit: the right edge
    y0 = d["lower"].fillna(d["_score"]).min() - 2 if len(d) else 0.0
    y1 = d["upper"].fillna(d["_score"]).max() + 2 if len(d) else 100.0
    fig = go.Figure(go.Scatter(x=[x0, x1, x1, x0, x0], y=[y0, y0, y1, y1, y0], fill="toself", mode="lines",
                               name=BUDGET_NAME, line=dict(width=0), fillcolor="rgba(44,160,44,0.12)",
                               hoverinfo="skip"))
    front = d[d["_front"]]
    fig.add_trace(go.Scatter(x=front["params_b"], y=front["_score"], mode="lines", name=FRONTIER_NAME,
                             line=dict(color=BASELINE_COLOR, width=1.5, dash="dot", shape="hv"), hoverinfo="skip"))
    groups = [(f"{t} confidence" if t != "measured" else "measured", d[d["_inside"] & (d["tier"] == t)], s, c)
              for t, (s, c) in TIER_STYLE.items()]
    groups.append((OUTSIDE_NAME, d[~d["_inside"]], "circle-open", "#999999"))
    for name, g, symbol, color in groups:
        if g.empty:
            continue
        measured = (g["ranked_by"] == "measured").to_numpy() if "ranked_by" in g else np.zeros(len(g), bool)
        up = np.where(measured, 0.0, (g["upper"] - g["_score"]).clip(lower=0).fillna(0))
        down = np.where(measured, 0.0, (g["_score"] - g["lower"]).clip(lower=0).fillna(0))
        fig.add_trace(go.Scatter(
            x=g["params_b"], y=g["_score"], mode="markers", name=name,
            marker=dict(symbol=symbol, size=10, color=color, line=dict(width=1.5, color=color)),
            error_y=dict(type="data", array=up, arrayminus=down, color=color, thickness=1, width=3),
            text=g["hf_id"].map(untrusted.html_text),
            hovertemplate="%{text}<br>%{x:g}B<br>%{y:.1f}<extra>" + name + "</extra>"))
    fig.update_xaxes(type="log", title_text="parameters (billions, log scale)")
    fig.update_yaxes(title_text=f"RewardBench: measured, or predicted with its {100 * level:.0f}% interval")
    return _layout(fig, title, height=460)


def transfer_slope(per_base: pd.DataFrame, title: str) -> go.Figure:
    """Slope chart: each base's observed rank (left) and predicted rank (right), rank 1 at the top; a
    line per base, steep lines are disagreements. Hover: the base, the RMs, the two scores."""
    fig = go.Figure()
    d = per_base.sort_values("observed_rank")
    for r in d.itertuples():
        agree = r.observed_rank == r.predicted_rank
        fig.add_trace(go.Scatter(
            x=["observed", "predicted"], y=[r.observed_rank, r.predicted_rank], mode="lines+markers+text",
            name=r.base_hf_id, text=[r.base_hf_id, ""], textposition="middle left",
            line=dict(color=COLOR if agree else BASELINE_COLOR, width=2),
            customdata=[[r.observed, r.predicted, r.rm_ids, r.n_runs]] * 2,
            hovertemplate=(f"{r.base_hf_id}<br>observed %{{customdata[0]:.1f}} (mean of %{{customdata[3]}} run(s))"
                           "<br>predicted %{customdata[1]:.1f}<br>RM(s): %{customdata[2]}<extra></extra>")))
    fig.update_yaxes(autorange="reversed", title_text="rank (1 = best)", dtick=1)
    fig.update_xaxes(range=[-1.2, 1.2])
    fig.update_layout(showlegend=False)
    return _layout(fig, title, height=max(320, 42 * len(d) + 140))


# --- evidence (pages/evidence.py) -----------------------------------------------------------------

def oof_scatter(oof: pd.DataFrame, title: str) -> go.Figure:
    """Out-of-sample predicted vs measured RewardBench score, one colour per lineage, hover names;
    the diagonal is a perfect prediction. ``oof``: hf_id, lineage, y, prediction (lower, upper)."""
    fig = go.Figure()
    for lineage, g in oof.groupby("lineage", sort=True):
        has_iv = {"lower", "upper"} <= set(g.columns) and g["lower"].notna().all()
        fig.add_trace(go.Scatter(
            x=g["y"], y=g["prediction"], mode="markers", name=str(lineage),
            error_y=dict(type="data", symmetric=False, array=g["upper"] - g["prediction"],
                         arrayminus=g["prediction"] - g["lower"], thickness=1, width=0)
            if has_iv else None,
            customdata=np.stack([g["hf_id"], g["prediction"] - g["y"]], axis=1),
            hovertemplate="%{customdata[0]}<br>measured %{x:.1f}, predicted %{y:.1f} "
                          "(%{customdata[1]:+.1f})<extra>" + str(lineage) + "</extra>"))
    lo = float(np.nanmin([oof["y"].min(), oof["prediction"].min()])) - 1
    hi = float(np.nanmax([oof["y"].max(), oof["prediction"].max()])) + 1
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="perfect",
                             line=dict(color=NEUTRAL, dash="dash"), hoverinfo="skip"))
    fig.update_xaxes(title_text="measured RewardBench score")
    fig.update_yaxes(title_text="predicted, out of sample")
    return _layout(fig, title, height=520)


def lineage_error_bars(errors: pd.DataFrame, title: str) -> go.Figure:
    """Mean absolute error per held-out lineage (``lineage``, ``mae``, ``n_models``)."""
    d = errors.sort_values("mae")
    fig = go.Figure(go.Bar(x=d["mae"], y=d["lineage"], orientation="h", marker_color=COLOR,
                           customdata=d["n_models"],
                           hovertemplate="%{y}: off by %{x:.1f} points on average "
                                         "(%{customdata} models)<extra></extra>"))
    fig.update_xaxes(title_text="mean absolute error when the lineage is held out (points)")
    return _layout(fig, title, height=max(300, 28 * len(d) + 120))


def skill_intervals(evidence: pd.DataFrame, title: str) -> go.Figure:
    """Each spec's and baseline's lineage-out MAE minus the mean baseline's (points; below 0 is better),
    with its paired bootstrap CI; one whose interval reaches 0 has no demonstrated skill. The served
    procedure and the chosen spec in red."""
    d = evidence.dropna(subset=["diff_vs_mean"]).sort_values("diff_vs_mean")
    colors = [BASELINE_COLOR if c or k == "served" else (COLOR if k == "spec" else "#7f7f7f")
              for c, k in zip(d["chosen"].fillna(False).astype(bool), d["kind"])]
    fig = go.Figure(go.Scatter(
        x=d["diff_vs_mean"], y=d["name"], mode="markers", marker=dict(color=colors, size=10),
        error_x=dict(type="data", symmetric=False, array=d["diff_hi"] - d["diff_vs_mean"],
                     arrayminus=d["diff_vs_mean"] - d["diff_lo"], color=NEUTRAL),
        customdata=np.stack([d["kind"], d["lineage_out_mae"], d["diff_lo"], d["diff_hi"]], axis=1),
        hovertemplate="%{y} (%{customdata[0]})<br>lineage-out MAE %{customdata[1]:.2f}<br>minus the "
                      "mean's: %{x:+.2f} [%{customdata[2]:+.2f}, %{customdata[3]:+.2f}]"
                      "<extra></extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color=NEUTRAL)
    fig.update_xaxes(title_text="lineage-out MAE minus predicting the mean (points, 95% CI; < 0 = skill)")
    return _layout(fig, title, height=max(320, 30 * len(d) + 120))


CALIBRATION_DODGE = 0.012  # series side by side around each nominal level (x units: coverage)


def interval_calibration(cal: pd.DataFrame, title: str) -> go.Figure:
    """Nominal vs empirical interval coverage with its CI, one series per ``label`` of ``cal`` (``label``,
    ``nominal``, ``empirical``, ``lo``, ``hi``, ``n``: the page gives one target, a series per protocol),
    the series set side by side around each nominal level (``CALIBRATION_DODGE``) so no interval hides
    another; the hover gives the true nominal level. The diagonal is perfect calibration."""
    fig = go.Figure()
    labels = list(dict.fromkeys(cal["label"]))
    for i, lab in enumerate(labels):
        g = cal[cal["label"] == lab].sort_values("nominal")
        shift = (i - (len(labels) - 1) / 2) * CALIBRATION_DODGE
        color, symbol = SERIES[i % len(SERIES)]
        fig.add_trace(go.Scatter(
            x=g["nominal"] + shift, y=g["empirical"], mode="markers", name=str(lab),
            marker=dict(size=9, color=color, symbol=symbol),
            error_y=dict(type="data", symmetric=False, array=g["hi"] - g["empirical"],
                         arrayminus=g["empirical"] - g["lo"]),
            customdata=np.stack([g["lo"], g["hi"], g["n"], g["nominal"]], axis=1),
            hovertemplate=untrusted.html_text(lab) + "<br>nominal %{customdata[3]:.0%}: covered %{y:.1%} "
                          "[%{customdata[0]:.1%}, %{customdata[1]:.1%}] of %{customdata[2]}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0.45, 1], y=[0.45, 1], mode="lines", name="perfect calibration",
                             line=dict(color=NEUTRAL, dash="dash"), hoverinfo="skip"))
    levels = sorted(set(cal["nominal"]))
    fig.update_xaxes(title_text="nominal coverage", tickformat=".0%", tickmode="array", tickvals=levels)
    fig.update_yaxes(title_text="empirical coverage (out of sample)", tickformat=".0%")
    return _layout(fig, title)
