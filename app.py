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

from advisor.db import store  # noqa: E402

APP_NAME = "rm-advisor"
# The favicon is U+2696 (scales), which text fonts such as DejaVu Sans also draw where no emoji font is
# installed; a Material icon as favicon would be fetched from fonts.gstatic.com. Each page's browser-tab
# title is set below, once the page is known.
st.set_page_config(page_title=f"{APP_NAME}: choose a base model for your reward model", page_icon="⚖️",
                   layout="wide")


SERVE_CONFIG = ROOT / "configs" / "serve.yaml"  # the first start's build: what serving needs


def ensure_database() -> list[str] | None:
    """Build the database on the first start: the serving build (configs/serve.yaml: the served
    predictors with their lineage-out evidence, seconds), then the full evaluation (configs/default.yaml:
    + 5 x 10-fold nested CV, about half a minute) in the background; it publishes atomically and the
    pages pick it up on their next rerun. RM_ADVISOR_CONFIG names one config for the first build instead.
    Returns the full build's command when it is still to start: it starts once the first page has been drawn,
    so it does not compete with that page for the cores."""
    db = store.db_file()
    if db.exists() and db.stat().st_size > 0:  # an empty file (`touch`) holds nothing: built like a missing one
        return None
    custom = os.environ.get("RM_ADVISOR_CONFIG")
    work = os.environ.get("RM_ADVISOR_WORK_DIR")  # the builds' work dir (default: the config's)
    where = ["--db", str(db), *(["--work-dir", work] if work else [])]
    cmd = [sys.executable, "-m", "pipeline.run", *where, "--config", custom or str(SERVE_CONFIG)]
    with st.spinner(f"First start: building the database {db} from the shipped data "
                    f"(`python -m pipeline.run`, about 10 seconds) ..."):
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)  # noqa: S603 - own interpreter, no shell
    if proc.returncode != 0 or not db.exists():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        st.error(f"Building the database failed (exit code {proc.returncode}). Fix: run "
                 f"`{' '.join(['python', *cmd[1:]])}` in a terminal in {ROOT} and read its "
                 f"message; then reload this page.")
        st.code(tail or "(no output)")
        st.stop()
    return None if custom else [sys.executable, "-m", "pipeline.run", *where]


def start_full_build(cmd: list[str] | None) -> None:
    """The full evaluation, detached: it outlives this run of the script and publishes atomically."""
    if cmd:
        subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: S603 - own interpreter, fixed args
                         start_new_session=True)


FULL_BUILD = ensure_database()
_problem = store.database_problem()  # a file that is not the pipeline's database: a message, not a traceback
if _problem:
    from advisor.core.untrusted import md_text

    st.error(md_text(_problem))
    st.stop()

# Sidebar icons from Streamlit's bundled Material Symbols font (served by the app itself, no request
# leaves the machine): drawn without any emoji font, in the theme's text colour, light or dark; were the
# font ever missing, its ligature shows as the icon's name in words (text, never an empty box).
PAGES = [
    st.Page("pages/predict.py", title="Predict & shortlist", icon=":material/trophy:", default=True),
    st.Page("pages/evidence.py", title="Evidence", icon=":material/fact_check:"),
    st.Page("pages/rm_results.py", title="Reward-model results", icon=":material/table_chart:"),
    st.Page("pages/across_recipes.py", title="Across recipes", icon=":material/compare_arrows:"),
    st.Page("pages/benchmarks.py", title="Benchmarks vs RM quality", icon=":material/monitoring:"),
    st.Page("pages/pretraining.py", title="Pre-training data", icon=":material/menu_book:"),
    st.Page("pages/capabilities.py", title="Capabilities (PCA)", icon=":material/explore:"),
    st.Page("pages/data.py", title="Data & provenance", icon=":material/info:"),
]
page = st.navigation(PAGES)
st.set_page_config(page_title=f"{page.title} · {APP_NAME}")  # the browser tab names the page
try:
    page.run()
finally:  # after the first page is drawn (or stopped), never before it
    start_full_build(FULL_BUILD)
