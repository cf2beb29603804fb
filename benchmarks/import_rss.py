"""Peak memory of `jifen import events` on a file of demo ticket events, at two sizes.

The target is "import of 5M events: peak RSS ≤ 500 MB". Importing 5M events takes about two
hours even on the bulk path (~700 events/s), so the workload imports `sizes.import_events` events
and a quarter of them, each into a fresh SQLite database, and reads each import's peak RSS
(`ru_maxrss` of the import, read by a small launcher process: see `LAUNCHER`). A streaming
importer's peak does not grow with the file: the two figures should be about equal, and the
verdict is judged on the larger one against 500 MB (n/a below 5M events).

`python -m benchmarks.import_rss --events N [--events M ...]` measures given sizes alone.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from benchmarks.databases import install_railway
from benchmarks.dataset import enrol_all, railway_tickets
from benchmarks.report import Check, Results, console
from benchmarks.sizes import Sizes
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine

TARGET_EVENTS = 5_000_000
TARGET_MB = 500.0
EVENTS_PER_MEMBER_YEAR = 80  # the demo railway stream gives about 120 on average


@dataclass(frozen=True, slots=True)
class Imported:
    """One `jifen import events` run: its size, time, peak RSS and exit status."""

    events: int
    seconds: float
    peak_mb: float
    returncode: int
    output: str
    rejected: int  # lines in the rejects file

    @property
    def rate(self) -> float:
        """Events per second, start-up included."""
        return self.events / self.seconds


def write_events(folder: Path, events: int) -> tuple[Path, dict[str, str]]:
    """A SQLite database with the railway program and the members, and a JSONL file of events.

    Returns the file and the environment the CLI needs (database URL and identity keys).
    """
    vault_key, hash_key = IdentityVault.generate_key(), IdentityVault.generate_key()
    url = f"sqlite:///{folder / 'jifen.db'}"
    members = max(4, -(-events // EVENTS_PER_MEMBER_YEAR))
    data = railway_tickets(members=members, days=365)
    while len(data.events) < events:  # small casts vary; ask for more members until enough
        members *= 2
        data = railway_tickets(members=members, days=365)
    engine = make_engine(url)
    try:
        program = install_railway(engine)
        vault = IdentityVault([vault_key], hash_key)
        enrol_all(engine, program=program, vault=vault, cast=data.members)
    finally:
        engine.dispose()
    path = folder / "events.jsonl"
    with path.open("w", encoding="utf-8") as file:
        for event in data.events[:events]:
            file.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
    env = {
        **os.environ,
        "JIFEN_DATABASE_URL": url,
        "JIFEN_VAULT_KEYS": vault_key,
        "JIFEN_HASH_KEY": hash_key,
    }
    return path, env


# A process forked from the runner starts with the runner's pages and Linux keeps that high-water
# mark through `exec`, so the import is started by this small launcher instead: its child's peak
# is the import's own. It exits with the import's status and prints the peak last.
LAUNCHER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print(f"peak_rss_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
sys.exit(code)
"""


def import_file(path: Path, env: dict[str, str], events: int) -> Imported:
    """Run `python -m jifen import events PATH` in its own process; its peak RSS."""
    command = [sys.executable, "-m", "jifen", "import", "events", str(path)]
    started = perf_counter()
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-c", LAUNCHER, *command],
        cwd=path.parent,
        env=env,
        capture_output=True,
        check=False,
    )
    seconds = perf_counter() - started
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    peak_kb = re.findall(r"peak_rss_kb=(\d+)", output)
    rejects = path.with_name(path.name + ".rejects.jsonl")
    rejected = len(rejects.read_text(encoding="utf-8").splitlines()) if rejects.exists() else 0
    peak_mb = int(peak_kb[-1]) / 1024 if peak_kb else float("nan")  # kilobytes on Linux
    return Imported(events, seconds, peak_mb, done.returncode, output, rejected)


def measure(events: int, workdir: Path) -> Imported:
    """Write `events` events and a database for them under `workdir`, then import them."""
    folder = Path(tempfile.mkdtemp(prefix=f"import-{events}-", dir=workdir))
    path, env = write_events(folder, events)
    return import_file(path, env, events)


def run_import_rss(results: Results, sizes: Sizes, workdir: Path) -> None:
    """`import_rss`: peak RSS of importing a quarter of `import_events` and all of them."""
    runs = [measure(n, workdir) for n in (max(1, sizes.import_events // 4), sizes.import_events)]
    for run in runs:
        console.print(
            f"  import {run.events:,} events: {run.seconds:.1f} s ({run.rate:,.0f}/s), "
            f"peak RSS {run.peak_mb:,.1f} MB"
        )
        if run.returncode != 0 or run.rejected:
            results.problem(
                f"import_rss: `jifen import events` exited {run.returncode}, "
                f"{run.rejected} events rejected"
            )
            console.print(run.output[-2000:])
    small, large = runs
    results.record(
        import_rss_small_events=small.events,
        import_rss_small_mb=small.peak_mb,
        import_rss_events=large.events,
        import_rss_mb=large.peak_mb,
        import_rss_growth_mb=large.peak_mb - small.peak_mb,
        import_rate=large.rate,
    )
    results.sizes["import_rss"] = {"events": [small.events, large.events], "format": "jsonl"}
    verdict = False if large.peak_mb > TARGET_MB else None
    if verdict is None and large.events >= TARGET_EVENTS:
        verdict = True
    results.check(
        Check(
            f"import_rss (MB, {large.events:,} events)",
            large.peak_mb,
            "MB",
            f"≤ {TARGET_MB:.0f} MB at 5M events",
            verdict,
            reference=f"{small.events:,} events",
            reference_value=small.peak_mb,
            ratio_style="×",
        )
    )


def main() -> int:
    """Measure the sizes given, each in a fresh folder, and print them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_rss", description=__doc__)
    parser.add_argument("--events", type=int, action="append", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jifen-import-") as folder:
        for events in args.events:
            run = measure(events, Path(folder))
            print(
                f"{run.events:>9,} events: {run.seconds:7.1f} s ({run.rate:,.0f}/s), "
                f"peak RSS {run.peak_mb:,.1f} MB, exit {run.returncode}, {run.rejected} rejected"
            )
            if run.returncode:
                print(run.output[-2000:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
