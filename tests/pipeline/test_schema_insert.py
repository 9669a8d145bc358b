"""pipeline.schema.insert: the one way the pipeline writes rows (columns matched by name)."""

import math

import pandas as pd
import pytest

from pipeline import schema


def test_insert_matches_columns_by_name_not_position(con):
    # columns given in the reverse of the table's order still land in the right columns
    n = schema.insert(con, "model_lineages", [{"source": "s1", "lineage": "Meta", "hf_id": "a/b"}])
    assert n == 1
    assert con.sql("SELECT hf_id, lineage, source FROM model_lineages").fetchall() == [("a/b", "Meta", "s1")]


def test_insert_turns_nan_and_infinity_into_null(con):
    df = pd.DataFrame({"model": ["m1", "m2"], "hf_id": ["x/y", "x/z"], "stage": ["sft", "dpo"],
                       "chat": [math.nan, -math.inf], "score": [1.5, math.inf]})
    schema.insert(con, "post_training", df)
    assert con.sql("SELECT chat, score FROM post_training ORDER BY model").fetchall() == [(None, 1.5), (None, None)]


def test_insert_of_nothing_writes_nothing(con):
    assert schema.insert(con, "model_lineages", []) == 0
    assert con.sql("SELECT count(*) FROM model_lineages").fetchall() == [(0,)]


def test_insert_refuses_a_table_outside_the_schema(con):
    with pytest.raises(KeyError, match="unknown table 'models; DROP'.*model_lineages"):
        schema.insert(con, "models; DROP", [{"a": 1}])
