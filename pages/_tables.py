"""Tables as a reader sees them (the analysis and Evidence pages): labelled columns, one number format per
column, a missing value shown as "—" (never "None" or "nan"). The data stays numeric underneath, so a
column still sorts by value and a test reads the numbers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

MISSING = "—"


def show(df: pd.DataFrame, key: str, columns: dict[str, tuple], **kwargs) -> None:
    """``st.dataframe`` of ``df`` without its index, a missing cell shown as ``MISSING``. ``columns``:
    {column: (label, format[, width])}, a format being a printf-style number format such as ``"%.2f"`` or
    ``"%+.1f%%"`` (None: not a number), a width Streamlit's "small", "medium" or "large"; a column not named
    keeps its name."""
    config = {}
    for c, (label, fmt, *width) in columns.items():
        if c in df.columns:
            kind = st.column_config.NumberColumn if fmt else st.column_config.Column
            config[c] = kind(label, width=width[0] if width else None, **({"format": fmt} if fmt else {}))
    st.dataframe(df, hide_index=True, width="stretch", key=key, column_config=config, placeholder=MISSING,
                 **kwargs)
