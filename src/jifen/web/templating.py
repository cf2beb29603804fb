"""Rendering a page: the Jinja environment, the reader's locale, and what every template may use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from jifen.web import i18n
from jifen.web.security import csrf_token

LANG_COOKIE = "jifen_lang"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def request_locale(request: Request) -> str:
    """`?lang=` when given, else the language cookie, else zh-CN."""
    return i18n.pick_locale(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def gettext(request: Request) -> Callable[[str], str]:
    """The reader's translator; bind it to the name `_` (Babel's extractor looks for that name)."""
    return i18n.translations(request_locale(request)).gettext


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render template `name` in the reader's language; `?lang=` also remembers the choice."""
    locale = request_locale(request)
    catalogue = i18n.translations(locale)
    zone = ZoneInfo(getattr(request.app.state, "web_timezone", "Asia/Shanghai"))
    page = {
        "request": request,
        "_": catalogue.gettext,
        "ngettext": catalogue.ngettext,
        "fmt": i18n.Formatter(locale, zone),
        "locale": locale,
        "html_lang": locale.replace("_", "-"),
        "locales": i18n.LOCALE_NAMES,
        "csrf_token": csrf_token(request),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, page, status_code=status_code)
    if "lang" in request.query_params:
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax")
    return response
