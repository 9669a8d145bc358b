"""The paper's analyses over the database's tables: correlations, top-k coverage, gains per size group,
PCA, post-training deltas, Jensen-Shannon divergences, presence features, and the transfer analysis
across recipes (with the prose the pages show). Pure functions of frames; may use ``advisor.predict``.
"""
