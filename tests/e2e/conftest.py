"""Fixtures for the web pages: a signed-in console on the `api` fixture's app."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from jifen.services.console_users import create_console_user
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, Api

PASSWORD = "correct horse battery"  # noqa: S105 - the test accounts' password
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@pytest.fixture
def console_user(engine: Engine) -> Callable[..., str]:
    """Make a console account with `role` and return its name."""

    def make(username: str = "ops", role: str = "operator") -> str:
        create_console_user(
            SqlUnitOfWork(engine), username=username, password=PASSWORD, role=role, now=T0
        )
        return username

    return make


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    """Sign `client` in to the console (through the form, as a browser would)."""
    token = form_token(client.get("/console/login").text)
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def console(api: Api, console_user: Callable[..., str]) -> TestClient:
    """The `api` fixture's client, signed in to the console as an admin."""
    sign_in(api.client, console_user("chief", "admin"))
    return api.client
