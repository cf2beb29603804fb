"""Read models for pages and the member API: what a screen shows, apart from the use cases."""

from __future__ import annotations
