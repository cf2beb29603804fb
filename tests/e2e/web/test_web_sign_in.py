"""Console sign-in: sessions, CSRF, roles and the language switch."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.e2e.conftest import PASSWORD, form_token, sign_in


def test_a_console_page_sends_a_stranger_to_sign_in(api: Api) -> None:
    response = api.client.get("/console", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console"


def test_signing_in_opens_the_dashboard_in_chinese(
    api: Api, console_user: Callable[..., str]
) -> None:
    sign_in(api.client, console_user())
    page = api.client.get("/console")
    assert page.status_code == 200
    assert "仪表盘" in page.text
    assert 'lang="zh-CN"' in page.text


def test_the_language_switch_is_remembered(console: TestClient) -> None:
    english = console.get("/console?lang=en")
    assert 'lang="en"' in english.text
    assert "Dashboard" in english.text
    assert "仪表盘" not in english.text
    assert "Dashboard" in console.get("/console").text  # the cookie keeps the choice


def test_a_wrong_password_is_refused_and_says_so(
    api: Api, console_user: Callable[..., str]
) -> None:
    name = console_user()
    token = form_token(api.client.get("/console/login").text)
    response = api.client.post(
        "/console/login",
        data={"username": name, "password": "not the password", "csrf_token": token},
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert api.client.get("/console", follow_redirects=False).status_code == 303


def test_a_form_without_the_session_token_changes_nothing(
    api: Api, console_user: Callable[..., str]
) -> None:
    name = console_user()
    response = api.client.post(
        "/console/login", data={"username": name, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert "csrf_failed" in response.text
    assert api.client.get("/console", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session(console: TestClient) -> None:
    token = form_token(console.get("/console").text)
    console.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert console.get("/console", follow_redirects=False).status_code == 303


def test_the_sign_in_page_never_sends_anyone_off_site(
    api: Api, console_user: Callable[..., str]
) -> None:
    name = console_user()
    token = form_token(api.client.get("/console/login").text)
    response = api.client.post(
        "/console/login",
        data={
            "username": name,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console"


def test_a_tampered_form_value_gets_a_page_not_json(console: TestClient) -> None:
    token = form_token(console.get("/console").text)
    response = console.post(
        "/console/members/not-a-number/freeze", data={"csrf_token": token, "reason": "x"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "提交的内容有部分无法识别" in response.text
    assert "invalid_form" in response.text
