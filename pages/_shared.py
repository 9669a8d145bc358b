"""Plumbing every page uses: cached database reads keyed on the database file's modification time,
so a rebuild published by the pipeline shows up on the next rerun without restarting the app."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import streamlit as st

from advisor import views


@st.cache_data(show_spinner=False, max_entries=64)
def _load(fn_name: str, path: str, stamp: int, kwargs: tuple) -> object:
    module, _, name = fn_name.rpartition(".")
    owner = importlib.import_module(f"advisor.{module}") if module else views
    return getattr(owner, name)(path, **dict(kwargs))


def cached(fn_name: str, **kwargs):
    """``views.<fn_name>(db, **kwargs)`` (or ``advisor.<module>.<fn>`` for "module.fn"), cached until
    the database file changes."""
    path = views.db_file()
    return _load(fn_name, str(path), views.db_stamp(path), tuple(sorted(kwargs.items())))


def source_caption(text: str) -> None:
    st.caption(f"Source: {text}. Provenance of every file: the *Data & provenance* page.")


@st.cache_resource(show_spinner=False, max_entries=4)
def _bundle(path: str, stamp: int):
    from advisor.predictor import PredictorBundle

    return PredictorBundle.load(path)


def bundle_path():
    """RM_ADVISOR_BUNDLE when set (read on every rerun), else where the database says."""
    override = os.environ.get("RM_ADVISOR_BUNDLE")
    return Path(override) if override else cached("bundle_file")


def load_bundle():
    """(the fitted predictor bundle, None) or (None, a message saying how to get one)."""
    p = bundle_path()
    try:
        return _bundle(str(p), p.stat().st_mtime_ns), None
    except FileNotFoundError:
        return None, (f"No fitted predictor at `{p}`, so candidates cannot be ranked yet. Fix: run "
                      f"`python -m pipeline.run --stages predictor` (seconds) and reload.")
    except ValueError as exc:
        return None, f"The predictor at `{p}` cannot be used: {exc}"


@st.cache_data(show_spinner="Predicting ...", max_entries=32)
def _shortlist(bundle_path: str, stamp: int, db: str, db_stamp: int, candidates, method: str, budget):
    from advisor import ranking

    measured = views.rm_targets(db, method=method)["score"]
    return ranking.build(candidates, _bundle(bundle_path, stamp), method=method, budget=budget,
                         measured=measured)


def shortlist(candidates, method: str, budget=(0.0, float("inf"))):
    """advisor.ranking.build with the current bundle (the same rows the `rank` command prints), cached
    on the inputs so reruns (switching tabs, downloading, re-sorting) do not predict again."""
    p = bundle_path()
    db = views.db_file()
    return _shortlist(str(p), p.stat().st_mtime_ns, str(db), views.db_stamp(db),
                      candidates.reset_index(drop=True), method, tuple(budget))


def escape(text: str) -> str:  # TODO(merge): the shared escaping helper of advisor/
    return text
