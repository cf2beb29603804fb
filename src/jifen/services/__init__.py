"""Use cases: each takes a unit of work and the time it acts at."""

from __future__ import annotations
