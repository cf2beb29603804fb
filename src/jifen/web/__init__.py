"""Console and member portal: templates, static assets and translations."""

from __future__ import annotations
