"""``python -m advisor rank FILE [--pick ID,ID] [--db PATH] [--method M] [--scale S] [--format F]``;
the same command is ``rm-advisor rank ...`` after ``pip install -e .`` (pyproject.toml's console script).

Ranks candidate base models from a CSV or lm-evaluation-harness results file (and/or models picked
from the Open LLM Leaderboard v2 table in the database) with the predictor the database was built
with, and writes the shortlist to stdout: the same parsing, checks, candidate table (completed from
the database's tables by ``advisor.predict.candidates``), predictions, intervals, skill flags,
confidence tiers, verdict and export columns as the app's download (``advisor.predict.ranking`` and
``advisor.predict.verdict`` are shared). The verdict comes first: the ``verdict`` field of the JSON, the
first lines of the Markdown, and (CSV, a plain table) lines on stderr. Messages go to stderr; on bad
input (any message the app shows as an error) nothing is written to stdout and the exit code is 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from advisor.analyses import transfer
from advisor.core import registry
from advisor.db import queries, store
from advisor.formats import upload
from advisor.predict import candidates, evidence, ranking, verdict
from advisor.predict.bundle import load, source
from advisor.predict.shortlist import export_shortlist

FORMATS = ("csv", "json", "markdown")


def parser() -> argparse.ArgumentParser:
    # the console script (pyproject.toml) is `rm-advisor`; `python -m advisor` runs the same main()
    prog = "rm-advisor" if Path(sys.argv[0]).name == "rm-advisor" else "python -m advisor"
    p = argparse.ArgumentParser(prog=prog, description="rm-advisor on the command line.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("rank", help="rank candidate base models; the shortlist goes to stdout",
                       description=__doc__.split("\n\n")[1])
    r.add_argument("file", nargs="?", help="CSV (one row per model) or lm-eval results_*.json")
    r.add_argument("--pick", default="", help="comma-separated Hugging Face ids from the Open LLM "
                   "Leaderboard v2 table to add (normalized scores, as the app's pick tab)")
    r.add_argument("--db", help="database to read (default: RM_ADVISOR_DB or data/advisor.duckdb)")
    r.add_argument("--method", choices=list(registry.METHOD_LABELS), default="regression",
                   help="reward-model training method (default: regression)")
    r.add_argument("--scale", choices=list(upload.SCALE_CHOICES), default="auto",
                   help="scale of the FILE's values (default: auto, detected as the app does)")
    r.add_argument("--model", help="model id for a JSON file that does not name its model")
    r.add_argument("--params-b", type=float, help="size in billions of parameters for a JSON file "
                   "(results files do not state it; without it the size is looked up by model id)")
    r.add_argument("--format", choices=FORMATS, default="csv", help="output format (default: csv)")
    return p


def _fail(messages: list[str]) -> int:
    for m in messages:
        print(f"error: {m}", file=sys.stderr)
    return 2


def _read_bounded(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it holds more than ``limit``: its size is checked before reading,
    and the read stops after ``limit`` + 1 bytes (a file that grows, or a device, is never read whole)."""
    if path.is_file() and path.stat().st_size > limit:
        return None
    with path.open("rb") as f:
        data = f.read(limit + 1)
    return None if len(data) > limit else data


def read_candidates(args: argparse.Namespace, db: Path) -> tuple[list[upload.Candidates], list[str]]:
    """The parsed inputs of FILE and --pick (what the app's input tabs give), or the errors that stop
    the command before any candidate is read."""
    parts: list[upload.Candidates] = []
    if args.file:
        path = Path(args.file)
        try:
            data = _read_bounded(path, upload.MAX_UPLOAD_BYTES)
        except OSError as exc:
            return [], [f"{path}: cannot be read ({exc.strerror or exc}). Fix: check the path."]
        if data is None:
            return [], [f"{path}: {path.stat().st_size / 2**20:,.1f} MB; the limit is "
                        f"{upload.MAX_UPLOAD_BYTES / 2**20:.0f} MB. Fix: give only the candidate rows (a few "
                        f"thousand models fit in well under 1 MB)."]
        parts.append(upload.parse_upload(data, path.name, scale=args.scale, model_id=args.model,
                                         params_b=args.params_b))
    picks = [p.strip() for p in args.pick.split(",") if p.strip()]
    if picks:
        lb = queries.leaderboard(db)
        found, missing = upload.match_leaderboard_ids(lb, picks)
        if missing:
            return [], [f"--pick: {', '.join(repr(m) for m in missing)} not in the Open LLM "
                        f"Leaderboard v2 table of {db}. Fix: check the ids (the app's pick tab "
                        f"searches them), or give the model's results in FILE."]
        parts.append(upload.leaderboard_candidates(lb, found))
    if not parts:
        return [], ["no candidates. Fix: give a CSV or lm-eval JSON FILE, or --pick ID,ID."]
    return parts, []


def rank(args: argparse.Namespace) -> int:
    db = store.db_path(args.db)
    problem = store.database_problem(db)  # missing, empty, not DuckDB, or not a database the pipeline built
    if problem:
        return _fail([problem])
    parts, problems = read_candidates(args, db)
    if problems:
        return _fail(problems)
    reference = candidates.Reference(queries.leaderboard(db), queries.known_models(db))
    table, errors, warnings, notes = candidates.gather(parts, reference)
    for m in warnings:
        print(f"warning: {m}", file=sys.stderr)
    for m in notes:
        print(f"note: {m}", file=sys.stderr)
    if errors:
        return _fail(errors)
    try:
        bundle = load(*source(db))
    except (FileNotFoundError, ValueError) as exc:
        return _fail([str(exc)])
    short = ranking.build(table, bundle, method=args.method,
                          measured=queries.measured_scores(db, method=args.method))
    for m in short.notes:
        print(f"note: {m}", file=sys.stderr)
    if short.errors:
        return _fail(short.errors)
    if short.predicted.empty:
        return _fail(["no candidate is left to rank. Fix: check the messages above."])
    print(evidence.sentence(evidence.served_row(queries.table(db, "predictor_served"), args.method), args.method),
          file=sys.stderr)
    found = verdict.verdict(short.table, transfer.recipe_caveat(queries.table(db, "transfer_agreement"),
                                                                args.method), args.method)
    if args.format == "csv":  # a table has no room for it: the verdict goes beside the messages
        for line in found.lines:
            print(f"verdict: {line}", file=sys.stderr)
    sys.stdout.write(export_shortlist(short.table, args.format, short.version, found.to_json()))
    return 0


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.command == "rank":
        return rank(args)
    return 2  # argparse refuses unknown commands before this


if __name__ == "__main__":
    sys.exit(main())
