"""The points mall (积分商城): products, flash-sale orders, fulfilment, coupons, donations.

Everything bought here is paid from the program's `redemption.mall_kinds`, in that order.
"""

from __future__ import annotations

from jifen.domain.orders import OrderCancelled, OrderNotCancellable
from jifen.services.mall.coupons import (
    CouponExpired,
    CouponUsed,
    Redeemed,
    coupon_status,
    grant_coupon,
    member_coupons,
    redeem_coupon,
)
from jifen.services.mall.donations import Donated, UnknownCharity, charity_account, donate
from jifen.services.mall.orders import (
    LimitReached,
    OutOfStock,
    PlacedOrder,
    cancel_order,
    get_order,
    place_order,
)
from jifen.services.mall.products import (
    SaleNotOpen,
    StockAdjusted,
    StockBelowZero,
    adjust_stock,
    define_product,
    get_product,
    products_on_offer,
    set_product,
)
from jifen.services.mall.warehouse import (
    BadSignature,
    InProcessWarehouse,
    SignatureExpired,
    WarehouseAdapter,
    record_warehouse_report,
    sign,
    verify_signature,
    warehouse_secret,
)

__all__ = [
    "BadSignature",
    "CouponExpired",
    "CouponUsed",
    "Donated",
    "InProcessWarehouse",
    "LimitReached",
    "OrderCancelled",
    "OrderNotCancellable",
    "OutOfStock",
    "PlacedOrder",
    "Redeemed",
    "SaleNotOpen",
    "SignatureExpired",
    "StockAdjusted",
    "StockBelowZero",
    "UnknownCharity",
    "WarehouseAdapter",
    "adjust_stock",
    "cancel_order",
    "charity_account",
    "coupon_status",
    "define_product",
    "donate",
    "get_order",
    "get_product",
    "grant_coupon",
    "member_coupons",
    "place_order",
    "products_on_offer",
    "record_warehouse_report",
    "redeem_coupon",
    "set_product",
    "sign",
    "verify_signature",
    "warehouse_secret",
]
