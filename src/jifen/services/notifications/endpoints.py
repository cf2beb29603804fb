"""Webhook endpoints: where notifications go, for which topics, and the secret that signs them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from jifen.domain.errors import InvalidRequest, JifenError
from jifen.domain.webhooks import TOPICS
from jifen.services import audit
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault
from jifen.storage.notification_repository import Endpoint

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


class EndpointExists(JifenError):
    """An endpoint with this URL is already registered (its secret was shown when it was added)."""

    code = "endpoint_exists"
    status = 409


class UnknownTopic(JifenError):
    """A topic that no notification has."""

    code = "unknown_topic"
    status = 422


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    """A registered endpoint and its signing secret, shown this once."""

    endpoint: Endpoint
    secret: str


def check_topics(topics: Sequence[str]) -> tuple[str, ...]:
    """The topics, deduplicated in the canonical order; `UnknownTopic` for any other name."""
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown or not topics:
        raise UnknownTopic(
            f"Subscribe to one or more of {', '.join(TOPICS)}; unknown: {', '.join(unknown)}.",
            unknown=unknown,
            topics=list(TOPICS),
        )
    return tuple(t for t in TOPICS if t in topics)


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host; `InvalidRequest` otherwise."""
    url = url.strip()
    if not _acceptable(url):
        raise InvalidRequest(
            "The endpoint must be an absolute http:// or https:// URL of at most 2,000 printable "
            "ASCII characters without spaces (encode others with %XX, or punycode for hosts).",
            field="url",
        )
    return url


def _acceptable(url: str) -> bool:
    if len(url) > 2000 or not url.isascii() or not url.isprintable() or " " in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def add_endpoint(
    uow: UnitOfWork,
    *,
    vault: IdentityVault,
    url: str,
    topics: Sequence[str],
    description: str | None,
    now: datetime,
    actor: str,
) -> NewEndpoint:
    """Register an endpoint with a new random secret, stored encrypted under the vault.

    The secret is returned once. Raises `EndpointExists` when the URL is registered already,
    `UnknownTopic` or `InvalidRequest` for bad input; nothing is stored then.
    """
    url, chosen = check_url(url), check_topics(topics)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with uow:
        repository = uow.notifications
        endpoint_id = repository.add_endpoint(
            url=url,
            topics=chosen,
            secret_enc=vault.encrypt(secret),
            description=description,
            at=now,
        )
        if endpoint_id is None:
            raise EndpointExists(f"An endpoint for {url} is registered already.", url=url)
        audit.record(
            uow,
            at=now,
            actor=actor,
            action="webhook.added",
            subject=f"webhook:{endpoint_id}",
            details={"url": url, "topics": list(chosen)},
        )
        endpoint = repository.get_endpoint(endpoint_id)
        uow.commit()
    assert endpoint is not None  # noqa: S101 - just stored
    return NewEndpoint(endpoint, secret)


def list_endpoints(uow: UnitOfWork) -> list[Endpoint]:
    """Every endpoint, oldest first (secrets stay encrypted)."""
    with uow:
        return uow.notifications.endpoints()
