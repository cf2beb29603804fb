"""Program configuration: schema, loading and validation, and the shipped presets."""

from __future__ import annotations
