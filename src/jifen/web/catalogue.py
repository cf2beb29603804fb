"""Page strings without a translation: `python -m jifen.web.catalogue` prints them as stubs."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir

from jifen.web.i18n import LOCALES, read_catalogue

ROOT = Path(__file__).parents[3]
METHODS = [("src/jifen/web/**.py", "python"), ("src/jifen/web/templates/**.html", "jinja2")]


def page_strings() -> dict[str, str]:
    """Every translatable string of the web package, with the file that first uses it."""
    found: dict[str, str] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=METHODS
    ):
        ids = message if isinstance(message, tuple) else (message,)
        for msgid in ids:
            if msgid:
                found.setdefault(msgid, filename)
    return found


def missing(locale: str) -> dict[str, str]:
    """Strings used on pages that `locale`'s catalogues do not translate (empty msgstr counts)."""
    catalogue = read_catalogue(locale)
    result = {}
    for msgid, filename in page_strings().items():
        message = catalogue.get(msgid)
        if message is None or not message.string:
            result[msgid] = filename
    return result


def main() -> int:
    """Print the missing strings of every locale as `.po` entries; exit 1 if there are any."""
    gaps = {locale: missing(locale) for locale in LOCALES}
    for locale, strings in gaps.items():
        for msgid, filename in strings.items():
            escaped = msgid.replace("\\", "\\\\").replace('"', '\\"')
            print(f'# {locale}: {filename}\nmsgid "{escaped}"\nmsgstr ""\n')  # noqa: T201
    return 1 if any(gaps.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
