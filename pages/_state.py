"""The Predict page's state: what survives a switch to another page, what lives in the link, and the
uploaded files kept for the session.

Streamlit forgets a widget's value when a run of another page does not draw it, so every input choice
of the page is copied into a plain session key after each run (``keep``) and put back before its widget
is drawn again (``init``). The candidates themselves are plain session keys: the committed typed rows
(``TYPED``), the picked leaderboard ids (``PICKED``) and the uploaded files, kept by content
(``UPLOADS``: sha256 -> ``KeptFile``) and parsed once per content and options (``parsed``). The picked
ids, the method, the size budget and the scale and settings choices are also written into the URL's
query parameters (``advisor.formats.comparison``), and a session's first run of the page reads them, so
a link reproduces the comparison in a fresh browser.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import streamlit as st

from advisor.formats import comparison, upload

KEPT = "_kept"  # {widget key: its value at the end of the page's last run}
LINK_READ = "_link_read"  # set by the session's first run of the page, which reads the link
UPLOADS = "uploads"  # {sha256: KeptFile}, in upload order
PARSED = "_parsed"  # {(sha256, options): upload.Candidates}
UPLOAD_GEN = "_upload_gen"  # the uploader's key suffix: a new uploader once its files are kept
TYPED = "typed_rows"  # the committed rows of the typed table: a list of {column: value}
TYPED_GEN = "_typed_gen"  # the editor's key suffix: a fresh editor over the committed rows
PICKED = "picked"  # hub ids picked from the leaderboard table, in picking order


def widget_key(name: str, gen_key: str) -> str:
    """``name``, then ``name_1``, ``name_2`` ... after each reset: a new key draws a fresh, empty widget."""
    gen = st.session_state.get(gen_key, 0)
    return f"{name}_{gen}" if gen else name


def init(key: str, default) -> None:
    """Before the widget ``key`` is drawn: its value from the page's last run, else ``default``, unless
    the widget already holds one. The widget is then drawn without a default of its own."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.setdefault(KEPT, {}).get(key, default)


def keep(keys) -> None:
    """After the widgets ``keys`` are drawn: keep their values for the next run of the page."""
    st.session_state.setdefault(KEPT, {}).update({k: st.session_state[k] for k in keys if k in st.session_state})


def read_link() -> tuple[comparison.Comparison | None, list[str]]:
    """(the comparison in the URL, problems with it) on the session's first run of the page; (None, [])
    on every later run, so the page's own state wins once the session has started."""
    if st.session_state.get(LINK_READ):
        return None, []
    st.session_state[LINK_READ] = True
    return comparison.from_query({k: st.query_params.get_all(k) for k in st.query_params})


def seed(found: comparison.Comparison, widget_values: dict) -> None:
    """Start the session from a link: its picks (when it has any), and ``widget_values`` (key -> value) for
    the widgets."""
    if found.picked:
        st.session_state[PICKED] = list(found.picked)
    st.session_state.setdefault(KEPT, {}).update(widget_values)
    for key, value in widget_values.items():
        st.session_state[key] = value


def write_link(now: comparison.Comparison) -> None:
    """Put the comparison into the URL's query parameters (only when they change)."""
    want = {k: v if isinstance(v, list) else [v] for k, v in comparison.to_query(now).items()}
    have = {k: st.query_params.get_all(k) for k in st.query_params}
    if want != have:
        st.query_params.from_dict(want)


# --- uploaded files, kept by content ----------------------------------------------------------------

@dataclass(frozen=True)
class KeptFile:
    name: str
    sha: str
    size: int
    data: bytes | None  # None for a file over the size limit: only its message is kept
    rejected: upload.Candidates | None = None


def keep_upload(name: str, data: bytes) -> None:
    """Keep a file for the session by content (the same content uploaded twice is kept once, under its
    first name); a file over the size limit keeps only the message that says so."""
    sha = hashlib.sha256(data).hexdigest()
    files = st.session_state.setdefault(UPLOADS, {})
    if sha in files:
        return
    if len(data) > upload.MAX_UPLOAD_BYTES:
        files[sha] = KeptFile(name, sha, len(data), None, upload.parse_upload(data, name))
    else:
        files[sha] = KeptFile(name, sha, len(data), data)


def take_uploads(widget_files) -> bool:
    """Keep the files of the uploader; True when there were any (the page then draws a new, empty
    uploader: the files are listed as kept instead)."""
    for f in widget_files or []:
        keep_upload(f.name, f.getvalue())
    if widget_files:
        st.session_state[UPLOAD_GEN] = st.session_state.get(UPLOAD_GEN, 0) + 1
    return bool(widget_files)


def kept_files() -> list[KeptFile]:
    return list(st.session_state.get(UPLOADS, {}).values())


def forget_upload(sha: str | None = None) -> None:
    """Forget one kept file, or all of them (``sha`` None)."""
    files = st.session_state.setdefault(UPLOADS, {})
    for key in [sha] if sha else list(files):
        files.pop(key, None)
    cache = st.session_state.setdefault(PARSED, {})
    for key in [k for k in cache if k[0] not in files]:
        del cache[key]


def parsed(f: KeptFile, **options) -> upload.Candidates:
    """``upload.parse_upload`` of a kept file with ``options``, parsed once per (content, options) for
    the session: reruns (a click, a page switch) reuse it."""
    if f.rejected is not None:
        return f.rejected
    cache = st.session_state.setdefault(PARSED, {})
    key = (f.sha, f.name, tuple(sorted(options.items())))
    if key not in cache:
        cache[key] = upload.parse_upload(f.data, f.name, **options)
    return cache[key]


def budget_of(slider: tuple[float, float], end: float) -> tuple[float, float]:
    """The size budget of the slider's (low, high): its right end ``end`` means no upper limit."""
    low, high = slider
    return float(low), math.inf if high >= end else float(high)


def slider_of(budget: tuple[float, float], end: float) -> tuple[float, float]:
    """The slider position of a budget (the inverse of ``budget_of``, clamped to the slider)."""
    low, high = budget
    return min(float(low), end), min(float(high), end)
