"""The candidate table: every input as one typed frame, checked once and completed from the database.

Typed rows, CSV and lm-eval JSON uploads, leaderboard picks, the CLI's FILE and ``--pick``: each is
parsed and checked by ``advisor.formats.upload`` (messages naming the file, row, column and fix) and
stacked by ``upload.combine``; :func:`gather` then completes the stack by hub id (case-insensitive)
from the database tables its caller passes in (:class:`Reference`; the app reads them through its
cache, the CLI through ``advisor.db.queries``: this module never opens the database), so the app and
``python -m advisor rank`` rank the same table for the same input. Prediction
(``advisor.predict.shortlist.predict_candidates``) consumes the table without checking it again.

Columns (the contract ``advisor.predict.ranking.build`` reads): ``hf_id``, ``source``, the row labels
(``upload.LABEL_COLUMNS``: ``scale``, ``settings``, ``partial``, ``missing`` ...), every base feature
(``BASE_FEATURES``, registry names, NaN where missing) and any other benchmark given, then

* ``prov_<feature>`` per base feature: ``given``, ``leaderboard``, ``converted``, ``looked up``
  (``advisor.core.scales.PROVENANCE``) or ``""`` for a missing cell;
* ``size_source``: where ``params_b`` came from in words (``given``, ``leaderboard: Open LLM
  Leaderboard v2 table``, ``looked up: the paper's models`` ...), ``""`` when unknown;
* ``not_ranked``: ``""`` or why the row cannot be ranked (:data:`SIZE_UNKNOWN`); such rows are listed,
  never predicted;
* ``known``: the model is in the database's ``models`` table.

Completion, per row:

1. **Its leaderboard row** (an id in the Open LLM Leaderboard v2 table): the tasks the row lacks are
   taken from it, on the row's scale: as they are onto a normalized row (``leaderboard``), converted
   exactly by ``advisor.core.scales.convert`` onto a raw one (``converted``), never otherwise; a note
   names the model and the cells.
2. **Known features** (an id in the ``models`` table): its size and pre-training tokens where the row
   lacks them (``looked up``); ``known`` is True.
3. **No silent size**: the parameter count is never imputed. Missing, it is looked up (the ``models``
   table first, then the leaderboard table); a size of 0 or less counts as unknown (the leaderboard
   writes 0 / -1 for it); still unknown, the row gets ``not_ranked = SIZE_UNKNOWN`` and a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from advisor.core import registry, scales
from advisor.core.names import hub_key
from advisor.formats import upload

BASE_FEATURES = (*registry.OLL_V2_TASKS, *registry.TRAINING_METRICS)  # = advisor.predict.specs.BASE_FEATURES
PROV_COLUMNS = [upload.PROV + f for f in BASE_FEATURES]
EXTRA_COLUMNS = [*PROV_COLUMNS, "size_source", "not_ranked", "known"]
SIZE_UNKNOWN = "size unknown: add Params (B)"
LEADERBOARD_TABLE = "Open LLM Leaderboard v2 table"
PAPER_MODELS = "the paper's models"
MODELS_TABLE = "the database's models table"


@dataclass(frozen=True)
class Reference:
    """The database tables completion reads, passed in by the caller.

    ``leaderboard``: ``advisor.db.queries.leaderboard`` (hf_id, params_b, the six tasks, normalized).
    ``models``: ``advisor.db.queries.known_models`` (hf_id, params_b, pretrain_tokens_t, in_paper).
    """

    leaderboard: pd.DataFrame
    models: pd.DataFrame

    @classmethod
    def empty(cls) -> Reference:
        return cls(pd.DataFrame(columns=["hf_id", "params_b", *registry.OLL_V2_TASKS]),
                   pd.DataFrame(columns=["hf_id", "params_b", "pretrain_tokens_t", "in_paper"]))


def gather(parts: list[upload.Candidates], reference: Reference) -> tuple[pd.DataFrame, list[str], list[str],
                                                                         list[str]]:
    """(the candidate table, errors, warnings, notes) of parsed candidate tables, in input order."""
    errors = [m for p in parts for m in p.errors]
    warnings = [m for p in parts for m in p.warnings]
    notes = [m for p in parts for m in p.notes]
    stacked, dups = upload.combine(parts)
    table, more_warnings, more_notes = complete(stacked, reference)
    return table, errors, warnings + dups + more_warnings, notes + more_notes


def complete(stacked: pd.DataFrame, reference: Reference) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(the candidate table, warnings, notes): ``upload.combine``'s frame completed by the rules of the
    module docstring."""
    lb = _by_key(reference.leaderboard)
    models = _by_key(reference.models)
    table = _with_contract_columns(stacked)
    rows, notes, looked_up = [], [], {}
    for row in table.to_dict("records"):
        key = hub_key(row["hf_id"])
        model, lb_row = models.get(key), lb.get(key)
        row["hf_id"] = (model or lb_row or row)["hf_id"]  # the database's spelling of a hub id
        notes += _from_leaderboard(row, lb_row)
        found = _known_features(row, model) + _size(row, model, lb_row)
        if found:
            looked_up.setdefault(row["source"], []).append(f"{row['hf_id']}: {', '.join(found)}")
        rows.append(row)
    table = pd.DataFrame(rows, columns=table.columns).astype({"known": bool})
    notes += [f"{source}: looked up by model id (provenance 'looked up'): {'; '.join(items)}."
              for source, items in looked_up.items()]
    return table, _not_ranked_messages(table), notes


def _with_contract_columns(stacked: pd.DataFrame) -> pd.DataFrame:
    """``stacked`` with every base feature (NaN where absent) and every EXTRA_COLUMNS column."""
    out = stacked.copy()
    for f in BASE_FEATURES:
        if f not in out.columns:
            out[f] = math.nan
        out[f] = pd.to_numeric(out[f], errors="coerce").astype(float)
        if f in registry.TRAINING_METRICS:
            out.loc[out[f] <= 0, f] = math.nan  # 0 / -1: the leaderboard's "unknown"
    for c in PROV_COLUMNS:
        out[c] = out[c].fillna("") if c in out.columns else ""
        out.loc[out[c.removeprefix(upload.PROV)].isna(), c] = ""
    given = {scales.GIVEN: scales.GIVEN, scales.LEADERBOARD: f"{scales.LEADERBOARD}: {LEADERBOARD_TABLE}"}
    out["size_source"] = out[upload.PROV + "params_b"].map(given).fillna("")  # a picked row's own size
    out["not_ranked"] = ""
    out["known"] = False
    rest = [c for c in out.columns if c not in EXTRA_COLUMNS]
    return out[rest + EXTRA_COLUMNS]


def _by_key(table: pd.DataFrame) -> dict[str, dict]:
    """{hub key: row} of a reference table (its first row per key)."""
    if table is None or table.empty:
        return {}
    out: dict[str, dict] = {}
    for r in table.to_dict("records"):
        out.setdefault(hub_key(r["hf_id"]), r)
    return out


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _positive(v) -> float | None:
    """``v`` as a float when it is a positive number (a size or token count), else None."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and x > 0 else None


def _from_leaderboard(row: dict, lb: dict | None) -> list[str]:
    """Fill the tasks ``row`` lacks from its leaderboard row ``lb`` (rule 1); the note saying so."""
    if lb is None or row["source"] == "leaderboard":
        return []
    taken, left = [], []
    for t in registry.OLL_V2_TASKS:
        if not _missing(row[t]) or _missing(lb.get(t)):
            continue
        v = float(lb[t])
        got = v if row["scale"] == "normalized" else scales.convert(t, v, "normalized", row["scale"])
        name = registry.get(t).display_name
        if got is None:
            left.append(f"{name} ({scales.why_not(t, 'normalized', row['scale'], v)})")
            continue
        row[t] = got
        row[upload.PROV + t] = scales.LEADERBOARD if row["scale"] == "normalized" else scales.CONVERTED
        taken.append(name if got == v else f"{name} (normalized {v:g} -> {row['scale']} {got:g}, exact)")
    if not taken:
        return []
    row["partial"], row["missing"], fragment = upload.task_labels(row)
    row["note"] = "; ".join([p for p in str(row["note"]).split("; ") if not p.startswith("partial: ")]
                            + ([fragment] if fragment else []) + [f"from the {LEADERBOARD_TABLE}: "
                                                                  + ", ".join(taken)])
    kept = f"; not taken, no exact conversion to {row['scale']}: " + "; ".join(left) if left else ""
    prov = scales.LEADERBOARD if row["scale"] == "normalized" else scales.CONVERTED
    return [f"{row['source']}, model {row['hf_id']!r}: {', '.join(taken)} taken from the model's row in the "
            f"{LEADERBOARD_TABLE}, which the input lacked (provenance {prov!r}){kept}."]


def _known_features(row: dict, model: dict | None) -> list[str]:
    """A model of the ``models`` table (rule 2): its pre-training tokens where the row lacks them; what
    was looked up, in words."""
    if model is None:
        return []
    row["known"] = True
    tokens = _positive(model.get("pretrain_tokens_t"))
    if not _missing(row["pretrain_tokens_t"]) or tokens is None:
        return []
    row["pretrain_tokens_t"] = tokens
    row[upload.PROV + "pretrain_tokens_t"] = scales.LOOKED_UP
    return [f"{registry.label('pretrain_tokens_t')} {tokens:g} ({_models_table(model)})"]


def _models_table(model: dict) -> str:
    return PAPER_MODELS if model.get("in_paper") else MODELS_TABLE


def _size(row: dict, model: dict | None, lb: dict | None) -> list[str]:
    """Rule 3: the size as given, else looked up (the models table, then the leaderboard table), else
    the row is not ranked; what was looked up, in words."""
    if not _missing(row["params_b"]):
        return []
    for table, name in ((model, _models_table(model) if model else ""), (lb, LEADERBOARD_TABLE)):
        size = _positive(table.get("params_b")) if table is not None else None
        if size is not None:
            row["params_b"] = size
            row[upload.PROV + "params_b"] = scales.LOOKED_UP
            row["size_source"] = f"{scales.LOOKED_UP}: {name}"
            return [f"{registry.label('params_b')} {size:g} ({name})"]
    row["size_source"] = ""
    row["not_ranked"] = SIZE_UNKNOWN
    return []


def _not_ranked_messages(table: pd.DataFrame) -> list[str]:
    """One warning per source naming its rows that cannot be ranked, with the fix."""
    out = []
    for source, g in table[table["not_ranked"] == SIZE_UNKNOWN].groupby("source", sort=False):
        ids = ", ".join(repr(h) for h in g["hf_id"].head(10)) + (" ..." if len(g) > 10 else "")
        fix = _size_fix(str(source))
        out.append(f"{source}: {len(g)} model(s) not ranked, {SIZE_UNKNOWN}: {ids}. Their size is neither "
                   f"given nor in the {LEADERBOARD_TABLE} or {PAPER_MODELS}, and a size is never imputed. "
                   f"Fix: {fix}.")
    return out


def _size_fix(source: str) -> str:
    """How to give the size of a row of ``source``, which decides where it can be written."""
    if source.lower().endswith(".json"):
        return ("give the size beside the file (the app's 'Params (B)' box of the upload tab, --params-b "
                "on the command line)")
    if source == "leaderboard":
        return ("give the model's id and its 'Params (B)' in the typed table or a CSV: the rest of its row "
                f"is then taken from the {LEADERBOARD_TABLE}")
    return "add a 'Params (B)' column with the size in billions of parameters (e.g. 4.0)"
