"""`python -m advisor rank`'s stderr carries only the product's messages (issue 27, finding 12: a numpy
warning was printed there): every line is a note, warning, verdict or error, or the evidence sentence."""

from __future__ import annotations

import pytest

from advisor.core import registry
from tests.cli.test_rank_cli import ROOT, rank

PREFIXES = ("note: ", "warning: ", "verdict: ", "error: ", *(f"{label}: " for label in registry.METHOD_LABELS.values()))


@pytest.mark.parametrize("method", list(registry.METHODS))
@pytest.mark.parametrize("args", [[ROOT / "data" / "examples" / "recent_bases.csv"],
                                  ["--pick", "Qwen/Qwen2.5-7B-Instruct,google/gemma-2-9b-it,org/not-there"],
                                  ["--pick", "Qwen/Qwen2.5-7B-Instruct,google/gemma-2-9b-it"]])
def test_stderr_holds_only_the_products_messages(app_db, args, method):
    proc = rank(*args, "--method", method, db=app_db, env={"PYTHONWARNINGS": "default"})
    assert proc.stderr.strip()
    for line in proc.stderr.splitlines():
        assert line.startswith(PREFIXES), line
