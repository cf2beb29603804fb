"""Every string on a page has a Chinese and an English translation."""

from __future__ import annotations

import pytest

from jifen.web.catalogue import missing, page_strings
from jifen.web.i18n import LOCALES, translations


def test_the_pages_have_strings_to_translate() -> None:
    assert "Dashboard" in page_strings()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_string_is_translated(locale: str) -> None:
    assert missing(locale) == {}, "run `python -m jifen.web.catalogue` for the list"


def test_chinese_is_chinese() -> None:
    assert translations("zh_CN").gettext("Dashboard") == "仪表盘"
