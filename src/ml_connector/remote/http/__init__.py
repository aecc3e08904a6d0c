"""The HTTP plumbing both remote clients share: session, retries, rate limits, outcomes, redaction.

Import from the submodules (``ml_connector.remote.http.retry`` etc.); this package re-exports the
handful of names most callers need.
"""

from ml_connector.remote.http.outcome import error_from_response, error_from_transport, parse_json
from ml_connector.remote.http.paginate import PaginationLoopError, follow_tokens
from ml_connector.remote.http.ratelimit import RateLimiter, TokenBucket
from ml_connector.remote.http.redact import Redactor, default_redactor
from ml_connector.remote.http.retry import RetryPolicy, is_retryable
from ml_connector.remote.http.session import HttpSettings, build_client

__all__ = [
    "HttpSettings",
    "PaginationLoopError",
    "RateLimiter",
    "Redactor",
    "RetryPolicy",
    "TokenBucket",
    "build_client",
    "default_redactor",
    "error_from_response",
    "error_from_transport",
    "follow_tokens",
    "is_retryable",
    "parse_json",
]
