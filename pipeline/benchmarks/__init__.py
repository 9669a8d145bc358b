"""Benchmark stage: lm-evaluation-harness (and optionally EvalPlus) on candidate base models."""
