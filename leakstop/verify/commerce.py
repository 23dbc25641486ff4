"""Payments and commerce: Stripe, Square, Shopify."""

from __future__ import annotations

import re

from leakstop.verify.base import CheckContext, Unverifiable
from leakstop.verify.checks import HttpCheck, by_status, simple
from leakstop.verify.http import Request
from leakstop.verify.pairing import Credential

_SHOP = re.compile(r"\b([a-z0-9][a-z0-9-]{0,60})\.myshopify\.com\b", re.IGNORECASE)


def _shopify_request(credential: Credential, context: CheckContext) -> Request:
    text = context.nearby_text(credential.primary)
    match = _SHOP.search(text or "")
    if match is None:
        raise Unverifiable("needs the shop's *.myshopify.com domain near the token")
    # shopify.dev Admin REST: GET /admin/api/<version>/shop.json with X-Shopify-Access-Token.
    url = f"https://{match.group(1).lower()}.myshopify.com/admin/api/2024-10/shop.json"
    return Request("GET", url, {"X-Shopify-Access-Token": credential.primary.secret})


VERIFIERS = (
    # docs.stripe.com: 401 for an unknown key; a restricted key without the balance
    # permission gets 403, and is live.
    simple(
        "stripe",
        "https://api.stripe.com/v1/balance",
        read=by_status(invalid_statuses=(401,), valid_statuses=(403,)),
    ),
    # developer.squareup.com: GET /v2/locations.
    simple("square", "https://connect.squareup.com/v2/locations"),
    HttpCheck("shopify", frozenset({"*.myshopify.com"}), _shopify_request, by_status((401,))),
)
