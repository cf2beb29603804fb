"""Notifications (SPEC §8): a durable outbox delivered by signed, retried webhooks.

`outbox` writes a row with the change it reports; `endpoints` registers receivers and their
secrets; `delivery` fans the outbox out, sends what is due, retries with backoff, dead-letters
and replays; `http` is the standard-library sender.
"""

from __future__ import annotations

from jifen.services.notifications.delivery import (
    DeliveryNotDead,
    DeliveryReport,
    deliver_due,
    deliveries,
    fan_out,
    get_delivery,
    replay,
)
from jifen.services.notifications.endpoints import (
    EndpointExists,
    NewEndpoint,
    UnknownTopic,
    add_endpoint,
    list_endpoints,
)
from jifen.services.notifications.http import http_send

__all__ = [
    "DeliveryNotDead",
    "DeliveryReport",
    "EndpointExists",
    "NewEndpoint",
    "UnknownTopic",
    "add_endpoint",
    "deliver_due",
    "deliveries",
    "fan_out",
    "get_delivery",
    "http_send",
    "list_endpoints",
    "replay",
]
