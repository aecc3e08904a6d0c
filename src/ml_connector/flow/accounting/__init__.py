"""Pure accounting: normalized Amazon facts + mapping → planned Oracle documents or holds."""

from ml_connector.flow.accounting.credit_memos import (
    open_amount,
    plan_cancellation_credit_memo,
    plan_refund_credit_memo,
)
from ml_connector.flow.accounting.invoices import plan_invoice
from ml_connector.flow.accounting.journals import plan_settlement_journal
from ml_connector.flow.accounting.policy import (
    DEFAULT_POLICY,
    AccountingPolicy,
    ReturnedGoods,
    VatInclusive,
)

__all__ = [
    "DEFAULT_POLICY",
    "AccountingPolicy",
    "ReturnedGoods",
    "VatInclusive",
    "open_amount",
    "plan_cancellation_credit_memo",
    "plan_invoice",
    "plan_refund_credit_memo",
    "plan_settlement_journal",
]
