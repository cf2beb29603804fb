"""Request and response bodies of the v1 API (SPEC §12), one module per noun.

Each module holds the bodies of the routes of the same name in `api/routes`, with examples
for the docs.
"""

from __future__ import annotations
