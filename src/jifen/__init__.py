"""Jifen (积分): a loyalty points platform for travel and retail operators."""

from __future__ import annotations

__version__ = "0.1.0"
