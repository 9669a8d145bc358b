"""A model's lineage: the publisher of its pre-trained base (``data/lineages.csv``, table
``model_lineages``). A fine-tune of another publisher's base belongs to the base's lineage. A model with
no row is its own lineage: the org part of its hf_id (``lineage_of``)."""

from __future__ import annotations

import pandas as pd


def lineage_of(hf_id: str, known: dict[str, str] | None = None) -> str:
    """The listed lineage (hf_id compared case-insensitively), else the org part of the hf_id."""
    known = {k.lower(): v for k, v in (known or {}).items()}
    return known.get(str(hf_id).lower()) or str(hf_id).split("/", 1)[0]


def lineages_for(con, hf_ids) -> pd.Series:
    """Lineage per hf_id (index hf_id) from the database's ``model_lineages`` table."""
    from advisor.db import store

    known = {}
    if store.has_table(con, "model_lineages"):
        known = dict(con.execute("SELECT hf_id, lineage FROM model_lineages").fetchall())
    ids = list(hf_ids)
    return pd.Series([lineage_of(h, known) for h in ids], index=pd.Index(ids, name="hf_id"),
                     name="lineage")
