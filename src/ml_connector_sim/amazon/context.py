"""Options and the shared state every route reads: indexed world, tokens, buckets, reports."""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request

from ml_connector_sim.amazon.faults import FaultOptions
from ml_connector_sim.amazon.limits import PUBLISHED, TokenBuckets, UsagePlan
from ml_connector_sim.amazon.marketplaces import region_of, region_of_currency
from ml_connector_sim.amazon.wire import ApiError, parse_time
from ml_connector_sim.amazon.world import AmazonWorld, JsonObject

REGION_SCOPE_KEY = "ml_connector_sim.region"
OPERATION_SCOPE_KEY = "ml_connector_sim.operation"
_DENIED = "Access to requested resource is denied."


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SimOptions:
    """How the simulator behaves. Clocks are injectable so tests never wait for real time."""

    #: Accept only the credentials the world lists (default: any non-empty id/secret/token).
    strict_credentials: bool = False
    #: `expires_in` of issued access tokens, in seconds of `clock` time.
    token_lifetime: int = 3600
    #: Multiplies the refill rate of rate-limit buckets and the speed of report processing.
    time_scale: float = 1.0
    clock: Callable[[], datetime] = _utc_now
    monotonic: Callable[[], float] = time.monotonic
    faults: FaultOptions = field(default_factory=FaultOptions)
    #: Page size of listTransactions (Amazon: up to 500).
    transactions_page_size: int = 500
    #: Lifetime of a report document URL (Amazon: 5 minutes), in seconds of `clock` time.
    document_url_ttl: float = 300.0
    #: Simulated seconds a created report spends IN_QUEUE and then IN_PROGRESS.
    report_queue_seconds: float = 5.0
    report_processing_seconds: float = 15.0
    usage_plans: dict[str, UsagePlan] = field(default_factory=lambda: dict(PUBLISHED))


@dataclass
class IssuedToken:
    client_id: str
    region: str | None
    expires_at: datetime
    uses: int = 0


@dataclass(frozen=True)
class Caller:
    client_id: str
    region: str | None


@dataclass
class IndexedOrder:
    order: JsonObject
    created: datetime
    updated: datetime
    marketplace_id: str
    region: str | None


@dataclass
class IndexedTransaction:
    transaction: JsonObject
    posted: datetime
    region: str | None
    related: dict[str, str]


@dataclass
class IndexedGroup:
    group: JsonObject
    start: datetime
    region: str | None


class SimContext:
    """The world (read-only after start) plus mutable runtime state behind one lock."""

    def __init__(self, world: AmazonWorld, options: SimOptions) -> None:
        self.world = world
        self.options = options
        self.lock = threading.Lock()
        self.tokens: dict[str, IssuedToken] = {}
        self.buckets = TokenBuckets(options.monotonic, options.time_scale, options.usage_plans)
        self.fault_rng = random.Random(options.faults.seed)
        self.reports: dict[str, JsonObject] = {}
        self.report_started: dict[str, float] = {}
        self.documents: dict[str, tuple[bytes, str]] = {}
        self.document_key = secrets.token_bytes(16)
        self.orders = sorted(
            (self._index_order(order) for order in world.orders),
            key=lambda o: (o.created, o.order["orderId"]),
        )
        self.orders_by_id = {o.order["orderId"]: o for o in self.orders}
        self.transactions = sorted(
            (self._index_transaction(tx) for tx in world.transactions),
            key=lambda t: (t.posted, str(t.transaction.get("transactionId", ""))),
        )
        group_regions = {
            t.related.get("FINANCIAL_EVENT_GROUP_ID"): t.region for t in self.transactions
        }
        self.groups = sorted(
            (self._index_group(group, group_regions) for group in world.groups),
            key=lambda g: (g.start, str(g.group.get("FinancialEventGroupId", ""))),
        )

    @staticmethod
    def _index_order(order: JsonObject) -> IndexedOrder:
        market = order.get("salesChannel", {}).get("marketplaceId", "")
        return IndexedOrder(
            order,
            parse_time("createdTime", order["createdTime"]),
            parse_time("lastUpdatedTime", order["lastUpdatedTime"]),
            market,
            region_of(market),
        )

    @staticmethod
    def _index_transaction(tx: JsonObject) -> IndexedTransaction:
        market = (tx.get("marketplaceDetails") or {}).get("marketplaceId", "")
        related = {
            str(r.get("relatedIdentifierName")): str(r.get("relatedIdentifierValue"))
            for r in tx.get("relatedIdentifiers", [])
        }
        region = region_of(market) or region_of_currency(
            (tx.get("totalAmount") or {}).get("currencyCode", "")
        )
        return IndexedTransaction(tx, parse_time("postedDate", tx["postedDate"]), region, related)

    @staticmethod
    def _index_group(group: JsonObject, regions: dict[str | None, str | None]) -> IndexedGroup:
        region = regions.get(group.get("FinancialEventGroupId")) or region_of_currency(
            (group.get("OriginalTotal") or {}).get("CurrencyCode", "")
        )
        return IndexedGroup(
            group, parse_time("FinancialEventGroupStart", group["FinancialEventGroupStart"]), region
        )

    def now(self) -> datetime:
        return self.options.clock().astimezone(UTC)

    def issue_token(self, client_id: str, region: str | None) -> str:
        token = "Atza|sim-" + secrets.token_urlsafe(32)
        expires = self.now() + timedelta(seconds=self.options.token_lifetime)
        with self.lock:
            self.tokens[token] = IssuedToken(client_id, region, expires)
        return token

    def expire_all_tokens(self) -> None:
        """Make every issued token expired now: the 'token expiry mid-run' fault for tests."""
        with self.lock:
            for issued in self.tokens.values():
                issued.expires_at = self.now() - timedelta(seconds=1)

    def authorize(self, request: Request, operation: str) -> Caller:
        """Check the access token, then the rate limit; raises the documented 403/429 bodies."""
        request.scope[OPERATION_SCOPE_KEY] = operation
        token = request.headers.get("x-amz-access-token")
        if not token:
            raise ApiError(
                403, "Unauthorized", _DENIED, "Access token is missing in the request header."
            )
        region = request_region(request)
        limit = self.options.faults.expire_tokens_after
        with self.lock:
            issued = self.tokens.get(token)
            if issued is not None:
                issued.uses += 1
                if limit is not None and issued.uses > limit:
                    issued.expires_at = min(issued.expires_at, self.now())
        if issued is None:
            raise ApiError(
                403,
                "Unauthorized",
                _DENIED,
                "The access token you provided is revoked, malformed or invalid.",
            )
        if issued.expires_at <= self.now():
            raise ApiError(
                403, "Unauthorized", _DENIED, "The access token you provided has expired."
            )
        if self.options.strict_credentials and issued.region and region and issued.region != region:
            raise ApiError(403, "Unauthorized", _DENIED)
        faults = self.options.faults
        with self.lock:
            spurious = faults.throttle_rate > 0 and self.fault_rng.random() < faults.throttle_rate
        if spurious or not self.buckets.take(issued.client_id, region or "all", operation):
            raise ApiError(
                429, "QuotaExceeded", "You exceeded your quota for the requested resource."
            )
        return Caller(issued.client_id, region)

    def document_signature(self, document_id: str, expires: int) -> str:
        digest = hashlib.sha256(self.document_key + f"{document_id}:{expires}".encode())
        return digest.hexdigest()[:32]

    def posting_visible(self, tx: IndexedTransaction, now: datetime) -> bool:
        """With the late-postings fault, a posting shows up 0-48 h after its postedDate."""
        if tx.posted > now:
            return False
        if not self.options.faults.late_postings:
            return True
        seed = str(tx.transaction.get("transactionId", "")).encode()
        lag_hours = int.from_bytes(hashlib.sha256(seed).digest()[:2], "big") % 49
        return tx.posted + timedelta(hours=lag_hours) <= now


def request_region(request: Request) -> str | None:
    region = request.scope.get(REGION_SCOPE_KEY)
    return str(region) if region else None


def rate_limit_headers(request: Request) -> dict[str, str]:
    """`x-amzn-RateLimit-Limit` for the operation served (200/400/404 carry it; 429 does not)."""
    operation = request.scope.get(OPERATION_SCOPE_KEY)
    if not operation:
        return {}
    plan = sim_context(request).options.usage_plans[str(operation)]
    return {"x-amzn-RateLimit-Limit": repr(plan.rate)}


def sim_context(request: Request) -> SimContext:
    context: Any = request.app.state.sim
    assert isinstance(context, SimContext)
    return context
