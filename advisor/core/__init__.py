"""Shared facts: the registry (benchmarks, RM methods and targets, labels, size groups, the scale rule),
the Open LLM Leaderboard v2 normalisation and scale conversions, hub-id matching, the leaderboard
picker's rules (official providers, merges, reward models), escaping of untrusted text, and the one input
error. Imports nothing else of the project; every other room imports it.

Public face: ``registry`` (``get``, ``resolve``, ``label``, ``size_group``, ``model_scales``),
``scales``, ``leaderboard_norm``, ``names`` (``ModelResolver``, ``hub_key``), ``model_kinds``
(``is_official``, ``is_merge``, ``named_as``), ``untrusted`` (``md_text``, ``to_csv``,
``load_json_bounded``), ``errors`` (``InputError``).
"""
