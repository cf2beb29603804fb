"""Posting a webhook over HTTP with the standard library, with a short timeout."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping

TIMEOUT_SECONDS = 5.0


def http_send(
    url: str, body: bytes, headers: Mapping[str, str], *, timeout: float = TIMEOUT_SECONDS
) -> int:
    """POST `body` to `url` and return the HTTP status (4xx and 5xx included).

    Raises `OSError` (refused, reset, timed out) or `http.client.HTTPException` when no status
    came back; the dispatcher counts either as a failed try. Redirects are not followed: a
    receiver that moved must be registered again.
    """
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - http(s) only, checked when the endpoint is added
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None
