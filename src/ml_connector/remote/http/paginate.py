"""Follow opaque continuation tokens to the end, refusing to loop forever.

Remotes occasionally hand back a token already seen (a bug or a stale cache on their side); a
client that trusts it re-reads the same pages until someone notices the bill. We stop with a
``ServerError``-free, explicit error instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from ml_connector.errors import RemoteError

__all__ = ["PaginationLoopError", "follow_tokens"]

P = TypeVar("P")


class PaginationLoopError(RemoteError):
    """The remote returned a continuation token it had already returned."""


def follow_tokens(
    fetch: Callable[[str | None], P],
    next_token: Callable[[P], str | None],
    *,
    operation: str | None = None,
    max_pages: int = 100_000,
) -> Iterator[P]:
    """Yield every page: ``fetch(None)`` first, then ``fetch(token)`` while a new token comes back.

    Empty pages with a token are normal (Amazon documents them) and are followed.
    """
    seen: set[str] = set()
    token: str | None = None
    for _ in range(max_pages):
        page = fetch(token)
        yield page
        token = next_token(page)
        if not token:
            return
        if token in seen:
            raise PaginationLoopError(
                "the remote repeated a pagination token; stopping", operation=operation
            )
        seen.add(token)
    raise PaginationLoopError(f"more than {max_pages} pages; stopping", operation=operation)
