"""Pure domain core: ledger maths, lots, rules and tiers; no I/O and no clock."""

from __future__ import annotations
