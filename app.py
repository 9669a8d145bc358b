"""`streamlit run app.py`: the rm-advisor in the browser.

This file only routes: it makes sure the database exists (building it with the pipeline in a
subprocess the first time, so the app itself never imports the pipeline, torch or transformers) and
hands over to the pages in ``pages/``. Every number shown comes from ``advisor/`` or the database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from advisor import views  # noqa: E402

st.set_page_config(page_title="rm-advisor: choose a base model for your reward model",
                   page_icon=":material/balance:", layout="wide")


def ensure_database() -> None:
    db = views.db_file()
    if db.exists():
        return
    cmd = [sys.executable, "-m", "pipeline.run", "--db", str(db)]
    if os.environ.get("RM_ADVISOR_CONFIG"):  # the pipeline config the first build uses
        cmd += ["--config", os.environ["RM_ADVISOR_CONFIG"]]
    with st.spinner(f"First start: building the database {db} from the shipped data "
                    f"(`python -m pipeline.run`, about a minute) ..."):
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0 or not db.exists():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        st.error(f"Building the database failed (exit code {proc.returncode}). Fix: run "
                 f"`{' '.join(['python', *cmd[1:]])}` in a terminal in {ROOT} and read its "
                 f"message; then reload this page.")
        st.code(tail or "(no output)")
        st.stop()


ensure_database()

PAGES = [
    st.Page("pages/predict.py", title="Predict & shortlist", icon=":material/leaderboard:",
            default=True),
    st.Page("pages/evidence.py", title="Evidence", icon=":material/fact_check:"),
    st.Page("pages/rm_results.py", title="Reward-model results", icon=":material/table_chart:"),
    st.Page("pages/benchmarks.py", title="Benchmarks vs RM quality", icon=":material/query_stats:"),
    st.Page("pages/pretraining.py", title="Pre-training data", icon=":material/dataset:"),
    st.Page("pages/capabilities.py", title="Capabilities (PCA)", icon=":material/scatter_plot:"),
    st.Page("pages/data.py", title="Data & provenance", icon=":material/info:"),
]
st.navigation(PAGES).run()
