"""Plumbing every page uses: cached database reads keyed on the database file's modification time,
so a rebuild published by the pipeline shows up on the next rerun without restarting the app."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from advisor.core.untrusted import md_text
from advisor.db import queries, store

# Deep links before anyone opened "/": Streamlit decides per process whether the app is a "pages/ folder"
# app (PagesManager.uses_pages_directory: True while a pages/ folder sits beside app.py and st.navigation
# has not run yet). In that mode its first run of a deep link (/benchmarks) executes pages/benchmarks.py
# directly, with a sidebar of every file in pages/ (app, _shared ...), and never runs app.py. Every page
# imports this module, so the first such run switches the process to app.py's st.navigation and reruns,
# which renders the same page through app.py. (Streamlit 1.67: runtime/scriptrunner/script_runner.py
# _mpa_v1, runtime/pages_manager.py.)
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()


@st.cache_data(show_spinner=False, max_entries=64)
def _load(key: str, path: str, stamp: int, kwargs: tuple, _fn) -> object:
    return _fn(path, **dict(kwargs))  # ``key`` names ``_fn`` (st.cache_data skips arguments named _*)


def cached(fn, **kwargs):
    """``fn(db, **kwargs)`` for a database reader ``fn`` (e.g. ``queries.leaderboard``), cached until the
    database file changes."""
    path = store.db_file()
    return _load(f"{fn.__module__}.{fn.__qualname__}", str(path), store.db_stamp(path),
                 tuple(sorted(kwargs.items())), fn)


def source_caption(text: str) -> None:
    st.caption(f"Source: {text}. Provenance of every file: the *Data & provenance* page.")


@st.cache_resource(show_spinner=False, max_entries=4)
def _bundle(kind: str, path: str, stamp: int):
    """The served predictor bundle, cached until its source file changes. Never unpickled: it is JSON
    read from the database's ``predictor_bundle`` table (or a JSON file named by RM_ADVISOR_BUNDLE)."""
    from advisor.predict import bundle

    return bundle.load(kind, path)


def bundle_source() -> tuple[str, Path]:
    """advisor.predict.bundle.source for the app's database (RM_ADVISOR_BUNDLE is read there, on every rerun)."""
    from advisor.predict import bundle

    return bundle.source(store.db_file())


def _stamp(p: Path) -> int:
    return p.stat().st_mtime_ns


def load_bundle():
    """(the served predictor bundle, None) or (None, a message saying how to get one)."""
    from advisor.predict.bundle import BundleError

    kind, p = bundle_source()
    try:
        return _bundle(kind, str(p), _stamp(p)), None
    except FileNotFoundError:
        return None, (f"No fitted predictor at `{p}`, so candidates cannot be ranked yet. Fix: run "
                      f"`python -m pipeline.run --stages predictor` (seconds) and reload"
                      + (", or unset RM_ADVISOR_BUNDLE." if kind == "file" else "."))
    except (BundleError, ValueError, OSError) as exc:
        return None, f"The predictor at `{p}` cannot be used: {md_text(exc)}"  # the file's text: never Markdown


@st.cache_data(show_spinner="Predicting ...", max_entries=32)
def _shortlist(kind: str, path: str, stamp: int, db: str, db_stamp: int, candidates, method: str,
               budget):
    from advisor.predict import ranking

    return ranking.build(candidates, _bundle(kind, path, stamp), method=method, budget=budget,
                         measured=queries.measured_scores(db, method=method))


def shortlist(candidates, method: str, budget=(0.0, float("inf"))):
    """advisor.predict.ranking.build with the current bundle (the same rows the `rank` command prints), cached
    on the inputs so reruns (switching tabs, downloading, re-sorting) do not predict again."""
    kind, p = bundle_source()
    db = store.db_file()
    return _shortlist(kind, str(p), _stamp(p), str(db), store.db_stamp(db),
                      candidates.reset_index(drop=True), method, tuple(budget))


RANKING_MODULES = ("advisor.predict.ranking", "advisor.predict.verdict", "advisor.analyses.transfer",
                   "pages._figures")  # what the first ranking imports: scikit-learn and plotly, seconds


@st.cache_resource(show_spinner=False)
def warm_ranking_imports() -> threading.Thread:
    """Once per server process, called when the Predict page has been shown without candidates: import
    RANKING_MODULES in a background thread, so the user's first ranking does not wait for them (the
    empty page itself still needs none of them)."""
    thread = threading.Thread(target=lambda: [importlib.import_module(m) for m in RANKING_MODULES],
                              name="warm-ranking-imports", daemon=True)
    thread.start()
    return thread
