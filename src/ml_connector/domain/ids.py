"""Typed identifiers and the deterministic keys derived from them.

Every planned Oracle document carries an idempotency key computed only from Amazon ids, so
re-deriving a document (replay, a crash before commit, a second worker) always yields the same
key and the outbox can refuse a second post.
"""

from __future__ import annotations

import hashlib
from typing import NewType

AmazonOrderId = NewType("AmazonOrderId", str)
OrderItemId = NewType("OrderItemId", str)
SellerSku = NewType("SellerSku", str)
Asin = NewType("Asin", str)
MarketplaceId = NewType("MarketplaceId", str)
FinancialEventGroupId = NewType("FinancialEventGroupId", str)
SettlementId = NewType("SettlementId", str)
TransactionId = NewType("TransactionId", str)
RefundId = NewType("RefundId", str)
IdempotencyKey = NewType("IdempotencyKey", str)

# RA_INTERFACE_LINES_ALL.TRX_NUMBER is VARCHAR2(20) (Oracle EBS/Fusion table definition);
# an Amazon order id (3-7-7 digits) is 19 characters and fits.
TRX_NUMBER_MAX = 20


DOCUMENT_KEY_PREFIXES = ("inv:", "cm:", "jnl:")
"""How the idempotency keys below begin: an invoice, a credit memo, a settlement journal."""


def invoice_key(order_id: AmazonOrderId) -> IdempotencyKey:
    return IdempotencyKey(f"inv:{order_id}")


def credit_memo_key(order_id: AmazonOrderId, refund_transaction_id: str) -> IdempotencyKey:
    return IdempotencyKey(f"cm:{order_id}:{refund_transaction_id}")


def cancellation_key(order_id: AmazonOrderId) -> IdempotencyKey:
    """A post-invoice cancellation reverses the whole invoice once; no refund id exists."""
    return IdempotencyKey(f"cm:{order_id}:cancel")


def journal_key(group_id: FinancialEventGroupId) -> IdempotencyKey:
    return IdempotencyKey(f"jnl:{group_id}")


def invoice_number(order_id: AmazonOrderId) -> str:
    """The Oracle transaction number of an order's invoice: the Amazon order id itself.

    The "Amazon Orders" source uses manual numbering with duplicates refused, so Oracle itself
    rejects a second invoice for the same order.
    """
    if len(order_id) > TRX_NUMBER_MAX:
        raise ValueError(
            f"order id {order_id!r} is longer than Oracle's {TRX_NUMBER_MAX}-character "
            "transaction number"
        )
    return order_id


def credit_memo_number(refund_id: str) -> str:
    """A credit memo number that fits TRX_NUMBER and is stable for one refund.

    `CM-` plus the refund id when it fits; otherwise `CM-` plus 17 hex digits of its SHA-256,
    which stays unique in practice and identical on every replay.
    """
    candidate = f"CM-{refund_id}"
    if len(candidate) <= TRX_NUMBER_MAX and refund_id.isascii():
        return candidate
    digest = hashlib.sha256(refund_id.encode("utf-8")).hexdigest().upper()
    return f"CM-{digest[: TRX_NUMBER_MAX - 3]}"


def revision_of(key: str, base: str) -> int | None:
    """0 for `base` itself, n for its n-th re-issue (`{base}:r{n}`), None for anything else.

    Corrections never edit a posted document: they add a reversal and a re-issue under new
    keys, so "the current invoice of an order" is the highest revision of its base key.
    """
    if key == base:
        return 0
    suffix = key.removeprefix(f"{base}:r")
    if suffix != key and suffix.isdigit():
        return int(suffix)
    return None
