"""HTTP API: app factory, routes, error mapping and auth."""

from __future__ import annotations
