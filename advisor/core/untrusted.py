"""Untrusted text is data, never markup: the one home of the rules that keep it so.

Anything a user supplies (model ids, file names, cells, the JSON model-id box, the contents of an
lm-eval results file) meets three interpreters in this product, and each gets one function here:

* **Markdown / HTML** (every ``st.error`` / ``st.warning`` / ``st.info`` / ``st.caption`` /
  ``st.markdown`` the pages write, and the ``.md`` shortlist export): :func:`md_text` makes a string
  render as exactly its characters. HTML specials become entities (``<`` -> ``&lt;``), Markdown
  specials get a backslash (links, images, emphasis, code, tables, LaTeX ``$``), Streamlit's own
  directives (``:red[...]``, ``:material/icon:``, ``:emoji:``) and GFM autolinks (``http://``,
  ``www.``, e-mail) are broken (a zero-width space where an escape is not enough), and line breaks
  become spaces (a message is one line; a table cell too).
  Plotly labels (which understand some HTML tags) get :func:`html_text`.
* **Spreadsheets** (every CSV the app or a CLI writes): :func:`csv_cell` / :func:`csv_frame` apply
  OWASP's rule against formula injection: a *text* cell starting with ``=``, ``+``, ``-``, ``@``, tab
  or carriage return gets a leading ``'``. Numbers stay numbers: a cell of a numeric column (say the
  prediction -2.5) is written as a number and is not prefixed, since a spreadsheet reads it as a
  value, never a formula. A *text* cell that looks like a negative number ("-3") is prefixed like
  any other text: it came from the user as text and we cannot tell ``-3`` from ``-3+cmd``.
* **JSON** (uploads and ``--results`` files): :func:`load_json_bounded` refuses a document larger
  than a size cap or nested deeper than ``MAX_JSON_DEPTH`` *before* ``json.loads`` sees it (deep
  nesting makes Python's parser, or the code walking its result, raise ``RecursionError``); an integer
  of more than ``MAX_INT_DIGITS`` digits is read as a :class:`HugeNumber` (text, so the format's own
  check for a number names the field) instead of Python's ``ValueError`` past 4,300 digits.
"""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd

# ------------------------------------------------------------------------------ Markdown / HTML
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_SPECIAL = set("\\`*_[]|$~#")  # backslash-escaped everywhere (CommonMark allows it on any ASCII punctuation)
ZWSP = "\u200b"  # zero-width space: breaks patterns found in the text after parsing (see md_text)
_MD_RULES = [
    (re.compile(r":(?=[A-Za-z0-9_/+-])"), "\\:" + ZWSP),  # :red[..], :material/x:, :smile:, http://
    (re.compile(r"(?i)(?<=www)\."), ZWSP + r"\."),  # GFM www. autolinks
    (re.compile(r"@(?=\w)"), "@" + ZWSP),  # GFM e-mail autolinks
    (re.compile(r"^(\s*\d+)([.)])"), r"\1\\\2"),  # an ordered-list marker at the start
    (re.compile(r"^(\s*)([-+=])"), r"\1\\\2"),  # a list marker or setext underline at the start
    (re.compile(r"!(?=\\\[)"), r"\!"),  # an image
]


def md_text(value) -> str:
    """``value`` as Markdown that renders as its own characters (see the module docstring).

    Backslash escapes stop what the Markdown parser recognises (links, emphasis, code ...). GFM
    autolinks (``http://``, ``www.``, ``a@b.c``) and Streamlit's ``:material/...:`` / ``:emoji:``
    are found in the text *after* parsing (remark plugins), where escapes are gone: a zero-width space
    (``ZWSP``) inside ``:/``, ``:x``, ``www.`` and ``@x`` breaks them while the text reads the same."""
    s = str(value).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    out = []
    for ch in s:
        if ch in _HTML:
            out.append(_HTML[ch])
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    s = "".join(out)
    for pattern, repl in _MD_RULES:
        s = pattern.sub(repl, s)
    lead = len(s) - len(s.lstrip(" \t"))  # an indent of 4 would start a code block: entities instead
    return "".join("&#9;" if c == "\t" else "&#32;" for c in s[:lead]) + s[lead:]


def html_text(value) -> str:
    """``value`` for plotly labels and hover text, which understand a subset of HTML (``<a href>``,
    ``<img>`` is dropped, ``<b>``): the HTML specials as entities, which plotly shows as characters."""
    return html.escape(str(value), quote=True)


# ------------------------------------------------------------------------------ CSV
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """OWASP: a text cell starting with = + - @ tab or CR gets a leading ' ; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell passed through :func:`csv_cell`, the column names too;
    numeric columns are left as numbers."""
    out = df.copy()
    for c in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c])):
            out[c] = out[c].map(csv_cell)
    out.columns = [csv_cell(str(c)) for c in out.columns]
    return out


def to_csv(df: pd.DataFrame, **kwargs) -> str:
    """``df`` as CSV text with formula injection neutralised (``kwargs``: DataFrame.to_csv options).
    Lines end in CRLF (RFC 4180), which also makes the writer quote a cell holding a bare CR."""
    return csv_frame(df).to_csv(**{"lineterminator": "\r\n", **kwargs})


# ------------------------------------------------------------------------------ JSON
MAX_JSON_DEPTH = 64  # lm-eval results files nest about 6 deep


_BACKSLASHES = re.compile(rb"\\+")


def json_depth(data: bytes) -> int:
    """Deepest bracket nesting of a JSON text, brackets inside strings not counted; no parsing, a few
    vectorised passes (a quote is escaped when an odd run of backslashes precedes it)."""
    if data.count(b"[") + data.count(b"{") == 0:
        return 0
    arr = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(arr == ord('"'))
    escaped = [m.end() for m in _BACKSLASHES.finditer(data) if (m.end() - m.start()) % 2]
    if escaped:
        quotes = np.setdiff1d(quotes, np.asarray(escaped), assume_unique=True)
    opens = np.flatnonzero((arr == ord("[")) | (arr == ord("{")))
    closes = np.flatnonzero((arr == ord("]")) | (arr == ord("}")))
    pos = np.concatenate([opens, closes])
    step = np.concatenate([np.ones(len(opens), np.int64), -np.ones(len(closes), np.int64)])
    outside = np.searchsorted(quotes, pos) % 2 == 0  # an even number of quotes before: structure
    pos, step = pos[outside], step[outside]
    return int(np.cumsum(step[np.argsort(pos, kind="stable")]).max(initial=0))


def json_problem(data: bytes, max_bytes: int | None = None, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``data`` must not be parsed (too large, nested too deep), or None."""
    if max_bytes is not None and len(data) > max_bytes:
        return f"{len(data) / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit"
    depth = json_depth(data)
    if depth > max_depth:
        return f"nested {depth} levels deep, over the limit of {max_depth}"
    return None


class JSONLimitError(ValueError):
    """A JSON text refused before parsing (too large or nested too deep)."""


MAX_INT_DIGITS = 300  # no field of the files read here holds a longer integer; past ~308 digits no float can


class HugeNumber(str):
    """A JSON integer of more than ``MAX_INT_DIGITS`` digits, kept as a short text saying so. Python
    refuses to read an integer of over 4,300 digits (``ValueError``, no file or field) and one past ~308
    digits overflows ``float()``; as this (not an int or a float) the parser's own check for a number
    rejects it, naming the field."""

    def __new__(cls, literal: str):
        return super().__new__(cls, f"<a {len(literal.lstrip('-')):,}-digit integer>")

    def __repr__(self) -> str:
        return str(self)


def _int(literal: str):
    return int(literal) if len(literal) <= MAX_INT_DIGITS else HugeNumber(literal)


def load_json_bounded(data: bytes | str, max_bytes: int | None = None, max_depth: int = MAX_JSON_DEPTH):
    """``json.loads(data)`` after :func:`json_problem`; JSONLimitError(problem) when it finds one (the
    caller adds the file name and the fix), json.JSONDecodeError when the text is not JSON. An integer
    longer than ``MAX_INT_DIGITS`` digits comes back as a :class:`HugeNumber`."""
    raw = data.encode("utf-8", errors="replace") if isinstance(data, str) else bytes(data)
    problem = json_problem(raw, max_bytes, max_depth)
    if problem:
        raise JSONLimitError(problem)
    return json.loads(raw.decode("utf-8", errors="replace"), parse_int=_int)
