"""Translations and locale formatting for the console and portal: zh-CN default, English too.

The `.po` catalogues under `translations/LOCALE/LC_MESSAGES/` are the source (one file per part of
the site, merged); they are compiled in memory when first used, so there is no build step. Message
ids are English; `python -m jifen.web.catalogue` lists what is not yet translated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}
CATALOGUES = Path(__file__).parent / "translations"


def catalogue_files(locale: str) -> list[Path]:
    """The `.po` files of `locale`: `messages.po` (shared words), `console.po`, `portal.po`."""
    return sorted((CATALOGUES / locale / "LC_MESSAGES").glob("*.po"))


def read_catalogue(locale: str) -> Catalog:
    """Every message of `locale`'s `.po` files in one catalogue."""
    merged = Catalog(locale=locale)
    for path in catalogue_files(locale):
        with path.open("rb") as source:
            for message in read_po(source, locale=locale):
                if message.id:
                    merged[message.id] = message
    return merged


@cache
def translations(locale: str) -> Translations:
    """The compiled catalogue of `locale` (one of LOCALES)."""
    catalog = read_catalogue(locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def pick_locale(requested: str | None) -> str:
    """`requested` when it names a supported locale (`en`, `zh_CN`, `zh-CN`), else the default."""
    wanted = (requested or "").replace("-", "_")
    return wanted if wanted in LOCALES else DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class Formatter:
    """Numbers, money, dates and times written the way the reader's locale writes them."""

    locale: str
    zone: ZoneInfo

    def points(self, points: int) -> str:
        """`12,345` (points are whole numbers)."""
        return format_decimal(points, locale=self.locale)

    def fen(self, fen: int) -> str:
        """An amount in fen as yuan: `¥1,234.50`."""
        return format_currency(Decimal(fen) / 100, "CNY", locale=self.locale)

    def percent(self, share: float) -> str:
        """`12.5%` for 0.125."""
        return format_percent(share, format="#,##0.0%", locale=self.locale)

    def date(self, day: date | None) -> str:
        """`2025年11月30日` / `Nov 30, 2025`; an empty string for no date."""
        return format_date(day, "medium", locale=self.locale) if day else ""

    def datetime(self, moment: datetime | None) -> str:
        """A moment in the program's time zone, to the minute."""
        if moment is None:
            return ""
        return format_datetime(moment.astimezone(self.zone), "medium", locale=self.locale)
