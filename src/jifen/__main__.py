"""`python -m jifen` runs the command line."""

from __future__ import annotations

from jifen.cli import app

app(prog_name="jifen")
