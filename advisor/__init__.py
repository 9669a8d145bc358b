"""rm-advisor analysis library: shared by the offline pipeline and the Streamlit app.

No torch or transformers import anywhere in this package: the app imports it on every page load.
"""

__version__ = "0.1.0"
