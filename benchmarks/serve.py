"""`jifen serve` as a child process: started, waited for, stopped, and its log read.

The server runs in its own process group from an operator's folder; it is stopped by its own
pid (SIGTERM, uvicorn stops its workers), and only its own group is killed if it hangs.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg

from benchmarks.databases import conninfo

HOST = "127.0.0.1"
WORKERS = 2


class Server:
    """`python -m jifen serve` in `folder` as a child process group; stopped by its own pid."""

    def __init__(self, folder: Path, env: dict[str, str], port: int) -> None:
        self.folder, self.env, self.port = folder, env, port
        self.log = folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, ready_within: float = 60.0) -> None:
        """Start `--workers 2` and wait until `/ready` answers 200."""
        command = [sys.executable, "-m", "jifen", "serve", "--host", HOST, "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [*command, "--workers", str(WORKERS)],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.perf_counter() + ready_within
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                break
            if _ready(self.port):
                return
            time.sleep(0.2)
        tail = self.log.read_text("utf-8", errors="replace")[-2000:]
        msg = f"`jifen serve` did not get ready on port {self.port}:\n{tail}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """SIGTERM to the server (uvicorn stops its workers); SIGKILL its group if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group this run started, only
            self.process.wait()

    def errors(self) -> Counter[str]:
        """Errors the server logged: the exception and the innermost Jifen line it came from."""
        found: Counter[str] = Counter()
        for line in self.log.read_text("utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("level") == "ERROR":
                found[_cause(record.get("exception") or record.get("message", ""))] += 1
        return found


def _cause(trace: str) -> str:
    lines = trace.splitlines()
    frames = [ln.strip() for ln in lines if ln.strip().startswith('File "') and "/jifen/" in ln]
    final = [ln for ln in lines if re.match(r"[A-Za-z_][\w.]*(Error|Exception)\w*: ", ln)]
    services = [f for f in frames if "/jifen/services/" in f] or frames
    where = services[-1].split("/jifen/", 1)[-1].replace('", line ', ":") if services else "?"
    return f"{final[-1] if final else trace[:200]} (at jifen/{where})"


def _ready(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", "/ready")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def settle(url: str, *, timeout: float = 600.0) -> tuple[float, bool]:
    """Wait until the server has stopped working: the seconds it kept working, and if it stopped.

    Requests the generator gave up on are still in the server's queue and still applied; the
    next phase must not run against that backlog. Quiet means the `events` table stopped
    growing and no session of the database is busy, twice in a row half a second apart.
    """
    busy = """SELECT (SELECT count(*) FROM events),
                     (SELECT count(*) FROM pg_stat_activity
                      WHERE datname = current_database() AND state <> 'idle'
                        AND pid <> pg_backend_pid())"""
    began = time.perf_counter()
    busy_until = began  # the last poll that still saw work
    with psycopg.connect(conninfo(url), autocommit=True) as connection:
        last, quiet = None, 0
        while quiet < 2 and time.perf_counter() - began < timeout:
            seen = connection.execute(busy).fetchone()
            if seen is not None and seen == last and not seen[1]:
                quiet += 1
            else:
                quiet, busy_until = 0, time.perf_counter()
            last = seen
            time.sleep(0.5)
    return busy_until - began, quiet >= 2
