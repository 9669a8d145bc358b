"""Model lineages (``data/lineages.csv``) into the ``model_lineages`` table.

A lineage is the publisher level of a model's pre-training: a fine-tune of another publisher's base
belongs to the base's lineage (Tulu 3 and Hermes 3 are Meta Llama). The predictor's honest error holds
whole lineages out. A model that has no row here gets its own lineage, the org part of its hf_id
(``advisor.db.lineage.lineage_of``); the ingest only checks the file.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import schema
from pipeline.errors import InputError
from pipeline.ingest.common import add_source, read_table


def ingest(con, data_dir: Path) -> int:
    path = data_dir / "lineages.csv"
    df = read_table(path, ["hf_id", "lineage", "source"])
    seen, rows = set(), []
    for i, r in df.iterrows():
        hf_id, lineage = r["hf_id"].strip(), r["lineage"].strip()
        if "/" not in hf_id:
            raise InputError(path, f"{hf_id!r} is not a Hugging Face id", "write it as org/name",
                             row=i + 2, field="hf_id")
        if not lineage:
            raise InputError(path, f"model {hf_id!r} has an empty lineage",
                             "name the publisher of its pre-trained base", row=i + 2, field="lineage")
        if hf_id.lower() in seen:
            raise InputError(path, f"duplicate model {hf_id!r}", "keep one row per model", row=i + 2,
                             field="hf_id")
        seen.add(hf_id.lower())
        rows.append({"hf_id": hf_id, "lineage": lineage, "source": r["source"]})
    schema.insert(con, "model_lineages", rows)
    add_source(con, "lineages", path, "this project: data/paper/models.csv publishers; fine-tunes "
               "follow their base (paper Table 1 footnotes)", "CC0 (project)", "lineage (publisher of the "
               "pre-trained base) of every model with reward-model results", len(df))
    return len(df)
