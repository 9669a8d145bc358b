"""Ingesters: one small module per source file, each validating its input with clear errors."""
