"""``advisor.cli.read_candidates``: the FILE of ``rank`` is size-checked before it is read (issue 27,
finding 10: a 2 GB file was read whole, 2.3 GB of memory, then refused for being over 10 MB)."""

from __future__ import annotations

import argparse
import tracemalloc

from advisor import cli
from advisor.formats import upload


def _args(path) -> argparse.Namespace:
    """``rank PATH``'s arguments as the command line parses them (every option at its default)."""
    return cli.parser().parse_args(["rank", str(path)])


def test_a_file_over_the_limit_is_refused_without_being_read(tmp_path, monkeypatch):
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 64 * 1024)
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.truncate(8 * 2**20)  # sparse: 8 MB on paper, nothing on disk
    tracemalloc.start()
    try:
        parts, problems = cli.read_candidates(_args(big), tmp_path / "unused.duckdb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parts == [] and problems == [f"{big}: 8.0 MB; the limit is 0 MB. Fix: give only the candidate "
                                        "rows (a few thousand models fit in well under 1 MB)."]
    assert peak < 1 * 2**20  # the 8 MB were never read


def test_a_file_within_the_limit_is_read_and_parsed(tmp_path):
    small = tmp_path / "c.csv"
    small.write_text("Model,Params (B),IFEval\na/b,7,50\n")
    parts, problems = cli.read_candidates(_args(small), tmp_path / "unused.duckdb")
    assert problems == [] and list(parts[0].frame.hf_id) == ["a/b"]


def test_a_json_number_over_4300_digits_names_the_file_field_and_fix(tmp_path):
    """Issue 27, finding 11 (rank): Python's message pointed at sys.set_int_max_str_digits()."""
    f = tmp_path / "results_x.json"
    f.write_bytes(b'{"model_name": "a/b", "results": {"leaderboard_ifeval": {"prompt_level_strict_acc,none": '
                  + b"9" * 5000 + b"}}}")
    parts, problems = cli.read_candidates(_args(f), tmp_path / "unused.duckdb")
    assert problems == [] and parts[0].errors == [
        "results_x.json, field 'results.leaderboard_ifeval.prompt_level_strict_acc,none': expected a number, "
        "got <a 5,000-digit integer>. Fix: upload the unmodified results_*.json that lm-evaluation-harness "
        "0.4.x writes (lm_eval --output_path DIR), or an EvalPlus results file"]
