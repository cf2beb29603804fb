"""Demo generators: seeded members, their trips and mall orders, and the run that loads them."""

from __future__ import annotations
