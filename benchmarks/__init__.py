"""Jifen's benchmarks: workloads, their references measured in the same run, and the runner.

`python -m benchmarks run [--quick] [--only NAME,...]`; see docs/benchmarks.md.
"""

from __future__ import annotations
