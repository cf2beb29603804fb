"""A Jifen server started the way the README starts it, and Debian's Chromium under Playwright.

The server: `jifen init --preset railway`, `jifen demo`, `jifen console add-user`, `jifen serve`, in
an empty folder on SQLite. Screenshots for the README are written to docs/screenshots when
JIFEN_SCREENSHOTS=1 (`make screenshots`), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
JIFEN = [str(Path(sys.executable).with_name("jifen"))]
ROOT = Path(__file__).parents[4]
DEMO_MEMBERS = 30


@dataclass
class LiveServer:
    """A `jifen serve` process, its folder, and the console admin's password."""

    url: str
    folder: Path
    process: subprocess.Popen[bytes]
    admin_password: str

    def jifen(self, *args: str) -> str:
        """Run a `jifen` command in the server's folder and return what it printed."""
        done = subprocess.run(  # noqa: S603 - our own command line
            [*JIFEN, *args], cwd=self.folder, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"jifen {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
        return done.stdout

    def last_line(self, *args: str) -> str:
        """The last printed line of a `jifen` command (keys, passwords and links go there)."""
        return self.jifen(*args).strip().splitlines()[-1].strip()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(server: LiveServer, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{server.url}/ready", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the server was not ready within {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Jifen as the README starts it: railway preset, demo members, a console admin, served."""
    folder = tmp_path_factory.mktemp("jifen-live")
    port = _free_port()
    server = LiveServer(f"http://127.0.0.1:{port}", folder, None, "")  # type: ignore[arg-type]
    server.jifen("init", "--preset", "railway")
    server.jifen("demo", "--members", str(DEMO_MEMBERS))
    server.admin_password = server.last_line("console", "add-user", "admin", "--role", "admin")
    log = folder / "server.log"
    with log.open("wb") as output:
        server.process = subprocess.Popen(  # noqa: S603 - our own command line
            [*JIFEN, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(server, log)
        yield server
    finally:
        server.process.terminate()
        server.process.wait(timeout=20)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (no browser download)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab with its own cookies, on a desktop-sized window."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A fresh tab on a phone-sized screen, for the member portal."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """Save a screenshot: into docs/screenshots with JIFEN_SCREENSHOTS=1, else `tmp_path`."""
    folder = ROOT / "docs" / "screenshots" if os.environ.get("JIFEN_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, "the screenshot is blank"
    return path


def console_sign_in(page: Page, server: LiveServer) -> None:
    """Sign in to the console as the admin, through the form."""
    page.goto(f"{server.url}/console")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", server.admin_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/console")
