"""`python -m pipeline.report [--db PATH] [--out DIR] [--bundle FILE]`: export what a build stored.

The predictor stage stores its reproduction report (``reproduction.json``, ``reproduction.md``) and
the served predictor bundle (JSON) inside the database it publishes. This command writes them out:
the report into ``--out`` (the tracked ``reports/`` of the checkout is regenerated with
``python -m pipeline.report --db data/advisor.duckdb --out reports``), the bundle into ``--bundle``
(a JSON file ``RM_ADVISOR_BUNDLE`` can name). It only reads the database.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from advisor.db import store
from pipeline.publish import write_text_atomic


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipeline.report", description=__doc__.split("\n")[0])
    p.add_argument("--db", help="database (default: RM_ADVISOR_DB or data/advisor.duckdb)")
    p.add_argument("--out", help="directory for reproduction.json and reproduction.md")
    p.add_argument("--bundle", help="write the served predictor bundle to this JSON file")
    args = p.parse_args(argv)
    if not args.out and not args.bundle:
        p.error("give --out DIR and/or --bundle FILE")
    db = store.db_path(args.db)
    try:
        con = store.connect(db)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        rows = (con.execute("SELECT name, content FROM reports ORDER BY name").fetchall()
                if store.has_table(con, "reports") else [])
    finally:
        con.close()
    if args.out:
        if not rows:
            print(f"error: {db} holds no report. Fix: run `python -m pipeline.run --db {db}` "
                  "(stage predictor) first", file=sys.stderr)
            return 2
        out = Path(args.out)
        for name, content in rows:
            write_text_atomic(out / name, content)
        print(f"wrote {', '.join(n for n, _ in rows)} to {out}")
    if args.bundle:
        from advisor.predict.bundle import BundleError, load_bundle

        try:
            b = load_bundle(db)
        except BundleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        write_text_atomic(Path(args.bundle), b.to_json())
        print(f"wrote the predictor bundle {b.version} to {args.bundle}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
