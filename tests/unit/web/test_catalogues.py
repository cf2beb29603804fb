"""Every string on a page has a Chinese and an English translation."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from jifen.web.catalogue import missing, page_strings
from jifen.web.i18n import LOCALES, catalogue_files, translations


def test_the_pages_have_strings_to_translate() -> None:
    assert "Dashboard" in page_strings()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_string_is_translated(locale: str) -> None:
    assert missing(locale) == {}, "run `python -m jifen.web.catalogue` for the list"


def test_chinese_is_chinese() -> None:
    assert translations("zh_CN").gettext("Dashboard") == "仪表盘"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_string_is_translated_two_ways_by_two_catalogues(locale: str) -> None:
    # The catalogues are merged into one, so a second translation would silently replace the first
    # (the Rules page's activate button once read 恢复合作, the partners page's "resume").
    translated: dict[str, dict[str, str]] = {}
    for path in catalogue_files(locale):
        with path.open("rb") as source:
            for message in read_po(source, locale=locale):
                if message.id and message.string:
                    translated.setdefault(str(message.id), {})[path.name] = str(message.string)
    disagreeing = {
        msgid: by_file for msgid, by_file in translated.items() if len(set(by_file.values())) > 1
    }
    assert disagreeing == {}, "give the strings their own msgids"
