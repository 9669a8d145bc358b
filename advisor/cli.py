"""``python -m advisor rank FILE [--pick ID,ID] [--db PATH] [--method M] [--scale S] [--settings S]
[--budget MIN-MAX] [--top N] [--next] [--format F]``; the same command is ``rm-advisor rank ...`` after
``pip install -e .`` (pyproject.toml's console script).

Ranks candidate base models from a CSV or lm-evaluation-harness results file (and/or models picked
from the Open LLM Leaderboard v2 table in the database) with the predictor the database was built
with, and writes the shortlist to stdout: the same parsing, checks, candidate table (completed from
the database's tables by ``advisor.predict.candidates``), predictions, intervals, skill flags,
confidence tiers, verdict and export columns as the app's download (``advisor.predict.ranking``,
``advisor.predict.verdict`` and ``advisor.predict.export`` are shared). By default it ranks what the app
ranks for the same input (every size, leaderboard settings). The verdict comes first: the ``verdict``
field of the JSON, the first lines of the Markdown, and (CSV, a plain table) lines on stderr. Messages go
to stderr; on bad input (any message the app shows as an error) nothing is written to stdout and the exit
code is 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from advisor.analyses import transfer
from advisor.core import registry, scales
from advisor.db import queries, store
from advisor.formats import upload
from advisor.predict import candidates, evidence, export, ranking, verdict
from advisor.predict.bundle import load, source

FORMATS = export.FORMATS


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
    r.add_argument("--settings", choices=list(scales.SETTINGS), default=scales.SETTINGS[0],
                   help="settings the FILE's numbers came from, for rows without a 'settings' column (default: "
                   f"{scales.SETTINGS[0]}, the app's default): " + "; ".join(
                       f"{k}: {v}" for k, v in scales.SETTINGS_HELP.items()))
    r.add_argument("--budget", type=_budget, default=ranking.DEFAULT_BUDGET, metavar="MIN-MAX",
                   help="size budget in billions of parameters, e.g. 7-70 (7- or 7-inf: no upper limit); "
                   "candidates outside it are listed as not ranked (default: 0-inf, every size, as the app's "
                   "size slider starts)")
    r.add_argument("--top", type=_positive, metavar="N", help="write the first N rows (default: every row "
                   f"for csv and json, {export.MARKDOWN_TOP} for markdown)")
    r.add_argument("--next", action="store_true", help="also say what to measure next for each candidate of "
                   "the top group (the JSON's what_to_measure_next, a Markdown section, lines on stderr with "
                   "csv); evaluates each new input pattern once, about a second or two each")
    r.add_argument("--format", choices=FORMATS, default="csv", help="csv and json: the full table for "
                   "machines; markdown: the compact table (the verdict, then at most 8 columns) for a "
                   "terminal or a chat message (default: csv)")
    return p


def _budget(text: str) -> tuple[float, float]:
    try:
        return ranking.parse_budget(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number. Fix: e.g. --top 10")
    return int(text)


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
                                         params_b=args.params_b, settings=args.settings))
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
    short = ranking.build(table, bundle, method=args.method, budget=args.budget,
                          measured=queries.measured_scores(db, method=args.method))
    for m in short.notes:
        print(f"note: {m}", file=sys.stderr)
    if short.errors:
        return _fail(short.errors)
    if short.predicted.empty:
        return _fail(["no candidate is left to rank. Fix: check the messages above (and --budget)."])
    print(evidence.sentence(evidence.served_row(queries.table(db, "predictor_served"), args.method), args.method),
          file=sys.stderr)
    found = verdict.verdict(short.table, transfer.recipe_caveat(queries.table(db, "transfer_agreement"),
                                                                args.method), args.method)
    write(args, short, found, bundle)
    return 0


def write(args: argparse.Namespace, short: ranking.Shortlist, found: verdict.Verdict, bundle) -> None:
    """The shortlist to stdout in ``args.format``; with ``--next``, what to measure next beside it."""
    nxt = None
    if args.next:
        from advisor.predict.next_measure import what_to_measure_next

        nxt = what_to_measure_next(short.table, bundle, args.method, found.top_group)
    if args.format == "csv":  # a table has no room for them: the verdict (and --next) go beside the messages
        for line in found.lines:
            print(f"verdict: {line}", file=sys.stderr)
        for e in nxt or []:
            print(f"next: {e['line']}", file=sys.stderr)
    extra = {"what_to_measure_next": nxt} if nxt is not None else None
    text = export.export_shortlist(short.table, args.format, short.version, short.level, found.to_json(),
                                   top=args.top, extra=extra)
    if args.format == "markdown" and nxt:
        from advisor.core.untrusted import md_text

        text += "\nWhat to measure next:\n\n" + "".join(f"- {md_text(e['line'])}\n" for e in nxt)
    sys.stdout.write(text)


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.command == "rank":
        return rank(args)
    return 2  # argparse refuses unknown commands before this


if __name__ == "__main__":
    sys.exit(main())
