"""Storage adapters: tables, repositories, the unit of work and migrations."""

from __future__ import annotations
