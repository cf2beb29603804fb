"""The v1 routes, one module per noun."""

from __future__ import annotations
