"""Reconcile (pure): settlement totals against what was posted, shipped orders against invoices."""

from ml_connector.flow.reconcile.completeness import Completeness, completeness
from ml_connector.flow.reconcile.roles import AccountRoles, LineType, roles_from_mapping
from ml_connector.flow.reconcile.settlement import (
    LineTypeVariance,
    ReconcileStatus,
    SettlementReconciliation,
    reconcile_settlement,
)

__all__ = [
    "AccountRoles",
    "Completeness",
    "LineType",
    "LineTypeVariance",
    "ReconcileStatus",
    "SettlementReconciliation",
    "completeness",
    "reconcile_settlement",
    "roles_from_mapping",
]
