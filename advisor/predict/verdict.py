"""The verdict above the shortlist: what the ranking supports, in plain words (pure functions over the
table ``advisor.predict.ranking.build`` returns; the app shows it above the table, ``python -m advisor
rank`` writes it first).

* **Confidence tier** of every row (``tiers``): the first tier of ``registry.CONFIDENCE_TIERS`` any of
  whose conditions holds, the conditions being the row flags of ``FLAGS`` (``flags``); rows listed as
  not ranked (``not_ranked``) get none.
* **Top group**: the ranked rows whose upper-bound rank is 1 (no other candidate's interval lies wholly
  above theirs). Several are named as statistically tied; a single one is named the best only when its
  tier is not ``low``.
* **No crown for a guess**: when the highest point estimate is a ``low`` row (outside the domain, or
  clamped inputs), the verdict says so and names the best candidate outside the low tier as well.
* **Recipe caveat**: a sentence the caller passes in (``advisor.analyses.transfer.recipe_caveat``, read
  from the same build's transfer analysis; this room may not import analyses).
* **Not ranked**: the rows with a ``not_ranked`` reason, listed with it, never in the top group.
* **Cost against quality** (``pareto``): the rows no other row beats on both size and score (the Pareto
  frontier of parameter count against the score a row is ranked by, or its prediction when not ranked).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from advisor.core import registry

# The row flags the tiers' conditions name (registry.CONFIDENCE_TIERS), with what each means.
FLAGS = {
    "measured": "ranked by a measured reward model of this base (ranked_by 'measured')",
    "out_of_domain": "outside the predictor's domain (in_domain False)",
    "clamped": "an input beyond the known models' range, clamped to it (extrapolated)",
    "imputed": "an input the served fits read was missing and imputed (imputed)",
    "partial": "missing inputs served by a reduced spec or imputation (partial_method)",
    "other_settings": "numbers from other evaluation settings than the leaderboard's (settings 'other')",
}


def _listed(col: pd.Series) -> pd.Series:
    """True where a list column (or its exported '; '-joined text) names something."""
    return col.map(lambda v: len(v) > 0 if isinstance(v, (list, tuple)) else isinstance(v, str) and v != "")


def _column(table: pd.DataFrame, name: str, default) -> pd.Series:
    return table[name] if name in table.columns else pd.Series(default, index=table.index)


def flags(table: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per ``FLAGS`` entry, one row per shortlist row."""
    out = pd.DataFrame({
        "measured": _column(table, "ranked_by", "").eq("measured"),
        "out_of_domain": ~_column(table, "in_domain", True).fillna(True).astype(bool),
        "clamped": _listed(_column(table, "extrapolated", "")),
        "imputed": _listed(_column(table, "imputed", "")),
        "partial": _listed(_column(table, "partial_method", "").fillna("")),
        "other_settings": _column(table, "settings", "").astype(str).eq("other"),
    }, index=table.index)
    return out[list(FLAGS)]


def not_ranked(table: pd.DataFrame) -> pd.Series:
    """Per row, the reason it is not ranked ('' for a row that went through prediction)."""
    return _column(table, "not_ranked", "").fillna("").astype(str)


def tiers(table: pd.DataFrame) -> pd.Series:
    """Per row, its tier of ``registry.CONFIDENCE_TIERS`` ('' for a row listed as not ranked)."""
    f = flags(table)
    out = pd.Series("", index=table.index, dtype=object)
    for t in reversed(registry.CONFIDENCE_TIERS):  # the first tier that holds wins: write it last
        hit = f[list(t["when"])].any(axis=1) if t["when"] else pd.Series(True, index=table.index)
        out[hit] = t["tier"]
    out[not_ranked(table) != ""] = ""
    return out


def _why(row, f: pd.Series) -> str:
    """Why a row has its tier, in words."""
    parts = []
    if f["out_of_domain"]:
        parts.append("outside the predictor's domain")
    if f["clamped"]:
        parts.append("inputs beyond the known models' range, clamped ("
                     + ", ".join(registry.label(x) for x in _names(row["extrapolated"])) + ")")
    if f["imputed"]:
        parts.append("imputed inputs (" + ", ".join(registry.label(x) for x in _names(row["imputed"])) + ")")
    elif f["partial"]:
        parts.append("partial inputs")
    if f["other_settings"]:
        parts.append("other evaluation settings")
    return "; ".join(parts)


def _names(v) -> list[str]:
    return list(v) if isinstance(v, (list, tuple)) else [x for x in str(v or "").split("; ") if x]


def _score(row) -> str:
    """The number a row is ranked by, with its interval or source."""
    if row["ranked_by"] == "measured":
        return (f"measured {row['measured_score']:.1f} ({row['measured_source']}; predicted "
                f"{row['prediction']:.1f})")
    lo = f"{row['lower']:.1f}" + (" (cut)" if row.get("lower_cut") else "")
    hi = f"{row['upper']:.1f}" + (" (cut)" if row.get("upper_cut") else "")
    return f"predicted {row['prediction']:.1f} [{lo}, {hi}]"


def _named(row, f: pd.Series) -> str:
    why = _why(row, f) if row["tier"] != "measured" else ""
    return f"{row['hf_id']}, {_score(row)}, confidence {row['tier']}" + (f" ({why})" if why else "")


@dataclass
class Verdict:
    """What the ranking supports (module docstring); ``lines`` says it in words, first to last."""

    top_group: list[str]
    leaders: list[str]  # the highest point estimate (several when indistinguishable)
    leader_tier: str
    best: str | None  # a single best: a top group of one that is not low
    best_in_domain: str | None  # named when the leaders are low
    tiers: dict[str, str]
    not_ranked: list[dict]
    recipe_caveat: str
    lines: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"summary": self.lines, "top_group": self.top_group, "tied": len(self.top_group) > 1,
                "best": self.best, "highest_point_estimate": self.leaders, "highest_tier": self.leader_tier,
                "best_in_domain": self.best_in_domain, "tiers": self.tiers, "not_ranked": self.not_ranked,
                "recipe_caveat": self.recipe_caveat}


def verdict(table: pd.DataFrame, recipe_caveat: str = "", method: str = "regression") -> Verdict:
    """The verdict of a shortlist table (``ranking.build``'s, with ``tier``), rows in rank order."""
    t = table.assign(tier=table["tier"] if "tier" in table.columns else tiers(table))
    f = flags(t)
    reasons = not_ranked(t)
    ranked = t[t["rank"].notna() & (reasons == "")]
    skipped = [{"hf_id": h, "reason": r} for h, r in zip(t["hf_id"], reasons) if r]
    v = Verdict([], [], "", None, None, {h: x for h, x in zip(t["hf_id"], t["tier"]) if x}, skipped,
                recipe_caveat)
    if ranked.empty:
        v.lines.append(f"No candidate is ranked: the {registry.METHOD_LABELS.get(method, method)} predictor "
                       "has no skill out of sample and no candidate has a measured reward model.")
    else:
        _top(v, ranked, f)
    if skipped:
        v.lines.append(f"Not ranked ({len(skipped)}): "
                       + "; ".join(f"{s['hf_id']} ({s['reason']})" for s in skipped) + ".")
    if recipe_caveat:
        v.lines.append(recipe_caveat)
    return v


def _top(v: Verdict, ranked: pd.DataFrame, f: pd.DataFrame) -> None:
    """The top group, the leaders and the crown (or why there is none) into ``v``."""
    top = ranked[ranked["rank_upper"] == 1]
    v.top_group = list(top["hf_id"])
    lead = ranked[ranked["rank"] == ranked["rank"].min()]
    first = lead.iloc[0]
    v.leaders, v.leader_tier = list(lead["hf_id"]), first["tier"]
    n = len(ranked)
    low = v.leader_tier == "low"
    if len(top) == 1 and not low:
        v.best = first["hf_id"]
        v.lines.append(f"Best: {_named(first, f.loc[first.name])}; the only candidate with upper-bound rank 1.")
        return
    if len(top) > 1:
        v.lines.append(f"Statistically tied for first: {len(top)} of {n} ranked candidates have upper-bound "
                       f"rank 1 (no other candidate's interval lies wholly above theirs): "
                       + ", ".join(v.top_group) + ".")
    shared = (f" (shared by {len(lead)} indistinguishable candidates: {', '.join(v.leaders)})"
              if len(lead) > 1 else "")
    v.lines.append(f"Highest point estimate{shared}: {_named(first, f.loc[first.name])}"
                   + (": low confidence, not a pick." if low else "."))
    if low:
        safe = ranked[ranked["tier"] != "low"]
        if safe.empty:
            v.lines.append("No ranked candidate is outside the low tier: every ranking here is a rough guess.")
        else:
            best = safe.iloc[0]
            v.best_in_domain = best["hf_id"]
            v.lines.append(f"Best in-domain candidate: {_named(best, f.loc[best.name])}.")


def pareto(table: pd.DataFrame) -> pd.Series:
    """Per row, whether it is on the cost-quality frontier: a row with a size and a score (``ranking_score``,
    else ``prediction``: a row outside the size budget keeps its prediction) that no other such row beats,
    i.e. none is at most as large with at least the score, better in one of the two. Rows without a size
    or a score are not on it."""
    size = pd.to_numeric(_column(table, "params_b", float("nan")), errors="coerce")
    score = pd.to_numeric(_column(table, "ranking_score", float("nan")), errors="coerce").fillna(
        pd.to_numeric(_column(table, "prediction", float("nan")), errors="coerce"))
    ok = (size > 0) & score.notna()
    s, q = size[ok].to_numpy(float), score[ok].to_numpy(float)
    beaten = ((s[None, :] <= s[:, None]) & (q[None, :] >= q[:, None])
              & ((s[None, :] < s[:, None]) | (q[None, :] > q[:, None]))).any(axis=1)
    out = pd.Series(False, index=table.index)
    out[ok[ok].index] = ~beaten
    return out
