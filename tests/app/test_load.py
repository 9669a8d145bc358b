"""Sessions share the app's process-wide caches but never each other's data.

Streamlit serves every browser session from one process: ``st.cache_data`` / ``st.cache_resource``
(the database views, the predictor bundle, the predictions) are shared by all of them. Here several
``AppTest`` sessions of ``app.py`` run in this one process, so they share those caches as real sessions
do, and upload different candidates in interleaved order: each must rank exactly its own models, also
when rerun after another session's upload, and the same upload must give the same ranking in any
session. The timed run (20 concurrent sessions against 1 alone) is bench/bench_load.py.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
LEADERBOARD = ROOT / "data" / "public" / "open_llm_leaderboard_v2_final_20250509_modelrank.csv"


def upload(at: AppTest, part: pd.DataFrame, name: str) -> None:
    at.file_uploader(key="upload").set_value((name, part.to_csv(index=False).encode(), "text/csv"))
    at.selectbox(key="upload_scale").set_value("normalized").run()


def ranking(at: AppTest) -> pd.DataFrame:
    assert not at.exception, [e.message for e in at.exception]
    tables = [d.value for d in at.dataframe if "rank_upper" in d.value.columns]
    assert tables, [e.value for e in at.error]
    return tables[0].set_index("hf_id").sort_index()


@pytest.mark.load  # many AppTest sessions at once (`app_db`: slow)
def test_sessions_sharing_the_caches_each_rank_only_their_own_upload(app_db, monkeypatch):
    monkeypatch.setenv("RM_ADVISOR_DB", str(app_db))
    monkeypatch.delenv("RM_ADVISOR_BUNDLE", raising=False)
    lb = pd.read_csv(LEADERBOARD)
    parts = [lb.iloc[0:10], lb.iloc[10:20], lb.iloc[0:10]]  # the third repeats the first's upload
    own = [sorted(set(p["model"])) for p in parts]
    assert own[0] != own[1] and not set(own[0]) & set(own[1])
    sessions = [AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run() for _ in parts]
    upload(sessions[0], parts[0], "a.csv")
    first = ranking(sessions[0])
    upload(sessions[1], parts[1], "b.csv")
    assert list(ranking(sessions[1]).index) == own[1]
    sessions[0].run()  # a rerun after the other session's upload still shows this session's own
    assert list(ranking(sessions[0]).index) == own[0]
    upload(sessions[2], parts[2], "c.csv")
    third = ranking(sessions[2])
    assert list(third.index) == own[0]
    cols = ["prediction", "lower", "upper", "rank", "rank_upper"]
    assert third[cols].to_numpy(dtype=float) == pytest.approx(first[cols].to_numpy(dtype=float), nan_ok=True)
