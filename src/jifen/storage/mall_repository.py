"""SQL for mall products, orders, coupons and donations."""

from __future__ import annotations

from sqlalchemy import Connection


class MallRepository:
    """Mall products, orders, coupons and donations."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
