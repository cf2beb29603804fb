"""Accounting use cases (IFRS 15): breakage estimates, the points liability, the daily journal.

See docs/accounting.md for the method, a worked example and how to import the journal.
"""

from __future__ import annotations

from jifen.domain.accounting import face_values
from jifen.services.accounting.estimate import (
    current_breakage_estimate,
    estimate,
    list_estimates,
)
from jifen.services.accounting.journal import Journal, journal, journal_csv
from jifen.services.accounting.liability import LiabilityReport, liability
from jifen.services.accounting.periods import InvalidPeriod

__all__ = [
    "InvalidPeriod",
    "Journal",
    "LiabilityReport",
    "current_breakage_estimate",
    "estimate",
    "face_values",
    "journal",
    "journal_csv",
    "liability",
    "list_estimates",
]
