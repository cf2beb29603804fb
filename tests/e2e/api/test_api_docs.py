"""The curl examples of docs/api.md work as written, against a real server on SQLite.

Like a new user would: `jifen init --preset railway` in an empty folder, `jifen serve`, then every
```sh block of the guide, in order, pasted into one bash shell. The guide's sandbox section runs
against a second server started with `--simulated-clock` on its own database, as the guide says.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "api.md"
DOC_BASE = "http://127.0.0.1:8000"
DOC_SANDBOX = "http://127.0.0.1:8001"
SANDBOX_DB = "sqlite:///sandbox.db"  # relative to the working folder, as in the guide
JIFEN = [sys.executable, "-m", "jifen"]
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)

BASH = shutil.which("bash") or "bash"
BEIJING = timezone(timedelta(hours=8))
# libfaketime (Debian's `faketime`) shifts the wall clock of the servers, the CLI and the shell.
FAKETIME_LIBRARY = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), None)
pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("curl") is None,
    reason="the guide's examples need bash and curl",
)


@dataclass
class Server:
    """A `jifen serve` subprocess and where it writes its log."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _start(name: str, *, cwd: Path, env: dict[str, str], extra: list[str]) -> Server:
    port = _free_port()
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
            [*JIFEN, "serve", "--port", str(port), *extra],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(f"http://127.0.0.1:{port}", process, log)


def _wait_healthy(server: Server, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not answer /health within {timeout} s:\n{server.output()}")


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=15)


def _late_evening_offset() -> int:
    """Seconds from now to the next 23:58 in Beijing: the guide's trips then depart tomorrow."""
    now = datetime.now(BEIJING)  # noqa: TID251 - the servers run on the real clock; this moves it
    late = now.replace(hour=23, minute=58, second=0, microsecond=0)
    if late <= now:
        late += timedelta(days=1)
    return int((late - now.astimezone(UTC)).total_seconds())


@pytest.fixture(params=["now", "at 23:58 in Beijing"])
def servers(request, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], Server, Server]]:
    """`make run`'s server (railway preset, SQLite) and the guide's sandbox beside it.

    Run now, and again with every process's clock moved to two minutes before midnight in Beijing,
    where the guide's events, dated minutes ahead, fall on the next program-local day.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIFEN_", "FAKETIME"))}
    if request.param != "now":
        if FAKETIME_LIBRARY is None or shutil.which("faketime") is None:
            pytest.skip("moving the clock needs libfaketime (apt-get install faketime)")
        env |= {"LD_PRELOAD": str(FAKETIME_LIBRARY), "FAKETIME": f"{_late_evening_offset():+d}"}
    env["JIFEN_DATABASE_URL"] = f"sqlite:///{tmp_path / 'jifen.db'}"
    env["NO_COLOR"] = "1"
    _run([*JIFEN, "init", "--preset", "railway"], cwd=tmp_path, env=env)
    assert (tmp_path / ".env").is_file(), "jifen init wrote no identity keys to .env"
    sandbox_env = {**env, "JIFEN_DATABASE_URL": SANDBOX_DB}
    _run([*JIFEN, "init", "--preset", "railway"], cwd=tmp_path, env=sandbox_env)
    started: list[Server] = []
    try:
        main = _start("server", cwd=tmp_path, env=env, extra=[])
        started.append(main)
        sandbox = _start("sandbox", cwd=tmp_path, env=sandbox_env, extra=["--simulated-clock"])
        started.append(sandbox)
        _wait_healthy(main)
        _wait_healthy(sandbox)
        yield tmp_path, env, main, sandbox
    finally:
        for server in started:
            _stop(server)
            if "FAKETIME" in env:  # a server ends on its signal, before libfaketime tidies up
                for name in (
                    f"faketime_shm_{server.process.pid}",
                    f"sem.faketime_sem_{server.process.pid}",
                ):
                    (Path("/dev/shm") / name).unlink(missing_ok=True)  # noqa: S108 - its own


def _clock_of(env: dict[str, str]) -> list[str]:
    """The `faketime` launcher of a shell on a moved clock, or nothing.

    The servers and the CLI are moved by `LD_PRELOAD` alone; the shell needs the launcher, which
    keeps libfaketime's shared state alive for the shell's children (a subshell leaving would
    otherwise remove it under them).
    """
    if "FAKETIME" not in env:
        return []
    return [shutil.which("faketime") or "faketime", "-f", env["FAKETIME"]]


def _without_preload(env: dict[str, str]) -> dict[str, str]:
    """`env` for the `faketime` launcher, which preloads libfaketime itself."""
    return {k: v for k, v in env.items() if k not in ("LD_PRELOAD", "FAKETIME")}


def guide_script(main_url: str, sandbox_url: str) -> str:
    """Every ```sh block of the guide, in order, pointed at the test's servers and interpreter."""
    blocks = SH_BLOCK.findall(GUIDE.read_text("utf-8"))
    assert blocks, f"no ```sh blocks in {GUIDE}"
    python = shlex.quote(sys.executable)
    swaps = {
        DOC_BASE: main_url,
        DOC_SANDBOX: sandbox_url,
        ".venv/bin/jifen": f"{python} -m jifen",
        ".venv/bin/python": python,
    }
    pattern = re.compile("|".join(re.escape(s) for s in swaps))
    parts = []
    for number, block in enumerate(blocks, 1):
        assert "\t" not in block, f"block {number} has a tab"
        code = pattern.sub(lambda m: swaps[m.group(0)], block)  # one pass: no swap is redone
        parts.append(f"echo '--- block {number} ---'\n{code}")
    parts.append("echo '--- all blocks ran ---'\n")
    return "\n".join(parts)


SECOND_PASTE = "=== the guide pasted again ==="
EXPECTED = [
    "--- all blocks ran ---",
    '{"status":"ok"',
    "HTTP 401",  # no key
    '"code":"forbidden"',  # an integrator key on the daily job
    '"code":"not_found","message":"No member 999999999.',
    '"code":"malformed_json"',
    '"code":"validation_error"',
    '"tier":{"code":"star2","valid_until":null}',  # enrolled
    '"code":"member_exists"',  # enrolled again
    "HTTP 409",
    '"lookup":"POST /v1/members/lookup"',  # the 409 leads to the lookup
    '"phone":"139****',  # the phone changed
    '"changed":true',
    '"code":"member_not_found"',  # the old phone finds no one
    "only `phone` can be changed",
    '"source":"grant:gift-',  # a page of coupons
    '"token":"jm_',  # a member signed in with a one-time link
    '"code":"redemption_locked"',  # on /v1/me, under 10,000 points
    '"code":"member_token_invalid"',  # an API key on /v1/me, and the token after sign-out
    '"status":"applied"',
    '"balances":{"ride":0,"activity":0,"pending":2768',  # bought, not yet travelled
    '"code":"ticket_conflict"',  # a refund after travel
    '"code":"invalid_event"',
    '"status":"duplicate"',  # the batch sent again
    '"balances":{"ride":5285,"activity":500,"pending":0',  # 2768 + 1500 + 617 + 400
    '"next_cursor":',
    '"change":20,"stock_after":50,',  # a delivery
    '"code":"stock_below_zero"',
    '"change":-80,"stock":50}',  # the delivery was sent twice and added once
    '"skipped":["no_shows","stale_holds","expire","tiers",',  # the daily job twice
    "This server runs on real time",  # POST /v1/clock on a normal server: 404
    '{"now":"2026-12-01T01:00:00Z","simulated":true}',
    '"expiring":[{"date":"2027-01-20","kind":"ride","points":2768}]',
    '"code":"lounge_visit"',  # issued by the sandbox's daily job at 3★
    '"remaining":1',  # the first lounge visit used
    '"code":"entitlement_used_up"',  # the third
]


def test_the_curl_examples_of_the_api_guide_work_as_written(servers):
    """Pasted twice into one shell, as a reader trying them again would: new ids, same results."""
    folder, env, main, sandbox = servers
    script = guide_script(main.url, sandbox.url)
    try:
        done = subprocess.run(  # noqa: S603 - the guide's own examples
            [*_clock_of(env), BASH, "-euo", "pipefail"],
            input=f"{script}\necho '{SECOND_PASTE}'\n{script}",
            cwd=folder,
            env=_without_preload(env),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(
            f"the examples did not finish in time:\n{timeout.stdout}\n{timeout.stderr}\n"
            f"--- server log ---\n{main.output()}\n--- sandbox log ---\n{sandbox.output()}"
        )
    report = (
        f"exit {done.returncode}\n--- output ---\n{done.stdout}\n--- errors ---\n{done.stderr}\n"
        f"--- server log ---\n{main.output()}\n--- sandbox log ---\n{sandbox.output()}"
    )
    assert done.returncode == 0, report
    first, second = done.stdout.split(SECOND_PASTE)
    for paste, out in (("first", first), ("second", second)):
        missing = [marker for marker in EXPECTED if marker not in out]
        assert not missing, f"missing from the {paste} paste's output: {missing}\n{report}"
    assert '{"members":{"total":1,"new":1,"active":1}' in first, report
    assert '{"members":{"total":2,"new":2,"active":2}' in second, report
    assert "Traceback" not in main.output() + sandbox.output(), report
