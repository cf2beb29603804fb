"""`python -m jifen` runs the command line."""

from __future__ import annotations

from jifen.bootstrap import main

main()
