"""`python -m benchmarks run [--quick] [--only NAME,...]` and `python -m benchmarks profile`."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks import profiling, runner


def main() -> int:
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="Run the workloads and write results/latest.json.")
    run.add_argument("--quick", action="store_true", help="Smaller sizes; under a minute.")
    run.add_argument(
        "--only", metavar="NAME[,NAME]", help=f"Some of: {', '.join(runner.WORKLOADS)}."
    )
    run.add_argument("--output", type=Path, default=runner.LATEST, help="Where the JSON goes.")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Change one size (benchmarks/sizes.py), e.g. --set postgres_members=1000.",
    )
    prof = commands.add_parser("profile", help="Profile one ingest under cProfile.")
    prof.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    prof.add_argument("--members", type=int, default=40, help="Demo members.")
    prof.add_argument(
        "--days", type=int, default=30, help="Days of their tickets, from 2025-01-01."
    )
    prof.add_argument("--top", type=int, default=25, help="Functions to list.")
    prof.add_argument("--save", type=Path, help="Write the raw profile here (for snakeviz etc.).")
    args = parser.parse_args()
    if args.command == "profile":
        profiling.profile(
            db=args.db, members=args.members, days=args.days, top=args.top, save=args.save
        )
        return 0
    return runner.run(quick=args.quick, only=args.only, output=args.output, settings=args.set)


raise SystemExit(main())
