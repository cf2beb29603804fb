"""Webhook endpoints and their deliveries (admin): register, list, see dead letters, replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from jifen.api.deps import ClockDep, UowDep, VaultDep, require
from jifen.api.schemas.webhooks import (
    Deliveries,
    DeliveryOut,
    DeliveryStatus,
    EndpointIn,
    EndpointOut,
    Endpoints,
    NewEndpointOut,
)
from jifen.services import notifications
from jifen.storage.key_repository import StoredKey
from jifen.storage.notification_repository import Delivery, Endpoint

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

Admin = Annotated[StoredKey, Depends(require())]


def _endpoint(endpoint: Endpoint) -> EndpointOut:
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        topics=list(endpoint.topics),
        description=endpoint.description,
        active=endpoint.active,
        created_at=endpoint.created_at,
    )


def _delivery(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut.model_validate(delivery, from_attributes=True)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NewEndpointOut,
    responses={409: {"description": "endpoint_exists"}, 422: {"description": "unknown_topic"}},
)
def post_webhook(
    body: EndpointIn, key: Admin, uow: UowDep, vault: VaultDep, clock: ClockDep
) -> NewEndpointOut:
    """Register an endpoint; the answer holds its signing secret, shown this once."""
    new = notifications.add_endpoint(
        uow,
        vault=vault,
        url=body.url,
        topics=body.topics,
        description=body.description,
        now=clock.now(),
        actor=key.prefix,
    )
    return NewEndpointOut(**_endpoint(new.endpoint).model_dump(), secret=new.secret)


@router.get("", response_model=Endpoints)
def get_webhooks(_key: Admin, uow: UowDep) -> Endpoints:
    """Every registered endpoint, oldest first."""
    return Endpoints(endpoints=[_endpoint(e) for e in notifications.list_endpoints(uow)])


@router.get("/deliveries", response_model=Deliveries)
def get_deliveries(
    _key: Admin,
    uow: UowDep,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    endpoint_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Deliveries:
    """Deliveries in id order; `?status=dead` lists the dead letters."""
    found = notifications.deliveries(
        uow, status=delivery_status, endpoint_id=endpoint_id, limit=limit
    )
    return Deliveries(deliveries=[_delivery(d) for d in found])


@router.post(
    "/deliveries/{delivery_id}/replay",
    response_model=DeliveryOut,
    responses={404: {"description": "not_found"}, 409: {"description": "delivery_not_dead"}},
)
def replay_delivery(
    delivery_id: Annotated[int, Path(ge=1, le=2**62, description="The delivery's id.")],
    key: Admin,
    uow: UowDep,
    clock: ClockDep,
) -> DeliveryOut:
    """Send a dead delivery again: back to pending, due now, with every try again."""
    notifications.replay(uow, now=clock.now(), actor=key.prefix, delivery_id=delivery_id)
    return _delivery(notifications.get_delivery(uow, delivery_id=delivery_id))
