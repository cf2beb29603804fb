"""The console's Rules page: admins only, forms with their CSRF token, problems in English too."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.e2e.conftest import form_token, sign_in


def editor_text(html: str) -> str:
    match = re.search(r'<textarea name="yaml"[^>]*>(.*?)</textarea>', html, re.DOTALL)
    assert match, "no editor on the page"
    return match.group(1).replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")


def test_only_admins_see_the_rules_page(
    api: Api, console: TestClient, console_user: Callable[..., str]
) -> None:
    assert 'href="/console/rules"' in console.get("/console").text
    operator = TestClient(api.client.app, raise_server_exceptions=False)
    sign_in(operator, console_user("ops", "operator"))
    assert 'href="/console/rules"' not in operator.get("/console").text
    assert operator.get("/console/rules").status_code == 403


def test_a_proposal_without_the_form_token_is_refused(console: TestClient) -> None:
    text = editor_text(console.get("/console/rules").text)
    refused = console.post("/console/rules/drafts", data={"form_id": "f1", "yaml": text})
    assert refused.status_code == 403
    assert "No drafts yet." in console.get("/console/rules?lang=en").text


def test_an_invalid_program_is_shown_beside_the_editor_in_english(console: TestClient) -> None:
    page = console.get("/console/rules?lang=en").text
    text = editor_text(page).replace("timezone:", "time_zone:", 1)
    data = {"csrf_token": form_token(page), "form_id": "f2", "yaml": text}
    shown = console.post("/console/rules/drafts", data=data)
    assert shown.status_code == 422
    assert "The program cannot be used as written; nothing was saved." in shown.text
    assert "is not a known setting (check the spelling)" in shown.text
    assert "time_zone:" in editor_text(shown.text)  # the text is kept to fix
    assert "No drafts yet." in shown.text


def test_a_proposal_made_on_the_page_is_in_the_audit_log(console: TestClient) -> None:
    page = console.get("/console/rules").text
    text = editor_text(page).replace("rate_per_yuan: 5\n", "rate_per_yuan: 6\n", 1)
    data = {"csrf_token": form_token(page), "form_id": "f3", "yaml": text}
    shown = console.post("/console/rules/drafts", data=data)
    assert "草案已提交：须由另一位管理员激活。" in shown.text
    assert "+    rate_per_yuan: 6" in shown.text
    audit = console.get("/console/audit", params={"subject": "program_draft:f3"}).text
    assert "提交方案草案" in audit
    assert "console:chief" in audit
