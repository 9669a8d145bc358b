"""File formats in, typed rows out: benchmark results (lm-evaluation-harness, EvalPlus), the team's own
reward-model results, RewardBench section scoring, candidate uploads, and the app's links
(``comparison``: the Predict page's choices as URL query parameters). Imports only ``advisor.core``.

Public face: ``results.parse`` (any results file), ``upload.parse_upload`` / ``upload.combine``
(candidates), ``comparison.from_query`` / ``to_query`` / ``parse_budget`` (links, budgets),
``user_rm.parse`` (your own RM results), ``rewardbench.score_pairs``; ``common`` holds the types the
parsers share (``Score``, ``Parsed``).
"""
