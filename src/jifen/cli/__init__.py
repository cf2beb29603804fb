"""The `jifen` command line: one service call per command, grouped by noun in this package."""

from __future__ import annotations

from jifen.cli import (  # noqa: F401 - importing registers commands
    access,
    engagement,
    program,
    replay,
    reports,
    stream,
)
from jifen.cli.common import app

__all__ = ["app"]
