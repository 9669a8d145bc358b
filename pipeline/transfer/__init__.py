"""Pipeline stage ``transfer`` (issue 16), run after ``predictor``: does the served predictors' order of
base models carry over to other recipes? ``stage.py``: ``run(ctx)``; the analysis itself is
``advisor.analyses.transfer``; the tables are ``pipeline/sql/55_transfer.sql``."""
