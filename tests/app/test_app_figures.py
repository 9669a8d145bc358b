"""The analysis pages' figures (pages/_figures.py), read as plotly objects from hand-made frames: axis
orientation, the baseline drawn, the chance line and thresholds, series that do not hide each other.
Fast: no database, no Streamlit. What the pages feed them is checked in test_app_pages / test_app_evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pages import _figures as figures


def _flat(values) -> list:
    return list(values) if values is not None else []


def test_jsd_heatmap_puts_the_first_model_on_top_so_the_zero_diagonal_runs_down_from_the_top_left():
    """As the correlation and PCA heatmaps: y reversed, x and y in one order, so cell (i, i) = 0 lies on the
    diagonal from the top-left corner to the bottom-right one."""
    pairs = [("a", "b", 0.2), ("a", "c", 0.5), ("b", "c", 0.3), ("a", "a", 0.0), ("b", "b", 0.0), ("c", "c", 0.0)]
    jsd = pd.DataFrame(pairs, columns=["model_a", "model_b", "jsd"])
    fig = figures.jsd_heatmap(jsd, "model_a", "model_b", "jsd")
    heat = fig.data[0]
    assert fig.layout.yaxis.autorange == "reversed"
    assert list(heat.x) == list(heat.y) == ["a", "b", "c"]
    z = np.asarray(heat.z, dtype=float)
    assert np.diag(z).tolist() == [0, 0, 0] and z[0, 2] == z[2, 0] == 0.5
    for other in (figures.correlation_heatmap(pd.DataFrame({
            "feature": ["leaderboard_ifeval"], "target": ["score"], "r": [0.5], "n": [40], "significant": [True],
            "p_value": [0.01]})), figures.pca_loadings(pd.DataFrame({"PC1": [0.5]}, index=["leaderboard_bbh"]))):
        assert other.layout.yaxis.autorange == "reversed"  # the same orientation on every heatmap


def _rm_and_gains():
    """Two size groups x two methods; the baseline (llama) sits between better and worse models."""
    models = {"<3B": ["small-best", "llama-1b", "small-worse"],
              ">=6B": ["big-best", "llama-8b", "big-mid", "big-worse"]}
    scores = {"small-best": 70.0, "llama-1b": 60.0, "small-worse": 55.0, "big-best": 90.0, "llama-8b": 80.0,
              "big-mid": 78.0, "big-worse": 70.0}
    rm = pd.DataFrame([{"hf_id": f"org/{m}", "display_name": m, "size_group": g, "method": method,
                        "score": scores[m] - (5 if method == "bradley_terry" else 0)}
                       for g, ms in models.items() for m in ms for method in ("regression", "bradley_terry")])
    from advisor.analyses.gains import gains_per_size_group

    return rm, gains_per_size_group(rm, baselines={"<3B": "org/llama-1b", ">=6B": "org/llama-8b"})


def test_fig2_draws_the_red_baseline_and_puts_size_groups_above_their_panels_not_under_the_names():
    rm, gains = _rm_and_gains()
    assert set(gains["baseline_hf_id"]) == {"org/llama-1b", "org/llama-8b"}  # the analysis found the baselines
    fig = figures.gains_by_size_group(rm, gains)
    base = [t for t in fig.data if t.name == figures.BASELINE_NAME]
    assert len(base) == 4  # one per method and size group, drawn (a 0-high bar is not)
    for t in base:
        assert t.type == "scatter" and t.mode == "markers" and t.marker.color == figures.BASELINE_COLOR
        assert t.marker.size >= 10 and list(t.y) == [0.0] and list(t.x)[0].startswith("llama-")
    assert fig.layout.showlegend is False and "red diamond" in fig.layout.title.text  # the title names it
    bars = [t for t in fig.data if t.type == "bar"]
    assert all(not any(str(x).startswith("llama-") for x in t.x) for t in bars)  # the baseline is not a bar
    for t in fig.data:  # plain category axes: no second level of group labels under the rotated names
        assert all(isinstance(x, str) for x in _flat(t.x))
    titles = {a.text for a in fig.layout.annotations}
    assert {"<3B", ">=6B", "Regression", "Bradley-Terry"} <= titles  # groups on top, methods at the side
    small = next(t for t in bars if "small-best" in t.x and t.xaxis == "x")  # Regression, <3B
    assert dict(zip(small.x, small.y)) == {"small-best": 10.0, "small-worse": -5.0}
    assert "+10.0" in titles  # the group's best labelled with its gain
    red = [tt for ax in fig.layout if ax.startswith("xaxis") for tt in (fig.layout[ax].ticktext or ())
           if figures.BASELINE_COLOR in tt]
    assert len(red) == 4 and all("llama-" in tt for tt in red)  # the baseline's name in red


def test_coverage_plot_has_the_chance_line_and_marks_k_5_and_10():
    from advisor.analyses.coverage import chance_coverage

    curves = pd.DataFrame({"feature": ["leaderboard_ifeval"] * 3 + ["predictor"] * 3, "k": [5, 10, 15] * 2,
                           "coverage": [0.4, 0.7, 0.8, 0.6, 0.8, 0.9], "n": 40})
    fig = figures.coverage_curves(curves, highlight="predictor", chance=chance_coverage(range(5, 16), 40),
                                  thresholds={5: 0.4, 10: 0.7})
    chance = next(t for t in fig.data if t.name == figures.CHANCE_NAME)
    assert list(chance.x) == list(range(5, 16)) and list(chance.y) == pytest.approx([k / 40 for k in range(5, 16)])
    assert chance.line.dash == "dot"
    assert sorted(s.x0 for s in fig.layout.shapes if s.x0 == s.x1) == [5, 10]  # vertical lines at k = 5 and 10
    marks = next(t for t in fig.data if t.name == figures.THRESHOLD_NAME)
    assert (list(marks.x), list(marks.y)) == ([5, 10], [0.4, 0.7])
    assert "k = 5" in {a.text for a in fig.layout.annotations}


def test_calibration_series_sit_side_by_side_and_hover_the_true_nominal_level():
    levels = [0.5, 0.8, 0.9, 0.95]
    cal = pd.DataFrame([{"label": lab, "nominal": lv, "empirical": lv + d, "lo": lv - 0.1, "hi": min(1, lv + 0.05),
                         "n": 40} for lab, d in (("repeated nested CV", 0.01), ("leave one lineage out", -0.02))
                        for lv in levels])
    fig = figures.interval_calibration(cal, "t")
    series = [t for t in fig.data if t.error_y.array is not None]
    assert [t.name for t in series] == ["repeated nested CV", "leave one lineage out"]
    xs = np.array([list(t.x) for t in series], dtype=float)
    assert (xs[0] < xs[1]).all() and np.allclose(xs.mean(axis=0), levels)  # dodged around each level
    assert [row[3] for row in series[0].customdata] == levels  # the hover names the level itself
    assert list(fig.layout.xaxis.tickvals) == levels
