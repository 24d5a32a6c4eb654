"""Run every ``benches/bench_*.py`` and write their sections to ``docs/benchmarks.md``.

Usage: ``python benches/run_all.py [--quick] [--output docs/benchmarks.md]``
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from runner import FULL, QUICK, REPO_ROOT

BENCHES_DIR = Path(__file__).resolve().parent

PREAMBLE = """\
# Benchmarks

wsgi_mw middlewares against the pure-Python code users would otherwise run, each request
driven in-process (no server, no sockets), so the numbers are the middleware's own cost.

Reproduce with `make bench`: it builds the extension in release mode, then runs
`benches/run_all.py`; the numbers below come from a release build (a debug build is
several times slower). A smoke run: `python benches/run_all.py --quick --output
/tmp/bench.md`. How the runner measures: `benches/README.md`. Where the time goes in the
rows that miss their targets, from CPU profiles: [Where the time goes](where-time-goes.md).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke run)")
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO_ROOT / "docs" / "benchmarks.md",
        help="markdown file to write (default: docs/benchmarks.md)",
    )
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    sections = []
    for script in sorted(BENCHES_DIR.glob("bench_*.py")):
        print(f"{script.stem}:", file=sys.stderr)
        started = time.perf_counter()
        sections.append(importlib.import_module(script.stem).run(settings))
        print(f"{script.stem}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join([PREAMBLE, *sections]), encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
